//! PostgreSQL as a migration [`Backend`]: reads can lock rows (`FOR UPDATE [SKIP LOCKED]`),
//! so workers — threads here, or other processes anywhere — claim batches and write them back
//! with one compare-and-swap `UPDATE … FROM unnest(…)` in the same transaction; commits are
//! asynchronous until the run's final synchronous one.

use super::backend::{text_marker, Backend, Filter, Hold, Update};
use super::rows::{magic_hex, Row, RowId, Value, VERSION_OFFSET};
use super::shard::KeyRange;
use super::target::quote_ident;
use crate::error::{CliError, Result};
use keyroll::envelope::MAGIC;
use postgres::types::ToSql;
use postgres::Client;
use std::collections::HashSet;

/// Column types this tool handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// smallint/integer/bigint.
    Int,
    /// text/varchar/char.
    Text,
    /// bytea.
    Bytes,
    /// uuid (ids only).
    Uuid,
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
    /// The id column's type as SQL names it (`int8`, `text`, `varchar`, `bpchar`, `uuid`): a
    /// cursor or key travels as `int8` or text and is cast to it, so comparisons are made in
    /// the column's own type (uuid as uuid, text by its collation) and can use its index.
    pub id_type: &'static str,
    /// ` COLLATE …` of the unique index the id is checked against (empty for non-text ids).
    /// The page order, the cursor comparison and the update's match all use it: the index
    /// makes ids distinct under that collation, so pages are a strict order (no row visited
    /// twice or skipped, even if the column's own collation ties two ids) and an id matches
    /// one row.
    pub id_collate: String,
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
        "uuid" => Some(Kind::Uuid),
        _ => None,
    }
}

/// The cast target of an id column's type (see [`Table::id_type`]).
fn id_type_of(data_type: &str) -> &'static str {
    match data_type {
        "character varying" => "varchar",
        "character" => "bpchar",
        "uuid" => "uuid",
        "text" => "text",
        _ => "int8",
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
    let find = |c: &str| -> Result<(Kind, String)> {
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
        let kind = kind_of(&ty).ok_or_else(|| {
            CliError::db(
                "unsupported_type",
                format!("column {c:?} has unsupported type {ty}"),
            )
        })?;
        Ok((kind, ty))
    };
    let (value_kind, value_type) = find(column)?;
    if matches!(value_kind, Kind::Int | Kind::Uuid) {
        return Err(CliError::db(
            "unsupported_type",
            format!("column {column:?} is a {value_type} column, not text or bytea"),
        ));
    }
    let (qi, id_kind, id_type, id_collate) = match id {
        Some(i) => {
            super::backend::check_id_list(table, i)?;
            let (k, ty) = find(i)?;
            if k == Kind::Bytes {
                return Err(CliError::db(
                    "unsupported_id",
                    format!(
                        "the id column {i:?} is bytea; it must be an integer, text or uuid \
                         (add such a unique NOT NULL column and pass it with --id-column)"
                    ),
                ));
            }
            let collate = check_unique(client, &qt, table, i)?;
            (quote_ident(i, false)?, k, id_type_of(&ty), collate)
        }
        None => (String::new(), Kind::Int, "int8", String::new()),
    };
    Ok(Table {
        table: qt,
        column: quote_ident(column, false)?,
        id: qi,
        value_kind,
        id_kind,
        id_type,
        id_collate,
    })
}

