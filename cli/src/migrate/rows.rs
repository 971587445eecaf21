//! Rows, context templates and the per-row rewrap (the only place a migration touches keys,
//! and only through core: plaintext never leaves `Keyring::rewrap`).

use crate::error::{CliError, Result};
use keyroll::{Keyring, RewrapOptions, RewrapRequest};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A row's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowId {
    /// Integer key.
    Int(i64),
    /// Text key.
    Text(String),
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowId::Int(i) => write!(f, "{i}"),
            RowId::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for RowId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RowId::Int(i) => s.serialize_i64(*i),
            RowId::Text(t) => s.serialize_str(t),
        }
    }
}

/// A stored token.
#[derive(Debug, Clone)]
pub enum Value {
    /// Text form (`kr1:v…`, Fernet, base64 legacy).
    Text(String),
    /// Binary form.
    Blob(Vec<u8>),
}

impl Value {
    /// The token's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::Text(t) => t.as_bytes(),
            Value::Blob(b) => b,
        }
    }
}

/// One row read for migration.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its key.
    pub id: RowId,
    /// Its token.
    pub value: Value,
}

/// What happened to one row.
#[derive(Debug)]
pub enum Outcome {
    /// Already under the active version: untouched.
    Current,
    /// Rewrapped: the new value to store.
    Migrated {
        /// The new envelope.
        value: Value,
        /// The version that authenticated the old one.
        from_version: u32,
        /// Whether that version is compromised (read only with `--include-compromised`; the
        /// data is unverified, since the leaked key could have forged it).
        from_compromised: bool,
    },
    /// Under a compromised version and `--include-compromised` not given: not written.
    Refused(u32),
    /// Rewrapped, but the row changed between read and write: left for the next run.
    Conflict,
    /// Could not be rewrapped (error code): untouched.
    Failed(&'static str),
}

/// A failing row in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The row's key.
    pub id: RowId,
    /// The error code.
    pub code: &'static str,
}

/// Running totals.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Rows examined.
    pub scanned: u64,
    /// Rows rewrapped.
    pub migrated: u64,
    /// Rows rewrapped whose commit is known to be on disk (SQLite: every commit; PostgreSQL:
    /// those before the run's final synchronous commit, the batches being asynchronous).
    pub durable: u64,
    /// Rows already current.
    pub current: u64,
    /// Rows the application changed between read and write: left for the next run.
    pub conflicts: u64,
    /// Rows that failed (each id counted once).
    pub failed: u64,
    /// First failures.
    pub failures: Vec<Failure>,
    /// Migrated rows per source.
    pub by_source: BTreeMap<Source, u64>,
    /// Migrated rows read from a compromised version, per version.
    pub from_compromised: BTreeMap<u32, u64>,
    /// Rows under a compromised version left unwritten (no `--include-compromised`), per
    /// version.
    pub refused_compromised: BTreeMap<u32, u64>,
    failed_ids: HashSet<RowId>,
    refused_ids: HashSet<RowId>,
}

impl Stats {
    /// Records a row refused for its compromised version (once per id, like failures).
    pub fn refuse(&mut self, id: &RowId, version: u32) {
        if self.refused_ids.insert(id.clone()) {
            *self.refused_compromised.entry(version).or_default() += 1;
        } else {
            self.scanned -= 1;
        }
    }

    /// Rows refused for their compromised version.
    pub fn refused(&self) -> u64 {
        self.refused_compromised.values().sum()
    }

    /// Records a failing row (once per id, even if a later pass meets it again).
    pub fn fail(&mut self, id: &RowId, code: &'static str) {
        if self.failed_ids.insert(id.clone()) {
            self.failed += 1;
            if self.failures.len() < super::MAX_LISTED_FAILURES {
                self.failures.push(Failure {
                    id: id.clone(),
                    code,
                });
            }
        } else {
            // Seen before (a second pass): it was already counted as scanned.
            self.scanned -= 1;
        }
    }
}

/// Whether a token is a keyroll envelope (text or binary), as opposed to a legacy one.
fn is_keyroll(token: &[u8]) -> bool {
    token.starts_with(keyroll::envelope::TEXT_PREFIX.as_bytes())
        || token.starts_with(&keyroll::envelope::MAGIC)
}

/// Where the big-endian key version sits in a binary header: its last four bytes (magic,
/// format, algorithm, flags and keyring id come first). Derived from core's layout so the
/// SQL census and this reader cannot drift from the wire format.
pub const VERSION_OFFSET: usize = keyroll::envelope::HEADER_LEN - 4;

