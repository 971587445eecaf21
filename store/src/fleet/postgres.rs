//! The PostgreSQL store: one row per keyring, every change a compare-and-swap on its generation
//! inside one transaction, so two operators or hosts never lose each other's change, and a
//! trigger that refuses a lower generation from any client, not only from keyroll.
//!
//! A store URL `postgres://user@host:port/db?sslmode=verify-full&sslrootcert=ca.pem#NAME` names
//! the database (TLS and password exactly as `keyroll migrate --db`, see [`crate::pgconn`]) and
//! the keyring's row (`NAME`, `default` without a fragment). The tables are created on the
//! first connection that finds them missing, under an advisory lock so two first-time hosts do
//! not race:
//!
//! ```sql
//! keyroll_keyrings        (name text PRIMARY KEY, generation bigint, highest_generation bigint,
//!                          document bytea, updated_at timestamptz)
//!     -- trigger keyroll_keyrings_guard: an UPDATE must raise generation and may not lower
//!     -- highest_generation; DELETE and TRUNCATE are refused unless the session says
//!     -- SET keyroll.allow_delete = 'on'
//! keyroll_keyring_history (id bigserial PRIMARY KEY, name text, generation bigint,
//!                          document bytea, replaced_at timestamptz)   -- the replaced documents
//! keyroll_audit           (id bigserial PRIMARY KEY, name text, time timestamptz, record jsonb,
//!                          uid text UNIQUE)   -- uid: one per append, so a retry is a no-op
//! keyroll_readers         (name text, reader text, generation bigint, versions integer[],
//!                          checked_at timestamptz, poll_interval bigint, last_error text,
//!                          PRIMARY KEY (name, reader))
//! ```
//!
//! One connection per store value, reconnected on the call after it broke (a server restart,
//! a terminated backend): reads are retried once on a fresh connection; a compare-and-swap is
//! never retried blindly — its outcome is read back first (see [`PgStore::compare_and_swap`]).

use super::{redact_password, KeyringStore, ReaderCheckIn, Stored};
use crate::pgconn::{self, PgConnError, Spec};
use crate::purge::{may_hold_material, Opened};
use crate::{AuditRecord, Error, PurgeReport, Result};
use keyroll::{Keyring, Unlock};
use postgres::{Client, GenericClient, Transaction};
use std::sync::Mutex;
use std::time::Duration;

/// The advisory lock key taken while creating the tables ("keyroll" in ASCII).
const SETUP_LOCK: i64 = 0x6b_6579_726f_6c6c;

