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
    let qi =
        match id {
            Some(i) if i.eq_ignore_ascii_case("rowid") && !has(i) => "rowid".to_string(),
            Some(i) if !has(i) => return Err(CliError::db(
                "missing_column",
                format!(
                    "table {table:?} has no column {i:?} (pass the key column with --id-column)"
                ),
            )),
            Some(i) => quote_ident(i, false)?,
            None => String::new(),
        };
    Ok((qt, qc, qi))
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

fn run(
    path: &Path,
    ring: &Keyring,
    template: &ContextTemplate,
    args: &MigrateArgs,
    stats: &mut Stats,
) -> Result<()> {
    let mut conn = open(path)?;
    let (t, c, id) = check_columns(
        &conn,
        &args.db.table,
        &args.db.column,
        Some(&args.id_column),
    )?;
    let original = identity(path);
    let total: u64 = conn.query_row(
        &format!("SELECT count(*) FROM {t} WHERE {c} IS NOT NULL"),
        [],
        |r| r.get::<_, i64>(0),
    )? as u64;
    let progress = Progress::new(args.progress, total, false);
    let first = format!("SELECT {id}, {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY {id} LIMIT ?1");
    let next = format!(
        "SELECT {id}, {c} FROM {t} WHERE {c} IS NOT NULL AND {id} > ?1 ORDER BY {id} LIMIT ?2"
    );
    let update = format!("UPDATE {t} SET {c} = ?1 WHERE {id} = ?2");
    let job = Job {
        ring,
        template,
        table: &args.db.table,
        column: &args.db.column,
    };
    let limit = args.batch as i64;
    let mut cursor: Option<RowId> = None;
    loop {
        let behavior = if args.apply {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = conn.transaction_with_behavior(behavior)?;
        let read = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<Vec<Row>> {
            let map = |r: &rusqlite::Row<'_>| {
                Ok(Row {
                    id: row_id(r.get_ref(0)?)?,
                    value: value(r.get_ref(1)?),
                })
            };
            match &cursor {
                None => tx
                    .prepare_cached(&first)?
                    .query_map([limit], map)?
                    .collect(),
                Some(RowId::Int(i)) => tx
                    .prepare_cached(&next)?
                    .query_map(rusqlite::params![i, limit], map)?
                    .collect(),
                Some(RowId::Text(s)) => tx
                    .prepare_cached(&next)?
                    .query_map(rusqlite::params![s, limit], map)?
                    .collect(),
            }
        };
        let rows = read(&tx).map_err(|e| match e {
            rusqlite::Error::InvalidColumnType(..) => {
                CliError::db("unsupported_id", "the id column must hold integers or text")
            }
            other => CliError::from(other),
        })?;
        let Some(last) = rows.last() else {
            break;
        };
        cursor = Some(last.id.clone());
        let outcomes = job.process(&rows, args.workers);
        if args.apply {
            let mut stmt = tx.prepare_cached(&update)?;
            for (row, outcome) in rows.iter().zip(&outcomes) {
                if let Outcome::Migrated(v) = outcome {
                    let changed = match (v, &row.id) {
                        (Value::Text(s), RowId::Int(i)) => stmt.execute(rusqlite::params![s, i]),
                        (Value::Text(s), RowId::Text(i)) => stmt.execute(rusqlite::params![s, i]),
                        (Value::Blob(b), RowId::Int(i)) => stmt.execute(rusqlite::params![b, i]),
                        (Value::Blob(b), RowId::Text(i)) => stmt.execute(rusqlite::params![b, i]),
                    }?;
                    debug_assert_eq!(changed, 1);
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
        tally(stats, &rows, &outcomes);
        progress.batch(rows.len() as u64);
    }
    progress.finish();
    Ok(())
}