/// Refuses an id column that does not name exactly one row: the update is keyed on it, so two
/// rows sharing an id would both receive the ciphertext made for one of them. Accepted: the
/// primary key, or a unique, not-null, non-partial, immediately checked single-column index.
/// Returns ` COLLATE <the index's collation>` for a text id (see [`Table::id_collate`]), empty
/// otherwise. A composite primary key gets its own message, naming the fix.
fn check_unique(client: &mut Client, quoted_table: &str, table: &str, id: &str) -> Result<String> {
    let found = client.query_opt(
        "SELECT coalesce((SELECT format('%I.%I', n.nspname, c.collname) FROM pg_collation c \
                 JOIN pg_namespace n ON n.oid = c.collnamespace WHERE c.oid = i.indcollation[0]), '') \
         FROM pg_index i \
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
           WHERE i.indrelid = to_regclass($1) AND a.attname = $2 \
             AND i.indnkeyatts = 1 AND i.indisvalid AND i.indimmediate \
             AND i.indpred IS NULL AND i.indexprs IS NULL \
             AND (i.indisprimary OR (i.indisunique AND a.attnotnull)) \
         ORDER BY i.indisprimary DESC LIMIT 1",
        &[&quoted_table, &id],
    )?;
    if let Some(row) = found {
        let collation: String = row.get(0);
        return Ok(if collation.is_empty() {
            String::new()
        } else {
            format!(" COLLATE {collation}")
        });
    }
    let primary: Vec<String> = client
        .query(
            "SELECT a.attname::text FROM pg_index i \
               CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.ord",
            &[&quoted_table],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if primary.len() > 1 && primary.iter().any(|c| c == id) {
        return Err(super::backend::composite_key(table, &primary, false));
    }
    Err(super::backend::not_unique(table, id))
}

/// SQL that is true when a value carries `active`'s marker: the text prefix `kr1:v<N>:`, or
/// (bytea) the magic and, at core's offset, the version of a binary header.
pub fn marked_predicate(t: &Table, active: u32) -> String {
    let c = &t.column;
    if t.value_kind == Kind::Bytes {
        format!(
            "(substring({c} from 1 for {ml}) = '\\x{magic}'::bytea AND \
              substring({c} from {vo} for 4) = '\\x{active:08x}'::bytea)",
            ml = MAGIC.len(),
            magic = magic_hex(),
            vo = VERSION_OFFSET + 1
        )
    } else {
        let prefix = text_marker(active);
        format!("(left({c}, {}) = '{prefix}')", prefix.len())
    }
}

/// A checked PostgreSQL table to migrate.
pub struct Postgres {
    url: String,
    t: Table,
    marked: String,
    update: String,
    /// The key range this command works (`--shard`); reads and counts stay inside it.
    range: KeyRange,
}

impl Postgres {
    /// Connects and checks `table.column` keyed by `id` for a migration onto `active`.
    pub fn new(url: &str, table: &str, column: &str, id: &str, active: u32) -> Result<Self> {
        let mut client = connect(url)?;
        let t = check(&mut client, table, column, Some(id))?;
        let marked = marked_predicate(&t, active);
        let (tb, c, id) = (&t.table, &t.column, &t.id);
        let id_array = if t.id_kind == Kind::Int {
            "$1::int8[]"
        } else {
            "$1::text[]"
        };
        let (id_type, collate) = (t.id_type, &t.id_collate);
        let (value_array, old_array) = if t.value_kind == Kind::Bytes {
            ("$2::bytea[]", "$3::bytea[]")
        } else {
            ("$2::text[]", "$3::text[]")
        };
        let value_sel = value_sel(&t);
        let id_sel = id_sel(&t);
        Ok(Postgres {
            url: url.to_string(),
            // Compare-and-swap, as SQLite's: a row whose value is no longer the one that was
            // read (changed by the application, or by a peer that does not lock) is left alone
            // and counted as a conflict; the next run takes it.
            update: format!(
                "UPDATE {tb} SET {c} = u.v FROM unnest({id_array}, {value_array}, {old_array}) AS u(id, v, old) \
                 WHERE {tb}.{id} = u.id::{id_type}{collate} AND {tb}.{value_sel} = u.old RETURNING {tb}.{id_sel}"
            ),
            marked,
            range: KeyRange::default(),
            t,
        })
    }

    /// `AND id > $n AND id <= $m` for the parts of `after` (else the range's lower bound) and
    /// the range's upper bound that are set, numbered from `$first`, with their values: ids
    /// travel as int8 or text and are cast to the column's type, compared under the key
    /// index's collation.
    fn bounds<'a>(
        &'a self,
        after: Option<&'a RowId>,
        first: usize,
    ) -> (String, Vec<&'a (dyn ToSql + Sync)>) {
        let t = &self.t;
        let order = format!("{}{}", t.id, t.id_collate);
        let cast = |n: usize| {
            if t.id_kind == Kind::Int {
                format!("${n}::int8")
            } else {
                format!("${n}::text::{}", t.id_type)
            }
        };
        let mut sql = String::new();
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        let param = |id: &'a RowId| -> &'a (dyn ToSql + Sync) {
            match id {
                RowId::Int(i) => i,
                RowId::Text(s) => s,
            }
        };
        if let Some(a) = after.or(self.range.after.as_ref()) {
            sql.push_str(&format!(" AND {order} > {}", cast(first + values.len())));
            values.push(param(a));
        }
        if let Some(u) = &self.range.upto {
            sql.push_str(&format!(" AND {order} <= {}", cast(first + values.len())));
            values.push(param(u));
        }
        (sql, values)
    }

    fn row_id(&self, r: &postgres::Row) -> RowId {
        match self.t.id_kind {
            Kind::Int => RowId::Int(r.get(0)),
            _ => RowId::Text(r.get(0)),
        }
    }
}

