//! What a database must offer the migration engine (`engine.rs`): keyset-paginated reads of
//! one column, a compare-and-swap write, transactions and counts. Everything else — batching,
//! passes, workers, resumability, progress, conflict and durability accounting — is written
//! once in the engine, so SQLite and PostgreSQL cannot drift apart on what they do.

use super::rows::{Row, RowId, Value};
use super::shard::KeyRange;
use crate::error::{CliError, Result};

/// Which rows a read returns, by the active version's marker read in SQL (the text prefix
/// `kr1:v<N>:`, or the version field of a binary header). A marker is a hint, not proof
/// (another keyring writes the same `kr1:v<N>:`), so the engine checks every row it reads
/// with [`keyroll::Keyring::needs_rewrap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Rows without the active marker: the ones to move.
    Pending,
    /// Rows with the active marker: each is verified, and moved if it is not really ours.
    Marked,
}

/// How a read holds the rows it returns until the batch's commit (only for a backend with
/// row locks; see [`Backend::row_locks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Not locked (dry runs, the verify pass, SQLite).
    None,
    /// Locked, skipping rows another worker holds (`FOR UPDATE SKIP LOCKED`).
    SkipLocked,
    /// Locked, waiting for rows another worker holds (`FOR UPDATE`): the final sweep.
    Wait,
}

/// One compare-and-swap write: set `new` where the row `id` still holds `old`.
#[derive(Debug)]
pub struct Update<'a> {
    /// The row's key.
    pub id: &'a RowId,
    /// The value that was read (the write happens only if it is still there).
    pub old: &'a Value,
    /// The rewrapped value (same form, text or binary, as `old`).
    pub new: &'a Value,
}

/// A database the engine can migrate a column of. Constructed checked: the table, the
/// column and the id column exist, have usable types, and the id names one row.
pub trait Backend: Sync {
    /// One connection (several for parallel workers).
    type Conn: Send;

    /// Opens a connection ready for batches (`apply`: writes are coming).
    fn connect(&self, apply: bool) -> Result<Self::Conn>;

    /// Whether reads can lock the rows they return (PostgreSQL). Then several connections
    /// claim batches in parallel, each reading inside its own write transaction, and a final
    /// sweep waits for rows a dead peer had claimed. Without (SQLite, whose writer locks the
    /// whole file), one connection reads and rewraps the next batch while another writes the
    /// last one.
    fn row_locks(&self) -> bool;

    /// Whether a commit is on disk when it returns (SQLite, `synchronous = FULL`). If not
    /// (PostgreSQL batches commit asynchronously), only [`Backend::flush`] makes them durable.
    fn durable_commits(&self) -> bool;

    /// Starts a batch's write transaction.
    fn begin(&self, conn: &mut Self::Conn) -> Result<()>;

    /// Up to `limit` non-null rows matching `filter` with an id above `after`, in id order.
    fn read(
        &self,
        conn: &mut Self::Conn,
        filter: Filter,
        hold: Hold,
        after: Option<&RowId>,
        limit: usize,
    ) -> Result<Vec<Row>>;

    /// Writes each update by compare-and-swap; returns, per update, whether it was written
    /// (false: the row changed since it was read).
    fn write(&self, conn: &mut Self::Conn, updates: &[Update<'_>]) -> Result<Vec<bool>>;

    /// Commits the batch.
    fn commit(&self, conn: &mut Self::Conn) -> Result<()>;

    /// Abandons the batch (best effort: the connection is dropped after an error anyway).
    fn rollback(&self, conn: &mut Self::Conn);

    /// Non-null values without the active marker.
    fn pending(&self, conn: &mut Self::Conn) -> Result<u64>;

    /// Makes every commit before it durable (one synchronous commit flushes the log).
    fn flush(&self, conn: &mut Self::Conn) -> Result<()>;

    /// Confines every later read and count to `range` (a `--shard`'s key range): a read
    /// with no cursor starts after its lower bound, none goes past its upper bound.
    fn set_range(&mut self, range: KeyRange);

    /// Rows with a (non-null) id, the whole table (for cutting key ranges).
    fn key_count(&self, conn: &mut Self::Conn) -> Result<u64>;

    /// The id at `offset` (0-based) in key order, the whole table.
    fn key_at(&self, conn: &mut Self::Conn, offset: u64) -> Result<Option<RowId>>;
}

/// The error for an id column that may name several rows (both backends refuse it).
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

/// The error for a composite primary key named in part (or of a table whose key is only
/// composite): no single column names one row, so say how to get one.
pub fn composite_key(table: &str, columns: &[String], sqlite: bool) -> CliError {
    let fix = if sqlite {
        "pass --id-column rowid (unless the table is WITHOUT ROWID), or rebuild the table with a \
         single-column INTEGER PRIMARY KEY or a NOT NULL column with a unique index of its own"
    } else {
        "add a single-column unique key, e.g. `ALTER TABLE … ADD COLUMN row_key bigint \
         GENERATED ALWAYS AS IDENTITY UNIQUE`, and pass it with --id-column row_key"
    };
    CliError::db(
        "id_not_unique",
        format!(
            "table {table:?} has a composite primary key ({}): no one of its columns names one \
             row, and migrate keys every write on a single unique NOT NULL column; nothing was \
             changed ({fix})",
            columns.join(", ")
        ),
    )
}

/// Refuses `--id-column a,b` before anything is opened: a key of several columns is not
/// supported (every write and every page cursor is keyed on one column).
pub fn check_id_list(table: &str, id: &str) -> Result<()> {
    if !id.contains(',') {
        return Ok(());
    }
    let columns: Vec<String> = id.split(',').map(|c| c.trim().to_string()).collect();
    Err(CliError::db(
        "id_not_unique",
        format!(
            "--id-column {id:?} names several columns ({}); migrate needs one column that is \
             unique and NOT NULL on its own; nothing was changed (add a single-column unique \
             key to table {table:?} — PostgreSQL: `ALTER TABLE … ADD COLUMN row_key bigint \
             GENERATED ALWAYS AS IDENTITY UNIQUE`; SQLite: --id-column rowid — and pass it \
             with --id-column)",
            columns.join(", ")
        ),
    ))
}

/// The active version's text marker, `kr1:v<N>:`.
pub fn text_marker(active: u32) -> String {
    format!("{}{active}:", keyroll::envelope::TEXT_PREFIX)
}