/// The schema, idempotent: run under [`SETUP_LOCK`] when a table or the trigger is missing.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS keyroll_keyrings (
    name text PRIMARY KEY,
    generation bigint NOT NULL CHECK (generation >= 0),
    highest_generation bigint NOT NULL,
    document bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (highest_generation >= generation)
);
CREATE TABLE IF NOT EXISTS keyroll_keyring_history (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    generation bigint NOT NULL,
    document bytea NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS keyroll_keyring_history_name ON keyroll_keyring_history (name, generation);
CREATE TABLE IF NOT EXISTS keyroll_audit (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    time timestamptz NOT NULL,
    record jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS keyroll_audit_name ON keyroll_audit (name, id);
ALTER TABLE keyroll_audit ADD COLUMN IF NOT EXISTS uid text;
CREATE UNIQUE INDEX IF NOT EXISTS keyroll_audit_uid ON keyroll_audit (uid);
CREATE TABLE IF NOT EXISTS keyroll_readers (
    name text NOT NULL,
    reader text NOT NULL,
    generation bigint NOT NULL,
    versions integer[] NOT NULL,
    checked_at timestamptz NOT NULL,
    poll_interval bigint NOT NULL,
    last_error text,
    PRIMARY KEY (name, reader)
);
CREATE OR REPLACE FUNCTION keyroll_keyrings_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        IF coalesce(current_setting('keyroll.allow_delete', true), '') <> 'on' THEN
            RAISE EXCEPTION 'keyroll: refusing to delete a keyring (SET keyroll.allow_delete = on to do it on purpose)'
                USING ERRCODE = 'KR002';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NULL;
    END IF;
    IF NEW.name <> OLD.name OR NEW.generation <= OLD.generation
        OR NEW.highest_generation < OLD.highest_generation
        OR NEW.highest_generation < NEW.generation THEN
        RAISE EXCEPTION 'keyroll: refusing to move keyring % from generation % to % (highest %): a keyring never goes back (keyring_rollback)',
            OLD.name, OLD.generation, NEW.generation, NEW.highest_generation
            USING ERRCODE = 'KR001';
    END IF;
    RETURN NEW;
END
$$;
"#;

/// The triggers, created only where missing (`CREATE OR REPLACE TRIGGER` needs PostgreSQL 14).
const TRIGGERS: [(&str, &str); 2] = [
    (
        "keyroll_keyrings_guard",
        "CREATE TRIGGER keyroll_keyrings_guard BEFORE UPDATE OR DELETE ON keyroll_keyrings \
         FOR EACH ROW EXECUTE FUNCTION keyroll_keyrings_guard()",
    ),
    (
        "keyroll_keyrings_guard_truncate",
        "CREATE TRIGGER keyroll_keyrings_guard_truncate BEFORE TRUNCATE ON keyroll_keyrings \
         FOR EACH STATEMENT EXECUTE FUNCTION keyroll_keyrings_guard()",
    ),
];

/// Everything is in place: one cheap query on every new connection.
const READY: &str = "SELECT to_regclass('keyroll_readers') IS NOT NULL \
    AND to_regclass('keyroll_audit_uid') IS NOT NULL \
    AND to_regclass('keyroll_keyring_history') IS NOT NULL \
    AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass('keyroll_keyrings') \
         AND tgname IN ('keyroll_keyrings_guard', 'keyroll_keyrings_guard_truncate')) = 2";

/// A keyring kept in a PostgreSQL database (see the module docs for the tables).
pub struct PgStore {
    spec: Spec,
    name: String,
    location: String,
    client: Mutex<Option<Client>>,
}

impl core::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A failed step: the connection broke (retry on a new one), or anything else.
enum Fail {
    Connection(String),
    Other(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Other(e)
    }
}

impl From<keyroll::Error> for Fail {
    fn from(e: keyroll::Error) -> Self {
        Fail::Other(e.into())
    }
}

/// A row of `keyroll_keyrings`.
struct Row {
    generation: u64,
    highest: u64,
    document: Vec<u8>,
}

fn to_i64(value: u64, what: &'static str) -> Result<i64, Fail> {
    i64::try_from(value)
        .map_err(|_| Fail::Other(Error::Keyring(keyroll::Error::KeyringCorrupt(what))))
}

/// Column `i` of `row`: a column of another type (a table altered by hand) is an error, not
/// a panic.
fn col<'a, T: postgres::types::FromSql<'a>>(row: &'a postgres::Row, i: usize) -> Result<T, Fail> {
    row.try_get(i).map_err(|e| {
        Fail::Other(Error::Unavailable {
            location: String::new(),
            op: "read",
            message: format!("unexpected column in a keyroll table: {e}"),
        })
    })
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Whether `e` means the connection is gone (so a new one may succeed): closed by the server
/// (restart, `pg_terminate_backend`), a network error, or SQLSTATE class 08 / 57P01-57P03.
fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let code = code.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The server's message and SQLSTATE, or the driver's: never the URL or a password.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

impl PgStore {
    /// The store for keyring `name` in the database `url` names (without its `#NAME`). Only
    /// parses: the connection is made by the first call, so errors of reach come from there
    /// (`store_unavailable`); bad settings in the URL are `invalid_store_url` now.
    pub fn connect(url: &str, name: &str) -> Result<PgStore> {
        let location = format!("{}#{name}", redact_password(url));
        let mut spec = pgconn::parse(url).map_err(|e| Error::InvalidStoreConfig {
            location: location.clone(),
            message: e.message,
        })?;
        // A host that stops answering (a partition, a failover without a reset) should fail
        // a call within a minute or so, not hang a reload for the OS's ~15 minutes: unless the
        // URL says otherwise, 10 s to connect, keepalives after 30 s idle, unacknowledged
        // data given up after 60 s.
        let config = spec.config_mut();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(Duration::from_secs(10));
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(3);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(60));
        }
        Ok(PgStore {
            spec,
            name: name.to_string(),
            location,
            client: Mutex::new(None),
        })
    }

    /// The keyring's name (its row in `keyroll_keyrings`).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn unavailable(&self, op: &'static str, message: String) -> Error {
        Error::Unavailable {
            location: self.location.clone(),
            op,
            message,
        }
    }

    fn open_client(&self) -> Result<Client, Fail> {
        let mut client = self.spec.connect().map_err(|e: PgConnError| {
            if e.is_input() {
                Fail::Other(Error::InvalidStoreConfig {
                    location: self.location.clone(),
                    message: e.message,
                })
            } else {
                Fail::Connection(e.message)
            }
        })?;
        ensure_schema(&mut client)?;
        Ok(client)
    }

    /// Runs `f` on the connection (made now if there is none). A broken connection is
    /// dropped, so the next call makes a new one.
    fn once<T>(&self, f: &mut impl FnMut(&mut Client) -> Result<T, Fail>) -> Result<T, Fail> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        // A connection the server has already closed (its notice seen) is replaced first.
        let client = match slot.take().filter(|c| !c.is_closed()) {
            Some(open) => slot.insert(open),
            None => slot.insert(self.open_client()?),
        };
        let outcome = f(client);
        if matches!(outcome, Err(Fail::Connection(_))) || client.is_closed() {
            *slot = None;
        }
        outcome
    }

    /// `f` on the connection, once more on a new connection if it broke: for reads and
    /// for writes that are safe to repeat (upserts, appends made idempotent by the caller).
    fn retrying<T>(
        &self,
        op: &'static str,
        mut f: impl FnMut(&mut Client) -> Result<T, Fail>,
    ) -> Result<T> {
        let outcome = match self.once(&mut f) {
            Err(Fail::Connection(_)) => self.once(&mut f),
            other => other,
        };
        match outcome {
            Ok(v) => Ok(v),
            Err(Fail::Connection(m)) => Err(self.unavailable(op, m)),
            Err(Fail::Other(e)) => Err(self.located(op, e)),
        }
    }

    /// Every replaced document of this keyring (the store's backups), oldest first.
    pub fn history(&self) -> Result<Vec<Stored>> {
        self.retrying("read history", |c| {
            let rows = c
                .query(
                    "SELECT generation, document FROM keyroll_keyring_history \
                     WHERE name = $1 ORDER BY generation, id",
                    &[&self.name],
                )
                .map_err(db)?;
            rows.iter()
                .map(|r| {
                    Ok(Stored {
                        generation: to_u64(col(r, 0)?),
                        document: col(r, 1)?,
                    })
                })
                .collect()
        })
    }

    /// This keyring's audit records, oldest first.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>> {
        self.retrying("read audit", |c| {
            let rows = c
                .query(
                    "SELECT record::text FROM keyroll_audit WHERE name = $1 ORDER BY id",
                    &[&self.name],
                )
                .map_err(db)?;
            rows.iter()
                .map(|r| {
                    serde_json::from_str(col::<&str>(r, 0)?).map_err(|_| {
                        Fail::Other(self.unavailable(
                            "read audit",
                            "an audit record is not a keyroll record".to_string(),
                        ))
                    })
                })
                .collect()
        })
    }

    /// Removes `version`'s sealed key material from every history row of this keyring, after
    /// `version` was destroyed (call it when [`crate::destroyed_since`] of a save is not
    /// empty). The same rules as [`crate::Locked::purge_version_from_backups`]: a row that
    /// opens with `unlock` is re-sealed without it (keeping its generation); one that does not
    /// open and may hold the material is deleted — re-sealing needs the keys, and a copy that
    /// cannot be checked cannot be kept; rows without it stay. One transaction, plus a
    /// `purge_backups` audit record naming the generations (`history:N`) each way.
    pub fn purge_version(&self, version: u32, unlock: Unlock<'_>, now: u64) -> Result<PurgeReport> {
        let report = self.retrying("purge history", |c| {
            let mut report = PurgeReport {
                version,
                ..PurgeReport::default()
            };
            let mut tx = c.transaction().map_err(db)?;
            let rows = tx
                .query(
                    "SELECT id, generation, document FROM keyroll_keyring_history \
                     WHERE name = $1 ORDER BY generation, id FOR UPDATE",
                    &[&self.name],
                )
                .map_err(db)?;
            for row in rows {
                let id: i64 = col(&row, 0)?;
                let label = format!("history:{}", col::<i64>(&row, 1)?);
                let bytes: Vec<u8> = col(&row, 2)?;
                match Opened::open(&bytes, unlock) {
                    Ok(mut ring) => {
                        if !ring.purge(version, now)? {
                            report.untouched += 1;
                            continue;
                        }
                        let generation = Keyring::document_generation(&bytes)?;
                        let sealed = ring.reseal(generation, &bytes, unlock)?;
                        tx.execute(
                            "UPDATE keyroll_keyring_history SET document = $2 WHERE id = $1",
                            &[&id, &sealed],
                        )
                        .map_err(db)?;
                        report.resealed.push(label);
                    }
                    Err(_) if !may_hold_material(&bytes, version) => report.untouched += 1,
                    Err(_) => {
                        tx.execute("DELETE FROM keyroll_keyring_history WHERE id = $1", &[&id])
                            .map_err(db)?;
                        report.unopenable.push(label.clone());
                        report.deleted.push(label);
                    }
                }
            }
            let mut record = AuditRecord::new("purge_backups", now);
            record.versions = vec![version];
            record.details = Some(serde_json::json!({
                "resealed": report.resealed,
                "deleted": report.deleted,
                "damaged": report.damaged,
                "unopenable": report.unopenable,
            }));
            insert_audit(&mut tx, &self.name, &record)?;
            tx.commit().map_err(db)?;
            Ok(report)
        })?;
        Ok(report)
    }

    /// One attempt at the swap, in one transaction: the row locked, generation and
    /// successor checked, the replaced document put in history, the row updated.
    fn swap_once(
        &self,
        c: &mut Client,
        expected: Option<u64>,
        document: &[u8],
        next: u64,
    ) -> Result<(), Fail> {
        let mut tx = c.transaction().map_err(db)?;
        // A session holding the row for ever (a forgotten `BEGIN; SELECT … FOR UPDATE`) fails
        // this change with 55P03 instead of blocking it without end.
        tx.batch_execute("SET LOCAL lock_timeout = '30s'")
            .map_err(db)?;
        let current = select_row(&mut tx, &self.name, true)?;
        let next_i = to_i64(next, "generation out of range")?;
        match (current, expected) {
            (None, None) => {
                // No row: refuse a generation this keyring already had (its row deleted on
                // purpose, but its history kept) — that would be an old copy coming back.
                let seen: Option<i64> = col(
                    &tx.query_one(
                        "SELECT max(generation) FROM keyroll_keyring_history WHERE name = $1",
                        &[&self.name],
                    )
                    .map_err(db)?,
                    0,
                )?;
                if let Some(seen) = seen.map(to_u64).filter(|s| next <= *s) {
                    return Err(keyroll::Error::KeyringRollback { seen, found: next }.into());
                }
                let inserted = tx
                    .execute(
                        "INSERT INTO keyroll_keyrings (name, generation, highest_generation, document, updated_at) \
                         VALUES ($1, $2, $2, $3, now()) ON CONFLICT (name) DO NOTHING",
                        &[&self.name, &next_i, &document],
                    )
                    .map_err(db)?;
                if inserted == 0 {
                    // Created by someone else since the SELECT (no row to lock then).
                    let current = select_row(&mut tx, &self.name, false)?;
                    return Err(keyroll::Error::KeyringConflict {
                        base: 0,
                        current: current.map_or(0, |r| r.generation),
                    }
                    .into());
                }
            }
            (Some(row), Some(e)) if row.generation == e => {
                Keyring::check_successor(Some(&row.document), document)?;
                if next <= row.highest {
                    return Err(keyroll::Error::KeyringRollback {
                        seen: row.highest,
                        found: next,
                    }
                    .into());
                }
                tx.execute(
                    "INSERT INTO keyroll_keyring_history (name, generation, document, replaced_at) \
                     VALUES ($1, $2, $3, now())",
                    &[&self.name, &to_i64(row.generation, "generation out of range")?, &row.document],
                )
                .map_err(db)?;
                tx.execute(
                    "UPDATE keyroll_keyrings SET generation = $2, \
                     highest_generation = greatest(highest_generation, $2), document = $3, \
                     updated_at = now() WHERE name = $1",
                    &[&self.name, &next_i, &document],
                )
                .map_err(db)?;
            }
            (current, expected) => {
                return Err(keyroll::Error::KeyringConflict {
                    base: expected.unwrap_or(0),
                    current: current.map_or(0, |r| r.generation),
                }
                .into())
            }
        }
        tx.commit().map_err(db)
    }

    /// After a swap whose outcome is unknown (the connection broke, perhaps during COMMIT):
    /// whether `document` is stored, as the current row or, if someone has built on it since,
    /// in history.
    fn landed(&self, c: &mut Client, document: &[u8], next: u64) -> Result<bool, Fail> {
        let next = to_i64(next, "generation out of range")?;
        let found = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM keyroll_keyrings WHERE name = $1 AND generation = $2 AND document = $3) \
                 OR EXISTS (SELECT 1 FROM keyroll_keyring_history WHERE name = $1 AND generation = $2 AND document = $3)",
                &[&self.name, &next, &document],
            )
            .map_err(db)?;
        col(&found, 0)
    }
}