fn id_sel(t: &Table) -> String {
    match t.id_kind {
        Kind::Int => format!("{}::int8", t.id),
        _ => format!("{}::text", t.id),
    }
}

fn value_sel(t: &Table) -> String {
    if t.value_kind == Kind::Text {
        format!("{}::text", t.column)
    } else {
        t.column.clone()
    }
}

impl Backend for Postgres {
    type Conn = Client;

    /// With `apply`, batches commit without waiting for the WAL flush: a server crash can only
    /// undo the last few batches, which the next run redoes (their old tokens still decrypt).
    /// The run ends with one durable commit ([`Backend::flush`]), so a finished run is fully
    /// on disk before it reports.
    fn connect(&self, apply: bool) -> Result<Client> {
        let mut client = connect(&self.url)?;
        if apply {
            client.batch_execute("SET synchronous_commit = off")?;
        }
        Ok(client)
    }

    fn row_locks(&self) -> bool {
        true
    }

    fn durable_commits(&self) -> bool {
        false
    }

    fn begin(&self, conn: &mut Client) -> Result<()> {
        conn.batch_execute("BEGIN")?;
        Ok(())
    }

    fn read(
        &self,
        conn: &mut Client,
        filter: Filter,
        hold: Hold,
        after: Option<&RowId>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        let t = &self.t;
        let (tb, c, id) = (&t.table, &t.column, &t.id);
        let (id_sel, value_sel) = (id_sel(t), value_sel(t));
        let filter = match filter {
            Filter::Pending => format!("NOT {}", self.marked),
            Filter::Marked => self.marked.clone(),
        };
        let lock = match hold {
            Hold::None => "",
            Hold::SkipLocked => " FOR UPDATE SKIP LOCKED",
            Hold::Wait => " FOR UPDATE",
        };
        let limit = limit as i64;
        let (bounds, mut params) = self.bounds(after, 1);
        let n = params.len() + 1;
        params.push(&limit);
        // Keyset pagination in the column's type and the key index's collation: `ORDER BY`
        // and `>` agree, so each page starts exactly after the last id of the one before.
        let order = format!("{id}{}", t.id_collate);
        let sql = format!(
            "SELECT {id_sel}, {value_sel} FROM {tb} WHERE {c} IS NOT NULL AND {filter}{bounds} \
             ORDER BY {order} LIMIT ${n}{lock}"
        );
        let result = conn.query(sql.as_str(), &params)?;
        Ok(result
            .iter()
            .map(|r| Row {
                id: self.row_id(r),
                value: match t.value_kind {
                    Kind::Bytes => Value::Blob(r.get(1)),
                    _ => Value::Text(r.get(1)),
                },
            })
            .collect())
    }

    /// One `UPDATE … FROM unnest(…) RETURNING id` for the whole batch.
    fn write(&self, conn: &mut Client, updates: &[Update<'_>]) -> Result<Vec<bool>> {
        let mut ids_int: Vec<i64> = Vec::new();
        let mut ids_text: Vec<&str> = Vec::new();
        let (mut texts, mut old_texts): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let (mut blobs, mut old_blobs): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
        for u in updates {
            match u.id {
                RowId::Int(i) => ids_int.push(*i),
                RowId::Text(s) => ids_text.push(s),
            }
            match (u.new, u.old) {
                (Value::Text(new), Value::Text(old)) => {
                    texts.push(new);
                    old_texts.push(old);
                }
                (new, old) => {
                    blobs.push(new.bytes());
                    old_blobs.push(old.bytes());
                }
            }
        }
        let ids: &(dyn ToSql + Sync) = if self.t.id_kind == Kind::Int {
            &ids_int
        } else {
            &ids_text
        };
        let (values, olds): (&(dyn ToSql + Sync), &(dyn ToSql + Sync)) =
            if self.t.value_kind == Kind::Bytes {
                (&blobs, &old_blobs)
            } else {
                (&texts, &old_texts)
            };
        let written: HashSet<RowId> = conn
            .query(self.update.as_str(), &[ids, values, olds])?
            .iter()
            .map(|r| self.row_id(r))
            .collect();
        Ok(updates.iter().map(|u| written.contains(u.id)).collect())
    }

    fn commit(&self, conn: &mut Client) -> Result<()> {
        conn.batch_execute("COMMIT")?;
        Ok(())
    }

    fn rollback(&self, conn: &mut Client) {
        let _ = conn.batch_execute("ROLLBACK");
    }

    fn pending(&self, conn: &mut Client) -> Result<u64> {
        let (bounds, params) = self.bounds(None, 1);
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {} IS NOT NULL AND NOT {}{bounds}",
            self.t.table, self.t.column, self.marked
        );
        Ok(conn.query_one(sql.as_str(), &params)?.get::<_, i64>(0) as u64)
    }

