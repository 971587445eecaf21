//! Database migration: re-encrypt a column under the active key version, in batches of one
//! transaction each, resumable (rows already current are skipped) and safe to kill at any
//! moment. The engine (`engine.rs`) is written once over the [`backend::Backend`] trait, which
//! `sqlite.rs` and `postgres.rs` (with `FOR UPDATE SKIP LOCKED` claiming) implement; the
//! per-version census is in `report.rs`.

pub mod backend;
pub mod chart;
pub mod engine;
pub mod pgconn;
pub mod postgres;
pub mod progress;
pub mod progress_table;
pub mod report;
pub mod rows;
pub mod shard;
pub mod sqlite;
pub mod target;
pub mod throttle;

use crate::args::MigrateArgs;
use crate::error::{exit, CliError, Result};
use crate::out;
use crate::session::{now, Session};
use keyroll_store::AuditRecord;
pub use rows::ContextTemplate;
use rows::{Outcome, Stats};
use serde::Serialize;
use serde_json::json;
use std::time::Instant;
use target::Target;

/// A run's result: totals and the values still not current, or the error with what was
/// committed before it.
pub type RunResult = Result<(Stats, u64), Box<(CliError, Stats)>>;

/// `keyroll migrate --help`'s notes: the rules an operator must know before `--apply`, in
/// short (the long form is cli/README.md's "Migration").
pub const HELP: &str = "\
Resumable: rows already under the active version are skipped, so a killed run is simply run
again. Every write is a compare-and-swap on the value read; a row changed meanwhile is left
alone (a conflict) for the next run.

--id-column (integer, text or PostgreSQL uuid) must name exactly one row: the primary key, or
a NOT NULL column with a unique index of its own (not partial); SQLite also accepts rowid.
Composite keys (also --id-column a,b), nullable or non-unique columns are refused
(id_not_unique) and nothing is changed: add a single-column unique key and pass it.

Compromised versions: their data is unverified, since whoever stole the key could have forged
it. Without --include-compromised such rows are refused, left as they are and counted per
version; with it they are moved, and counted per version in the summary and the audit log.

PostgreSQL TLS: sslmode in the URL (disable, prefer = the default: TLS if offered, unchecked;
require; verify-ca; verify-full: chain and host name), sslrootcert=CA.pem. Password from
PGPASSWORD or the password file (PGPASSFILE, else ~/.pgpass), never argv; a password in the URL
still works but is warned about.

Durable means committed and known to be on disk. SQLite syncs every batch. PostgreSQL batches
commit asynchronously and the run ends with one synchronous commit; after an error the message
and the audit record say how many rows are durable and how many committed but unconfirmed
(a server crash may undo those; their old values still decrypt).

Scale-out: --shard I/N (or JOB_COMPLETION_INDEX/JOB_COMPLETIONS) works one of N key ranges.
The first worker of a run cuts the ranges from the table's ids and stores them in the table
keyroll_migrate_progress; later workers, anywhere, use them; a restarted shard resumes after
its cursor. `keyroll report --progress` shows every worker. --max-rows-per-second R caps the
whole command. More: cli/README.md";

/// Most failing rows listed in a summary (the counts are always complete).
pub const MAX_LISTED_FAILURES: usize = 100;