/// A driver error as a [`Fail`]: the connection's loss, or the server's refusal.
fn db(e: postgres::Error) -> Fail {
    if connection_lost(&e) {
        return Fail::Connection(describe(&e));
    }
    // The location is filled in by `PgStore::located`.
    Fail::Other(Error::Unavailable {
        location: String::new(),
        op: "query",
        message: describe(&e),
    })
}

fn select_row(tx: &mut Transaction<'_>, name: &str, lock: bool) -> Result<Option<Row>, Fail> {
    let sql = if lock {
        "SELECT generation, highest_generation, document FROM keyroll_keyrings WHERE name = $1 FOR UPDATE"
    } else {
        "SELECT generation, highest_generation, document FROM keyroll_keyrings WHERE name = $1"
    };
    tx.query_opt(sql, &[&name])
        .map_err(db)?
        .map(|r| row_of(&r))
        .transpose()
}

/// The generation column alone: what a reader polls.
fn current_generation(c: &mut impl GenericClient, name: &str) -> Result<Option<u64>, Fail> {
    c.query_opt(
        "SELECT generation FROM keyroll_keyrings WHERE name = $1",
        &[&name],
    )
    .map_err(db)?
    .map(|r| col(&r, 0).map(to_u64))
    .transpose()
}

/// `generation, highest_generation, document` of `keyroll_keyrings`.
fn row_of(r: &postgres::Row) -> Result<Row, Fail> {
    Ok(Row {
        generation: to_u64(col(r, 0)?),
        highest: to_u64(col(r, 1)?),
        document: col(r, 2)?,
    })
}

