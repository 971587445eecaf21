//! `keyroll_migrate_progress`: the plan and state of a sharded migration, kept in the
//! database being migrated (created on demand), so workers on different hosts agree on the
//! key ranges and `keyroll report --progress` can show every worker.
//!
//! One row per shard of a run. A run is keyed by (table, column, target version, shard
//! count): the first worker of a run inserts all N rows — the plan — in one transaction under
//! a lock (PostgreSQL: `pg_advisory_xact_lock`; SQLite: `BEGIN IMMEDIATE`), with boundaries
//! cut from the table's ids at that moment; every later worker of the run (or a restarted one)
//! finds the rows and uses their ranges. Each shard's `last_id` is its resume cursor. The
//! columns are documented in cli/README.md ("Scale-out").

use super::rows::RowId;
use super::shard::{KeyRange, ShardSpec};
use super::target::Target;
use crate::error::{CliError, Result};
use serde::Serialize;
use std::sync::Mutex;

/// The table's name (in the migrated database; PostgreSQL: the current schema).
pub const TABLE: &str = "keyroll_migrate_progress";

const COLUMNS: &str = "run_id, tbl, col, target_version, shard, shard_count, id_kind, \
    range_after, range_upto, state, rows_read, rows_written, rows_skipped, last_id, host, pid, \
    started_at, updated_at";

/// The schema (the same SQL works on both databases).
fn create_sql() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (\
           run_id text NOT NULL, tbl text NOT NULL, col text NOT NULL, \
           target_version bigint NOT NULL, shard bigint NOT NULL, shard_count bigint NOT NULL, \
           id_kind text NOT NULL, range_after text, range_upto text, \
           state text NOT NULL, rows_read bigint NOT NULL DEFAULT 0, \
           rows_written bigint NOT NULL DEFAULT 0, rows_skipped bigint NOT NULL DEFAULT 0, \
           last_id text, host text, pid bigint, started_at bigint, updated_at bigint, \
           PRIMARY KEY (tbl, col, target_version, shard_count, shard))"
    )
}

/// One shard's row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShardRow {
    /// The run (random, chosen by the worker that wrote the plan).
    pub run_id: String,
    /// Migrated table.
    pub table: String,
    /// Migrated column.
    pub column: String,
    /// The version the run moves rows onto.
    pub target_version: u32,
    /// This shard's index.
    pub shard: u32,
    /// Shards in the run.
    pub shard_count: u32,
    /// `int` or `text`: how the bounds and cursor read back as ids.
    pub id_kind: String,
    /// Exclusive lower bound (none: open).
    pub range_after: Option<String>,
    /// Inclusive upper bound (none: open).
    pub range_upto: Option<String>,
    /// `planned`, `running`, `done` or `failed` (a killed worker stays `running`, its
    /// `updated_at` getting old).
    pub state: String,
    /// Rows read (all passes, all attempts).
    pub rows_read: u64,
    /// Rows written.
    pub rows_written: u64,
    /// Rows read and not written (already current, failed, refused, conflicts).
    pub rows_skipped: u64,
    /// The resume cursor: every row up to it was taken by the main pass.
    pub last_id: Option<String>,
    /// Host of the last worker.
    pub host: Option<String>,
    /// Its process id.
    pub pid: Option<i64>,
    /// Unix seconds the shard was first started.
    pub started_at: Option<i64>,
    /// Unix seconds of the last update.
    pub updated_at: Option<i64>,
}

impl ShardRow {
    /// The shard's key range.
    pub fn range(&self) -> Result<KeyRange> {
        Ok(KeyRange {
            after: self.id(self.range_after.as_deref())?,
            upto: self.id(self.range_upto.as_deref())?,
        })
    }

    /// The resume cursor.
    pub fn cursor(&self) -> Result<Option<RowId>> {
        self.id(self.last_id.as_deref())
    }

    fn id(&self, text: Option<&str>) -> Result<Option<RowId>> {
        text.map(|t| parse_id(&self.id_kind, t)).transpose()
    }
}

fn kind_of(id: &RowId) -> &'static str {
    match id {
        RowId::Int(_) => "int",
        RowId::Text(_) => "text",
    }
}

fn parse_id(kind: &str, text: &str) -> Result<RowId> {
    match kind {
        "int" => text.parse().map(RowId::Int).map_err(|_| damaged()),
        "text" => Ok(RowId::Text(text.to_string())),
        _ => Err(damaged()),
    }
}

