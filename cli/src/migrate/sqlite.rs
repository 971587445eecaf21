//! SQLite as a migration [`Backend`]: a `BEGIN IMMEDIATE` transaction per written batch,
//! commits synced to disk, and a check before each commit that the file is still the one the
//! run started on. No row locks: the engine reads on one connection while it writes on another.

use super::backend::{composite_key, not_unique, text_marker, Backend, Filter, Hold, Update};
use super::rows::{magic_hex, Row, RowId, Value, VERSION_OFFSET};
use super::shard::KeyRange;
use super::target::quote_ident;
use crate::error::{CliError, Result};
use keyroll::envelope::MAGIC;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
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
    check_table(conn, table, column, id).map(|(t, c, i, _)| (t, c, i))
}

/// [`check_columns`], plus the ` COLLATE …` of the id's unique index (see [`check_unique`]).
fn check_table(
    conn: &Connection,
    table: &str,
    column: &str,
    id: Option<&str>,
) -> Result<(String, String, String, String)> {
    if let Some(i) = id {
        super::backend::check_id_list(table, i)?;
    }
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
    let (qi, collate) = match id {
        Some(i) if i.eq_ignore_ascii_case("rowid") && !has(i) => {
            ("rowid".to_string(), String::new())
        }
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
            let collate = check_unique(conn, &qt, table, i)?;
            (q, collate)
        }
        None => (String::new(), String::new()),
    };
    Ok((qt, qc, qi, collate))
}

/// Refuses an id column that may name several rows (the update is keyed on it): accepted are
/// `rowid`, an `INTEGER PRIMARY KEY` (the rowid itself), or a column that is `NOT NULL` and
/// alone in a unique, non-partial index (a `PRIMARY KEY` or `UNIQUE` constraint makes one).
/// A single-column `PRIMARY KEY` also counts without `NOT NULL` (SQLite lets such a key hold
/// NULLs, which never equal each other) if no row has a NULL id now; reads skip NULL ids.
///
/// Returns ` COLLATE <the index's collation>` (empty for the rowid): pages are ordered and
/// compared, and updates matched, under the collation in which the index makes ids distinct,
/// so no row is skipped or visited twice even if the column's own collation ties two ids.
fn check_unique(conn: &Connection, quoted_table: &str, table: &str, id: &str) -> Result<String> {
    // (name, declared type, not null, position in the primary key)
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({quoted_table})"))?;
    let cols: Vec<(String, String, bool, i64)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some((name, ty, not_null, pk)) = cols.iter().find(|c| c.0.eq_ignore_ascii_case(id)) else {
        // Not a declared column: only the implicit rowid reaches here.
        return Ok(String::new());
    };
    let pk_columns = cols.iter().filter(|c| c.3 > 0).count();
    if *pk == 1 && pk_columns == 1 && ty.eq_ignore_ascii_case("INTEGER") {
        return Ok(String::new()); // an alias of the rowid
    }
    let sole_primary_key = *pk == 1 && pk_columns == 1;
    if sole_primary_key && !*not_null {
        let nulls: bool = conn.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {quoted_table} WHERE {} IS NULL)",
                quote_ident(name, false)?
            ),
            [],
            |r| r.get(0),
        )?;
        if nulls {
            return Err(CliError::db(
                "id_not_unique",
                format!(
                    "the primary key {id:?} of table {table:?} is not declared NOT NULL and some \
                     rows have a NULL id, which names no row; nothing was changed (give those \
                     rows ids, or pass another unique NOT NULL column with --id-column)"
                ),
            ));
        }
    }
    if *not_null || sole_primary_key {
        let mut list = conn.prepare(&format!("PRAGMA index_list({quoted_table})"))?;
        let indexes: Vec<(String, bool, bool)> = list
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(4)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (index, unique, partial) in indexes {
            if !unique || partial {
                continue;
            }
            // (name, collation, whether a key column) per column of the index.
            let mut info = conn.prepare(&format!(
                "PRAGMA index_xinfo({})",
                quote_ident_loose(&index)
            ))?;
            let keyed: Vec<(Option<String>, Option<String>)> = info
                .query_map([], |r| Ok((r.get(2)?, r.get(4)?, r.get::<_, bool>(5)?)))?
                .filter(|c| !matches!(c, Ok((_, _, false))))
                .map(|c| c.map(|(n, coll, _)| (n, coll)))
                .collect::<rusqlite::Result<_>>()?;
            if let [(Some(k), collation)] = keyed.as_slice() {
                if k.eq_ignore_ascii_case(name) {
                    return Ok(collation
                        .as_deref()
                        .map(|c| format!(" COLLATE {}", quote_ident_loose(c)))
                        .unwrap_or_default());
                }
            }
        }
    }
    if pk_columns > 1 && *pk > 0 {
        let mut primary: Vec<&(String, String, bool, i64)> =
            cols.iter().filter(|c| c.3 > 0).collect();
        primary.sort_by_key(|c| c.3);
        let names: Vec<String> = primary.iter().map(|c| c.0.clone()).collect();
        return Err(composite_key(table, &names, true));
    }
    Err(not_unique(table, id))
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

