//! SQLite: one `BEGIN IMMEDIATE` transaction per batch (read, rewrap, update, commit), keyset
//! pagination on the id column, and a check that the file is still there before each commit.

use super::progress::Progress;
use super::rows::{Job, Outcome, Row, RowId, Stats, Value};
use super::target::quote_ident;
use super::{tally, ContextTemplate};
use crate::args::MigrateArgs;
use crate::error::{CliError, Result};
use keyroll::Keyring;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;

/// Opens an existing database read-write (never creates one).
pub fn open(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(CliError::db(
            "database_not_found",
            format!("SQLite database {} does not exist", path.display()),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(60))?;
    Ok(conn)
}

/// Checks that the table and columns exist; returns the quoted names (table, column, id).
pub fn check_columns(
    conn: &Connection,
    table: &str,
    column: &str,
    id: Option<&str>,
) -> Result<(String, String, String)> {
    let qt = quote_ident(table, false)?;
    let qc = quote_ident(column, false)?;
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({qt})"))?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<_>>()?;
    if names.is_empty() {
        return Err(CliError::db(
            "missing_table",
            format!("table {table:?} does not exist"),
        ));
    }
    let has = |c: &str| names.iter().any(|n| n.eq_ignore_ascii_case(c));
    if !has(column) {
        return Err(CliError::db(
            "missing_column",
            format!("table {table:?} has no column {column:?}"),
        ));
    }
    let qi = match id {
        Some(i) if i.eq_ignore_ascii_case("rowid") && !has(i) => "rowid".to_string(),
        Some(i) if !has(i) => {
            return Err(CliError::db(
                "missing_column",
                format!(
                    "table {table:?} has no column {i:?} (pass the key column with --id-column)"
                ),
            ))
        }
        Some(i) => {
            let q = quote_ident(i, false)?;
            check_unique(conn, &qt, table, i)?;
            q
        }
        None => String::new(),
    };
    Ok((qt, qc, qi))
}

/// Refuses an id column that may name several rows (the update is keyed on it): accepted are
/// `rowid`, an `INTEGER PRIMARY KEY` (the rowid itself), or a column that is `NOT NULL` and
/// alone in a unique, non-partial index (a `PRIMARY KEY` or `UNIQUE` constraint makes one).
fn check_unique(conn: &Connection, quoted_table: &str, table: &str, id: &str) -> Result<()> {
    // (name, declared type, not null, position in the primary key)
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({quoted_table})"))?;
    let cols: Vec<(String, String, bool, i64)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some((name, ty, not_null, pk)) = cols.iter().find(|c| c.0.eq_ignore_ascii_case(id)) else {
        // Not a declared column: only the implicit rowid reaches here.
        return Ok(());
    };
    let pk_columns = cols.iter().filter(|c| c.3 > 0).count();
    if *pk == 1 && pk_columns == 1 && ty.eq_ignore_ascii_case("INTEGER") {
        return Ok(()); // an alias of the rowid
    }
    if *not_null {
        let mut list = conn.prepare(&format!("PRAGMA index_list({quoted_table})"))?;
        let indexes: Vec<(String, bool, bool)> = list
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(4)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (index, unique, partial) in indexes {
            if !unique || partial {
                continue;
            }
            let mut info =
                conn.prepare(&format!("PRAGMA index_info({})", quote_ident_loose(&index)))?;
            let keyed: Vec<Option<String>> = info
                .query_map([], |r| r.get(2))?
                .collect::<rusqlite::Result<_>>()?;
            if keyed.len() == 1
                && keyed[0]
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(name))
            {
                return Ok(());
            }
        }
    }
    Err(super::postgres::not_unique(table, id))
}

/// Quotes an index name SQLite made or the schema declared (it may hold any character).
fn quote_ident_loose(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn row_id(v: ValueRef<'_>) -> rusqlite::Result<RowId> {
    match v {
        ValueRef::Integer(i) => Ok(RowId::Int(i)),
        ValueRef::Text(t) => Ok(RowId::Text(String::from_utf8_lossy(t).into_owned())),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            "id".into(),
            other.data_type(),
        )),
    }
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Integer(i) => Value::Text(i.to_string()),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Null => Value::Text(String::new()),
    }
}

#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|_| (0, 0))
}

/// Runs the migration; on failure returns the error and what was committed before it.
pub fn migrate(
    path: &Path,
    ring: &Keyring,
    template: &ContextTemplate,
    args: &MigrateArgs,
) -> super::RunResult {
    let mut stats = Stats::default();
    match run(path, ring, template, args, &mut stats) {
        Ok(()) => Ok((stats, None)),
        Err(e) => Err(Box::new((e, stats))),
    }
}

