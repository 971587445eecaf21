//! Progress: an indicatif bar on a terminal (rows, rate, ETA), plain lines for logs, or nothing.

use crate::args::ProgressMode;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

/// Reports rows done.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    done: AtomicU64,
    total: u64,
    batches: AtomicU64,
}

impl Progress {
    /// A progress display for `total` rows.
    pub fn new(mode: ProgressMode, total: u64, json: bool) -> Self {
        let bar_wanted = match mode {
            ProgressMode::Bar => true,
            ProgressMode::Auto => !json && std::io::stderr().is_terminal(),
            ProgressMode::Plain | ProgressMode::None => false,
        };
        let bar = bar_wanted.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            plain: mode == ProgressMode::Plain,
            done: AtomicU64::new(0),
            total,
            batches: AtomicU64::new(0),
        }
    }

    /// One batch of `rows` rows finished (committed, for `--apply`).
    pub fn batch(&self, rows: u64) {
        let done = self.done.fetch_add(rows, Ordering::Relaxed) + rows;
        let batch = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_position(done.min(self.total));
        }
        if self.plain {
            eprintln!(
                "progress: batch {batch} committed, {done}/{} rows",
                self.total
            );
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