/// The magic as SQL hex (`C46B72`).
pub fn magic_hex() -> String {
    keyroll::envelope::MAGIC
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// How a Fernet token's text begins: base64url of the version byte (0x80) and the top bytes of
/// a 64-bit timestamp, zero until the year 10,000 (checked against core's constant in a test).
pub const FERNET_PREFIX: &str = "gAAAAA";

/// Where a token comes from, by its first bytes (for the summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A keyroll version.
    Version(u32),
    /// A Fernet token.
    Fernet,
    /// Anything else.
    Other,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Version(v) => write!(f, "v{v}"),
            Source::Fernet => f.write_str("fernet"),
            Source::Other => f.write_str("other"),
        }
    }
}

/// Classifies a token by its first bytes, without allocating.
pub fn source(value: &Value) -> Source {
    let b = value.bytes();
    if let Some(rest) = b.strip_prefix(keyroll::envelope::TEXT_PREFIX.as_bytes()) {
        let end = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if let Some(v) = std::str::from_utf8(&rest[..end])
            .ok()
            .and_then(|d| d.parse().ok())
        {
            return Source::Version(v);
        }
    }
    if let Some(v) = b
        .strip_prefix(&keyroll::envelope::MAGIC)
        .and_then(|_| b.get(VERSION_OFFSET..keyroll::envelope::HEADER_LEN))
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
    {
        return Source::Version(u32::from_be_bytes(v));
    }
    if b.starts_with(FERNET_PREFIX.as_bytes()) {
        return Source::Fernet;
    }
    Source::Other
}

enum Part {
    Literal(String),
    Table,
    Id,
    Column,
}

/// An encryption-context template such as `{table}:{id}:{column}`.
pub struct ContextTemplate {
    parts: Vec<Part>,
}

impl ContextTemplate {
    /// Parses a template; `{table}`, `{id}`, `{column}` are placeholders, `{{`/`}}` escape.
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if let Some(r) = rest.strip_prefix("{{") {
                lit.push('{');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("}}") {
                lit.push('}');
                rest = r;
            } else if c == '{' {
                let end = rest
                    .find('}')
                    .ok_or_else(|| CliError::input("--context-template: unclosed '{'"))?;
                let part = match &rest[1..end] {
                    "table" => Part::Table,
                    "id" => Part::Id,
                    "column" => Part::Column,
                    other => {
                        return Err(CliError::input(format!(
                            "--context-template: unknown placeholder {{{other}}} (use {{table}}, {{id}}, {{column}})"
                        )))
                    }
                };
                if !lit.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut lit)));
                }
                parts.push(part);
                rest = &rest[end + 1..];
            } else {
                lit.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(ContextTemplate { parts })
    }

    /// Writes the context of one row into `buf` (cleared first).
    pub fn render(&self, table: &str, id: &RowId, column: &str, buf: &mut Vec<u8>) {
        use std::io::Write;
        buf.clear();
        for part in &self.parts {
            match part {
                Part::Literal(s) => buf.extend_from_slice(s.as_bytes()),
                Part::Table => buf.extend_from_slice(table.as_bytes()),
                Part::Column => buf.extend_from_slice(column.as_bytes()),
                Part::Id => match id {
                    RowId::Int(i) => {
                        let _ = write!(buf, "{i}");
                    }
                    RowId::Text(t) => buf.extend_from_slice(t.as_bytes()),
                },
            }
        }
    }
}

/// What a rewrap needs besides the rows.
pub struct Job<'a> {
    /// The keyring.
    pub ring: &'a Keyring,
    /// The context template.
    pub template: &'a ContextTemplate,
    /// Table name as the template sees it.
    pub table: &'a str,
    /// Column name as the template sees it.
    pub column: &'a str,
    /// Whether compromised versions may be read (`--include-compromised`).
    pub options: RewrapOptions,
}

