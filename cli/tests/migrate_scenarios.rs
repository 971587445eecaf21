//! Safety scenarios of `migrate`, each run on SQLite and on PostgreSQL (the throwaway cluster of
//! `scripts/ci/50-cli.sh`, named by `KEYROLL_TEST_PG_URL`): one scenario, one body, two
//! databases, so the backends cannot drift apart on what they refuse or count.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{json, Env};

const T: &str = "{table}:{id}:{column}";

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
        let admin = std::env::var("KEYROLL_TEST_PG_URL").expect(
            "KEYROLL_TEST_PG_URL must name a PostgreSQL server (scripts/ci/50-cli.sh starts one)",
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        Db::Postgres(format!("{}/{name}", admin.rsplit_once('/').unwrap().0))
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite:{}", p.display()),
            Db::Postgres(u) => u.clone(),
        }
    }

    /// Runs statements; `{bigint}` becomes the backend's 64-bit integer type.
    fn exec(&self, sql: &str) {
        match self {
            Db::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .execute_batch(&sql.replace("{bigint}", "INTEGER"))
                .unwrap(),
            Db::Postgres(u) => postgres::Client::connect(u, postgres::NoTls)
                .unwrap()
                .batch_execute(&sql.replace("{bigint}", "bigint"))
                .unwrap(),
        }
    }

    fn insert(&self, table: &str, rows: &[(i64, String)]) {
        match self {
            Db::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                for (i, v) in rows {
                    c.execute(
                        &format!("INSERT INTO {table} (id, secret) VALUES (?1, ?2)"),
                        rusqlite::params![i, v],
                    )
                    .unwrap();
                }
            }
            Db::Postgres(u) => {
                let mut c = postgres::Client::connect(u, postgres::NoTls).unwrap();
                for (i, v) in rows {
                    c.execute(
                        &format!("INSERT INTO {table} (id, secret) VALUES ($1, $2)"),
                        &[i, v],
                    )
                    .unwrap();
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

    fn value(&self, table: &str, id: i64) -> String {
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
        env.cmd().arg("rotate").assert().success();
        for table in ["users", "nullable", "partial"] {
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
            assert_eq!(db.dump(table), before, "{table} is untouched");
        }
        // A unique NOT NULL column is a key: accepted.
        db.exec(
            "CREATE TABLE keyed (id {bigint} NOT NULL, secret text); \
             CREATE UNIQUE INDEX keyed_id ON keyed (id)",
        );
        db.insert("keyed", &tokens(env, "keyed", &[1, 2, 3]));
        env.cmd().arg("rotate").assert().success();
        let out = migrate(env, db, "keyed", &["--apply"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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
        let out = env
            .cmd()
            .args(["rotate", "--emergency", "--reason", "leak", "--yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
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
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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
