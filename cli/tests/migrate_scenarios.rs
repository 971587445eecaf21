//! Safety scenarios of `migrate`, each run on SQLite and on PostgreSQL (the throwaway cluster of
//! `scripts/ci/50-cli.sh`, named by `KEYROLL_TEST_PG_URL`): one scenario, one body, two
//! databases, so the backends cannot drift apart on what they refuse or count.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{import_fernet, json, pg_client, Env, TEMPLATE as T};
use std::io::BufRead;

/// A database under test.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Db {
    fn sqlite(env: &Env) -> Db {
        let path = env.path("app.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL")
            .unwrap();
        Db::Sqlite(path)
    }

    /// A fresh PostgreSQL database named `name`.
    fn postgres(name: &str) -> Db {
        Db::Postgres(common::pg_fresh_db(name))
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite:{}", p.display()),
            Db::Postgres(u) => u.clone(),
        }
    }

    /// Runs statements; `{bigint}` and `{bytes}` become the backend's 64-bit integer and
    /// binary types.
    fn exec(&self, sql: &str) {
        match self {
            Db::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .execute_batch(
                    &sql.replace("{bigint}", "INTEGER")
                        .replace("{bytes}", "BLOB"),
                )
                .unwrap(),
            Db::Postgres(u) => postgres::Client::connect(u, postgres::NoTls)
                .unwrap()
                .batch_execute(
                    &sql.replace("{bigint}", "bigint")
                        .replace("{bytes}", "bytea"),
                )
                .unwrap(),
        }
    }

    /// Loads many rows at once (one transaction; PostgreSQL: COPY).
    fn bulk(&self, table: &str, rows: &[(i64, String)]) {
        match self {
            Db::Sqlite(p) => common::sqlite_insert(p, table, rows),
            Db::Postgres(u) => common::pg_copy(u, table, rows),
        }
    }

    /// Every `(id, secret)` of `users`, by id (a non-text SQLite value is shown by its type).
    fn rows(&self) -> Vec<(i64, Option<String>)> {
        match self {
            Db::Sqlite(p) => common::sqlite_rows(p, "users"),
            Db::Postgres(u) => common::pg_rows(u, "users"),
        }
    }

    fn insert_blobs(&self, table: &str, rows: &[(i64, Vec<u8>)]) {
        self.insert_into(table, "body", rows);
    }

    fn blobs(&self, table: &str) -> Vec<(i64, Vec<u8>)> {
        let sql = format!("SELECT id, body FROM {table} ORDER BY id");
        match self {
            Db::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .prepare(&sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            Db::Postgres(u) => postgres::Client::connect(u, postgres::NoTls)
                .unwrap()
                .query(&sql, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    fn insert(&self, table: &str, rows: &[(i64, String)]) {
        self.insert_into(table, "secret", rows);
    }

    /// Inserts `(id, value)` rows into `table(id, column)`, one statement each.
    fn insert_into<V>(&self, table: &str, column: &str, rows: &[(i64, V)])
    where
        V: rusqlite::ToSql + postgres::types::ToSql + Sync,
    {
        match self {
            Db::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                let sql = format!("INSERT INTO {table} (id, {column}) VALUES (?1, ?2)");
                for (i, v) in rows {
                    c.execute(&sql, rusqlite::params![i, v]).unwrap();
                }
            }
            Db::Postgres(u) => {
                let mut c = pg_client(u);
                let sql = format!("INSERT INTO {table} (id, {column}) VALUES ($1, $2)");
                for (i, v) in rows {
                    c.execute(&sql, &[i, v]).unwrap();
                }
            }
        }
    }

    /// Everything that would change if any row were written: the schema and, per row, its
    /// physical identity (SQLite rowid; PostgreSQL ctid and xmin, which any UPDATE changes)
    /// and every column.
    fn dump(&self, table: &str) -> Vec<String> {
        match self {
            Db::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                let mut out: Vec<String> = c
                    .prepare("SELECT coalesce(sql, '') FROM sqlite_schema ORDER BY name")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let mut stmt = c
                    .prepare(&format!(
                        "SELECT rowid || ' ' || quote(id) || ' ' || quote(secret) FROM {table} ORDER BY rowid"
                    ))
                    .unwrap();
                out.extend(
                    stmt.query_map([], |r| r.get(0))
                        .unwrap()
                        .map(Result::unwrap),
                );
                out
            }
            Db::Postgres(u) => {
                let mut c = postgres::Client::connect(u, postgres::NoTls).unwrap();
                c.query(
                    &format!(
                        "SELECT ctid::text || ' ' || xmin::text || ' ' || t::text FROM {table} t ORDER BY ctid"
                    ),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
            }
        }
    }

    fn value_or_null(&self, table: &str, id: i64) -> Option<String> {
        match self {
            Db::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .query_row(
                    &format!("SELECT secret FROM {table} WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .unwrap(),
            Db::Postgres(u) => postgres::Client::connect(u, postgres::NoTls)
                .unwrap()
                .query_one(&format!("SELECT secret FROM {table} WHERE id = $1"), &[&id])
                .unwrap()
                .get(0),
        }
    }

    fn value(&self, table: &str, id: i64) -> String {
        self.value_or_null(table, id)
            .unwrap_or_else(|| panic!("{table} row {id} is NULL"))
    }
}

/// Runs `scenario` on SQLite and on PostgreSQL (database `kr_<name>`).
fn both(name: &str, scenario: impl Fn(&Env, &Db)) {
    let env = Env::new();
    env.init();
    scenario(&env, &Db::sqlite(&env));
    let env = Env::new();
    env.init();
    scenario(&env, &Db::postgres(&format!("kr_{name}")));
}

/// `migrate` of `users.secret` as a list of arguments (without `--json`).
fn migrate_args(db: &Db) -> Vec<String> {
    common::migrate_args(&db.url())
}

/// `report` of `table.column`.
fn report(env: &Env, db: &Db, table: &str, column: &str, json: bool) -> std::process::Output {
    let mut cmd = env.cmd();
    cmd.args([
        "report",
        "--db",
        &db.url(),
        "--table",
        table,
        "--column",
        column,
    ]);
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

/// A Fernet key imported into the keyring, and `users(id, secret)` of `n` rows: odd ones
/// Fernet tokens, even ones v1 envelopes with the row's context.
fn mixed(env: &Env, db: &Db, n: i64) {
    let fernet = import_fernet(env);
    db.exec("CREATE TABLE users (id {bigint} PRIMARY KEY, secret text)");
    db.bulk(
        "users",
        &common::mixed_tokens(&env.ring(), &fernet, "users", "secret", n),
    );
}

fn migrate(env: &Env, db: &Db, table: &str, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .args([
            "migrate",
            "--db",
            &db.url(),
            "--table",
            table,
            "--column",
            "secret",
            "--context-template",
            T,
            "--json",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn tokens(env: &Env, table: &str, ids: &[i64]) -> Vec<(i64, String)> {
    let ring = env.ring();
    ids.iter()
        .map(|&i| {
            let t = ring
                .encrypt(
                    common::secret(i).as_bytes(),
                    common::context(table, i, "secret").as_bytes(),
                    None,
                )
                .unwrap();
            (i, t)
        })
        .collect()
}

#[test]
fn an_id_column_that_may_repeat_is_refused_and_nothing_changes() {
    both("dup_ids", |env, db| {
        // No key at all, and two rows share id 5 (each under its own token).
        db.exec("CREATE TABLE users (id {bigint}, secret text)");
        db.insert("users", &tokens(env, "users", &[1, 5, 5, 7]));
        // Unique but nullable, and unique only in part: neither names one row per id.
        db.exec("CREATE TABLE nullable (id {bigint} UNIQUE, secret text)");
        db.insert("nullable", &tokens(env, "nullable", &[1, 2]));
        db.exec(
            "CREATE TABLE partial (id {bigint} NOT NULL, secret text); \
             CREATE UNIQUE INDEX partial_id ON partial (id) WHERE id > 1",
        );
        db.insert("partial", &tokens(env, "partial", &[1, 2]));
        // A composite key: `id` alone repeats.
        db.exec(
            "CREATE TABLE composite (id {bigint} NOT NULL, k {bigint} NOT NULL DEFAULT 0, \
             secret text, PRIMARY KEY (id, k))",
        );
        db.insert("composite", &tokens(env, "composite", &[1, 2]));
        env.cmd().arg("rotate").assert().success();
        for table in ["users", "nullable", "partial", "composite"] {
            let before = db.dump(table);
            let out = migrate(env, db, table, &["--apply"]);
            assert_eq!(out.status.code(), Some(6), "{table}");
            let v = json(&out.stdout);
            assert_eq!(v["error"]["code"], "id_not_unique", "{table}: {v}");
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(
                msg.contains("unique") && msg.contains("nothing was changed"),
                "{msg}"
            );
            if table == "composite" {
                // The message names the key and the fix.
                assert!(
                    msg.contains("composite primary key (id, k)") && msg.contains("--id-column"),
                    "{msg}"
                );
            }
            assert_eq!(db.dump(table), before, "{table} is untouched");
        }
        // A key of several columns, asked for by name: refused before anything is opened.
        let before = db.dump("composite");
        let out = env
            .cmd()
            .args([
                "migrate",
                "--db",
                &db.url(),
                "--table",
                "composite",
                "--column",
                "secret",
            ])
            .args(["--id-column", "id,k", "--apply", "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6));
        let v = json(&out.stdout);
        assert_eq!(v["error"]["code"], "id_not_unique", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("several columns (id, k)") && msg.contains("nothing was changed"),
            "{msg}"
        );
        assert_eq!(db.dump("composite"), before, "composite is untouched");
        // A unique NOT NULL column is a key: accepted.
        db.exec(
            "CREATE TABLE keyed (id {bigint} NOT NULL, secret text); \
             CREATE UNIQUE INDEX keyed_id ON keyed (id)",
        );
        db.insert("keyed", &tokens(env, "keyed", &[1, 2, 3]));
        env.cmd().arg("rotate").assert().success();
        let out = migrate(env, db, "keyed", &["--apply"]);
        common::assert_success(&out);
        assert_eq!(json(&out.stdout)["migrated"], 3);
    });
}

#[test]
fn already_current_means_this_keyring_and_its_active_version() {
    both("foreign", |env, db| {
        db.exec("CREATE TABLE users (id {bigint} PRIMARY KEY, secret text)");
        env.cmd().arg("rotate").assert().success(); // active v2
        let mut rows = tokens(env, "users", &[1, 2, 3]);
        // Row 4 holds a token of another keyring whose active version is also v2: the same
        // `kr1:v2:` prefix, but not this keyring's data.
        let mut other = keyroll::Keyring::generate(1_700_000_000).unwrap();
        other.rotate(1_700_000_001).unwrap();
        let foreign = other
            .encrypt(
                b"someone else's",
                common::context("users", 4, "secret").as_bytes(),
                None,
            )
            .unwrap();
        assert!(foreign.starts_with("kr1:v2:"));
        rows.push((4, foreign.clone()));
        db.insert("users", &rows);
        let out = migrate(env, db, "users", &["--apply"]);
        assert_eq!(out.status.code(), Some(3), "partial: one row is not ours");
        let v = json(&out.stdout);
        assert_eq!(v["already_current"], 3, "{v}");
        assert_eq!(v["failed"], 1, "{v}");
        assert_eq!(v["failures"][0]["id"], 4);
        assert_eq!(v["failures"][0]["code"], "wrong_keyring");
        // Not current, though it carries the active prefix: both backends count it.
        assert_eq!(v["remaining"], 1, "{v}");
        assert_eq!(db.value("users", 4), foreign, "left untouched");
    });
}

#[test]
fn rows_under_a_compromised_version_move_only_on_request_and_are_counted() {
    both("compromised", |env, db| {
        db.exec("CREATE TABLE users (id {bigint} PRIMARY KEY, secret text)");
        db.insert("users", &tokens(env, "users", &[1, 2, 3])); // v1
        env.cmd().arg("rotate").assert().success();
        db.insert("users", &tokens(env, "users", &[4, 5])); // v2
        common::succeeds(
            env.cmd()
                .args(["rotate", "--emergency", "--reason", "leak", "--yes"]),
        );
        // v2 is compromised now; v1 is an ordinary decrypt-only version; v3 is active.
        let before = db.dump("users");
        let out = migrate(env, db, "users", &["--apply"]);
        assert_eq!(out.status.code(), Some(3), "partial: rows were refused");
        let v = json(&out.stdout);
        assert_eq!(v["migrated"], 3, "{v}");
        assert_eq!(
            v["refused_compromised"],
            serde_json::json!({"v2": 2}),
            "{v}"
        );
        assert_eq!(v["from_compromised"], serde_json::json!({}), "{v}");
        let after = db.dump("users");
        let untouched = |id: i64| db.value("users", id);
        assert_ne!(after, before);
        for id in [4, 5] {
            assert!(
                untouched(id).starts_with("kr1:v2:"),
                "row {id} was not written"
            );
        }
        let record = env.audit().last().unwrap().clone();
        assert_eq!(record["result"], "partial");
        assert_eq!(record["details"]["refused_compromised"]["v2"], 2);
        assert_eq!(record["details"]["include_compromised"], false);
        // The human summary says what was refused, why, and how to opt in.
        let out = env
            .cmd()
            .args([
                "migrate",
                "--db",
                &db.url(),
                "--table",
                "users",
                "--column",
                "secret",
            ])
            .args(["--context-template", T])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("v2: 2")
                && text.contains("--include-compromised")
                && text.contains("unverified"),
            "{text}"
        );
        // Opting in moves them, counted per source version in the summary and the audit log.
        let out = migrate(env, db, "users", &["--apply", "--include-compromised"]);
        common::assert_success(&out);
        let v = json(&out.stdout);
        assert_eq!(v["migrated"], 2, "{v}");
        assert_eq!(v["from_compromised"], serde_json::json!({"v2": 2}), "{v}");
        let record = env.audit().last().unwrap().clone();
        assert_eq!(record["details"]["from_compromised"]["v2"], 2);
        assert_eq!(record["details"]["include_compromised"], true);
        let ring = env.ring();
        for id in 1..=5 {
            let t = db.value("users", id);
            assert!(!ring.needs_rewrap(t.as_bytes()).unwrap(), "row {id}");
            let plain = ring
                .decrypt(
                    t.as_bytes(),
                    common::context("users", id, "secret").as_bytes(),
                    None,
                )
                .unwrap();
            assert_eq!(plain, common::secret(id).as_bytes());
        }
    });
}

#[test]
fn report_dry_run_apply_and_an_idempotent_rerun() {
    both("basic", |env, db| {
        mixed(env, db, 1000);
        db.exec("INSERT INTO users (id, secret) VALUES (1001, NULL), (1002, 'garbage')");
        let out = report(env, db, "users", "secret", true);
        common::assert_success(&out);
        let v = json(&out.stdout);
        assert_eq!(v["total"], 1001, "{v}");
        assert_eq!(v["null"], 1);
        assert_eq!(v["fernet"], 500);
        assert_eq!(v["other"], 1);
        assert_eq!(v["versions"]["v1"]["rows"], 500);
        assert_eq!(v["versions"]["v1"]["state"], "active");
        assert_eq!(v["to_migrate"], 501);
        let text =
            String::from_utf8_lossy(&report(env, db, "users", "secret", false).stdout).into_owned();
        assert!(text.contains("Fernet (legacy)"), "{text}");
        assert!(text.contains("v1 (active)"), "{text}");
        assert!(
            text.contains("501 values (50.0%) not yet under active v1"),
            "{text}"
        );
        db.exec("DELETE FROM users WHERE id = 1002");
        env.cmd().arg("rotate").assert().success();
        let before = db.dump("users");
        let out = common::succeeds(env.cmd().args(migrate_args(db)).arg("--json"));
        let v = json(&out.stdout);
        assert_eq!(v["mode"], "dry_run");
        assert_eq!(v["migrated"], 1000);
        assert_eq!(v["by_source"]["fernet"], 500);
        assert_eq!(v["by_source"]["v1"], 500);
        assert_eq!(db.dump("users"), before, "a dry run writes nothing");
        let out = common::succeeds(env.cmd().args(migrate_args(db)).args([
            "--apply",
            "--batch",
            "64",
            "--workers",
            "3",
        ]));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("migrated         1000"), "{text}");
        assert!(text.contains("remaining        0"), "{text}");
        let rows: Vec<_> = db.rows().into_iter().filter(|(i, _)| *i <= 1000).collect();
        common::assert_all_migrated(&env.ring(), "users", "secret", &rows, 1000);
        assert_eq!(db.value_or_null("users", 1001), None, "NULL stays NULL");
        // Idempotent: a second run finds everything current.
        let v = common::migrate_json(env, migrate_args(db), &["--apply"]);
        assert_eq!(v["migrated"], 0, "{v}");
        assert_eq!(v["already_current"], 1000);
        assert_eq!(v["remaining"], 0);
        let audit = env.audit();
        let runs: Vec<_> = audit
            .iter()
            .filter(|r| r["event"].as_str().unwrap().starts_with("migrate"))
            .collect();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0]["event"], "migrate_dry_run");
        assert_eq!(runs[1]["details"]["migrated"], 1000);
        assert_eq!(runs[1]["result"], "ok");
        let text =
            String::from_utf8_lossy(&report(env, db, "users", "secret", false).stdout).into_owned();
        assert!(text.contains("v2 (active)"), "{text}");
    });
}

#[test]
fn bad_rows_are_reported_and_left_untouched() {
    both("bad_rows", |env, db| {
        mixed(env, db, 100);
        db.exec(
            "UPDATE users SET secret = 'not a token' WHERE id = 3; \
             UPDATE users SET secret = (SELECT secret FROM users WHERE id = 4) WHERE id = 6; \
             UPDATE users SET secret = 'kr1:v1:AAAA' WHERE id = 8; \
             UPDATE users SET secret = 12345 WHERE id = 10; \
             INSERT INTO users (id, secret) VALUES (1000, NULL)",
        );
        env.cmd().arg("rotate").assert().success();
        let before = db.rows();
        let out = migrate(env, db, "users", &["--apply"]);
        assert_eq!(out.status.code(), Some(3), "partial success");
        let v = json(&out.stdout);
        assert_eq!(v["failed"], 4, "{v}");
        assert_eq!(v["migrated"], 96);
        assert_eq!(v["remaining"], 4);
        let failures: Vec<(i64, String)> = v["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_i64().unwrap(),
                    f["code"].as_str().unwrap().into(),
                )
            })
            .collect();
        let ids: Vec<i64> = failures.iter().map(|f| f.0).collect();
        assert_eq!(ids, [3, 6, 8, 10]);
        assert_eq!(
            failures[1].1, "decrypt_failed",
            "right keyring, wrong context"
        );
        let after = db.rows();
        for id in [3usize, 6, 8, 10] {
            assert_eq!(after[id - 1], before[id - 1], "failed row {id} untouched");
        }
        assert_eq!(after[100], (1000, None), "NULL stays NULL");
        // Human output names them too.
        let out = env
            .cmd()
            .args(migrate_args(db))
            .arg("--apply")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("failed row 3: "), "{text}");
        assert_eq!(env.audit().last().unwrap()["result"], "partial");
    });
}

#[test]
fn missing_tables_columns_and_bad_names_are_refused() {
    both("missing", |env, db| {
        mixed(env, db, 10);
        let before = db.dump("users");
        let run = |args: &[&str]| {
            env.cmd()
                .args(["migrate", "--db", &db.url()])
                .args(args)
                .output()
                .unwrap()
        };
        let out = run(&["--table", "nope", "--column", "secret", "--json"]);
        assert_eq!(out.status.code(), Some(6));
        assert_eq!(json(&out.stdout)["error"]["code"], "missing_table");
        let out = run(&["--table", "users", "--column", "nope", "--apply"]);
        assert_eq!(out.status.code(), Some(6));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no column \"nope\""));
        let out = report(env, db, "users", "nope", false);
        assert_eq!(out.status.code(), Some(6));
        let out = run(&[
            "--table",
            "users",
            "--column",
            "secret",
            "--id-column",
            "pk",
        ]);
        assert_eq!(out.status.code(), Some(6));
        let out = run(&["--table", "users; drop table users", "--column", "secret"]);
        assert_eq!(out.status.code(), Some(8));
        let out = run(&[
            "--table",
            "users",
            "--column",
            "secret",
            "--context-template",
            "{nope}",
        ]);
        assert_eq!(out.status.code(), Some(8));
        assert_eq!(db.dump("users"), before);
    });
}

#[test]
fn binary_columns_stay_binary_and_count_as_current() {
    both("binary", |env, db| {
        db.exec("CREATE TABLE docs (id {bigint} PRIMARY KEY, body {bytes})");
        let ring = env.ring();
        let rows: Vec<(i64, Vec<u8>)> = (1..=50)
            .map(|i| {
                let t = ring
                    .encrypt_binary(format!("doc {i}").as_bytes(), b"", None)
                    .unwrap();
                (i, t)
            })
            .collect();
        db.insert_blobs("docs", &rows);
        env.cmd().arg("rotate").assert().success();
        let v = json(&report(env, db, "docs", "body", true).stdout);
        assert_eq!(v["versions"]["v1"]["rows"], 50, "{v}");
        let run = || {
            json(
                &env.cmd()
                    .args([
                        "migrate",
                        "--db",
                        &db.url(),
                        "--table",
                        "docs",
                        "--column",
                        "body",
                    ])
                    .args(["--apply", "--json"])
                    .output()
                    .unwrap()
                    .stdout,
            )
        };
        let v = run();
        assert_eq!(v["migrated"], 50, "{v}");
        // The binary header's version is read at core's offset: nothing is left.
        assert_eq!(v["remaining"], 0, "{v}");
        let ring = env.ring();
        for (i, body) in db.blobs("docs") {
            assert!(!ring.needs_rewrap(&body).unwrap());
            assert_eq!(
                ring.decrypt(&body, b"", None).unwrap(),
                format!("doc {i}").as_bytes()
            );
        }
        let v = run();
        assert_eq!(
            (v["migrated"].as_u64(), v["already_current"].as_u64()),
            (Some(0), Some(50))
        );
        assert_eq!(v["remaining"], 0);
    });
}

#[test]
fn sigkill_at_random_points_then_resume_loses_nothing() {
    both("crash", |env, db| {
        let n = 100_000;
        mixed(env, db, n);
        env.cmd().arg("rotate").assert().success();
        let mut rng = common::Rng::from_time();
        let mut kills = 0;
        while kills < 12 {
            let (batch, workers, after) = (rng.range(200, 1000), rng.range(1, 3), rng.range(1, 3));
            let mut child = common::spawn_migrate(env, migrate_args(db), batch, workers);
            let mut seen = 0;
            let mut killed = false;
            for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
                if line.unwrap().starts_with("progress:") {
                    seen += 1;
                    if seen >= after {
                        child.kill().unwrap(); // SIGKILL
                        killed = true;
                        break;
                    }
                }
            }
            let status = child.wait().unwrap();
            if !killed {
                assert!(status.success());
                break;
            }
            kills += 1;
            // After every kill the table is whole: no row lost or added.
            assert_eq!(db.rows().len(), n as usize);
        }
        assert!(
            kills >= 10,
            "only {kills} kills landed before the run finished"
        );
        let v = common::migrate_json(env, migrate_args(db), &["--apply"]);
        assert_eq!(v["failed"], 0, "{v}");
        assert_eq!(v["remaining"], 0);
        common::assert_all_migrated(&env.ring(), "users", "secret", &db.rows(), n as usize);
    });
}