/// What a migration run did (or, in a dry run, would do).
#[derive(Debug, Serialize)]
pub struct Summary {
    /// `apply` or `dry_run`.
    pub mode: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// The version everything is moved onto.
    pub active_version: u32,
    /// Non-null values examined.
    pub total: u64,
    /// Rewrapped (dry run: would be).
    pub migrated: u64,
    /// Already under the active version, skipped.
    pub already_current: u64,
    /// Could not be rewrapped; left untouched.
    pub failed: u64,
    /// Changed by the application while being migrated: left alone, the next run takes them.
    pub conflicts: u64,
    /// The first failing rows: id and error code.
    pub failures: Vec<rows::Failure>,
    /// Migrated rows per source (`v1`, `fernet`, `binary`, `other`).
    pub by_source: std::collections::BTreeMap<String, u64>,
    /// Migrated rows read from compromised versions, per version (`v1`: n). Unverified data:
    /// the leaked key could have forged any of them.
    pub from_compromised: std::collections::BTreeMap<String, u64>,
    /// Rows under compromised versions not written (no `--include-compromised`), per version.
    pub refused_compromised: std::collections::BTreeMap<String, u64>,
    /// Values still not under the active version when the run ended: those without the active
    /// marker (text prefix or binary header, counted in SQL) plus marked ones that failed.
    pub remaining: u64,
    /// Wall time in seconds.
    pub duration_seconds: f64,
    /// Rows examined per second.
    pub rows_per_second: f64,
    /// `I/N` when the command worked one shard (`--shard` or the Job variables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// That shard's key range, `(after, upto]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// The sharded run (its plan in `keyroll_migrate_progress`); none for a dry run that
    /// found no plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// Checks a migration's arguments.
pub(crate) fn validate(args: &MigrateArgs) -> Result<()> {
    if args.batch == 0 || args.batch > 1_000_000 {
        return Err(CliError::input("--batch must be 1..=1000000"));
    }
    if args.workers == 0 || args.workers > 64 {
        return Err(CliError::input("--workers must be 1..=64"));
    }
    if args.max_rows_per_second == Some(0) {
        return Err(CliError::input("--max-rows-per-second must be at least 1"));
    }
    shard::ShardSpec::resolve(args.shard.as_deref(), &keyroll_store::env::process)?;
    Ok(())
}

/// The shard a run worked, as the summary reports it.
#[derive(Default)]
struct ShardInfo {
    shard: Option<String>,
    range: Option<String>,
    run_id: Option<String>,
}

/// Runs the engine on `b`, confined to this command's shard if it has one: the plan is read
/// from (or, by the first worker of the run, written to) the progress table, the shard
/// resumes after its cursor, every committed batch is recorded, and the shard is marked
/// `done` or `failed` at the end. A dry run reads an existing plan or cuts one in memory,
/// and writes nothing.
fn scaled<B: backend::Backend>(
    mut b: B,
    target: &Target,
    job: &rows::Job<'_>,
    args: &MigrateArgs,
    active: u32,
    info: &mut ShardInfo,
) -> RunResult {
    let fail = |e: CliError| Box::new((e, Stats::default()));
    let pacer = args.max_rows_per_second.map(throttle::Pacer::new);
    let spec = shard::ShardSpec::resolve(args.shard.as_deref(), &keyroll_store::env::process)
        .map_err(fail)?;
    let Some(spec) = spec else {
        let scale = engine::Scale {
            pacer: pacer.as_ref(),
            ..Default::default()
        };
        return engine::migrate_scaled(&b, job, args, &scale);
    };
    let key = progress_table::RunKey {
        table: args.db.table.clone(),
        column: args.db.column.clone(),
        target_version: active,
        shard: spec,
    };
    let cut = || -> Result<Vec<rows::RowId>> {
        let mut conn = b.connect(false)?;
        let n = b.key_count(&mut conn)?;
        let mut cuts: Vec<rows::RowId> = Vec::new();
        for offset in shard::boundary_offsets(n, spec.count) {
            // Fewer rows than shards: the first shards end at the first id (and are empty
            // but the first), so the ranges still cover every id once.
            let id = b.key_at(&mut conn, offset.unwrap_or(0))?;
            match id.or_else(|| cuts.last().cloned()) {
                Some(id) => cuts.push(id),
                None => {
                    return Err(CliError::db(
                        "empty_table",
                        "the table has no rows to cut into key ranges",
                    ))
                }
            }
        }
        Ok(cuts)
    };
    let store = progress_table::Store::open(target).map_err(fail)?;
    let plan = if args.apply {
        store.plan(&key, cut)
    } else {
        let existing = store.list(&key.table, &key.column).map(|rows| {
            rows.into_iter().find(|r| {
                r.target_version == active && r.shard_count == spec.count && r.shard == spec.index
            })
        });
        match existing {
            Ok(Some(row)) => Ok(row),
            Ok(None) => cut().map(|cuts| {
                let range = shard::KeyRange::of(&cuts, spec.index as usize);
                progress_table::ShardRow {
                    run_id: String::new(),
                    table: key.table.clone(),
                    column: key.column.clone(),
                    target_version: active,
                    shard: spec.index,
                    shard_count: spec.count,
                    id_kind: match cuts.first() {
                        Some(rows::RowId::Text(_)) => "text".into(),
                        _ => "int".into(),
                    },
                    range_after: range.after.map(|b| b.to_string()),
                    range_upto: range.upto.map(|b| b.to_string()),
                    state: "dry_run".into(),
                    rows_read: 0,
                    rows_written: 0,
                    rows_skipped: 0,
                    last_id: None,
                    host: None,
                    pid: None,
                    started_at: None,
                    updated_at: None,
                }
            }),
            Err(e) => Err(e),
        }
    };
    let plan = match plan {
        Ok(plan) => plan,
        // An empty table has nothing to share out: a worker of it has nothing to do.
        Err(e) if e.code == "empty_table" => {
            info.shard = Some(spec.to_string());
            return Ok((Stats::default(), 0));
        }
        Err(e) => return Err(fail(e)),
    };
    let range = plan.range().map_err(fail)?;
    info.shard = Some(spec.to_string());
    info.range = Some(range.describe());
    info.run_id = (!plan.run_id.is_empty()).then(|| plan.run_id.clone());
    b.set_range(range);
    let track = StoreTrack {
        store: &store,
        key: &key,
    };
    let scale = engine::Scale {
        resume: if args.apply {
            plan.cursor().map_err(fail)?
        } else {
            None
        },
        pacer: pacer.as_ref(),
        track: args.apply.then_some(&track as &dyn engine::Track),
    };
    let result = engine::migrate_scaled(&b, job, args, &scale);
    if args.apply {
        let state = if result.is_ok() { "done" } else { "failed" };
        // Best effort after an error (the database may be what failed); after success a
        // shard that cannot be marked done is an error.
        if let (Err(e), Ok((stats, _))) = (store.finish(&key, state), &result) {
            return Err(Box::new((e, stats.clone())));
        }
    }
    result
}

/// Records a shard's committed batches in the progress table.
struct StoreTrack<'a> {
    store: &'a progress_table::Store,
    key: &'a progress_table::RunKey,
}