/// SQL that is true when a value carries `active`'s marker: the text prefix, or a binary
/// header (magic, then the version at core's offset) naming it.
pub fn marked_predicate(c: &str, active: u32) -> String {
    let prefix = text_marker(active);
    format!(
        "((typeof({c}) = 'text' AND substr({c}, 1, {len}) = '{prefix}') OR \
          (typeof({c}) = 'blob' AND substr({c}, 1, {ml}) = x'{magic}' AND substr({c}, {vo}, 4) = x'{active:08x}'))",
        len = prefix.len(),
        ml = MAGIC.len(),
        magic = magic_hex(),
        vo = VERSION_OFFSET + 1
    )
}

/// A checked SQLite table to migrate.
pub struct Sqlite {
    path: std::path::PathBuf,
    /// The file's identity when the run started: a commit into a replaced file is refused.
    original: Option<(u64, u64)>,
    /// Quoted table, column, and the id with the key index's collation.
    t: String,
    c: String,
    order: String,
    marked: String,
    update: String,
    /// The key range this command works (`--shard`); reads and counts stay inside it.
    range: KeyRange,
}

impl Sqlite {
    /// Opens and checks `table.column` keyed by `id` for a migration onto `active`.
    pub fn new(path: &Path, table: &str, column: &str, id: &str, active: u32) -> Result<Self> {
        let conn = open(path)?;
        let (t, c, id, collate) = check_table(&conn, table, column, Some(id))?;
        let marked = marked_predicate(&c, active);
        // Keyset pagination: `ORDER BY` and `>` under the same collation (the key index's),
        // so each page starts exactly after the last id of the one before.
        let order = format!("{id}{collate}");
        Ok(Sqlite {
            path: path.to_path_buf(),
            original: identity(path),
            // Compare-and-swap: a row the application changed after it was read is left
            // alone (and picked up by the next run), so the migration never overwrites a live
            // write.
            update: format!("UPDATE {t} SET {c} = ?1 WHERE {order} = ?2 AND {c} = ?3"),
            t,
            c,
            order,
            marked,
            range: KeyRange::default(),
        })
    }

    /// `AND id > ? AND id <= ?` for the parts of `after` (else the range's lower bound) and
    /// the range's upper bound that are set, with their values.
    fn bounds(&self, after: Option<&RowId>) -> (String, Vec<rusqlite::types::Value>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        if let Some(a) = after.or(self.range.after.as_ref()) {
            sql.push_str(&format!(" AND {} > ?", self.order));
            values.push(sql_id(a));
        }
        if let Some(u) = &self.range.upto {
            sql.push_str(&format!(" AND {} <= ?", self.order));
            values.push(sql_id(u));
        }
        (sql, values)
    }
}

