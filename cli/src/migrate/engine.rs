//! The migration engine, written once over [`Backend`]: batches of one transaction each, read
//! by keyset pagination on the id column, rewrapped through core, written by compare-and-swap,
//! counted, and reported as they commit.
//!
//! A run has three passes:
//! 1. *verify*: rows already carrying the active marker are checked one by one (a marker is
//!    not proof: another keyring writes the same `kr1:v<N>:`) before this run writes any, so
//!    none is counted twice;
//! 2. *migrate*: rows without the marker — on several connections claiming batches with row
//!    locks where the backend has them, otherwise one reader feeding one writer;
//! 3. *sweep* (row locks, `--apply`): one pass that waits for locks, for rows a dead peer had
//!    claimed; run only if the count says something was left behind.
//!
//! Killing the process at any moment loses nothing: a batch either committed (its rows now
//! carry the marker and are skipped next time) or did not (its rows still hold their old,
//! readable values).

use super::backend::{Backend, Filter, Hold, Update};
use super::progress::Progress;
use super::rows::{Job, Outcome, Row, RowId, Stats, Value};
use super::throttle::Pacer;
use super::{tally, RunResult};
use crate::args::MigrateArgs;
use crate::error::{CliError, Result};
use std::sync::Mutex;

/// Where a sharded command records each committed batch of its main pass (the progress
/// table): counts `(read, written, skipped)` and, when it moved, the resume cursor.
pub trait Track: Sync {
    /// One committed batch.
    fn batch(&self, counts: (u64, u64, u64), cursor: Option<&RowId>) -> Result<()>;
}

/// What a sharded or throttled command adds to a run (the backend already holds the range).
#[derive(Default)]
pub struct Scale<'a> {
    /// Start the main pass after this id (a resumed shard's cursor).
    pub resume: Option<RowId>,
    /// `--max-rows-per-second`: one pacer for all the command's workers.
    pub pacer: Option<&'a Pacer>,
    /// Where committed batches are recorded.
    pub track: Option<&'a dyn Track>,
}

/// Runs a migration; on failure returns the error and what was committed before it.
#[cfg(test)]
pub fn migrate<B: Backend>(backend: &B, job: &Job<'_>, args: &MigrateArgs) -> RunResult {
    migrate_scaled(backend, job, args, &Scale::default())
}

/// [`migrate`] for one shard and/or at a paced rate.
pub fn migrate_scaled<B: Backend>(
    backend: &B,
    job: &Job<'_>,
    args: &MigrateArgs,
    scale: &Scale<'_>,
) -> RunResult {
    let stats = Mutex::new(Stats::default());
    let result = run(backend, job, args, &stats, scale);
    if result.is_err() && args.apply && !backend.durable_commits() {
        // The batches committed so far were asynchronous: try to make them durable so the
        // error can say so. If the server cannot be reached they stay unconfirmed, and the
        // message says that instead of counting them as done.
        let _ = backend
            .connect(false)
            .and_then(|mut c| flush(backend, &mut c, &stats));
    }
    let stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(remaining) => Ok((stats, remaining)),
        Err(e) => Err(Box::new((e, stats))),
    }
}

/// What one sequence of batches reads and how it counts.
#[derive(Clone, Copy)]
struct Pass {
    filter: Filter,
    hold: Hold,
    /// Rewrap threads per batch.
    threads: usize,
    /// Whether committed batches move the progress display.
    progress: bool,
    /// The sweep meets rows an earlier pass already counted: only what it changes counts.
    sweep: bool,
    /// The main pass: starts at the resume cursor and moves it.
    main: bool,
}

/// What every pass of one run shares: the backend, the rewrap job, the options, the counts
/// and the progress display.
struct Run<'a, B> {
    b: &'a B,
    job: &'a Job<'a>,
    args: &'a MigrateArgs,
    stats: &'a Mutex<Stats>,
    progress: &'a Progress,
    scale: &'a Scale<'a>,
    /// Per worker of the main pass, the last id of its last committed batch: the resume
    /// cursor is their minimum (every row up to it was taken by some worker).
    cursors: Mutex<Vec<Option<RowId>>>,
}

