//! End-to-end tests of `report` and `migrate` on PostgreSQL (a throwaway cluster started by
//! `scripts/ci/50-cli.sh`; `KEYROLL_TEST_PG_URL` points at it). Each test uses its own database.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{json, mixed_tokens, Env, Rng};
use std::io::{BufRead, Write};

const T: &str = "{table}:{id}:{column}";

fn admin_url() -> String {
    std::env::var("KEYROLL_TEST_PG_URL").expect(
        "KEYROLL_TEST_PG_URL must name a PostgreSQL server (scripts/ci/50-cli.sh starts one)",
    )
}

/// Creates (or recreates) database `name` and returns its URL.
fn fresh_db(name: &str) -> String {
    let admin = admin_url();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    format!("{base}/{name}")
}

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// A keyring with a Fernet key, and table `users(id bigint primary key, secret text)` of `n`
/// mixed rows loaded with COPY.
fn setup(db: &str, n: i64) -> (Env, String) {
    let env = Env::new();
    env.init();
    let fernet = keyroll::FernetKey::generate().unwrap();
    env.cmd()
        .arg("import-fernet")
        .env("ENCRYPTION_KEY", fernet.to_base64().as_str())
        .assert()
        .success();
    let url = fresh_db(db);
    let mut c = client(&url);
    c.batch_execute("CREATE TABLE users (id bigint PRIMARY KEY, secret text)")
        .unwrap();
    let rows = mixed_tokens(&env.ring(), &fernet, "users", "secret", n);
    let mut w = c.copy_in("COPY users (id, secret) FROM STDIN").unwrap();
    for (i, t) in rows {
        writeln!(w, "{i}\t{t}").unwrap();
    }
    w.finish().unwrap();
    (env, url)
}