fn sql_id(id: &RowId) -> rusqlite::types::Value {
    match id {
        RowId::Int(i) => rusqlite::types::Value::Integer(*i),
        RowId::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

fn sql_value(v: &Value) -> &dyn rusqlite::ToSql {
    match v {
        Value::Text(s) => s,
        Value::Blob(b) => b,
    }
}

impl Backend for Sqlite {
    type Conn = Connection;

    fn connect(&self, apply: bool) -> Result<Connection> {
        let conn = open(&self.path)?;
        if apply {
            // Every commit synced before it returns (SQLite's default, set explicitly): what
            // the run reports as committed is on disk.
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(conn)
    }

    fn row_locks(&self) -> bool {
        false
    }

    fn durable_commits(&self) -> bool {
        true
    }

    fn begin(&self, conn: &mut Connection) -> Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn read(
        &self,
        conn: &mut Connection,
        filter: Filter,
        _hold: Hold,
        after: Option<&RowId>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        let (t, c, order) = (&self.t, &self.c, &self.order);
        let filter = match filter {
            Filter::Pending => format!("NOT {}", self.marked),
            Filter::Marked => self.marked.clone(),
        };
        let (bounds, mut values) = self.bounds(after);
        values.push(rusqlite::types::Value::Integer(limit as i64));
        let sql = format!(
            "SELECT {order}, {c} FROM {t} WHERE {c} IS NOT NULL AND {order} IS NOT NULL AND {filter}{bounds} ORDER BY {order} LIMIT ?"
        );
        let read = || -> rusqlite::Result<Vec<Row>> {
            let map = |r: &rusqlite::Row<'_>| {
                Ok(Row {
                    id: row_id(r.get_ref(0)?)?,
                    value: value(r.get_ref(1)?),
                })
            };
            conn.prepare_cached(&sql)?
                .query_map(rusqlite::params_from_iter(values), map)?
                .collect()
        };
        read().map_err(|e| match e {
            rusqlite::Error::InvalidColumnType(..) => {
                CliError::db("unsupported_id", "the id column must hold integers or text")
            }
            other => CliError::from(other),
        })
    }

    fn write(&self, conn: &mut Connection, updates: &[Update<'_>]) -> Result<Vec<bool>> {
        let mut stmt = conn.prepare_cached(&self.update)?;
        let mut written = Vec::with_capacity(updates.len());
        for u in updates {
            let key: &dyn rusqlite::ToSql = match u.id {
                RowId::Int(i) => i,
                RowId::Text(s) => s,
            };
            let n = stmt.execute(rusqlite::params![sql_value(u.new), key, sql_value(u.old)])?;
            written.push(n == 1);
        }
        Ok(written)
    }

    fn commit(&self, conn: &mut Connection) -> Result<()> {
        if identity(&self.path) != self.original {
            self.rollback(conn);
            return Err(CliError::db(
                "database_vanished",
                format!(
                    "SQLite database {} disappeared or was replaced during the run",
                    self.path.display()
                ),
            ));
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn rollback(&self, conn: &mut Connection) {
        let _ = conn.execute_batch("ROLLBACK");
    }

    fn pending(&self, conn: &mut Connection) -> Result<u64> {
        let (bounds, values) = self.bounds(None);
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {c} IS NOT NULL AND NOT {}{bounds}",
            self.t,
            self.marked,
            c = self.c
        );
        Ok(
            conn.query_row(&sql, rusqlite::params_from_iter(values), |r| {
                r.get::<_, i64>(0)
            })? as u64,
        )
    }

    fn set_range(&mut self, range: KeyRange) {
        self.range = range;
    }

    fn key_count(&self, conn: &mut Connection) -> Result<u64> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
            self.t, self.order
        );
        Ok(conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn key_at(&self, conn: &mut Connection, offset: u64) -> Result<Option<RowId>> {
        let sql = format!(
            "SELECT {o} FROM {} WHERE {o} IS NOT NULL ORDER BY {o} LIMIT 1 OFFSET ?1",
            self.t,
            o = self.order
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([offset as i64])?;
        match rows.next()? {
            Some(r) => Ok(Some(row_id(r.get_ref(0)?).map_err(|_| {
                CliError::db("unsupported_id", "the id column must hold integers or text")
            })?)),
            None => Ok(None),
        }
    }

    fn flush(&self, _conn: &mut Connection) -> Result<()> {
        Ok(()) // every commit already was
    }
}