#[test]
fn help_states_the_operator_rules() {
    let env = Env::new();
    let out = env.cmd().args(["migrate", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--include-compromised",
        "unverified",
        "audit log",
        "primary key",
        "Composite keys",
        "sslmode",
        "verify-full",
        "sslrootcert",
        "PGPASSWORD",
        ".pgpass",
        "warned",
        "Durable means",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from migrate --help:\n{text}"
        );
    }
}

/// The plaintext of the row keyed `id` in the id-type scenarios.
fn keyed_secret(id: &str) -> String {
    format!("secret of row {id}")
}

/// Inserts rows keyed by `ids` (given as text, converted by the database to the id column's
/// type `ty`) into `table(id, secret)`, each a v1 envelope bound to `{table}:{id}:secret`.
/// Ids are written back as the database renders them (a uuid in lower case).
fn insert_keyed(env: &Env, db: &Db, table: &str, ty: &str, ids: &[String]) {
    let ring = env.ring();
    let token = |id: &str| {
        ring.encrypt(
            keyed_secret(id).as_bytes(),
            format!("{table}:{id}:secret").as_bytes(),
            None,
        )
        .unwrap()
    };
    match db {
        Db::Sqlite(p) => {
            let c = rusqlite::Connection::open(p).unwrap();
            for id in ids {
                c.execute(
                    &format!("INSERT INTO {table} (id, secret) VALUES (?1, ?2)"),
                    rusqlite::params![id, token(id)],
                )
                .unwrap();
            }
        }
        Db::Postgres(u) => {
            let mut c = pg_client(u);
            for id in ids {
                let canonical: String = c
                    .query_one(
                        &format!("SELECT CAST(CAST($1::text AS {ty}) AS text)"),
                        &[id],
                    )
                    .unwrap()
                    .get(0);
                c.execute(
                    &format!(
                        "INSERT INTO {table} (id, secret) VALUES (CAST($1::text AS {ty}), $2)"
                    ),
                    &[id, &token(&canonical)],
                )
                .unwrap();
            }
        }
    }
}