fn rows(url: &str) -> Vec<(i64, Option<String>)> {
    client(url)
        .query("SELECT id, secret FROM users ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn migrate_args(url: &str) -> Vec<String> {
    [
        "migrate",
        "--db",
        url,
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
fn report_dry_run_apply_and_resume() {
    let (env, url) = setup("kr_basic", 2000);
    let out = env
        .cmd()
        .args([
            "report", "--db", &url, "--table", "users", "--column", "secret", "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(v["database"], "postgres");
    assert_eq!(v["fernet"], 1000);
    assert_eq!(v["versions"]["v1"]["rows"], 1000);
    env.cmd().arg("rotate").assert().success();
    let before = rows(&url);
    let v = json(
        &env.cmd()
            .args(migrate_args(&url))
            .arg("--json")
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["mode"], "dry_run");
    assert_eq!(v["migrated"], 2000);
    assert_eq!(rows(&url), before);
    let out = env
        .cmd()
        .args(migrate_args(&url))
        .args(["--apply", "--workers", "3", "--batch", "100"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrated         2000"));
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), 2000);
    let v = json(
        &env.cmd()
            .args(migrate_args(&url))
            .args(["--apply", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["migrated"], 0);
    assert_eq!(v["already_current"], 2000);
    assert_eq!(v["remaining"], 0);
    let out = env
        .cmd()
        .args([
            "report", "--db", &url, "--table", "users", "--column", "secret",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("v2 (active)"));
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
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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

#[test]
fn bad_rows_missing_columns_and_bytea() {
    let (env, url) = setup("kr_bad", 100);
    let mut c = client(&url);
    c.batch_execute(
        "UPDATE users SET secret = 'garbage' WHERE id = 5; \
         UPDATE users SET secret = (SELECT secret FROM users WHERE id = 2) WHERE id = 4; \
         INSERT INTO users VALUES (1000, NULL)",
    )
    .unwrap();
    env.cmd().arg("rotate").assert().success();
    let out = env
        .cmd()
        .args(migrate_args(&url))
        .args(["--apply", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v = json(&out.stdout);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["migrated"], 98);
    assert_eq!(v["remaining"], 2);
    let ids: Vec<i64> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4, 5]);
    let five: String = c
        .query_one("SELECT secret FROM users WHERE id = 5", &[])
        .unwrap()
        .get(0);
    assert_eq!(five, "garbage");
    let run = |args: &[&str]| env.cmd().args(args).output().unwrap();
    let out = run(&[
        "migrate", "--db", &url, "--table", "nope", "--column", "secret", "--json",
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(json(&out.stdout)["error"]["code"], "missing_table");
    let out = run(&[
        "report", "--db", &url, "--table", "users", "--column", "nope",
    ]);
    assert_eq!(out.status.code(), Some(6));
    let out = run(&["report", "--db", &url, "--table", "users", "--column", "id"]);
    assert_eq!(out.status.code(), Some(6), "an integer column is refused");
    let dead = url.replace(url.rsplit_once('/').unwrap().1, "kr_no_such_db");
    let out = run(&[
        "migrate", "--db", &dead, "--table", "users", "--column", "secret",
    ]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
    // bytea columns hold binary envelopes and stay binary.
    c.batch_execute("CREATE TABLE docs (id int PRIMARY KEY, body bytea)")
        .unwrap();
    let ring = env.ring();
    for i in 1..=20i32 {
        let t = ring
            .encrypt_binary(format!("doc {i}").as_bytes(), b"", None)
            .unwrap();
        c.execute("INSERT INTO docs VALUES ($1, $2)", &[&i, &t])
            .unwrap();
    }
    env.cmd().arg("rotate").assert().success();
    let v = json(
        &run(&[
            "report", "--db", &url, "--table", "docs", "--column", "body", "--json",
        ])
        .stdout,
    );
    assert_eq!(v["versions"]["v2"]["rows"], 20);
    let v = json(
        &run(&[
            "migrate", "--db", &url, "--table", "docs", "--column", "body", "--apply", "--json",
        ])
        .stdout,
    );
    assert_eq!(v["migrated"], 20);
    let ring = env.ring();
    for r in c.query("SELECT id, body FROM docs", &[]).unwrap() {
        let (i, body): (i32, Vec<u8>) = (r.get(0), r.get(1));
        assert!(!ring.needs_rewrap(&body).unwrap());
        assert_eq!(
            ring.decrypt(&body, b"", None).unwrap(),
            format!("doc {i}").as_bytes()
        );
    }
}

fn spawn_plain(env: &Env, url: &str, batch: u64, workers: u64) -> std::process::Child {
    env.process()
        .args(migrate_args(url))
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

#[test]
fn sigkill_at_random_points_then_resume_loses_nothing() {
    let n = 100_000;
    let (env, url) = setup("kr_crash", n);
    env.cmd().arg("rotate").assert().success();
    let mut rng = Rng::from_time();
    let mut kills = 0;
    let mut finished = false;
    while kills < 12 {
        let mut child = spawn_plain(&env, &url, rng.range(200, 1000), rng.range(1, 3));
        let after = rng.range(1, 3);
        let mut seen = 0;
        let mut killed = false;
        for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
            if line.unwrap().starts_with("progress:") {
                seen += 1;
                if seen >= after {
                    child.kill().unwrap();
                    killed = true;
                    break;
                }
            }
        }
        let status = child.wait().unwrap();
        if !killed {
            assert!(status.success());
            finished = true;
            break;
        }
        kills += 1;
    }
    assert!(kills >= 10 && !finished, "only {kills} kills landed");
    let v = json(
        &env.cmd()
            .args(migrate_args(&url))
            .args(["--apply", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["failed"], 0);
    assert_eq!(v["remaining"], 0);
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), n as usize);
}

#[test]
fn connection_lost_mid_run_is_an_error_and_resumable() {
    let (env, url) = setup("kr_vanish", 20_000);
    env.cmd().arg("rotate").assert().success();
    let mut child = spawn_plain(&env, &url, 100, 1);
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        if lines
            .next()
            .expect("progress line")
            .unwrap()
            .starts_with("progress:")
        {
            break;
        }
    }
    // The database goes away under the run: every keyroll connection to it is terminated.
    let mut admin = client(&admin_url());
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = 'kr_vanish' AND application_name = 'keyroll'",
            &[],
        )
        .unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(6), "{rest:?}");
    let text = rest.join("\n");
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
    // Resume.
    let v = json(
        &env.cmd()
            .args(migrate_args(&url))
            .args(["--apply", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["remaining"], 0);
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), 20_000);
}

#[test]
fn asynchronous_commits_are_not_reported_durable_when_unconfirmed() {
    let (env, url) = setup("kr_unconfirmed", 20_000);
    env.cmd().arg("rotate").assert().success();
    let mut child = spawn_plain(&env, &url, 100, 1);
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        if lines
            .next()
            .expect("progress line")
            .unwrap()
            .starts_with("progress:")
        {
            break;
        }
    }
    // The database stops accepting connections and every session to it ends: the batches
    // committed with synchronous_commit=off cannot be confirmed on disk any more. Two
    // statements, not one string: a multi-statement string is one implicit transaction, and
    // until it commits a fast reconnect (to flush) would still be let in.
    let mut admin = client(&admin_url());
    admin
        .batch_execute("ALTER DATABASE kr_unconfirmed ALLOW_CONNECTIONS false")
        .unwrap();
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'kr_unconfirmed'",
        )
        .unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    admin
        .batch_execute("ALTER DATABASE kr_unconfirmed ALLOW_CONNECTIONS true")
        .unwrap();
    assert_eq!(status.code(), Some(6), "{rest:?}");
    let text = rest.join("\n");
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
    let v = json(
        &env.cmd()
            .args(migrate_args(&url))
            .args(["--apply", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["remaining"], 0);
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), 20_000);
}

#[test]
fn tls_verify_full_and_a_password_in_the_url_is_warned_about() {
    let (env, url) = setup("kr_tls", 50);
    env.cmd().arg("rotate").assert().success();
    let ca = std::env::var("KEYROLL_TEST_PG_CA").expect("KEYROLL_TEST_PG_CA (50-cli.sh sets it)");
    let wrong = std::env::var("KEYROLL_TEST_PG_WRONG_CA").unwrap();
    let tls = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
    let out = env
        .cmd()
        .args(migrate_args(&tls))
        .args(["--apply", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    let out = env
        .cmd()
        .args([
            "report",
            "--db",
            &with_password,
            "--table",
            "users",
            "--column",
            "secret",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