fn read_batch(
    conn: &Connection,
    first: &str,
    next: &str,
    cursor: &Option<RowId>,
    limit: i64,
) -> Result<Vec<Row>> {
    let read = || -> rusqlite::Result<Vec<Row>> {
        let map = |r: &rusqlite::Row<'_>| {
            Ok(Row {
                id: row_id(r.get_ref(0)?)?,
                value: value(r.get_ref(1)?),
            })
        };
        match cursor {
            None => conn
                .prepare_cached(first)?
                .query_map([limit], map)?
                .collect(),
            Some(RowId::Int(i)) => conn
                .prepare_cached(next)?
                .query_map(rusqlite::params![i, limit], map)?
                .collect(),
            Some(RowId::Text(s)) => conn
                .prepare_cached(next)?
                .query_map(rusqlite::params![s, limit], map)?
                .collect(),
        }
    };
    read().map_err(|e| match e {
        rusqlite::Error::InvalidColumnType(..) => {
            CliError::db("unsupported_id", "the id column must hold integers or text")
        }
        other => CliError::from(other),
    })
}

/// A batch read and rewrapped, on its way to the writer.
type Batch = Result<(Vec<Row>, Vec<Outcome>)>;

fn run(
    path: &Path,
    ring: &Keyring,
    template: &ContextTemplate,
    args: &MigrateArgs,
    stats: &mut Stats,
) -> Result<()> {
    let reader = open(path)?;
    let mut writer = open(path)?;
    // Every commit synced before it returns (SQLite's default, set explicitly): what the run
    // reports as committed is on disk.
    writer.pragma_update(None, "synchronous", "FULL")?;
    let (t, c, id) = check_columns(
        &reader,
        &args.db.table,
        &args.db.column,
        Some(&args.id_column),
    )?;
    let original = identity(path);
    let total: u64 = reader.query_row(
        &format!("SELECT count(*) FROM {t} WHERE {c} IS NOT NULL"),
        [],
        |r| r.get::<_, i64>(0),
    )? as u64;
    let progress = Progress::new(args.progress, total, false);
    let first = format!("SELECT {id}, {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY {id} LIMIT ?1");
    let next = format!(
        "SELECT {id}, {c} FROM {t} WHERE {c} IS NOT NULL AND {id} > ?1 ORDER BY {id} LIMIT ?2"
    );
    // Compare-and-swap: a row the application changed after it was read is left alone (and
    // picked up by the next run), so the migration never overwrites a live write.
    let update = format!("UPDATE {t} SET {c} = ?1 WHERE {id} = ?2 AND {c} = ?3");
    let job = Job {
        ring,
        template,
        table: &args.db.table,
        column: &args.db.column,
        options: super::rewrap_options(args),
    };
    let limit = args.batch as i64;
    // Two stages on two threads: the reader reads the next batch and rewraps it while the
    // writer commits the previous one.
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Batch>(2);
        let (first, next, job) = (&first, &next, &job);
        scope.spawn(move || {
            let mut cursor: Option<RowId> = None;
            loop {
                let batch = read_batch(&reader, first, next, &cursor, limit).and_then(|rows| {
                    let outcomes = job.process(&rows, args.workers)?;
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
                let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
                {
                    let mut stmt = tx.prepare_cached(&update)?;
                    for (row, outcome) in rows.iter().zip(outcomes.iter_mut()) {
                        if let Outcome::Migrated { value, .. } = outcome {
                            let new: &dyn rusqlite::ToSql = match value {
                                Value::Text(s) => s,
                                Value::Blob(b) => b,
                            };
                            let old: &dyn rusqlite::ToSql = match &row.value {
                                Value::Text(s) => s,
                                Value::Blob(b) => b,
                            };
                            let key: &dyn rusqlite::ToSql = match &row.id {
                                RowId::Int(i) => i,
                                RowId::Text(s) => s,
                            };
                            if stmt.execute(rusqlite::params![new, key, old])? == 0 {
                                *outcome = Outcome::Conflict;
                            }
                        }
                    }
                }
                if identity(path) != original {
                    return Err(CliError::db(
                        "database_vanished",
                        format!(
                            "SQLite database {} disappeared or was replaced during the run",
                            path.display()
                        ),
                    ));
                }
                tx.commit()?;
            }
            tally(stats, &rows, &outcomes);
            if args.apply {
                stats.durable = stats.migrated;
            }
            progress.batch(rows.len() as u64);
        }
        Ok(())
    })?;
    progress.finish();
    Ok(())
}
