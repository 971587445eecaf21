//! End-to-end tests of `report` and `migrate` on SQLite: dry run, apply, resume, failures,
//! bad input, a vanishing database, and SIGKILL at random points.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{json, mixed_tokens, sqlite_rows, sqlite_table, Env, Rng};
use std::io::BufRead;

const T: &str = "{table}:{id}:{column}";

/// A keyring with a Fernet key imported and a table of `n` mixed rows (odd Fernet, even v1).
fn setup(n: i64) -> (Env, std::path::PathBuf) {
    let env = Env::new();
    env.init();
    let fernet = keyroll::FernetKey::generate().unwrap();
    env.cmd()
        .arg("import-fernet")
        .env("ENCRYPTION_KEY", fernet.to_base64().as_str())
        .assert()
        .success();
    let ring = env.ring();
    let db = env.path("app.db");
    sqlite_table(
        &db,
        "users",
        &mixed_tokens(&ring, &fernet, "users", "secret", n),
    );
    (env, db)
}

fn migrate_args(db: &std::path::Path) -> Vec<String> {
    [
        "migrate",
        "--db",
        &format!("sqlite:{}", db.display()),
        "--table",
        "users",
        "--column",
        "secret",
        "--context-template",
        T,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn report_counts_versions_without_decrypting() {
    let (env, db) = setup(200);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "INSERT INTO users (id, secret) VALUES (1001, NULL), (1002, 'garbage')",
            [],
        )
        .unwrap();
    }
    let out = env
        .cmd()
        .args([
            "report",
            "--db",
            db.to_str().unwrap(),
            "--table",
            "users",
            "--column",
            "secret",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(v["total"], 201);
    assert_eq!(v["null"], 1);
    assert_eq!(v["fernet"], 100);
    assert_eq!(v["other"], 1);
    assert_eq!(v["versions"]["v1"]["rows"], 100);
    assert_eq!(v["versions"]["v1"]["state"], "active");
    assert_eq!(v["to_migrate"], 101);
    let out = env
        .cmd()
        .args([
            "report",
            "--db",
            db.to_str().unwrap(),
            "--table",
            "users",
            "--column",
            "secret",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Fernet (legacy)"), "{text}");
    assert!(text.contains("v1 (active)"));
    assert!(text.contains("101 values (50.2%) not yet under active v1"));
}

#[test]
fn dry_run_changes_nothing_and_apply_migrates_everything() {
    let (env, db) = setup(1000);
    env.cmd().arg("rotate").assert().success();
    let before = sqlite_rows(&db, "users");
    let out = env
        .cmd()
        .args(migrate_args(&db))
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(v["mode"], "dry_run");
    assert_eq!(v["migrated"], 1000);
    assert_eq!(v["by_source"]["fernet"], 500);
    assert_eq!(v["by_source"]["v1"], 500);
    assert_eq!(
        sqlite_rows(&db, "users"),
        before,
        "a dry run writes nothing"
    );
    let out = env
        .cmd()
        .args(migrate_args(&db))
        .args(["--apply", "--batch", "64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("migrated         1000"), "{text}");
    assert!(text.contains("remaining        0"), "{text}");
    common::assert_all_migrated(
        &env.ring(),
        "users",
        "secret",
        &sqlite_rows(&db, "users"),
        1000,
    );
    // Idempotent: a second run finds everything current.
    let v = json(
        &env.cmd()
            .args(migrate_args(&db))
            .args(["--apply", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["migrated"], 0);
    assert_eq!(v["already_current"], 1000);
    let audit = env.audit();
    let runs: Vec<_> = audit
        .iter()
        .filter(|r| r["event"].as_str().unwrap().starts_with("migrate"))
        .collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1]["details"]["migrated"], 1000);
    assert_eq!(runs[1]["result"], "ok");
}

#[test]
fn workers_give_the_same_result() {
    let (env, db) = setup(3000);
    env.cmd().arg("rotate").assert().success();
    let v = json(
        &env.cmd()
            .args(migrate_args(&db))
            .args(["--apply", "--workers", "2", "--batch", "1000", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["migrated"], 3000);
    common::assert_all_migrated(
        &env.ring(),
        "users",
        "secret",
        &sqlite_rows(&db, "users"),
        3000,
    );
}

#[test]
fn bad_rows_are_reported_and_left_untouched() {
    let (env, db) = setup(100);
    let ring = env.ring();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("UPDATE users SET secret = 'not a token' WHERE id = 3", [])
            .unwrap();
        // Right keyring, wrong context (row 4's token copied into row 6).
        conn.execute(
            "UPDATE users SET secret = (SELECT secret FROM users WHERE id = 4) WHERE id = 6",
            [],
        )
        .unwrap();
        conn.execute("UPDATE users SET secret = 'kr1:v1:AAAA' WHERE id = 8", [])
            .unwrap();
        conn.execute("UPDATE users SET secret = 12345 WHERE id = 10", [])
            .unwrap();
    }
    drop(ring);
    env.cmd().arg("rotate").assert().success();
    let before = sqlite_rows(&db, "users");
    let out = env
        .cmd()
        .args(migrate_args(&db))
        .args(["--apply", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "partial success");
    let v = json(&out.stdout);
    assert_eq!(v["failed"], 4);
    assert_eq!(v["migrated"], 96);
    let failures: Vec<(i64, String)> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_i64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ids: Vec<i64> = failures.iter().map(|f| f.0).collect();
    assert_eq!(ids, [3, 6, 8, 10]);
    assert_eq!(failures[1].1, "decrypt_failed");
    let after = sqlite_rows(&db, "users");
    for id in [3usize, 6, 8, 10] {
        assert_eq!(after[id - 1], before[id - 1], "failed row {id} untouched");
    }
    assert_eq!(after[9], before[9], "failed row 10 untouched");
    // Human output names them too.
    let out = env
        .cmd()
        .args(migrate_args(&db))
        .arg("--apply")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("failed row 3: "), "{text}");
    assert_eq!(env.audit().last().unwrap()["result"], "partial");
}

#[test]
fn missing_database_table_and_column() {
    let (env, db) = setup(10);
    let run = |args: &[&str]| env.cmd().args(args).output().unwrap();
    let out = run(&[
        "migrate",
        "--db",
        "sqlite:nope.db",
        "--table",
        "users",
        "--column",
        "secret",
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!env.path("nope.db").exists(), "no database is created");
    let d = db.to_str().unwrap();
    let out = run(&[
        "migrate", "--db", d, "--table", "nope", "--column", "secret", "--json",
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(json(&out.stdout)["error"]["code"], "missing_table");
    let out = run(&[
        "migrate", "--db", d, "--table", "users", "--column", "nope", "--apply",
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column \"nope\""));
    let out = run(&[
        "migrate",
        "--db",
        d,
        "--table",
        "users",
        "--column",
        "secret",
        "--id-column",
        "pk",
    ]);
    assert_eq!(out.status.code(), Some(6));
    let out = run(&[
        "report",
        "--db",
        d,
        "--table",
        "users; drop table users",
        "--column",
        "secret",
    ]);
    assert_eq!(out.status.code(), Some(8));
    let out = run(&[
        "migrate",
        "--db",
        d,
        "--table",
        "users",
        "--column",
        "secret",
        "--context-template",
        "{nope}",
    ]);
    assert_eq!(out.status.code(), Some(8));
    let out = run(&[
        "migrate",
        "--db",
        "mysql://x/y",
        "--table",
        "users",
        "--column",
        "secret",
    ]);
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(sqlite_rows(&db, "users").len(), 10);
}

/// Spawns `migrate --apply --progress plain`, lets it commit `after` batches, then SIGKILLs it.
/// Returns true if it finished on its own first.
fn kill_after(env: &Env, db: &std::path::Path, batch: u64, after: u64) -> bool {
    let mut child = env
        .process()
        .args(migrate_args(db))
        .args([
            "--apply",
            "--progress",
            "plain",
            "--batch",
            &batch.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = 0;
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.starts_with("progress:") {
            seen += 1;
            if seen >= after {
                child.kill().unwrap(); // SIGKILL
                let status = child.wait().unwrap();
                return status.success();
            }
        }
    }
    child.wait().unwrap().success()
}

#[test]
fn sigkill_at_random_points_then_resume_loses_nothing() {
    let n = 100_000;
    let (env, db) = setup(n);
    env.cmd().arg("rotate").assert().success();
    let mut rng = Rng::from_time();
    let mut kills = 0;
    while kills < 12 {
        let batch = rng.range(200, 1000);
        let after = rng.range(1, 3);
        if kill_after(&env, &db, batch, after) {
            break;
        }
        kills += 1;
        // After every kill the table is whole: every row still holds a token that opens.
        let rows = sqlite_rows(&db, "users");
        assert_eq!(rows.len(), n as usize);
    }
    assert!(
        kills >= 10,
        "only {kills} kills landed before the run finished"
    );
    let v = json(
        &env.cmd()
            .args(migrate_args(&db))
            .args(["--apply", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["failed"], 0);
    assert_eq!(v["remaining"], 0);
    common::assert_all_migrated(
        &env.ring(),
        "users",
        "secret",
        &sqlite_rows(&db, "users"),
        n as usize,
    );
}

#[test]
fn database_vanishing_mid_run_is_an_error() {
    let (env, db) = setup(20_000);
    env.cmd().arg("rotate").assert().success();
    let mut child = env
        .process()
        .args(migrate_args(&db))
        .args(["--apply", "--progress", "plain", "--batch", "100"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // Wait for the first committed batch, then delete the database under it.
    loop {
        let line = lines.next().expect("progress line").unwrap();
        if line.starts_with("progress:") {
            break;
        }
    }
    std::fs::remove_file(&db).unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(6), "{rest:?}");
    let text = rest.join("\n");
    assert!(text.contains("database_vanished"), "{text}");
    assert!(text.contains("run the same command again"), "{text}");
    assert_eq!(env.audit().last().unwrap()["result"], "database_vanished");
}

#[test]
fn blob_columns_stay_binary() {
    let env = Env::new();
    env.init();
    let ring = env.ring();
    let db = env.path("b.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE docs (id INTEGER PRIMARY KEY, body BLOB)")
            .unwrap();
        for i in 1..=50i64 {
            let t = ring
                .encrypt_binary(format!("doc {i}").as_bytes(), b"", None)
                .unwrap();
            conn.execute("INSERT INTO docs VALUES (?1, ?2)", rusqlite::params![i, t])
                .unwrap();
        }
    }
    env.cmd().arg("rotate").assert().success();
    let v = json(
        &env.cmd()
            .args([
                "report",
                "--db",
                db.to_str().unwrap(),
                "--table",
                "docs",
                "--column",
                "body",
                "--json",
            ])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["versions"]["v1"]["rows"], 50);
    let v = json(
        &env.cmd()
            .args([
                "migrate",
                "--db",
                db.to_str().unwrap(),
                "--table",
                "docs",
                "--column",
                "body",
                "--apply",
                "--json",
            ])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["migrated"], 50);
    assert_eq!(v["remaining"], 0);
    let ring = env.ring();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT id, body FROM docs").unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .unwrap()
    {
        let (i, body) = row.unwrap();
        assert!(!ring.needs_rewrap(&body).unwrap());
        assert_eq!(
            ring.decrypt(&body, b"", None).unwrap(),
            format!("doc {i}").as_bytes()
        );
    }
}
