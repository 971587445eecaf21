//! `report`'s picture: one bar per source (key version, Fernet, other), sized to the terminal,
//! in Unicode eighth blocks, the rows still on compromised or legacy keys in colour.

use console::Style;

/// What a bar stands for: it decides the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The active version: where every row should end.
    Active,
    /// Another keyroll version that is still readable.
    Older,
    /// A compromised version: unverified data, to move off first.
    Compromised,
    /// A legacy format (Fernet, raw AES-GCM) or an unrecognised value.
    Legacy,
}

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// What is counted (`v3 (active)`, `Fernet (legacy)`, …).
    pub label: String,
    /// Rows.
    pub rows: u64,
    /// For the colour.
    pub kind: Kind,
}

/// The eighths of a block, from one to seven.
const PARTIAL: [char; 7] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const FULL: char = '█';

/// A bar of `fraction` (0..=1) of `width` cells, to the eighth of a cell; a non-zero count
/// always shows at least an eighth, so a small share is never drawn as nothing.
fn blocks(fraction: f64, width: usize, nonzero: bool) -> String {
    let eighths = (fraction.clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let eighths = if nonzero { eighths.max(1) } else { eighths };
    let mut bar: String = std::iter::repeat_n(FULL, eighths / 8).collect();
    if eighths % 8 > 0 {
        bar.push(PARTIAL[eighths % 8 - 1]);
    }
    bar
}

/// The terminal's width: the real one on a terminal, else `COLUMNS`, else 80.
pub fn terminal_width() -> usize {
    if let Some((_, w)) = console::Term::stdout().size_checked() {
        return w as usize;
    }
    keyroll_store::env::var(&keyroll_store::env::process, "COLUMNS")
        .ok()
        .flatten()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(80)
}

/// Whether to colour: stdout is a colour terminal (or `CLICOLOR_FORCE`, as `console` reads
/// it) and `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn colour_wanted() -> bool {
    let no_color = keyroll_store::env::var(&keyroll_store::env::process, "NO_COLOR")
        .map(|v| v.is_some())
        .unwrap_or(true);
    console::colors_enabled() && !no_color
}

/// The chart: a line per bar, `label  rows  share  bar`, fitting `width` columns.
pub fn render(bars: &[Bar], width: usize, colour: bool) -> String {
    let total: u64 = bars.iter().map(|b| b.rows).sum();
    let label_w = bars
        .iter()
        .map(|b| console::measure_text_width(&b.label))
        .max()
        .unwrap_or(0)
        .max(6);
    // "  label  rows  share%  bar"
    let fixed = 2 + label_w + 2 + 12 + 2 + 6 + 2;
    let bar_w = width.saturating_sub(fixed).clamp(10, 100);
    let mut out = String::new();
    for b in bars {
        let fraction = if total == 0 {
            0.0
        } else {
            b.rows as f64 / total as f64
        };
        let style = match b.kind {
            Kind::Active => Style::new().green(),
            Kind::Older => Style::new(),
            Kind::Compromised => Style::new().red().bold(),
            Kind::Legacy => Style::new().yellow(),
        }
        .force_styling(colour);
        let pad = label_w - console::measure_text_width(&b.label);
        out.push_str(&format!(
            "  {}{}  {:>12}  {:>5.1}%  {}\n",
            b.label,
            " ".repeat(pad),
            b.rows,
            100.0 * fraction,
            style.apply_to(blocks(fraction, bar_w, b.rows > 0))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bars() -> Vec<Bar> {
        vec![
            Bar {
                label: "v3 (active)".into(),
                rows: 750,
                kind: Kind::Active,
            },
            Bar {
                label: "v2 (compromised)".into(),
                rows: 200,
                kind: Kind::Compromised,
            },
            Bar {
                label: "Fernet (legacy)".into(),
                rows: 49,
                kind: Kind::Legacy,
            },
            Bar {
                label: "other".into(),
                rows: 1,
                kind: Kind::Legacy,
            },
        ]
    }

    #[test]
    fn bars_are_proportional_in_eighths_and_fit_the_width() {
        let text = render(&bars(), 80, false);
        assert!(!text.contains('\u{1b}'), "no colour asked, none given");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        for l in &lines {
            assert!(console::measure_text_width(l) <= 80, "{l:?}");
        }
        // 80 columns leave 80 - (2 + 16 + 2 + 12 + 2 + 6 + 2) = 38 cells: 75% is 28.5 cells.
        let cells = |l: &str| l.chars().filter(|c| *c == FULL).count();
        assert_eq!(cells(lines[0]), 28);
        assert!(lines[0].ends_with('▌'), "{:?}", lines[0]);
        assert_eq!(cells(lines[1]), 7); // 20% of 38 = 7.6 cells
        assert!(lines[0].contains(" 75.0%"));
        // One row in a thousand still shows.
        assert!(lines[3].ends_with('▏'), "{:?}", lines[3]);
        // A wider terminal, longer bars.
        let wide = render(&bars(), 120, false);
        assert_eq!(cells(wide.lines().next().unwrap()), 58); // 75% of 78 = 58.5 cells
                                                             // A very wide one stops at 100 cells.
        let widest = render(&bars(), 400, false);
        assert_eq!(cells(widest.lines().next().unwrap()), 75);
    }

    #[test]
    fn compromised_and_legacy_rows_are_coloured_only_when_asked() {
        let text = render(&bars(), 80, true);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("\u{1b}[32m"),
            "active green: {:?}",
            lines[0]
        );
        assert!(
            lines[1].contains("\u{1b}[31m"),
            "compromised red: {:?}",
            lines[1]
        );
        assert!(
            lines[2].contains("\u{1b}[33m"),
            "legacy yellow: {:?}",
            lines[2]
        );
        assert!(
            lines[3].contains("\u{1b}[33m"),
            "other yellow: {:?}",
            lines[3]
        );
        assert_eq!(
            console::strip_ansi_codes(&text),
            render(&bars(), 80, false),
            "colour changes nothing else"
        );
    }

    #[test]
    fn an_empty_table_draws_no_bars() {
        let b = [Bar {
            label: "v1".into(),
            rows: 0,
            kind: Kind::Active,
        }];
        let text = render(&b, 80, false);
        assert!(!text.contains(FULL) && !text.contains('▏'), "{text}");
    }
}