impl Job<'_> {
    /// Rewraps one chunk with one [`Keyring::rewrap_batch`] call (one draw of nonces for the
    /// chunk). Rows already current, per [`Keyring::needs_rewrap`] (this keyring's id and active
    /// version, read from the header; a text prefix alone would take another keyring's
    /// `kr1:v<N>:` for ours), are not sent.
    fn chunk(&self, rows: &[Row]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(rows.len());
        let mut contexts: Vec<Vec<u8>> = Vec::new();
        let mut pending: Vec<usize> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            match self.ring.needs_rewrap(row.value.bytes()) {
                Ok(false) => outcomes.push(Some(Outcome::Current)),
                Ok(true) => {
                    let mut ctx = Vec::with_capacity(64);
                    self.template
                        .render(self.table, &row.id, self.column, &mut ctx);
                    contexts.push(ctx);
                    pending.push(i);
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Outcome::Failed(e.code()))),
            }
        }
        let requests: Vec<RewrapRequest<'_>> = pending
            .iter()
            .zip(&contexts)
            .map(|(&i, ctx)| {
                let token = rows[i].value.bytes();
                RewrapRequest {
                    token,
                    // Legacy tokens (Fernet, raw GCM) carry no context: they are read with
                    // none and written with the row's; keyroll envelopes keep theirs.
                    from: if is_keyroll(token) { ctx } else { b"" },
                    to: ctx,
                    binary: matches!(rows[i].value, Value::Blob(_)),
                }
            })
            .collect();
        let results = self.ring.rewrap_batch(&requests, self.options);
        for (&i, result) in pending.iter().zip(results) {
            outcomes[i] = Some(match result {
                Ok(r) => match &rows[i].value {
                    Value::Blob(_) => Outcome::Migrated {
                        value: Value::Blob(r.token),
                        from_version: r.from_version,
                        from_compromised: r.from_compromised,
                    },
                    Value::Text(_) => match String::from_utf8(r.token) {
                        Ok(t) => Outcome::Migrated {
                            value: Value::Text(t),
                            from_version: r.from_version,
                            from_compromised: r.from_compromised,
                        },
                        Err(_) => Outcome::Failed("internal_error"),
                    },
                },
                Err(keyroll::Error::KeyCompromised(v)) => Outcome::Refused(v),
                Err(e) => Outcome::Failed(e.code()),
            });
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Failed("internal_error")))
            .collect()
    }

    /// Rewraps a batch, on `threads` threads when it is large enough to be worth it. One
    /// outcome per row, in order; if any chunk's thread panicked the whole batch is refused (an
    /// error, nothing to write), since a missing chunk would pair later outcomes with the wrong
    /// rows.
    pub fn process(&self, rows: &[Row], threads: usize) -> Result<Vec<Outcome>> {
        process_with(rows, threads, |chunk| self.chunk(chunk))
    }
}

/// [`Job::process`] with the per-chunk work passed in (tests pass one that panics).
fn process_with<F>(rows: &[Row], threads: usize, chunk_work: F) -> Result<Vec<Outcome>>
where
    F: Fn(&[Row]) -> Vec<Outcome> + Sync,
{
    if threads <= 1 || rows.len() < 256 {
        let outcomes = chunk_work(rows);
        if outcomes.len() != rows.len() {
            return Err(worker_panicked());
        }
        return Ok(outcomes);
    }
    let chunk = rows.len().div_ceil(threads);
    let work = &chunk_work;
    let parts: Vec<std::thread::Result<Vec<Outcome>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut outcomes = Vec::with_capacity(rows.len());
    for part in parts {
        outcomes.extend(part.map_err(|_| worker_panicked())?);
    }
    if outcomes.len() != rows.len() {
        return Err(worker_panicked());
    }
    Ok(outcomes)
}

/// A rewrap thread died: the batch is abandoned before anything of it is written.
fn worker_panicked() -> CliError {
    CliError::new(
        "internal_error",
        crate::error::exit::IO,
        "a rewrap worker thread failed; nothing of its batch was written",
    )
}

/// The compare-and-swap scene of the backends' unit tests: rows 1..=3 holding `s1`..`s3`
/// sealed under version 1, the value the application writes into row 2 between a batch's read
/// and its write (sealed under version 1 as well, the version active when it wrote), and the
/// ring then rotated to version 2.
#[cfg(test)]
pub(crate) struct CasScene {
    pub ring: Keyring,
    pub template: ContextTemplate,
    /// `(id, value)` of the three rows before the run.
    pub rows: Vec<(i64, String)>,
    /// What the application writes into row 2.
    pub app: String,
}