fn run<B: Backend>(
    b: &B,
    job: &Job<'_>,
    args: &MigrateArgs,
    stats: &Mutex<Stats>,
    scale: &Scale<'_>,
) -> Result<u64> {
    let mut main = b.connect(args.apply)?;
    let pending = b.pending(&mut main)?;
    let progress = Progress::new(args.progress, pending, false);
    let locks = b.row_locks();
    let slots = if locks { args.workers } else { 1 };
    let r = Run {
        b,
        job,
        args,
        stats,
        progress: &progress,
        scale,
        cursors: Mutex::new(vec![scale.resume.clone(); slots]),
    };
    let threads = if locks { 1 } else { args.workers };
    // Pass 1: rows with the active marker, unlocked (a row that must move is written by
    // compare-and-swap).
    let verify = Pass {
        filter: Filter::Marked,
        hold: Hold::None,
        threads,
        progress: false,
        sweep: false,
        main: false,
    };
    batches(&r, &mut main, verify, 0)?;
    let verify_failed = lock(stats).failed;
    // Pass 2: the rows to move.
    let claim = Pass {
        filter: Filter::Pending,
        hold: if args.apply && locks {
            Hold::SkipLocked
        } else {
            Hold::None
        },
        threads,
        progress: true,
        sweep: false,
        main: true,
    };
    if locks {
        parallel(&r, claim)?;
    } else {
        pipelined(&r, claim, scale.resume.clone())?;
        if args.apply && scale.resume.is_some() {
            // Resumed after a cursor: rows before it that are still pending (a conflict, or a
            // batch committed after the cursor was last saved is not one: those carry the
            // marker) get one more pass from the range's start.
            let expected = {
                let s = lock(stats);
                s.failed - verify_failed + s.refused()
            };
            if b.pending(&mut main)? > expected {
                pipelined(
                    &r,
                    Pass {
                        main: false,
                        ..claim
                    },
                    None,
                )?;
            }
        }
    }
    if args.apply {
        if locks {
            // Pass 3: rows left behind by a dead peer's locks. Failed and refused rows of pass
            // 2 stay pending; failures of pass 1 carry the marker and are not in the count.
            let expected = {
                let s = lock(stats);
                s.failed - verify_failed + s.refused()
            };
            if b.pending(&mut main)? > expected {
                let sweep = Pass {
                    filter: Filter::Pending,
                    hold: Hold::Wait,
                    threads,
                    progress: false,
                    sweep: true,
                    main: false,
                };
                batches(&r, &mut main, sweep, 0)?;
            }
        }
        flush(b, &mut main, stats)?;
    }
    progress.finish();
    // Rows with the marker that pass 1 could not move are not current either.
    Ok(b.pending(&mut main)? + verify_failed)
}

fn lock(stats: &Mutex<Stats>) -> std::sync::MutexGuard<'_, Stats> {
    stats.lock().unwrap_or_else(|p| p.into_inner())
}

/// After a synchronous commit, every row migrated so far is on disk.
fn flush<B: Backend>(b: &B, conn: &mut B::Conn, stats: &Mutex<Stats>) -> Result<()> {
    b.flush(conn)?;
    let mut s = lock(stats);
    s.durable = s.migrated;
    Ok(())
}