impl engine::Track for StoreTrack<'_> {
    fn batch(&self, counts: (u64, u64, u64), cursor: Option<&rows::RowId>) -> Result<()> {
        self.store.batch(self.key, counts, cursor)
    }
}

/// `migrate`.
pub fn run(s: &Session, args: &MigrateArgs) -> Result<i32> {
    let ring = s.open()?;
    let (summary, code) = execute(s, args, &ring, true)?;
    if s.global.json {
        out::json(&summary);
    } else {
        print_summary(&summary);
    }
    Ok(code)
}

/// Checks the database for a migration onto `active` without reading a row: it can be
/// reached, the table, the column and the id column exist, have usable types, and the id
/// names one row. `full-rotation` runs it before it rotates, so a wrong table name never
/// leaves a rotated keyring behind with nothing migrated.
pub fn check_target(args: &MigrateArgs, active: u32) -> Result<()> {
    validate(args)?;
    ContextTemplate::parse(&args.context_template)?;
    let (table, column, id) = (&args.db.table, &args.db.column, &args.id_column);
    match Target::parse(&args.db.db)? {
        Target::Sqlite(path) => sqlite::Sqlite::new(&path, table, column, id, active).map(drop),
        Target::Postgres(url) => postgres::Postgres::new(&url, table, column, id, active).map(drop),
    }
}