/// An id for one append, the same on its retry: what makes an append safe to repeat when
/// its outcome is unknown. Unique, not secret (process, clock, counter, record).
fn audit_uid(json: &str) -> String {
    use sha2::{Digest, Sha256};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(nanos.to_le_bytes());
    h.update(
        COUNTER
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_le_bytes(),
    );
    h.update(json.as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn insert_audit(c: &mut impl GenericClient, name: &str, record: &AuditRecord) -> Result<(), Fail> {
    let json = audit_json(record)?;
    insert_audit_json(c, name, record.time, &json, &audit_uid(&json))
}

fn audit_json(record: &AuditRecord) -> Result<String, Fail> {
    serde_json::to_string(record).map_err(|_| {
        Fail::Other(Error::Keyring(keyroll::Error::KeyringCorrupt(
            "audit record does not serialize",
        )))
    })
}

/// Appends the record once: a second insert with the same `uid` (a retry of one whose
/// outcome was unknown) does nothing.
fn insert_audit_json(
    c: &mut impl GenericClient,
    name: &str,
    time: u64,
    json: &str,
    uid: &str,
) -> Result<(), Fail> {
    let time = to_i64(time, "audit time out of range")?;
    c.execute(
        "INSERT INTO keyroll_audit (name, time, record, uid) \
         VALUES ($1, to_timestamp($2::bigint), $3::text::jsonb, $4) ON CONFLICT (uid) DO NOTHING",
        &[&name, &time, &json, &uid],
    )
    .map_err(db)?;
    Ok(())
}

/// Creates what is missing, under the advisory lock (the second host waits, then finds
/// everything there).
fn ensure_schema(client: &mut Client) -> Result<(), Fail> {
    let ready =
        |c: &mut Client| -> Result<bool, Fail> { col(&c.query_one(READY, &[]).map_err(db)?, 0) };
    if ready(client)? {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SETUP_LOCK])
        .map_err(db)?;
    tx.batch_execute(SCHEMA).map_err(db)?;
    for (name, create) in TRIGGERS {
        let exists: bool = col(
            &tx.query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'keyroll_keyrings'::regclass AND tgname = $1)",
                &[&name],
            )
            .map_err(db)?,
            0,
        )?;
        if !exists {
            tx.batch_execute(create).map_err(db)?;
        }
    }
    tx.commit().map_err(db)
}