#[cfg(test)]
impl CasScene {
    #[allow(clippy::unwrap_used)]
    pub fn new() -> Self {
        let mut ring = Keyring::generate(1_700_000_000).unwrap();
        let rows = (1..=3i64)
            .map(|i| {
                let t = ring.encrypt(format!("s{i}").as_bytes(), b"", None).unwrap();
                (i, t)
            })
            .collect();
        let app = ring.encrypt(b"new by app", b"", None).unwrap();
        ring.rotate(1_700_000_001).unwrap();
        CasScene {
            ring,
            template: ContextTemplate::parse("").unwrap(),
            rows,
            app,
        }
    }

    /// The job of a migration of `users.secret` under the rotated ring.
    pub fn job(&self) -> Job<'_> {
        Job {
            ring: &self.ring,
            template: &self.template,
            table: "users",
            column: "secret",
            options: RewrapOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn template_renders_placeholders_and_escapes() {
        let t = ContextTemplate::parse("{table}:{id}:{column}{{x}}").unwrap();
        let mut buf = Vec::new();
        t.render("users", &RowId::Int(42), "ssn", &mut buf);
        assert_eq!(buf, b"users:42:ssn{x}");
        assert!(ContextTemplate::parse("{nope}").is_err());
        assert!(ContextTemplate::parse("{table").is_err());
        let empty = ContextTemplate::parse("").unwrap();
        empty.render("t", &RowId::Text("a".into()), "c", &mut buf);
        assert!(buf.is_empty());
    }

    #[test]
    fn reads_the_version_of_a_binary_envelope_at_cores_offset() {
        let mut ring = Keyring::generate(1_700_000_000).unwrap();
        ring.rotate(1_700_000_001).unwrap();
        let t = ring.encrypt_binary(b"x", b"", None).unwrap();
        assert_eq!(source(&Value::Blob(t)), Source::Version(2));
        assert_eq!(magic_hex(), "C46B72");
    }

    #[test]
    fn the_fernet_prefix_follows_from_cores_version_byte() {
        use base64::Engine;
        let head = [keyroll::legacy::fernet::VERSION_BYTE, 0, 0, 0, 0, 0];
        let text = base64::engine::general_purpose::URL_SAFE.encode(head);
        assert_eq!(&text[..FERNET_PREFIX.len()], FERNET_PREFIX);
        let key = keyroll::FernetKey::generate().unwrap();
        let token = keyroll::legacy::fernet::encrypt(&key, b"x", 1_700_000_000, &[0u8; 16]);
        assert!(token.starts_with(FERNET_PREFIX));
    }

    #[test]
    fn labels_sources() {
        assert_eq!(
            source(&Value::Text("kr1:v12:abc".into())).to_string(),
            "v12"
        );
        assert_eq!(
            source(&Value::Text("gAAAAABl".into())).to_string(),
            "fernet"
        );
        assert_eq!(source(&Value::Text("hello".into())).to_string(), "other");
    }

    #[test]
    fn a_panicking_chunk_fails_the_whole_batch() {
        let rows: Vec<Row> = (0..1000)
            .map(|i| Row {
                id: RowId::Int(i),
                value: Value::Text(format!("row {i}")),
            })
            .collect();
        // Row 300 sits in the second of four chunks: its thread dies, the others finish.
        let parity = |chunk: &[Row]| -> Vec<Outcome> {
            chunk
                .iter()
                .map(|row| match row.id {
                    RowId::Int(i) if i % 2 == 0 => Outcome::Failed("even"),
                    _ => Outcome::Failed("odd"),
                })
                .collect()
        };
        let result = process_with(&rows, 4, |chunk| {
            if chunk.iter().any(|r| r.id == RowId::Int(300)) {
                panic!("injected");
            }
            parity(chunk)
        });
        let err = result.expect_err("the batch is refused");
        assert_eq!(err.code, "internal_error");
        // Without the panic every outcome is paired with its own row.
        let outcomes = process_with(&rows, 4, parity).unwrap();
        assert_eq!(outcomes.len(), rows.len());
        for (i, o) in outcomes.iter().enumerate() {
            let want = if i % 2 == 0 { "even" } else { "odd" };
            assert!(matches!(o, Outcome::Failed(c) if *c == want), "row {i}");
        }
    }

    #[test]
    fn failures_count_once_per_id() {
        let mut s = Stats {
            scanned: 2,
            ..Default::default()
        };
        s.fail(&RowId::Int(1), "malformed");
        s.fail(&RowId::Int(1), "malformed");
        assert_eq!(s.failed, 1);
        assert_eq!(s.scanned, 1);
    }
}