/// Pass 2 on `--workers` connections, each claiming its own batches.
fn parallel<B: Backend>(r: &Run<'_, B>, pass: Pass) -> Result<()> {
    let Run { b, args, .. } = *r;
    let first_error: Mutex<Option<CliError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for slot in 0..args.workers {
            let first_error = &first_error;
            scope.spawn(move || {
                let result = b
                    .connect(args.apply)
                    .and_then(|mut conn| batches(r, &mut conn, pass, slot));
                if let Err(e) = result {
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    slot.get_or_insert(e);
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Batches on one connection, each read, rewrapped and written in one transaction.
fn batches<B: Backend>(r: &Run<'_, B>, conn: &mut B::Conn, pass: Pass, slot: usize) -> Result<()> {
    let Run { b, job, args, .. } = *r;
    let mut cursor: Option<RowId> = if pass.main {
        r.scale.resume.clone()
    } else {
        None
    };
    loop {
        if args.apply {
            b.begin(conn)?;
        }
        let step = (|| -> Result<Option<(Vec<Row>, Vec<Outcome>)>> {
            let rows = b.read(conn, pass.filter, pass.hold, cursor.as_ref(), args.batch)?;
            if rows.is_empty() {
                return Ok(None);
            }
            if let Some(pacer) = r.scale.pacer {
                pacer.acquire(rows.len() as u64);
            }
            let mut outcomes = job.process(&rows, pass.threads)?;
            if args.apply {
                write(b, conn, &rows, &mut outcomes)?;
            }
            Ok(Some((rows, outcomes)))
        })();
        let step = match step {
            Ok(step) => step,
            Err(e) => {
                if args.apply {
                    b.rollback(conn);
                }
                return Err(e);
            }
        };
        if args.apply {
            b.commit(conn)?;
        }
        let Some((rows, outcomes)) = step else {
            return Ok(());
        };
        cursor = rows.last().map(|row| row.id.clone());
        committed(r, pass, &rows, outcomes, slot)?;
    }
}

/// A batch read and rewrapped, on its way to the writer.
type Batch = Result<(Vec<Row>, Vec<Outcome>)>;

/// Pass 2 without row locks: a reader connection reads and rewraps the next batch (on
/// `--workers` threads) while a writer connection commits the last one.
fn pipelined<B: Backend>(r: &Run<'_, B>, pass: Pass, start: Option<RowId>) -> Result<()> {
    let Run { b, job, args, .. } = *r;
    let pacer = r.scale.pacer;
    let mut reader = b.connect(false)?;
    let mut writer = b.connect(args.apply)?;
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Batch>(2);
        scope.spawn(move || {
            let mut cursor: Option<RowId> = start;
            loop {
                let batch = b
                    .read(
                        &mut reader,
                        pass.filter,
                        pass.hold,
                        cursor.as_ref(),
                        args.batch,
                    )
                    .and_then(|rows| {
                        if let (Some(pacer), false) = (pacer, rows.is_empty()) {
                            pacer.acquire(rows.len() as u64);
                        }
                        let outcomes = job.process(&rows, pass.threads)?;
                        Ok((rows, outcomes))
                    });
                let done = match &batch {
                    Ok((rows, _)) => match rows.last() {
                        Some(last) => {
                            cursor = Some(last.id.clone());
                            false
                        }
                        None => true,
                    },
                    Err(_) => true,
                };
                if done {
                    if batch.is_err() {
                        let _ = send.send(batch);
                    }
                    return;
                }
                if send.send(batch).is_err() {
                    return; // the writer stopped
                }
            }
        });
        for batch in receive {
            let (rows, mut outcomes) = batch?;
            if args.apply {
                b.begin(&mut writer)?;
                if let Err(e) = write(b, &mut writer, &rows, &mut outcomes) {
                    b.rollback(&mut writer);
                    return Err(e);
                }
                b.commit(&mut writer)?;
            }
            committed(r, pass, &rows, outcomes, 0)?;
        }
        Ok(())
    })
}

/// Counts a committed batch, shows it and, in the main pass of a sharded run, records it
/// with the resume cursor (the least last id over the workers).
fn committed<B: Backend>(
    r: &Run<'_, B>,
    pass: Pass,
    rows: &[Row],
    outcomes: Vec<Outcome>,
    slot: usize,
) -> Result<()> {
    let Run {
        b,
        args,
        stats,
        progress,
        ..
    } = r;
    if let (Some(track), true) = (r.scale.track, args.apply) {
        let read = rows.len() as u64;
        let written = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Migrated { .. }))
            .count() as u64;
        let cursor = if pass.main {
            let mut cursors = r.cursors.lock().unwrap_or_else(|p| p.into_inner());
            if let (Some(c), Some(last)) = (cursors.get_mut(slot), rows.last()) {
                *c = Some(last.id.clone());
            }
            if cursors.iter().all(Option::is_some) {
                cursors.iter().flatten().min().cloned()
            } else {
                None
            }
        } else {
            None
        };
        track.batch((read, written, read - written), cursor.as_ref())?;
    }
    {
        let mut s = lock(stats);
        if pass.sweep {
            let (rows, outcomes): (Vec<_>, Vec<_>) = rows
                .iter()
                .zip(outcomes)
                .filter(|(_, o)| !matches!(o, Outcome::Current))
                .map(|(r, o)| (r.clone(), o))
                .unzip();
            tally(&mut s, &rows, &outcomes);
        } else {
            tally(&mut s, rows, &outcomes);
        }
        if args.apply && b.durable_commits() {
            s.durable = s.migrated;
        }
    }
    if pass.progress {
        progress.batch(rows.len() as u64);
    }
    Ok(())
}

/// Writes a batch's new values by compare-and-swap; a migrated row the backend did not write
/// had changed since the read and becomes an [`Outcome::Conflict`] (the next run takes it).
fn write<B: Backend>(
    b: &B,
    conn: &mut B::Conn,
    rows: &[Row],
    outcomes: &mut [Outcome],
) -> Result<()> {
    let mut updates = Vec::new();
    let mut positions = Vec::new();
    for (i, (row, outcome)) in rows.iter().zip(outcomes.iter()).enumerate() {
        if let Outcome::Migrated { value, .. } = outcome {
            if !matches!(
                (&row.value, value),
                (Value::Text(_), Value::Text(_)) | (Value::Blob(_), Value::Blob(_))
            ) {
                return Err(CliError::new(
                    "internal_error",
                    crate::error::exit::DATABASE,
                    "a rewrapped value changed form (text/binary); nothing was written",
                ));
            }
            updates.push(Update {
                id: &row.id,
                old: &row.value,
                new: value,
            });
            positions.push(i);
        }
    }
    if updates.is_empty() {
        return Ok(());
    }
    let written = b.write(conn, &updates)?;
    drop(updates);
    if written.len() != positions.len() {
        return Err(CliError::new(
            "internal_error",
            crate::error::exit::DATABASE,
            "the database reported a different number of writes than requested",
        ));
    }
    for (i, ok) in positions.into_iter().zip(written) {
        if !ok {
            outcomes[i] = Outcome::Conflict;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::migrate::rows::CasScene;
    use crate::migrate::sqlite::Sqlite;

    /// The engine's half of compare-and-swap: a row the backend reports unwritten becomes a
    /// conflict, the others stay migrated, and the application's value survives.
    #[test]
    fn a_row_changed_between_read_and_write_becomes_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let scene = CasScene::new();
        let app = &scene.app;
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, secret TEXT)")
            .unwrap();
        for (i, t) in &scene.rows {
            c.execute("INSERT INTO users VALUES (?1, ?2)", rusqlite::params![i, t])
                .unwrap();
        }
        let job = scene.job();
        let b = Sqlite::new(&path, "users", "secret", "id", 2).unwrap();
        let mut conn = b.connect(true).unwrap();
        let rows = b
            .read(&mut conn, Filter::Pending, Hold::None, None, 10)
            .unwrap();
        let mut outcomes = job.process(&rows, 1).unwrap();
        c.execute(
            "UPDATE users SET secret = ?1 WHERE id = 2",
            rusqlite::params![app],
        )
        .unwrap();
        b.begin(&mut conn).unwrap();
        write(&b, &mut conn, &rows, &mut outcomes).unwrap();
        b.commit(&mut conn).unwrap();
        assert!(matches!(outcomes[0], Outcome::Migrated { .. }));
        assert!(
            matches!(outcomes[1], Outcome::Conflict),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Outcome::Migrated { .. }));
        let two: String = c
            .query_row("SELECT secret FROM users WHERE id = 2", [], |r| r.get(0))
            .unwrap();
        assert_eq!(&two, app, "the application's write survives");
    }
}