impl PgStore {
    /// Fills in the location and operation of a server refusal (made without them in [`db`]).
    fn located(&self, op: &'static str, e: Error) -> Error {
        match e {
            Error::Unavailable {
                location, message, ..
            } if location.is_empty() => Error::Unavailable {
                location: self.location.clone(),
                op,
                message,
            },
            other => other,
        }
    }
}

impl KeyringStore for PgStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn load(&self) -> Result<Option<Stored>> {
        let row = self
            .retrying("load", |c| {
                c.query_opt(
                    "SELECT generation, highest_generation, document FROM keyroll_keyrings WHERE name = $1",
                    &[&self.name],
                )
                .map_err(db)?
                .map(|r| row_of(&r))
                .transpose()
            })
?;
        let Some(row) = row else { return Ok(None) };
        // The document's own generation decides (the column could have been edited by hand):
        // below the highest ever stored is an old copy put back.
        let generation =
            Keyring::check_not_rolled_back(&row.document, row.highest.max(row.generation))?;
        if generation != row.generation {
            // Newer than its row says: written by hand, not by a store.
            return Err(keyroll::Error::KeyringCorrupt(
                "the keyroll_keyrings row's generation does not match its document",
            )
            .into());
        }
        Ok(Some(Stored {
            document: row.document,
            generation,
        }))
    }

    fn generation(&self) -> Result<Option<u64>> {
        self.retrying("read generation", |c| current_generation(c, &self.name))
    }

    /// One transaction (see the module docs). If the connection breaks, the outcome is read
    /// back on a new connection before anything else: stored (as the row, or in history if
    /// someone already built on it) is success; the generation still at `expected` means
    /// nothing was written, and the swap is tried once more; anything else is
    /// `keyring_conflict` (someone else's change won).
    fn compare_and_swap(&self, expected: Option<u64>, document: &[u8]) -> Result<()> {
        let next = Keyring::document_generation(document)?;
        let mut attempt = |c: &mut Client| self.swap_once(c, expected, document, next);
        let first = match self.once(&mut attempt) {
            Ok(()) => return Ok(()),
            Err(Fail::Other(e)) => return Err(self.located("compare-and-swap", e)),
            Err(Fail::Connection(m)) => m,
        };
        let mut resolve = |c: &mut Client| {
            if self.landed(c, document, next)? {
                return Ok(None);
            }
            Ok(Some(current_generation(c, &self.name)?))
        };
        let unavailable = |m: String| self.unavailable("compare-and-swap (outcome unknown)", m);
        match self.once(&mut resolve) {
            Ok(None) => Ok(()),
            Ok(Some(current)) if current == expected => match self.once(&mut attempt) {
                Ok(()) => Ok(()),
                Err(Fail::Other(e)) => Err(self.located("compare-and-swap", e)),
                Err(Fail::Connection(m)) => Err(self.unavailable("compare-and-swap", m)),
            },
            Ok(Some(current)) => Err(keyroll::Error::KeyringConflict {
                base: expected.unwrap_or(0),
                current: current.unwrap_or(0),
            }
            .into()),
            Err(Fail::Other(e)) => Err(self.located("compare-and-swap", e)),
            Err(Fail::Connection(_)) => Err(unavailable(first)),
        }
    }

    fn audit(&self, record: &AuditRecord) -> Result<()> {
        // One id for the append and its retry, so a retry after an unknown outcome (the
        // connection lost around COMMIT) never writes the record twice.
        let json = audit_json(record).map_err(|f| match f {
            Fail::Other(e) => e,
            Fail::Connection(m) => self.unavailable("append audit record", m),
        })?;
        let uid = audit_uid(&json);
        self.retrying("append audit record", |c| {
            insert_audit_json(c, &self.name, record.time, &json, &uid)
        })
    }

    fn check_in(&self, reader: &ReaderCheckIn) -> Result<()> {
        let versions = reader
            .versions
            .iter()
            .map(|v| i32::try_from(*v))
            .collect::<core::result::Result<Vec<i32>, _>>()
            .map_err(|_| Error::Keyring(keyroll::Error::KeyringCorrupt("version out of range")))?;
        self.retrying("check in", |c| {
            c.execute(
                "INSERT INTO keyroll_readers (name, reader, generation, versions, checked_at, poll_interval, last_error) \
                 VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), $6, $7) \
                 ON CONFLICT (name, reader) DO UPDATE SET generation = EXCLUDED.generation, \
                 versions = EXCLUDED.versions, checked_at = EXCLUDED.checked_at, \
                 poll_interval = EXCLUDED.poll_interval, last_error = EXCLUDED.last_error",
                &[
                    &self.name,
                    &reader.reader,
                    &to_i64(reader.generation, "generation out of range")?,
                    &versions,
                    &to_i64(reader.checked_at, "check-in time out of range")?,
                    &to_i64(reader.poll_interval, "poll interval out of range")?,
                    &reader.last_error,
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    /// [`PgStore::purge_version`]: the history rows.
    fn purge_version(
        &self,
        version: u32,
        unlock: Unlock<'_>,
        now: u64,
    ) -> Result<Option<PurgeReport>> {
        PgStore::purge_version(self, version, unlock, now).map(Some)
    }

    fn readers(&self) -> Result<Vec<ReaderCheckIn>> {
        self.retrying("list readers", |c| {
            let rows = c
                .query(
                    "SELECT reader, generation, versions, extract(epoch FROM checked_at)::bigint, \
                     poll_interval, last_error FROM keyroll_readers WHERE name = $1 \
                     ORDER BY checked_at DESC, reader",
                    &[&self.name],
                )
                .map_err(db)?;
            rows.iter()
                .map(|r| {
                    Ok(ReaderCheckIn {
                        reader: col(r, 0)?,
                        generation: to_u64(col(r, 1)?),
                        versions: col::<Vec<i32>>(r, 2)?
                            .into_iter()
                            .filter_map(|v| u32::try_from(v).ok())
                            .collect(),
                        checked_at: to_u64(col(r, 3)?),
                        poll_interval: to_u64(col(r, 4)?),
                        last_error: col(r, 5)?,
                    })
                })
                .collect()
        })
    }
}
