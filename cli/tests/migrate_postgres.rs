//! End-to-end tests of what only PostgreSQL has: several processes sharing the work, lost
//! connections, asynchronous commits, TLS and passwords (a throwaway cluster started by
//! `scripts/ci/50-cli.sh`; `KEYROLL_TEST_PG_URL` points at it). Each test uses its own
//! database. Scenarios both databases share are in migrate_scenarios.rs.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{
    import_fernet, json, migrate_args, mixed_tokens, pg_admin_url, pg_client, pg_fresh_db,
    wait_for_progress, Env,
};
use std::io::BufRead;

/// A keyring with a Fernet key, and table `users(id bigint primary key, secret text)` of `n`
/// mixed rows loaded with COPY.
fn setup(db: &str, n: i64) -> (Env, String) {
    let env = Env::new();
    env.init();
    let fernet = import_fernet(&env);
    let url = pg_fresh_db(db);
    pg_client(&url)
        .batch_execute("CREATE TABLE users (id bigint PRIMARY KEY, secret text)")
        .unwrap();
    let rows = mixed_tokens(&env.ring(), &fernet, "users", "secret", n);
    common::pg_copy(&url, "users", &rows);
    (env, url)
}

fn rows(url: &str) -> Vec<(i64, Option<String>)> {
    common::pg_rows(url, "users")
}

#[test]
fn several_processes_share_the_work_without_doing_any_twice() {
    let (env, url) = setup("kr_shared", 20_000);
    env.cmd().arg("rotate").assert().success();
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.process()
                .args(migrate_args(&url))
                .args(["--apply", "--workers", "2", "--batch", "250", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut total = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        common::assert_success(&out);
        let v = json(&out.stdout);
        assert_eq!(v["failed"], 0);
        assert_eq!(v["remaining"], 0);
        total += v["migrated"].as_u64().unwrap();
    }
    assert_eq!(
        total, 20_000,
        "every row migrated exactly once across the processes"
    );
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), 20_000);
}

/// What only PostgreSQL checks (the shared cases are in migrate_scenarios.rs).
#[test]
fn integer_columns_and_unreachable_databases_are_refused() {
    let (env, url) = setup("kr_bad", 10);
    let run = |args: &[&str]| env.cmd().args(args).output().unwrap();
    let out = run(&["report", "--db", &url, "--table", "users", "--column", "id"]);
    assert_eq!(out.status.code(), Some(6), "an integer column is refused");
    let dead = url.replace(url.rsplit_once('/').unwrap().1, "kr_no_such_db");
    let out = run(&[
        "migrate", "--db", &dead, "--table", "users", "--column", "secret",
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
    assert_eq!(rows(&url).len(), 10);
}

/// A migration of 20,000 rows in batches of 100 that `interrupt` (given an admin connection)
/// cuts into after its first committed batch; returns the keyring, the database URL, the
/// run's exit code and what it wrote to stderr after that batch.
fn interrupted_run(
    db: &str,
    interrupt: impl FnOnce(&mut postgres::Client),
) -> (Env, String, Option<i32>, String) {
    let (env, url) = setup(db, 20_000);
    env.cmd().arg("rotate").assert().success();
    let mut child = common::spawn_migrate(&env, migrate_args(&url), 100, 1);
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    wait_for_progress(&mut lines);
    interrupt(&mut pg_client(&pg_admin_url()));
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    (env, url, status.code(), rest.join("\n"))
}

/// The same command run again finishes the migration of all 20,000 rows.
fn resume_finishes(env: &Env, url: &str) {
    let v = common::migrate_json(env, migrate_args(url), &["--apply"]);
    assert_eq!(v["remaining"], 0);
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows(url), 20_000);
}

#[test]
fn connection_lost_mid_run_is_an_error_and_resumable() {
    // The database goes away under the run: every keyroll connection to it is terminated.
    let (env, url, code, text) = interrupted_run("kr_vanish", |admin| {
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = 'kr_vanish' AND application_name = 'keyroll'",
                &[],
            )
            .unwrap();
    });
    assert_eq!(code, Some(6), "{text}");
    assert!(
        text.contains("PostgreSQL") && text.contains("run the same command again"),
        "{text}"
    );
    let audit = env.audit();
    let record = audit.last().unwrap();
    assert_eq!(record["result"], "database_error");
    // The server was still reachable after the error: the run's asynchronous commits were
    // flushed by one synchronous commit, and only then counted as durable.
    let migrated = record["details"]["migrated"].as_u64().unwrap();
    assert!(migrated > 0, "{record}");
    assert_eq!(record["details"]["durable"], migrated, "{record}");
    assert!(
        text.contains(&format!("{migrated} rows migrated and durably committed")),
        "{text}"
    );
    resume_finishes(&env, &url);
}

#[test]
fn asynchronous_commits_are_not_reported_durable_when_unconfirmed() {
    // The database stops accepting connections and every session to it ends: the batches
    // committed with synchronous_commit=off cannot be confirmed on disk any more. Two
    // statements, not one string: a multi-statement string is one implicit transaction, and
    // until it commits a fast reconnect (to flush) would still be let in.
    let (env, url, code, text) = interrupted_run("kr_unconfirmed", |admin| {
        admin
            .batch_execute("ALTER DATABASE kr_unconfirmed ALLOW_CONNECTIONS false")
            .unwrap();
        admin
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'kr_unconfirmed'",
            )
            .unwrap();
    });
    pg_client(&pg_admin_url())
        .batch_execute("ALTER DATABASE kr_unconfirmed ALLOW_CONNECTIONS true")
        .unwrap();
    assert_eq!(code, Some(6), "{text}");
    let record = env.audit().last().unwrap().clone();
    let migrated = record["details"]["migrated"].as_u64().unwrap();
    assert!(migrated > 0, "{record}");
    assert_eq!(record["details"]["durable"], 0, "{record}");
    assert!(
        text.contains("0 rows migrated and durably committed before the error")
            && text.contains(&format!(
                "{migrated} more committed asynchronously and not confirmed on disk"
            )),
        "{text}"
    );
    resume_finishes(&env, &url);
}

#[test]
fn tls_verify_full_and_a_password_in_the_url_is_warned_about() {
    let (env, url) = setup("kr_tls", 50);
    env.cmd().arg("rotate").assert().success();
    let ca = std::env::var("KEYROLL_TEST_PG_CA").expect("KEYROLL_TEST_PG_CA (50-cli.sh sets it)");
    let wrong = std::env::var("KEYROLL_TEST_PG_WRONG_CA").unwrap();
    let tls = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
    let out = common::succeeds(
        env.cmd()
            .args(migrate_args(&tls))
            .args(["--apply", "--json"]),
    );
    assert_eq!(json(&out.stdout)["migrated"], 50);
    let out = env
        .cmd()
        .args(migrate_args(&format!(
            "{url}?sslmode=verify-full&sslrootcert={wrong}"
        )))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sslmode=verify-full") && err.contains("certificate"),
        "{err}"
    );
    // A password in argv still works (the test server trusts everyone) but is warned about,
    // and never printed.
    let with_password = url.replacen("postgres@", "postgres:hunter2pw@", 1);
    let out = common::succeeds(env.cmd().args([
        "report",
        "--db",
        &with_password,
        "--table",
        "users",
        "--column",
        "secret",
    ]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("PGPASSWORD"),
        "{err}"
    );
    let all = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains("hunter2pw"));
    let out = env
        .cmd()
        .env("PGPASSWORD", "hunter2pw")
        .args([
            "report", "--db", &url, "--table", "users", "--column", "secret",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
