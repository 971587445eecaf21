//! PostgreSQL: workers (threads here, or other processes anywhere) claim batches with
//! `SELECT … FOR UPDATE SKIP LOCKED`, rewrap them and write them back with one `UPDATE … FROM
//! unnest(…)` in the same transaction. A final sweep without SKIP LOCKED picks up rows a
//! crashed peer had claimed.

use super::progress::Progress;
use super::rows::{Job, Outcome, Row, RowId, Stats, Value};
use super::target::quote_ident;
use super::{tally, ContextTemplate};
use crate::args::MigrateArgs;
use crate::error::{CliError, Result};
use keyroll::Keyring;
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use std::sync::Mutex;

/// Column types this tool handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// smallint/integer/bigint.
    Int,
    /// text/varchar/char.
    Text,
    /// bytea.
    Bytes,
}

/// A checked table: quoted names and column kinds.
#[derive(Clone, Debug)]
pub struct Table {
    /// Quoted table.
    pub table: String,
    /// Quoted value column.
    pub column: String,
    /// Quoted id column.
    pub id: String,
    /// Value column kind.
    pub value_kind: Kind,
    /// Id column kind.
    pub id_kind: Kind,
}

/// Connects.
pub fn connect(url: &str) -> Result<Client> {
    let mut config: postgres::Config = url.parse().map_err(|_| {
        CliError::input(format!(
            "--db: not a PostgreSQL connection string: {}",
            super::target::redact_url(url)
        ))
    })?;
    if config.get_application_name().is_none() {
        config.application_name("keyroll");
    }
    config.connect(NoTls).map_err(|e| {
        CliError::db(
            "database_unreachable",
            format!(
                "cannot connect to PostgreSQL at {}: {e}",
                super::target::redact_url(url)
            ),
        )
    })
}

fn kind_of(data_type: &str) -> Option<Kind> {
    match data_type {
        "smallint" | "integer" | "bigint" => Some(Kind::Int),
        "text" | "character varying" | "character" => Some(Kind::Text),
        "bytea" => Some(Kind::Bytes),
        _ => None,
    }
}

/// Checks the table and columns, and their types.
pub fn check(client: &mut Client, table: &str, column: &str, id: Option<&str>) -> Result<Table> {
    let (schema, name) = match table.split_once('.') {
        Some((s, n)) => (Some(s), n),
        None => (None, table),
    };
    let qt = quote_ident(table, true)?;
    let rows = client.query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2",
        &[&schema, &name],
    )?;
    if rows.is_empty() {
        return Err(CliError::db(
            "missing_table",
            format!("table {table:?} does not exist"),
        ));
    }
    let find = |c: &str| -> Result<Kind> {
        let row = rows
            .iter()
            .find(|r| r.get::<_, String>(0) == c)
            .ok_or_else(|| {
                CliError::db(
                    "missing_column",
                    format!("table {table:?} has no column {c:?}"),
                )
            })?;
        let ty: String = row.get(1);
        kind_of(&ty).ok_or_else(|| {
            CliError::db(
                "unsupported_type",
                format!("column {c:?} has unsupported type {ty}"),
            )
        })
    };
    let value_kind = find(column)?;
    if value_kind == Kind::Int {
        return Err(CliError::db(
            "unsupported_type",
            format!("column {column:?} is an integer column, not text or bytea"),
        ));
    }
    let (qi, id_kind) = match id {
        Some(i) => {
            let k = find(i)?;
            if k == Kind::Bytes {
                return Err(CliError::db(
                    "unsupported_id",
                    "the id column must be an integer or text",
                ));
            }
            (quote_ident(i, false)?, k)
        }
        None => (String::new(), Kind::Int),
    };
    Ok(Table {
        table: qt,
        column: quote_ident(column, false)?,
        id: qi,
        value_kind,
        id_kind,
    })
}

/// SQL that is true when the value is (by its text prefix) under `active`.
pub fn current_predicate(t: &Table, active: u32) -> Option<String> {
    (t.value_kind == Kind::Text).then(|| {
        format!(
            "left({}, {}) = 'kr1:v{active}:'",
            t.column,
            format!("kr1:v{active}:").len()
        )
    })
}

struct Queries {
    claim_first: String,
    claim_next: String,
    update: String,
}

