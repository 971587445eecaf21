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
use postgres::Client;
#[cfg(test)]
use postgres::NoTls;
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

/// Connects (TLS per `sslmode`, password from `PGPASSWORD`/`.pgpass`: see `pgconn`).
pub fn connect(url: &str) -> Result<Client> {
    super::pgconn::connect(url)
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
            check_unique(client, &qt, table, i)?;
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

/// Refuses an id column that does not name exactly one row: the update is keyed on it, so two
/// rows sharing an id would both receive the ciphertext made for one of them. Accepted: the
/// primary key, or a unique, not-null, non-partial, immediately checked single-column index.
fn check_unique(client: &mut Client, quoted_table: &str, table: &str, id: &str) -> Result<()> {
    let unique: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_index i \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
               WHERE i.indrelid = to_regclass($1) AND a.attname = $2 \
                 AND i.indnkeyatts = 1 AND i.indisvalid AND i.indimmediate \
                 AND i.indpred IS NULL AND i.indexprs IS NULL \
                 AND (i.indisprimary OR (i.indisunique AND a.attnotnull)))",
            &[&quoted_table, &id],
        )?
        .get(0);
    if unique {
        Ok(())
    } else {
        Err(not_unique(table, id))
    }
}

/// The error for an id column that may hold duplicates (shared with SQLite).
pub fn not_unique(table: &str, id: &str) -> CliError {
    CliError::db(
        "id_not_unique",
        format!(
            "--id-column {id:?} of table {table:?} is neither the primary key nor a unique NOT NULL \
             column, so one id may name several rows and a migration could overwrite one row with \
             another's value; nothing was changed (add a primary key or a unique index on a \
             NOT NULL column, or pass such a column with --id-column)"
        ),
    )
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

/// Which rows a pass reads, and how it holds them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Rows not under the active prefix that can be locked now (`SKIP LOCKED`).
    Claim,
    /// Rows not under the active prefix, waiting for locks (rows a dead peer had claimed).
    Sweep,
    /// Rows under the active prefix, unlocked: the prefix alone does not make a row current
    /// (another keyring writes the same `kr1:v<N>:`), so each is checked with
    /// [`Keyring::needs_rewrap`]; one that must move is written by compare-and-swap.
    Verify,
}