/// Migrates under `ring` (the stored keyring, or `full-rotation`'s dry run: the stored one
/// rotated in memory, never saved) and returns the summary and the exit code; `audit`: write
/// the audit record (a dry run of a rotation that did not happen is not recorded).
pub fn execute(
    s: &Session,
    args: &MigrateArgs,
    ring: &keyroll::Keyring,
    audit: bool,
) -> Result<(Summary, i32)> {
    validate(args)?;
    let target = Target::parse(&args.db.db)?;
    let active = ring.active_version().ok_or(keyroll::Error::NoActiveKey)?;
    let template = ContextTemplate::parse(&args.context_template)?;
    let started = Instant::now();
    let start_time = now()?;
    let job = rows::Job {
        ring,
        template: &template,
        table: &args.db.table,
        column: &args.db.column,
        options: rewrap_options(args),
    };
    let (table, column, id) = (&args.db.table, &args.db.column, &args.id_column);
    let mut info = ShardInfo::default();
    let result = match &target {
        Target::Sqlite(path) => sqlite::Sqlite::new(path, table, column, id, active)
            .map_err(|e| Box::new((e, Stats::default())))
            .and_then(|b| scaled(b, &target, &job, args, active, &mut info)),
        Target::Postgres(url) => postgres::Postgres::new(url, table, column, id, active)
            .map_err(|e| Box::new((e, Stats::default())))
            .and_then(|b| scaled(b, &target, &job, args, active, &mut info)),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let mut record = AuditRecord::new(
        if args.apply {
            "migrate"
        } else {
            "migrate_dry_run"
        },
        start_time,
    );
    record.versions = vec![active];
    let (stats, remaining) = match result {
        Ok(v) => v,
        Err(failed) => {
            let (e, stats) = *failed;
            record.result = e.code.clone();
            record.details = Some(json!({
                "database": target.kind(), "target": target.redacted(), "table": args.db.table,
                "column": args.db.column, "migrated": stats.migrated, "durable": stats.durable,
                "failed": stats.failed, "error": e.message, "shard": info.shard,
            }));
            if audit {
                s.audit(&record)?;
            }
            return Err(CliError {
                message: format!("{} ({})", e.message, committed_before_error(&stats)),
                ..e
            });
        }
    };
    let summary = Summary {
        mode: if args.apply { "apply" } else { "dry_run" },
        database: target.kind(),
        table: args.db.table.clone(),
        column: args.db.column.clone(),
        active_version: active,
        total: stats.scanned,
        migrated: stats.migrated,
        already_current: stats.current,
        failed: stats.failed,
        conflicts: stats.conflicts,
        failures: stats.failures.clone(),
        by_source: stats
            .by_source
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        from_compromised: by_version(&stats.from_compromised),
        refused_compromised: by_version(&stats.refused_compromised),
        remaining,
        duration_seconds: elapsed,
        rows_per_second: if elapsed > 0.0 {
            stats.scanned as f64 / elapsed
        } else {
            0.0
        },
        shard: info.shard,
        range: info.range,
        run_id: info.run_id,
    };
    let refused = stats.refused();
    if stats.failed > 0 || refused > 0 {
        record.result = "partial".into();
    }
    record.details = Some(json!({
        "database": target.kind(), "target": target.redacted(), "table": summary.table,
        "column": summary.column, "total": summary.total, "migrated": summary.migrated,
        "already_current": summary.already_current, "failed": summary.failed,
        "include_compromised": args.include_compromised,
        "from_compromised": summary.from_compromised,
        "refused_compromised": summary.refused_compromised,
        "duration_seconds": summary.duration_seconds,
        "shard": summary.shard, "run_id": summary.run_id,
    }));
    if audit {
        s.audit(&record)?;
    }
    let code = if stats.failed > 0 || refused > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    };
    Ok((summary, code))
}

/// What an interrupted run had done: only commits known to be on disk count as done;
/// asynchronous ones (PostgreSQL batches before the final synchronous commit) are named as
/// unconfirmed, since a server crash may undo them.
fn committed_before_error(stats: &Stats) -> String {
    let unconfirmed = stats.migrated.saturating_sub(stats.durable);
    let mut text = format!(
        "{} rows migrated and durably committed before the error",
        stats.durable
    );
    if unconfirmed > 0 {
        text.push_str(&format!(
            "; {unconfirmed} more committed asynchronously and not confirmed on disk (a server \
             crash may undo them; their old values still decrypt)"
        ));
    }
    text.push_str("; run the same command again to resume");
    text
}

