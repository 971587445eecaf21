//! Helpers shared by the CLI's end-to-end tests.
#![allow(dead_code, clippy::unwrap_used)]

use assert_cmd::Command;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keyroll::{Keyring, SecretKey, Unlock};
use std::path::{Path, PathBuf};

/// A scratch directory with a keyring path and a master key.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub keyring: PathBuf,
    pub master_key: [u8; 32],
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keyring = dir.path().join("keyring.json");
        let key = SecretKey::generate().unwrap();
        let mut master_key = [0u8; 32];
        master_key.copy_from_slice(key.expose());
        Env {
            dir,
            keyring,
            master_key,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn master_key_b64(&self) -> String {
        STANDARD.encode(self.master_key)
    }

    /// `keyroll` with this keyring and master key, and nothing from the caller's environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("keyroll").unwrap();
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("USER", "tester")
            .env("KEYROLL_KEYRING", &self.keyring)
            .env("KEYROLL_MASTER_KEY", self.master_key_b64())
            .current_dir(self.dir.path());
        c
    }

    /// `keyroll` with a passphrase instead of the master key.
    pub fn cmd_pass(&self, passphrase: &str) -> Command {
        let mut c = self.cmd();
        c.env_remove("KEYROLL_MASTER_KEY")
            .env("KEYROLL_PASSPHRASE", passphrase);
        c
    }

    /// A `std::process::Command` for `keyroll` (to spawn, stream and kill).
    pub fn process(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("keyroll"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("USER", "tester")
            .env("KEYROLL_KEYRING", &self.keyring)
            .env("KEYROLL_MASTER_KEY", self.master_key_b64())
            .current_dir(self.dir.path());
        c
    }

    pub fn init(&self) {
        self.cmd().arg("init").assert().success();
    }

    /// The keyring as stored now, opened in-process.
    pub fn ring(&self) -> Keyring {
        open_ring(&self.keyring, &self.master_key)
    }

    pub fn audit(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.path("keyring.json.audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub fn open_ring(path: &Path, master_key: &[u8; 32]) -> Keyring {
    let doc = std::fs::read(path).unwrap();
    let key = SecretKey::from_slice(master_key).unwrap();
    Keyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap()
}

/// Parses stdout as JSON.
pub fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// The plaintext of row `i`.
pub fn secret(i: i64) -> String {
    format!("secret number {i:06} {}", "x".repeat(60))
}

/// The context of row `i` under the template `{table}:{id}:{column}`.
pub fn context(table: &str, i: i64, column: &str) -> String {
    format!("{table}:{i}:{column}")
}

/// A tiny deterministic generator (xorshift64*) for test choices; the seed is printed.
pub struct Rng(u64);

impl Rng {
    pub fn from_time() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("rng seed {seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Tokens for rows `1..=n`: odd rows as Fernet tokens under `fernet`, even rows as keyroll
/// tokens of `ring` with the row's context.
pub fn mixed_tokens(
    ring: &Keyring,
    fernet: &keyroll::FernetKey,
    table: &str,
    column: &str,
    n: i64,
) -> Vec<(i64, String)> {
    (1..=n)
        .map(|i| {
            let token = if i % 2 == 1 {
                let mut iv = [0u8; 16];
                iv[..8].copy_from_slice(&i.to_be_bytes());
                keyroll::legacy::fernet::encrypt(fernet, secret(i).as_bytes(), 1_700_000_000, &iv)
            } else {
                ring.encrypt(
                    secret(i).as_bytes(),
                    context(table, i, column).as_bytes(),
                    Some(1_700_000_000),
                )
                .unwrap()
            };
            (i, token)
        })
        .collect()
}

/// Creates a SQLite table `t(id INTEGER PRIMARY KEY, secret TEXT)` with these values.
pub fn sqlite_table(path: &Path, table: &str, rows: &[(i64, String)]) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(&format!(
            "PRAGMA journal_mode = WAL; CREATE TABLE {table} (id INTEGER PRIMARY KEY, secret TEXT)"
        ))
        .unwrap();
    sqlite_insert(path, table, rows);
}

/// Inserts `(id, secret)` rows into a SQLite table in one transaction.
pub fn sqlite_insert(path: &Path, table: &str, rows: &[(i64, String)]) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(&format!("INSERT INTO {table} (id, secret) VALUES (?1, ?2)"))
            .unwrap();
        for (i, v) in rows {
            stmt.execute(rusqlite::params![i, v]).unwrap();
        }
    }
    tx.commit().unwrap();
}

/// Every row of a SQLite table, ordered by id.
pub fn sqlite_rows(path: &Path, table: &str) -> Vec<(i64, Option<String>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT id, secret FROM {table} ORDER BY id"))
        .unwrap();
    stmt.query_map([], |r| {
        let v = match r.get::<_, rusqlite::types::Value>(1)? {
            rusqlite::types::Value::Text(t) => Some(t),
            rusqlite::types::Value::Integer(i) => Some(format!("<integer {i}>")),
            rusqlite::types::Value::Null => None,
            other => Some(format!("{other:?}")),
        };
        Ok((r.get(0)?, v))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Checks that every row decrypts to its original plaintext under `ring` and is under the
/// active version (so nothing is lost or wrapped twice).
pub fn assert_all_migrated(
    ring: &Keyring,
    table: &str,
    column: &str,
    rows: &[(i64, Option<String>)],
    expected: usize,
) {
    assert_eq!(rows.len(), expected, "row count changed");
    let active = ring.active_version().unwrap();
    for (i, token) in rows {
        let token = token
            .as_ref()
            .unwrap_or_else(|| panic!("row {i} lost its value"));
        assert!(
            token.starts_with(&format!("kr1:v{active}:")),
            "row {i} is not under v{active}: {}",
            &token[..token.len().min(12)]
        );
        let plain = ring
            .decrypt(
                token.as_bytes(),
                context(table, *i, column).as_bytes(),
                None,
            )
            .unwrap_or_else(|e| panic!("row {i} does not decrypt: {e}"));
        assert_eq!(
            plain,
            secret(*i).as_bytes(),
            "row {i} decrypts to something else"
        );
    }
}

pub fn open_ring_pass(path: &Path, passphrase: &str) -> Keyring {
    let doc = std::fs::read(path).unwrap();
    Keyring::from_document(&doc, Unlock::Passphrase(passphrase.as_bytes())).unwrap()
}

/// The context template of the migration tests: each row's value is bound to its place.
pub const TEMPLATE: &str = "{table}:{id}:{column}";

/// `migrate` of `users.secret` in the database `db` (a `--db` URL) under [`TEMPLATE`], as a
/// list of arguments (without `--json`).
pub fn migrate_args(db: &str) -> Vec<String> {
    [
        "migrate",
        "--db",
        db,
        "--table",
        "users",
        "--column",
        "secret",
        "--context-template",
        TEMPLATE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Imports a fresh Fernet key into `env`'s keyring (through `ENCRYPTION_KEY`) and returns it.
pub fn import_fernet(env: &Env) -> keyroll::FernetKey {
    let fernet = keyroll::FernetKey::generate().unwrap();
    env.cmd()
        .arg("import-fernet")
        .env("ENCRYPTION_KEY", fernet.to_base64().as_str())
        .assert()
        .success();
    fernet
}

/// Reads a child's stderr lines up to its first `progress:` line (its first committed batch).
pub fn wait_for_progress(lines: &mut impl Iterator<Item = std::io::Result<String>>) {
    loop {
        let line = lines.next().expect("progress line").unwrap();
        if line.starts_with("progress:") {
            return;
        }
    }
}

/// The PostgreSQL test server (`KEYROLL_TEST_PG_URL`, started by `scripts/ci/50-cli.sh`).
pub fn pg_admin_url() -> String {
    std::env::var("KEYROLL_TEST_PG_URL").expect(
        "KEYROLL_TEST_PG_URL must name a PostgreSQL server (scripts/ci/50-cli.sh starts one)",
    )
}

/// Creates (or recreates) database `name` on the test server and returns its URL.
pub fn pg_fresh_db(name: &str) -> String {
    let admin = pg_admin_url();
    let mut c = pg_client(&admin);
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

pub fn pg_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// Loads `(id, secret)` rows into a PostgreSQL table with one COPY.
pub fn pg_copy(url: &str, table: &str, rows: &[(i64, String)]) {
    use std::io::Write;
    let mut c = pg_client(url);
    let mut w = c
        .copy_in(&format!("COPY {table} (id, secret) FROM STDIN"))
        .unwrap();
    for (i, t) in rows {
        writeln!(w, "{i}\t{t}").unwrap();
    }
    w.finish().unwrap();
}

/// Every `(id, secret)` of a PostgreSQL table, by id.
pub fn pg_rows(url: &str, table: &str) -> Vec<(i64, Option<String>)> {
    pg_client(url)
        .query(&format!("SELECT id, secret FROM {table} ORDER BY id"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Runs `keyroll` with `args` (from a `migrate_args`), `extra` and `--json`; returns its
/// report.
pub fn migrate_json(env: &Env, args: Vec<String>, extra: &[&str]) -> serde_json::Value {
    json(
        &env.cmd()
            .args(args)
            .args(extra)
            .arg("--json")
            .output()
            .unwrap()
            .stdout,
    )
}

/// Starts `keyroll` with `args` (from a `migrate_args`), `--apply`, plain progress on stderr
/// (piped, to wait on with [`wait_for_progress`]) and the given batch size and workers.
pub fn spawn_migrate(
    env: &Env,
    args: Vec<String>,
    batch: u64,
    workers: u64,
) -> std::process::Child {
    env.process()
        .args(args)
        .args([
            "--apply",
            "--progress",
            "plain",
            "--batch",
            &batch.to_string(),
            "--workers",
            &workers.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `cmd`, which must succeed (else the test fails showing its stderr).
pub fn succeeds(cmd: &mut assert_cmd::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert_success(&out);
    out
}

/// Fails the test, showing the stderr, unless the command succeeded.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