    fn set_range(&mut self, range: KeyRange) {
        self.range = range;
    }

    fn key_count(&self, conn: &mut Client) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", self.t.table);
        Ok(conn.query_one(sql.as_str(), &[])?.get::<_, i64>(0) as u64)
    }

    fn key_at(&self, conn: &mut Client, offset: u64) -> Result<Option<RowId>> {
        let t = &self.t;
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}{} LIMIT 1 OFFSET $1",
            id_sel(t),
            t.table,
            t.id,
            t.id_collate
        );
        Ok(conn
            .query_opt(sql.as_str(), &[&(offset as i64)])?
            .map(|r| self.row_id(&r)))
    }

    /// One durable commit flushes the WAL up to here, and with it every asynchronous commit
    /// before it (of every connection).
    fn flush(&self, conn: &mut Client) -> Result<()> {
        conn.batch_execute("SET synchronous_commit = on; BEGIN; SELECT txid_current(); COMMIT;")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::args::{DbArgs, MigrateArgs, ProgressMode};
    use crate::migrate::rows::{CasScene, Outcome};
    use postgres::NoTls;

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
            shard: None,
            max_rows_per_second: None,
        }
    }

    #[test]
    fn a_row_changed_between_read_and_write_is_not_overwritten() {
        let url = fresh_db("kr_unit_cas");
        let scene = CasScene::new();
        let (ring, app) = (&scene.ring, &scene.app);
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.batch_execute("CREATE TABLE users (id bigint PRIMARY KEY, secret text)")
            .unwrap();
        for (i, t) in &scene.rows {
            c.execute("INSERT INTO users VALUES ($1, $2)", &[i, t])
                .unwrap();
        }
        let job = scene.job();
        let pg = Postgres::new(&url, "users", "secret", "id", 2).unwrap();
        let mut conn = pg.connect(false).unwrap();
        // Read (as a peer that does not lock would) and rewrap.
        let read = pg
            .read(&mut conn, Filter::Pending, Hold::None, None, 100)
            .unwrap();
        assert_eq!(read.len(), 3);
        let outcomes = job.process(&read, 1).unwrap();
        // The application writes row 2 in between.
        Client::connect(&url, NoTls)
            .unwrap()
            .execute("UPDATE users SET secret = $1 WHERE id = 2", &[app])
            .unwrap();
        let updates: Vec<Update<'_>> = read
            .iter()
            .zip(&outcomes)
            .map(|(row, o)| match o {
                Outcome::Migrated { value, .. } => Update {
                    id: &row.id,
                    old: &row.value,
                    new: value,
                },
                other => panic!("{other:?}"),
            })
            .collect();
        pg.begin(&mut conn).unwrap();
        let written = pg.write(&mut conn, &updates).unwrap();
        pg.commit(&mut conn).unwrap();
        assert_eq!(
            written,
            [true, false, true],
            "row 2 is a conflict, not a write"
        );
        let now: Vec<String> = c
            .query("SELECT secret FROM users ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(&now[1], app, "the application's write survives");
        for (i, v) in [(0, "s1"), (2, "s3")] {
            assert!(!ring.needs_rewrap(now[i].as_bytes()).unwrap());
            assert_eq!(
                ring.decrypt(now[i].as_bytes(), b"", None).unwrap(),
                v.as_bytes()
            );
        }
        // The conflict is the next run's: the application wrote under the old version.
        let (stats, remaining) = crate::migrate::engine::migrate(&pg, &job, &args(&url)).unwrap();
        assert_eq!((stats.migrated, stats.current, stats.conflicts), (1, 2, 0));
        assert_eq!(remaining, 0);
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
