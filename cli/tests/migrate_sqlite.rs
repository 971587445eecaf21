//! End-to-end tests of what only SQLite has: rewrap threads, a missing or vanishing database
//! file. Scenarios both databases share (dry run, apply, resume, failures, bad input, binary
//! columns, SIGKILL at random points) are in migrate_scenarios.rs.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{import_fernet, mixed_tokens, sqlite_rows, sqlite_table, wait_for_progress, Env};
use std::io::BufRead;

/// A keyring with a Fernet key imported and a table of `n` mixed rows (odd Fernet, even v1).
fn setup(n: i64) -> (Env, std::path::PathBuf) {
    let env = Env::new();
    env.init();
    let fernet = import_fernet(&env);
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
    common::migrate_args(&format!("sqlite:{}", db.display()))
}

#[test]
fn workers_give_the_same_result() {
    let (env, db) = setup(3000);
    env.cmd().arg("rotate").assert().success();
    let v = common::migrate_json(
        &env,
        migrate_args(&db),
        &["--apply", "--workers", "2", "--batch", "1000"],
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

/// What only SQLite checks (the shared cases are in migrate_scenarios.rs).
#[test]
fn a_missing_file_is_not_created_and_unknown_urls_are_refused() {
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

#[test]
fn database_vanishing_mid_run_is_an_error() {
    let (env, db) = setup(20_000);
    env.cmd().arg("rotate").assert().success();
    let mut child = common::spawn_migrate(&env, migrate_args(&db), 100, 1);
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // Wait for the first committed batch, then delete the database under it.
    wait_for_progress(&mut lines);
    std::fs::remove_file(&db).unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(6), "{rest:?}");
    let text = rest.join("\n");
    assert!(text.contains("database_vanished"), "{text}");
    assert!(text.contains("run the same command again"), "{text}");
    assert_eq!(env.audit().last().unwrap()["result"], "database_vanished");
}