fn queries(t: &Table, active: u32, skip_locked: bool, apply: bool) -> Queries {
    let (id_sel, id_param, id_array) = match t.id_kind {
        Kind::Int => (format!("{}::int8", t.id), "$1::int8", "$1::int8[]"),
        _ => (format!("{}::text", t.id), "$1::text", "$1::text[]"),
    };
    let value_array = if t.value_kind == Kind::Bytes {
        "$2::bytea[]"
    } else {
        "$2::text[]"
    };
    let not_current = current_predicate(t, active)
        .map(|p| format!(" AND NOT ({p})"))
        .unwrap_or_default();
    let lock = match (apply, skip_locked) {
        (false, _) => "",
        (true, true) => " FOR UPDATE SKIP LOCKED",
        (true, false) => " FOR UPDATE",
    };
    let (tb, c, id) = (&t.table, &t.column, &t.id);
    let value_sel = if t.value_kind == Kind::Text {
        format!("{c}::text")
    } else {
        c.clone()
    };
    Queries {
        claim_first: format!(
            "SELECT {id_sel}, {value_sel} FROM {tb} WHERE {c} IS NOT NULL{not_current} ORDER BY {id} LIMIT $1{lock}"
        ),
        claim_next: format!(
            "SELECT {id_sel}, {value_sel} FROM {tb} WHERE {c} IS NOT NULL{not_current} AND {id} > {id_param} ORDER BY {id} LIMIT $2{lock}"
        ),
        update: format!(
            "UPDATE {tb} SET {c} = u.v FROM unnest({id_array}, {value_array}) AS u(id, v) WHERE {tb}.{id} = u.id"
        ),
    }
}

/// Runs the migration with `--workers` connections, then a sweep.
pub fn migrate(
    url: &str,
    ring: &Keyring,
    template: &ContextTemplate,
    args: &MigrateArgs,
) -> super::RunResult {
    let stats = Mutex::new(Stats::default());
    let result = run(url, ring, template, args, &stats);
    let stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(remaining) => Ok((stats, remaining)),
        Err(e) => Err(Box::new((e, stats))),
    }
}