/// The human summary.
pub fn print_summary(s: &Summary) {
    let verb = if s.mode == "apply" {
        "migrated"
    } else {
        "would migrate"
    };
    println!(
        "{} {}.{} -> v{} ({})",
        out::bold(if s.mode == "apply" {
            "migration"
        } else {
            "dry run"
        }),
        s.table,
        s.column,
        s.active_version,
        s.database
    );
    let sources: Vec<String> = s
        .by_source
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!(
        "  {verb:<16} {}{}",
        out::good(s.migrated),
        if sources.is_empty() {
            String::new()
        } else {
            format!("  ({})", sources.join(", "))
        }
    );
    if !s.from_compromised.is_empty() {
        println!(
            "  {:<16} {} ({}); unverified data: whoever holds a leaked key could have forged it",
            out::warn("compromised"),
            s.from_compromised.values().sum::<u64>(),
            list(&s.from_compromised),
        );
    }
    if !s.refused_compromised.is_empty() {
        println!(
            "  {:<16} {} under compromised versions ({}), not {}: their data is unverified \
             (the leaked key could have forged it); to move it anyway, run again with \
             --include-compromised",
            out::warn("refused"),
            s.refused_compromised.values().sum::<u64>(),
            list(&s.refused_compromised),
            if s.mode == "apply" {
                "written"
            } else {
                "to be written"
            },
        );
    }
    println!("  {:<16} {}", "already current", s.already_current);
    let failed = if s.failed > 0 {
        out::bad(s.failed)
    } else {
        s.failed.to_string()
    };
    println!("  {:<16} {failed}", "failed");
    if s.conflicts > 0 {
        println!(
            "  {:<16} {} (changed during the run; run again)",
            "conflicts", s.conflicts
        );
    }
    println!("  {:<16} {}", "total", s.total);
    println!("  {:<16} {}", "remaining", s.remaining);
    if let (Some(shard), Some(range)) = (&s.shard, &s.range) {
        println!(
            "  {:<16} {shard}, ids {range}{}",
            "shard",
            s.run_id
                .as_deref()
                .map(|r| format!(", run {r}"))
                .unwrap_or_default()
        );
    }
    println!(
        "  {:<16} {:.2} s ({:.0} rows/s)",
        "duration", s.duration_seconds, s.rows_per_second
    );
    for f in s.failures.iter().take(10) {
        println!("  {} row {}: {}", out::bad("failed"), f.id, f.code);
    }
    if s.failed > 10 {
        println!(
            "  … and {} more failed rows (ids of the first 100 in --json)",
            s.failed - 10
        );
    }
    if s.mode != "apply" && s.migrated > 0 {
        println!(
            "{}",
            out::dim("dry run: nothing was changed; add --apply to write")
        );
    }
}

/// Merges one batch's outcomes into the running stats.
pub(crate) fn tally(stats: &mut Stats, batch: &[rows::Row], outcomes: &[Outcome]) {
    for (row, outcome) in batch.iter().zip(outcomes) {
        stats.scanned += 1;
        match outcome {
            Outcome::Current => stats.current += 1,
            Outcome::Migrated {
                from_version,
                from_compromised,
                ..
            } => {
                stats.migrated += 1;
                // A value of no known prefix that a version opened (raw AES-GCM blobs after
                // `import-raw-gcm`) counts under that version, not as `other`.
                let source = match rows::source(&row.value) {
                    rows::Source::Other => rows::Source::Version(*from_version),
                    known => known,
                };
                *stats.by_source.entry(source).or_default() += 1;
                if *from_compromised {
                    *stats.from_compromised.entry(*from_version).or_default() += 1;
                }
            }
            Outcome::Refused(version) => stats.refuse(&row.id, *version),
            Outcome::Conflict => stats.conflicts += 1,
            Outcome::Failed(code) => stats.fail(&row.id, code),
        }
    }
}

/// What `--include-compromised` allows.
pub(crate) fn rewrap_options(args: &MigrateArgs) -> keyroll::RewrapOptions {
    keyroll::RewrapOptions {
        allow_compromised: args.include_compromised,
    }
}

/// Per-version counts keyed `v<N>` for the summary and the audit record.
fn by_version(
    counts: &std::collections::BTreeMap<u32, u64>,
) -> std::collections::BTreeMap<String, u64> {
    counts.iter().map(|(v, n)| (format!("v{v}"), *n)).collect()
}

/// `v1: 3, v2: 5`.
fn list(counts: &std::collections::BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