fn damaged() -> CliError {
    CliError::db(
        "progress_damaged",
        format!("{TABLE} holds a bound or cursor that is not an id of its kind; fix or delete the run's rows"),
    )
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// This host's name (for the operator reading `report --progress`).
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let uname = rustix::system::uname();
        let name = uname.nodename().to_string_lossy().into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    keyroll_store::env::var(&keyroll_store::env::process, "HOSTNAME")
        .ok()
        .flatten()
        .map(|h| h.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Which run: the plan's key.
#[derive(Debug, Clone)]
pub struct RunKey {
    /// Table as passed.
    pub table: String,
    /// Column as passed.
    pub column: String,
    /// Target version.
    pub target_version: u32,
    /// The shard argument.
    pub shard: ShardSpec,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// A connection to the progress table of one database.
pub struct Store {
    conn: Mutex<Conn>,
}

/// SQLite and PostgreSQL placeholders differ (`?1`, `$1`).
fn sql(conn: &Conn, text: &str) -> String {
    match conn {
        Conn::Sqlite(_) => text.to_string(),
        Conn::Postgres(_) => text.replace('?', "$"),
    }
}

/// A parameter, as both drivers take it.
enum P<'a> {
    I(i64),
    T(&'a str),
    N,
}

fn exec(conn: &mut Conn, text: &str, params: &[P<'_>]) -> Result<u64> {
    let q = sql(conn, text);
    match conn {
        Conn::Sqlite(c) => {
            let values: Vec<rusqlite::types::Value> = params
                .iter()
                .map(|p| match p {
                    P::I(i) => rusqlite::types::Value::Integer(*i),
                    P::T(t) => rusqlite::types::Value::Text(t.to_string()),
                    P::N => rusqlite::types::Value::Null,
                })
                .collect();
            Ok(c.execute(&q, rusqlite::params_from_iter(values))? as u64)
        }
        Conn::Postgres(c) => {
            let none: Option<String> = None;
            let owned: Vec<Box<dyn postgres::types::ToSql + Sync>> = params
                .iter()
                .map(|p| -> Box<dyn postgres::types::ToSql + Sync> {
                    match p {
                        P::I(i) => Box::new(*i),
                        P::T(t) => Box::new(t.to_string()),
                        P::N => Box::new(none.clone()),
                    }
                })
                .collect();
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                owned.iter().map(|b| b.as_ref()).collect();
            Ok(c.execute(q.as_str(), &refs)?)
        }
    }
}

fn batch(conn: &mut Conn, text: &str) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => c.execute_batch(text)?,
        Conn::Postgres(c) => c.batch_execute(text)?,
    }
    Ok(())
}

fn select(conn: &mut Conn, filter: &str, params: &[&str]) -> Result<Vec<ShardRow>> {
    let q = sql(
        conn,
        &format!("SELECT {COLUMNS} FROM {TABLE} WHERE {filter} ORDER BY tbl, col, target_version DESC, shard_count, shard"),
    );
    match conn {
        Conn::Sqlite(c) => {
            let mut stmt = c.prepare(&q)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    Ok(ShardRow {
                        run_id: r.get(0)?,
                        table: r.get(1)?,
                        column: r.get(2)?,
                        target_version: r.get::<_, i64>(3)? as u32,
                        shard: r.get::<_, i64>(4)? as u32,
                        shard_count: r.get::<_, i64>(5)? as u32,
                        id_kind: r.get(6)?,
                        range_after: r.get(7)?,
                        range_upto: r.get(8)?,
                        state: r.get(9)?,
                        rows_read: r.get::<_, i64>(10)? as u64,
                        rows_written: r.get::<_, i64>(11)? as u64,
                        rows_skipped: r.get::<_, i64>(12)? as u64,
                        last_id: r.get(13)?,
                        host: r.get(14)?,
                        pid: r.get(15)?,
                        started_at: r.get(16)?,
                        updated_at: r.get(17)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        }
        Conn::Postgres(c) => {
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            Ok(c.query(q.as_str(), &refs)?
                .iter()
                .map(|r| ShardRow {
                    run_id: r.get(0),
                    table: r.get(1),
                    column: r.get(2),
                    target_version: r.get::<_, i64>(3) as u32,
                    shard: r.get::<_, i64>(4) as u32,
                    shard_count: r.get::<_, i64>(5) as u32,
                    id_kind: r.get(6),
                    range_after: r.get(7),
                    range_upto: r.get(8),
                    state: r.get(9),
                    rows_read: r.get::<_, i64>(10) as u64,
                    rows_written: r.get::<_, i64>(11) as u64,
                    rows_skipped: r.get::<_, i64>(12) as u64,
                    last_id: r.get(13),
                    host: r.get(14),
                    pid: r.get(15),
                    started_at: r.get(16),
                    updated_at: r.get(17),
                })
                .collect())
        }
    }
}

impl Store {
    /// Opens the database `target` names (the table is created by [`Store::plan`]).
    pub fn open(target: &Target) -> Result<Self> {
        let conn = match target {
            Target::Sqlite(path) => Conn::Sqlite(super::sqlite::open(path)?),
            Target::Postgres(url) => Conn::Postgres(Box::new(super::postgres::connect(url)?)),
        };
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run's plan: read if a worker of the run wrote it, else cut now by `boundaries`
    /// (the N-1 inclusive upper bounds of shards 0..N-1) and written, all under the lock, so
    /// that of workers starting at once exactly one cuts. Then marks this shard `running` on
    /// this host and returns its row.
    pub fn plan(
        &self,
        key: &RunKey,
        boundaries: impl FnOnce() -> Result<Vec<RowId>>,
    ) -> Result<ShardRow> {
        let mut conn = self.conn();
        let conn = &mut *conn;
        let begin = match conn {
            Conn::Sqlite(_) => "BEGIN IMMEDIATE",
            Conn::Postgres(_) => "BEGIN",
        };
        batch(conn, begin)?;
        let result = (|| -> Result<ShardRow> {
            if let Conn::Postgres(_) = conn {
                // One planner at a time per database, held until this transaction ends (also
                // serialises CREATE TABLE IF NOT EXISTS, which races on its own).
                batch(
                    conn,
                    &format!("SELECT pg_advisory_xact_lock(hashtext('{TABLE}'))"),
                )?;
            }
            batch(conn, &create_sql())?;
            let mut rows = self.run_rows(conn, key)?;
            if rows.is_empty() {
                let cuts = boundaries()?;
                let run_id = random_run_id()?;
                let kind = cuts.first().map(kind_of).unwrap_or("int");
                if cuts.iter().any(|c| kind_of(c) != kind) {
                    return Err(CliError::db(
                        "unsupported_id",
                        "the id column holds both integers and text: key ranges need one kind",
                    ));
                }
                for i in 0..key.shard.count {
                    let range = KeyRange::of(&cuts, i as usize);
                    let after = range.after.as_ref().map(|b| b.to_string());
                    let upto = range.upto.as_ref().map(|b| b.to_string());
                    let opt = |v: &Option<String>| v.clone();
                    let (after, upto) = (opt(&after), opt(&upto));
                    exec(
                        conn,
                        &format!(
                            "INSERT INTO {TABLE} (run_id, tbl, col, target_version, shard, \
                             shard_count, id_kind, range_after, range_upto, state) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'planned')"
                        ),
                        &[
                            P::T(&run_id),
                            P::T(&key.table),
                            P::T(&key.column),
                            P::I(key.target_version as i64),
                            P::I(i as i64),
                            P::I(key.shard.count as i64),
                            P::T(kind),
                            after.as_deref().map(P::T).unwrap_or(P::N),
                            upto.as_deref().map(P::T).unwrap_or(P::N),
                        ],
                    )?;
                }
                rows = self.run_rows(conn, key)?;
            }
            let now = unix_now();
            let host = host_name();
            exec(
                conn,
                &format!(
                    "UPDATE {TABLE} SET state = 'running', host = ?1, pid = ?2, \
                     started_at = COALESCE(started_at, ?3), updated_at = ?3 \
                     WHERE tbl = ?4 AND col = ?5 AND target_version = ?6 AND shard_count = ?7 \
                     AND shard = ?8"
                ),
                &[
                    P::T(&host),
                    P::I(std::process::id() as i64),
                    P::I(now),
                    P::T(&key.table),
                    P::T(&key.column),
                    P::I(key.target_version as i64),
                    P::I(key.shard.count as i64),
                    P::I(key.shard.index as i64),
                ],
            )?;
            let mine = rows
                .into_iter()
                .find(|r| r.shard == key.shard.index)
                .ok_or_else(damaged)?;
            Ok(ShardRow {
                state: "running".into(),
                host: Some(host),
                pid: Some(std::process::id() as i64),
                started_at: mine.started_at.or(Some(now)),
                updated_at: Some(now),
                ..mine
            })
        })();
        match result {
            Ok(row) => {
                batch(conn, "COMMIT")?;
                Ok(row)
            }
            Err(e) => {
                let _ = batch(conn, "ROLLBACK");
                Err(e)
            }
        }
    }

    fn run_rows(&self, conn: &mut Conn, key: &RunKey) -> Result<Vec<ShardRow>> {
        let version = key.target_version.to_string();
        let count = key.shard.count.to_string();
        select(
            conn,
            "tbl = ?1 AND col = ?2 AND CAST(target_version AS text) = ?3 \
             AND CAST(shard_count AS text) = ?4",
            &[&key.table, &key.column, &version, &count],
        )
    }

    /// Adds one committed batch's counts to the shard's row and, if given, moves its cursor.
    pub fn batch(
        &self,
        key: &RunKey,
        counts: (u64, u64, u64),
        cursor: Option<&RowId>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let cursor = cursor.map(|c| c.to_string());
        exec(
            &mut conn,
            &format!(
                "UPDATE {TABLE} SET rows_read = rows_read + ?1, rows_written = rows_written + ?2, \
                 rows_skipped = rows_skipped + ?3, last_id = COALESCE(?4, last_id), \
                 updated_at = ?5 \
                 WHERE tbl = ?6 AND col = ?7 AND target_version = ?8 AND shard_count = ?9 \
                 AND shard = ?10"
            ),
            &[
                P::I(counts.0 as i64),
                P::I(counts.1 as i64),
                P::I(counts.2 as i64),
                cursor.as_deref().map(P::T).unwrap_or(P::N),
                P::I(unix_now()),
                P::T(&key.table),
                P::T(&key.column),
                P::I(key.target_version as i64),
                P::I(key.shard.count as i64),
                P::I(key.shard.index as i64),
            ],
        )?;
        Ok(())
    }

    /// Sets the shard's final state (`done` or `failed`).
    pub fn finish(&self, key: &RunKey, state: &str) -> Result<()> {
        let mut conn = self.conn();
        exec(
            &mut conn,
            &format!(
                "UPDATE {TABLE} SET state = ?1, updated_at = ?2 WHERE tbl = ?3 AND col = ?4 \
                 AND target_version = ?5 AND shard_count = ?6 AND shard = ?7"
            ),
            &[
                P::T(state),
                P::I(unix_now()),
                P::T(&key.table),
                P::T(&key.column),
                P::I(key.target_version as i64),
                P::I(key.shard.count as i64),
                P::I(key.shard.index as i64),
            ],
        )?;
        Ok(())
    }

    /// Every shard row of `table.column` (all runs, newest target version first); empty if
    /// the progress table does not exist.
    pub fn list(&self, table: &str, column: &str) -> Result<Vec<ShardRow>> {
        let mut conn = self.conn();
        let exists = match &mut *conn {
            Conn::Sqlite(c) => {
                c.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [TABLE],
                    |r| r.get::<_, i64>(0),
                )? > 0
            }
            Conn::Postgres(c) => c
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&TABLE])?
                .get::<_, bool>(0),
        };
        if !exists {
            return Ok(Vec::new());
        }
        select(&mut conn, "tbl = ?1 AND col = ?2", &[table, column])
    }
}

/// 16 random bytes as hex: names a run in the table and in `report --progress`.
fn random_run_id() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|_| CliError::new("internal_error", crate::error::exit::IO, "no randomness"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_late_worker_reads_the_plan_instead_of_cutting_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        rusqlite::Connection::open(&path).unwrap();
        let target = Target::Sqlite(path);
        let key = |index| RunKey {
            table: "users".into(),
            column: "secret".into(),
            target_version: 2,
            shard: ShardSpec { index, count: 3 },
        };
        let first = Store::open(&target).unwrap();
        let row = first
            .plan(&key(0), || Ok(vec![RowId::Int(10), RowId::Int(20)]))
            .unwrap();
        assert_eq!(row.range().unwrap().upto, Some(RowId::Int(10)));
        first
            .batch(&key(0), (5, 4, 1), Some(&RowId::Int(7)))
            .unwrap();
        let late = Store::open(&target).unwrap();
        let row2 = late
            .plan(&key(2), || panic!("a late worker must not cut"))
            .unwrap();
        assert_eq!(row2.run_id, row.run_id);
        assert_eq!(row2.range().unwrap().after, Some(RowId::Int(20)));
        assert_eq!(row2.range().unwrap().upto, None);
        let rows = late.list("users", "secret").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].cursor().unwrap(), Some(RowId::Int(7)));
        assert_eq!((rows[0].rows_read, rows[0].rows_written), (5, 4));
        assert_eq!(rows[1].state, "planned");
        // Another shard count is another run.
        let other = RunKey {
            shard: ShardSpec { index: 0, count: 2 },
            ..key(0)
        };
        let row3 = late.plan(&other, || Ok(vec![RowId::Int(15)])).unwrap();
        assert_ne!(row3.run_id, row.run_id);
    }
}
