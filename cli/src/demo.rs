//! `keyroll demo`: a service leaving Fernet, end to end, in a temporary directory.

use crate::args::{DbArgs, Global, InitArgs, MigrateArgs, ProgressMode, RotateArgs};
use crate::error::{CliError, Result};
use crate::session::{now, Credentials, Session};
use crate::{cmd_keyring, migrate, out};
use keyroll::{FernetKey, Keyring, SecretKey};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// The plaintext of demo row `i`: about 100 bytes, like a small secret record.
pub fn secret_for(i: u64) -> String {
    let s = format!(
        "ssn=078-05-{:04};card=4111-1111-1111-{:04};note=demo secret row {i:07};",
        i % 10_000,
        (i * 7) % 10_000
    );
    format!("{s:-<100}")
}

/// Creates `path` with table `users(id INTEGER PRIMARY KEY, email TEXT, ssn TEXT)` holding
/// `rows` Fernet tokens under `key`, as a Python service using `cryptography` would have.
pub fn make_fernet_table(path: &Path, key: &FernetKey, rows: u64, issued_at: u64) -> Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, ssn TEXT)",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO users (id, email, ssn) VALUES (?1, ?2, ?3)")?;
        let mut iv = [0u8; 16];
        for i in 1..=rows {
            getrandom::fill(&mut iv).map_err(|_| CliError::from(keyroll::Error::Rng))?;
            let token =
                keyroll::legacy::fernet::encrypt(key, secret_for(i).as_bytes(), issued_at, &iv);
            insert.execute(rusqlite::params![
                i as i64,
                format!("user{i}@example.com"),
                token
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn step(n: u32, title: &str) {
    println!();
    println!("{}", out::bold(format!("── {n}. {title}")));
}

/// Checks `sample` rows spread over the table: each decrypts to its original plaintext.
fn verify(ring: &Keyring, db: &Path, rows: u64, sample: u64) -> Result<u64> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT ssn FROM users WHERE id = ?1")?;
    let step = (rows / sample.max(1)).max(1);
    let mut checked = 0;
    let mut id = 1;
    while id <= rows {
        let token: String = stmt.query_row([id as i64], |r| r.get(0))?;
        let context = format!("users:{id}:ssn");
        let plain = ring.decrypt(token.as_bytes(), context.as_bytes(), None)?;
        if plain != secret_for(id).as_bytes() {
            return Err(CliError::new(
                "demo_failed",
                1,
                format!("row {id} does not decrypt to its original"),
            ));
        }
        checked += 1;
        id += step;
    }
    Ok(checked)
}

/// Runs the demo.
pub fn run(global: &Global, rows: usize, dir: Option<&Path>) -> Result<i32> {
    let started = Instant::now();
    let temp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.to_path_buf()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let rows = rows as u64;
    let db = dir.join("app.db");
    if db.exists() || dir.join("keyring.json").exists() {
        return Err(CliError::input(format!(
            "{} already holds a demo; pick an empty directory",
            dir.display()
        )));
    }
    let mut g = global.clone();
    g.keyring = dir.join("keyring.json").display().to_string();
    g.backup_dir = None;
    g.audit_log = None;
    g.json = false;
    g.yes = true;
    // The demo's master key lives in this process only and is never shown.
    let session = Session::with_credentials(g, Credentials::MasterKey(SecretKey::generate()?));
    println!("{} in {}", out::bold("keyroll demo"), dir.display());

    step(
        1,
        &format!("a service leaving Fernet: {rows} rows of Fernet tokens in SQLite"),
    );
    let fernet = FernetKey::generate()?;
    let t = Instant::now();
    make_fernet_table(&db, &fernet, rows, now()?.saturating_sub(30 * 86_400))?;
    println!(
        "  wrote {} ({rows} rows) in {:.2} s",
        db.display(),
        t.elapsed().as_secs_f64()
    );

    step(2, "keyroll init (a new keyring sealed under a master key)");
    cmd_keyring::init(
        &session,
        &InitArgs {
            iterations: keyroll::DEFAULT_PBKDF2_ITERATIONS,
            rotate_after_days: None,
            warn_after_days: None,
        },
    )?;

    step(
        3,
        "keyroll import-fernet (the old key becomes a decrypt-only version)",
    );
    cmd_keyring::import_fernet(&session, &[fernet.to_base64().to_string()])?;

    let db_args = DbArgs {
        db: format!("sqlite:{}", db.display()),
        table: "users".into(),
        column: "ssn".into(),
    };
    step(
        4,
        "keyroll report (counted in SQL from the token prefix, nothing decrypted)",
    );
    migrate::report::run(&session, &db_args)?;

    let progress = if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else {
        ProgressMode::None
    };
    let mut margs = MigrateArgs {
        db: db_args.clone(),
        id_column: "id".into(),
        context_template: "{table}:{id}:{column}".into(),
        batch: 5000,
        workers: 1,
        apply: false,
        progress,
        include_compromised: false,
        shard: None,
        max_rows_per_second: None,
    };
    step(5, "keyroll migrate (dry run: nothing changes)");
    migrate::run(&session, &margs)?;
    step(
        6,
        "keyroll migrate --apply (Fernet -> kr1 v1, batches of 5000, one transaction each)",
    );
    margs.apply = true;
    migrate::run(&session, &margs)?;

    step(7, "keyroll rotate (v2 becomes active, v1 decrypt-only)");
    cmd_keyring::rotate::<keyroll::Keyring>(
        &session,
        &RotateArgs {
            if_due: false,
            emergency: false,
            reason: None,
        },
    )?;
    step(8, "keyroll migrate --apply again (v1 -> v2)");
    migrate::run(&session, &margs)?;
    step(
        9,
        "keyroll migrate --apply once more (idempotent: nothing left to do)",
    );
    migrate::run(&session, &margs)?;

    step(10, "keyroll report and health");
    migrate::report::run(&session, &db_args)?;
    cmd_keyring::health(&session)?;

    step(
        11,
        "check: rows decrypt to their original plaintext under the new keyring",
    );
    let ring = session.open()?;
    let checked = verify(&ring, &db, rows, 2000)?;
    println!(
        "  {} {checked} rows spread over the table decrypt to their originals",
        out::good("ok:")
    );

    println!();
    println!(
        "{} {rows} Fernet rows moved to keyroll and rotated once, in {:.1} s. Audit log: {}",
        out::good("demo done:"),
        started.elapsed().as_secs_f64(),
        session.store.file()?.audit().path().display()
    );
    Ok(0)
}