fn queries(t: &Table, active: u32, pass: Pass, apply: bool) -> Queries {
    let (id_sel, id_param, id_array) = match t.id_kind {
        Kind::Int => (format!("{}::int8", t.id), "$1::int8", "$1::int8[]"),
        _ => (format!("{}::text", t.id), "$1::text", "$1::text[]"),
    };
    let (value_array, old_array) = if t.value_kind == Kind::Bytes {
        ("$2::bytea[]", "$3::bytea[]")
    } else {
        ("$2::text[]", "$3::text[]")
    };
    let not_current = current_predicate(t, active)
        .map(|p| {
            if pass == Pass::Verify {
                format!(" AND ({p})")
            } else {
                format!(" AND NOT ({p})")
            }
        })
        .unwrap_or_default();
    let lock = match (apply, pass) {
        (false, _) | (true, Pass::Verify) => "",
        (true, Pass::Claim) => " FOR UPDATE SKIP LOCKED",
        (true, Pass::Sweep) => " FOR UPDATE",
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
        // Compare-and-swap, as SQLite's: a row whose value is no longer the one that was read
        // (changed by the application, or by a peer that does not lock) is left alone and
        // counted as a conflict; the next run takes it.
        update: format!(
            "UPDATE {tb} SET {c} = u.v FROM unnest({id_array}, {value_array}, {old_array}) AS u(id, v, old) \
             WHERE {tb}.{id} = u.id AND {tb}.{value_sel} = u.old RETURNING {tb}.{id_sel}"
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
    if result.is_err() && args.apply {
        // The batches committed so far were asynchronous: try to make them durable so the
        // error can say so. If the server cannot be reached they stay unconfirmed, and the
        // message says that instead of counting them as done.
        let _ = connect(url).and_then(|mut c| flush(&mut c, &stats));
    }
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
    let has_prefix = current_predicate(&t, active).is_some();
    let pending = client.query_one(&pending_sql, &[])?.get::<_, i64>(0) as u64;
    let progress = Progress::new(args.progress, pending, false);
    let job = Job {
        ring,
        template,
        table: &args.db.table,
        column: &args.db.column,
        options: super::rewrap_options(args),
    };
    // Phase 0: rows the claim filter skips (the active text prefix) are checked one by one,
    // before this run writes any (so none is counted twice).
    let mut verify_failed = 0;
    if has_prefix {
        relax_commits(&mut client, args.apply)?;
        let verify = queries(&t, active, Pass::Verify, args.apply);
        worker(
            &mut client,
            &t,
            &verify,
            &job,
            args,
            stats,
            &progress,
            Pass::Verify,
        )?;
        verify_failed = stats.lock().unwrap_or_else(|p| p.into_inner()).failed;
    }
    // Phase 1: every worker claims batches it can lock now.
    let claim = queries(&t, active, Pass::Claim, args.apply);
    let first_error: Mutex<Option<CliError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..args.workers {
            let (claim, job, progress, first_error) = (&claim, &job, &progress, &first_error);
            let t = &t;
            scope.spawn(move || {
                let result = (|| {
                    let mut client = connect(url)?;
                    relax_commits(&mut client, args.apply)?;
                    worker(
                        &mut client,
                        t,
                        claim,
                        job,
                        args,
                        stats,
                        progress,
                        Pass::Claim,
                    )
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
        // Failures of phase 0 are rows under the prefix, which the count does not include.
        // Refused rows (compromised versions) stay behind too.
        let failed = {
            let s = stats.lock().unwrap_or_else(|p| p.into_inner());
            s.failed - verify_failed + s.refused()
        };
        let needed =
            !has_prefix || client.query_one(&pending_sql, &[])?.get::<_, i64>(0) as u64 > failed;
        if needed {
            let sweep = queries(&t, active, Pass::Sweep, true);
            worker(
                &mut client,
                &t,
                &sweep,
                &job,
                args,
                stats,
                &progress,
                Pass::Sweep,
            )?;
        }
        flush(&mut client, stats)?;
    }
    progress.finish();
    // Rows under the prefix that phase 0 could not move are not current either.
    let remaining = client.query_one(&pending_sql, &[])?.get::<_, i64>(0) as u64 + verify_failed;
    Ok(Some(remaining))
}

/// One durable commit flushes the WAL up to here, and with it every asynchronous commit
/// before it (of every connection): from then on the rows migrated so far are on disk.
fn flush(client: &mut Client, stats: &Mutex<Stats>) -> Result<()> {
    client.batch_execute("SET synchronous_commit = on; BEGIN; SELECT txid_current(); COMMIT;")?;
    let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
    s.durable = s.migrated;
    Ok(())
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
    pass: Pass,
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
        let mut outcomes = job.process(&rows, threads)?;
        if args.apply {
            write_batch(&mut tx, t, &q.update, &rows, &mut outcomes)?;
        }
        tx.commit()?;
        {
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            if pass == Pass::Sweep {
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
        if pass == Pass::Claim {
            progress.batch(rows.len() as u64);
        }
    }
}

/// Writes a batch's new values with one compare-and-swap `UPDATE … FROM unnest(…) RETURNING
/// id`; a migrated row the update did not return had changed since the read and becomes a
/// [`Outcome::Conflict`].
fn write_batch(
    tx: &mut postgres::Transaction<'_>,
    t: &Table,
    update: &str,
    rows: &[Row],
    outcomes: &mut [Outcome],
) -> Result<()> {
    let mut ids_int: Vec<i64> = Vec::new();
    let mut ids_text: Vec<&str> = Vec::new();
    let (mut texts, mut old_texts): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let (mut blobs, mut old_blobs): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    for (row, outcome) in rows.iter().zip(outcomes.iter()) {
        if let Outcome::Migrated { value: v, .. } = outcome {
            match &row.id {
                RowId::Int(i) => ids_int.push(*i),
                RowId::Text(s) => ids_text.push(s),
            }
            match (v, &row.value) {
                (Value::Text(new), Value::Text(old)) => {
                    texts.push(new);
                    old_texts.push(old);
                }
                (Value::Blob(new), Value::Blob(old)) => {
                    blobs.push(new);
                    old_blobs.push(old);
                }
                _ => {
                    return Err(CliError::new(
                        "internal_error",
                        crate::error::exit::DATABASE,
                        "a rewrapped value changed form (text/binary); nothing was written",
                    ))
                }
            }
        }
    }
    if ids_int.is_empty() && ids_text.is_empty() {
        return Ok(());
    }
    let ids: &(dyn ToSql + Sync) = if t.id_kind == Kind::Int {
        &ids_int
    } else {
        &ids_text
    };
    let (values, olds): (&(dyn ToSql + Sync), &(dyn ToSql + Sync)) = if t.value_kind == Kind::Bytes
    {
        (&blobs, &old_blobs)
    } else {
        (&texts, &old_texts)
    };
    let written = tx.query(update, &[ids, values, olds])?;
    let written: std::collections::HashSet<RowId> = written
        .iter()
        .map(|r| match t.id_kind {
            Kind::Int => RowId::Int(r.get(0)),
            _ => RowId::Text(r.get(0)),
        })
        .collect();
    for (row, outcome) in rows.iter().zip(outcomes.iter_mut()) {
        if matches!(outcome, Outcome::Migrated { .. }) && !written.contains(&row.id) {
            *outcome = Outcome::Conflict;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::args::{DbArgs, ProgressMode};

    /// A fresh database on the test server (`KEYROLL_TEST_PG_URL`, started by
    /// `scripts/ci/50-cli.sh`).
    fn fresh_db(name: &str) -> String {
        let admin = std::env::var("KEYROLL_TEST_PG_URL").expect(
            "KEYROLL_TEST_PG_URL must name a PostgreSQL server (scripts/ci/50-cli.sh starts one)",
        );
        let mut c = Client::connect(&admin, NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
    }

    fn args(url: &str) -> MigrateArgs {
        MigrateArgs {
            db: DbArgs {
                db: url.into(),
                table: "users".into(),
                column: "secret".into(),
            },
            id_column: "id".into(),
            context_template: String::new(),
            batch: 100,
            workers: 1,
            apply: true,
            progress: ProgressMode::None,
            include_compromised: false,
        }
    }

    #[test]
    fn a_row_changed_between_read_and_write_is_not_overwritten() {
        let url = fresh_db("kr_unit_cas");
        let mut ring = Keyring::generate(1_700_000_000).unwrap();
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.batch_execute("CREATE TABLE users (id bigint PRIMARY KEY, secret text)")
            .unwrap();
        for i in 1..=3i64 {
            let t = ring.encrypt(format!("s{i}").as_bytes(), b"", None).unwrap();
            c.execute("INSERT INTO users VALUES ($1, $2)", &[&i, &t])
                .unwrap();
        }
        // What the application will write in the middle, under the version still active then.
        let app = ring.encrypt(b"new by app", b"", None).unwrap();
        ring.rotate(1_700_000_001).unwrap();
        let template = ContextTemplate::parse("").unwrap();
        let job = Job {
            ring: &ring,
            template: &template,
            table: "users",
            column: "secret",
            options: keyroll::RewrapOptions::default(),
        };
        let t = check(&mut c, "users", "secret", Some("id")).unwrap();
        // Read (as a peer that does not lock would) and rewrap.
        let q = queries(&t, 2, Pass::Verify, false);
        let read: Vec<Row> = c
            .query("SELECT id, secret FROM users ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| Row {
                id: RowId::Int(r.get(0)),
                value: Value::Text(r.get(1)),
            })
            .collect();
        let mut outcomes = job.process(&read, 1).unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Migrated { .. })));
        // The application writes row 2 in between.
        Client::connect(&url, NoTls)
            .unwrap()
            .execute("UPDATE users SET secret = $1 WHERE id = 2", &[&app])
            .unwrap();
        let mut tx = c.transaction().unwrap();
        write_batch(&mut tx, &t, &q.update, &read, &mut outcomes).unwrap();
        tx.commit().unwrap();
        assert!(
            matches!(outcomes[1], Outcome::Conflict),
            "row 2 is a conflict, not a write"
        );
        assert!(matches!(outcomes[0], Outcome::Migrated { .. }));
        let now: Vec<String> = c
            .query("SELECT secret FROM users ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(now[1], app, "the application's write survives");
        for (i, v) in [(0, "s1"), (2, "s3")] {
            assert!(!ring.needs_rewrap(now[i].as_bytes()).unwrap());
            assert_eq!(
                ring.decrypt(now[i].as_bytes(), b"", None).unwrap(),
                v.as_bytes()
            );
        }
        // The conflict is the next run's: the application wrote under the old version.
        let (stats, remaining) = migrate(&url, &ring, &template, &args(&url)).unwrap();
        assert_eq!((stats.migrated, stats.current, stats.conflicts), (1, 2, 0));
        assert_eq!(remaining, Some(0));
        let two: String = c
            .query_one("SELECT secret FROM users WHERE id = 2", &[])
            .unwrap()
            .get(0);
        assert!(!ring.needs_rewrap(two.as_bytes()).unwrap());
        assert_eq!(
            ring.decrypt(two.as_bytes(), b"", None).unwrap(),
            b"new by app"
        );
    }
}