fn run(
    url: &str,
    ring: &Keyring,
    template: &ContextTemplate,
    args: &MigrateArgs,
    stats: &Mutex<Stats>,
) -> Result<Option<u64>> {
    let active = ring.active_version().ok_or(keyroll::Error::NoActiveKey)?;
    let mut client = connect(url)?;
    let t = check(
        &mut client,
        &args.db.table,
        &args.db.column,
        Some(&args.id_column),
    )?;
    let pending_sql = format!(
        "SELECT count(*) FROM {} WHERE {} IS NOT NULL{}",
        t.table,
        t.column,
        current_predicate(&t, active)
            .map(|p| format!(" AND NOT ({p})"))
            .unwrap_or_default()
    );
    let current_sql = current_predicate(&t, active)
        .map(|p| format!("SELECT count(*) FROM {} WHERE {}", t.table, p));
    let pending = client.query_one(&pending_sql, &[])?.get::<_, i64>(0) as u64;
    if let Some(sql) = &current_sql {
        // Rows the SQL filter skips are current: count them once, up front.
        let n = client.query_one(sql, &[])?.get::<_, i64>(0) as u64;
        let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
        s.current += n;
        s.scanned += n;
    }
    let progress = Progress::new(args.progress, pending, false);
    let job = Job {
        ring,
        template,
        table: &args.db.table,
        column: &args.db.column,
        active_prefix: ring.active_version().map(|v| format!("kr1:v{v}:")),
    };
    // Phase 1: every worker claims batches it can lock now.
    let claim = queries(&t, active, true, args.apply);
    let first_error: Mutex<Option<CliError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..args.workers {
            let (claim, job, progress, first_error) = (&claim, &job, &progress, &first_error);
            let t = &t;
            scope.spawn(move || {
                let result = (|| {
                    let mut client = connect(url)?;
                    relax_commits(&mut client, args.apply)?;
                    worker(&mut client, t, claim, job, args, stats, progress, false)
                })();
                if let Err(e) = result {
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    slot.get_or_insert(e);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    // Phase 2 (apply only): one pass that waits for locks, for rows a dead peer had claimed.
    if args.apply {
        relax_commits(&mut client, true)?;
        // With a text column the count tells whether anything was left behind (rows a dead
        // peer had locked); only then is the ordered sweep needed.
        let failed = stats.lock().unwrap_or_else(|p| p.into_inner()).failed;
        let needed = current_sql.is_none()
            || client.query_one(&pending_sql, &[])?.get::<_, i64>(0) as u64 > failed;
        if needed {
            let sweep = queries(&t, active, false, true);
            worker(&mut client, &t, &sweep, &job, args, stats, &progress, true)?;
        }
        // One durable commit flushes the WAL up to here, and with it every batch above.
        client
            .batch_execute("SET synchronous_commit = on; BEGIN; SELECT txid_current(); COMMIT;")?;
    }
    progress.finish();
    let remaining = client.query_one(&pending_sql, &[])?.get::<_, i64>(0) as u64;
    Ok(Some(remaining))
}

/// Batches commit without waiting for the WAL flush: a server crash can only undo the last
/// few batches, which are redone by the next run (the old tokens still decrypt). The run ends
/// with one durable commit, so a finished run is fully on disk before it reports.
fn relax_commits(client: &mut Client, apply: bool) -> Result<()> {
    if apply {
        client.batch_execute("SET synchronous_commit = off")?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn worker(
    client: &mut Client,
    t: &Table,
    q: &Queries,
    job: &Job<'_>,
    args: &MigrateArgs,
    stats: &Mutex<Stats>,
    progress: &Progress,
    sweep: bool,
) -> Result<()> {
    let limit = args.batch as i64;
    let threads = 1;
    let mut cursor: Option<RowId> = None;
    loop {
        let mut tx = client.transaction()?;
        let result = match &cursor {
            None => tx.query(q.claim_first.as_str(), &[&limit])?,
            Some(RowId::Int(i)) => tx.query(q.claim_next.as_str(), &[i, &limit])?,
            Some(RowId::Text(s)) => tx.query(q.claim_next.as_str(), &[s, &limit])?,
        };
        if result.is_empty() {
            tx.commit()?;
            return Ok(());
        }
        let rows: Vec<Row> = result
            .iter()
            .map(|r| {
                let id = match t.id_kind {
                    Kind::Int => RowId::Int(r.get(0)),
                    _ => RowId::Text(r.get(0)),
                };
                let value = match t.value_kind {
                    Kind::Bytes => Value::Blob(r.get(1)),
                    _ => Value::Text(r.get(1)),
                };
                Row { id, value }
            })
            .collect();
        cursor = rows.last().map(|r| r.id.clone());
        let outcomes = job.process(&rows, threads);
        if args.apply {
            let mut ids_int: Vec<i64> = Vec::new();
            let mut ids_text: Vec<&str> = Vec::new();
            let mut texts: Vec<&str> = Vec::new();
            let mut blobs: Vec<&[u8]> = Vec::new();
            for (row, outcome) in rows.iter().zip(&outcomes) {
                if let Outcome::Migrated(v) = outcome {
                    match &row.id {
                        RowId::Int(i) => ids_int.push(*i),
                        RowId::Text(s) => ids_text.push(s),
                    }
                    match v {
                        Value::Text(s) => texts.push(s),
                        Value::Blob(b) => blobs.push(b),
                    }
                }
            }
            if !ids_int.is_empty() || !ids_text.is_empty() {
                let ids: &(dyn ToSql + Sync) = if t.id_kind == Kind::Int {
                    &ids_int
                } else {
                    &ids_text
                };
                let values: &(dyn ToSql + Sync) = if t.value_kind == Kind::Bytes {
                    &blobs
                } else {
                    &texts
                };
                tx.execute(q.update.as_str(), &[ids, values])?;
            }
        }
        tx.commit()?;
        {
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            if sweep {
                // The sweep meets rows phase 1 already counted: only count what it changes.
                let (rows, outcomes): (Vec<_>, Vec<_>) = rows
                    .iter()
                    .zip(outcomes)
                    .filter(|(_, o)| !matches!(o, Outcome::Current))
                    .map(|(r, o)| (r.clone(), o))
                    .unzip();
                tally(&mut s, &rows, &outcomes);
            } else {
                tally(&mut s, &rows, &outcomes);
            }
        }
        if !sweep {
            progress.batch(rows.len() as u64);
        }
    }
}