/// Every `(id as text, secret)` of `table`.
fn keyed_rows(db: &Db, table: &str) -> Vec<(String, String)> {
    let sql = format!("SELECT CAST(id AS TEXT), secret FROM {table}");
    match db {
        Db::Sqlite(p) => rusqlite::Connection::open(p)
            .unwrap()
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        Db::Postgres(u) => pg_client(u)
            .query(&sql, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect(),
    }
}

/// `table`, keyed by `ids` of type `ty`, migrates completely: a dry run in batches of one
/// visits each row exactly once (total = rows: none skipped, none twice) and changes nothing;
/// `--apply` in batches of two moves every row, each still decrypting under its own id.
fn keyed_table_migrates(env: &Env, db: &Db, table: &str, ty: &str, ids: &[String]) {
    insert_keyed(env, db, table, ty, ids);
    env.cmd().arg("rotate").assert().success();
    let n = ids.len() as u64;
    let before = keyed_rows(db, table);
    let out = migrate(env, db, table, &["--batch", "1"]);
    common::assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(
        (v["total"].as_u64(), v["migrated"].as_u64()),
        (Some(n), Some(n)),
        "{table}: {v}"
    );
    assert_eq!(
        keyed_rows(db, table),
        before,
        "{table}: a dry run changes nothing"
    );
    let out = migrate(env, db, table, &["--apply", "--batch", "2"]);
    common::assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(
        (
            v["total"].as_u64(),
            v["migrated"].as_u64(),
            v["remaining"].as_u64()
        ),
        (Some(n), Some(n), Some(0)),
        "{table}: {v}"
    );
    let ring = env.ring();
    let rows = keyed_rows(db, table);
    assert_eq!(rows.len(), ids.len());
    for (id, token) in rows {
        assert!(
            !ring.needs_rewrap(token.as_bytes()).unwrap(),
            "{table} row {id}"
        );
        let plain = ring
            .decrypt(
                token.as_bytes(),
                format!("{table}:{id}:secret").as_bytes(),
                None,
            )
            .unwrap();
        assert_eq!(plain, keyed_secret(&id).as_bytes(), "{table} row {id}");
    }
}

/// Ids that a locale collation orders differently from their bytes (case, accents,
/// punctuation, digits), and case variants that a case-insensitive collation ties.
fn text_ids() -> Vec<String> {
    [
        "apple", "Apple", "APPLE", "banana", "Banana", "_under", "zulu", "Zulu", "éclair",
        "eclair", "Eclair", "ä", "Ä", "a", "b", "B", "10", "9", "a b", "a-b", "ab", "ß", "ss",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn text_ids_page_in_the_key_order_with_none_skipped_or_repeated() {
    both("text_ids", |env, db| {
        match db {
            Db::Sqlite(_) => {
                // A TEXT PRIMARY KEY (SQLite does not make it NOT NULL), and a NOCASE column
                // whose unique index is BINARY: `apple`, `Apple`, `APPLE` tie in the column's
                // own order, so pages must follow the index's.
                db.exec(
                    "CREATE TABLE plain (id TEXT PRIMARY KEY, secret TEXT); \
                     CREATE TABLE tied (id TEXT COLLATE NOCASE NOT NULL, secret TEXT); \
                     CREATE UNIQUE INDEX tied_id ON tied (id COLLATE BINARY)",
                );
                keyed_table_migrates(env, db, "plain", "TEXT", &text_ids());
                keyed_table_migrates(env, db, "tied", "TEXT", &text_ids());
            }
            Db::Postgres(u) => {
                let mut c = pg_client(u);
                // A locale collation (ICU), checked to order these ids unlike their bytes.
                db.exec(
                    "CREATE TABLE plain (id text COLLATE \"und-x-icu\" PRIMARY KEY, secret text); \
                     CREATE TABLE bounded (id varchar(40) COLLATE \"und-x-icu\" PRIMARY KEY, secret text); \
                     CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); \
                     CREATE TABLE tied (id text COLLATE ci NOT NULL, secret text); \
                     CREATE UNIQUE INDEX tied_id ON tied (id COLLATE \"C\")",
                );
                keyed_table_migrates(env, db, "plain", "text", &text_ids());
                let mut order = |sql: &str| -> Vec<String> {
                    c.query(sql, &[])
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect()
                };
                assert_ne!(
                    order("SELECT id FROM plain ORDER BY id"),
                    order("SELECT id FROM plain ORDER BY id COLLATE \"C\""),
                    "the locale must order these ids unlike their bytes"
                );
                keyed_table_migrates(env, db, "bounded", "varchar", &text_ids());
                keyed_table_migrates(env, db, "tied", "text", &text_ids());
            }
        }
    });
}

#[test]
fn integer_ids_of_every_width_and_sign_migrate() {
    both("int_ids", |env, db| {
        let wide: Vec<String> = [
            i64::MIN + 1,
            -(1 << 40),
            -5,
            -1,
            0,
            1,
            7,
            1 << 31,
            (1 << 53) + 1,
            i64::MAX,
        ]
        .iter()
        .map(|i| i.to_string())
        .collect();
        db.exec("CREATE TABLE wide (id {bigint} PRIMARY KEY, secret text)");
        keyed_table_migrates(env, db, "wide", "bigint", &wide);
        if let Db::Postgres(_) = db {
            let small: Vec<String> = (-6..6).map(|i: i64| (i * 5000).to_string()).collect();
            db.exec(
                "CREATE TABLE small (id smallint PRIMARY KEY, secret text); \
                 CREATE TABLE medium (id integer NOT NULL UNIQUE, secret text)",
            );
            keyed_table_migrates(env, db, "small", "smallint", &small);
            let medium: Vec<String> = [i32::MIN, -1, 0, i32::MAX]
                .iter()
                .map(|i| i.to_string())
                .collect();
            keyed_table_migrates(env, db, "medium", "integer", &medium);
        }
    });
}

/// PostgreSQL `uuid` keys: compared and ordered as uuids (not as text), carried as text and
/// cast back in the compare-and-swap update.
#[test]
fn uuid_ids_migrate_on_postgres() {
    let env = Env::new();
    env.init();
    let db = Db::postgres("kr_uuid_ids");
    db.exec("CREATE TABLE users (id uuid PRIMARY KEY, secret text)");
    let mut rng = common::Rng::from_time();
    let mut ids: Vec<String> = (0..30)
        .map(|_| format!("{:016x}{:016x}", rng.next(), rng.next()))
        .collect();
    // Upper case and hyphenated input: the database renders them canonically.
    ids.push("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11".into());
    ids.push("00000000-0000-0000-0000-000000000000".into());
    ids.push("ffffffff-ffff-ffff-ffff-ffffffffffff".into());
    keyed_table_migrates(&env, &db, "users", "uuid", &ids);
}
