//! `migrate --shard I/N` end to end, on SQLite and PostgreSQL: several shard processes of the
//! real binary at once, killed with SIGKILL at random points of their observed progress and
//! resumed; the plan shared by late workers; refusals; the Job variables; `report --progress`
//! and the report's chart.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SHARDS: u32 = 3;

/// Where the rows are, and how the test watches them.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => p.display().to_string(),
            Db::Postgres(u) => u.clone(),
        }
    }

    /// Creates `users(id, secret)` with `rows` and a trigger counting every update of a row
    /// in `writes(id, n)`: a row written twice shows `n = 2`.
    fn create(&self, rows: &[(i64, String)]) {
        match self {
            Db::Sqlite(p) => {
                sqlite_table(p, "users", rows);
                rusqlite::Connection::open(p)
                    .unwrap()
                    .execute_batch(
                        "CREATE TABLE writes (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
                         CREATE TRIGGER count_writes AFTER UPDATE OF secret ON users BEGIN
                           INSERT INTO writes (id, n) VALUES (NEW.id, 1)
                             ON CONFLICT (id) DO UPDATE SET n = n + 1;
                         END;",
                    )
                    .unwrap();
            }
            Db::Postgres(u) => {
                let mut c = pg_client(u);
                c.batch_execute(
                    "CREATE TABLE users (id bigint PRIMARY KEY, secret text);
                     CREATE TABLE writes (id bigint PRIMARY KEY, n int NOT NULL);
                     CREATE FUNCTION count_writes() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       INSERT INTO writes VALUES (NEW.id, 1)
                         ON CONFLICT (id) DO UPDATE SET n = writes.n + 1;
                       RETURN NEW;
                     END $$;
                     CREATE TRIGGER count_writes AFTER UPDATE OF secret ON users
                       FOR EACH ROW EXECUTE FUNCTION count_writes();",
                )
                .unwrap();
                pg_copy(u, "users", rows);
            }
        }
    }

    fn insert(&self, rows: &[(i64, String)]) {
        match self {
            Db::Sqlite(p) => sqlite_insert(p, "users", rows),
            Db::Postgres(u) => pg_copy(u, "users", rows),
        }
    }

    /// How many rows have been written so far (committed).
    fn written(&self) -> i64 {
        self.query_i64("SELECT count(*) FROM writes")
    }

    /// [`Db::written`] on one connection kept open, for polling.
    fn watch(&self) -> Box<dyn FnMut() -> i64> {
        const SQL: &str = "SELECT count(*) FROM writes";
        match self {
            Db::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                c.busy_timeout(Duration::from_secs(10)).unwrap();
                Box::new(move || c.query_row(SQL, [], |r| r.get(0)).unwrap())
            }
            Db::Postgres(u) => {
                let mut c = pg_client(u);
                Box::new(move || c.query_one(SQL, &[]).unwrap().get(0))
            }
        }
    }

    /// The most writes any one row received.
    fn most_writes_of_a_row(&self) -> i64 {
        self.query_i64("SELECT CAST(coalesce(max(n), 0) AS bigint) FROM writes")
    }

    fn query_i64(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                c.busy_timeout(Duration::from_secs(10)).unwrap();
                c.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            Db::Postgres(u) => pg_client(u).query_one(sql, &[]).unwrap().get(0),
        }
    }

    fn rows(&self) -> Vec<(i64, Option<String>)> {
        match self {
            Db::Sqlite(p) => sqlite_rows(p, "users"),
            Db::Postgres(u) => pg_rows(u, "users"),
        }
    }
}

/// A keyring with a Fernet key imported and rotated, and `n` rows: odd ones Fernet, even ones
/// under v1 — every row has to move onto the new version.
fn scene(env: &Env, db: &Db, n: i64) {
    env.init();
    let fernet = import_fernet(env);
    let rows = mixed_tokens(&env.ring(), &fernet, "users", "secret", n);
    db.create(&rows);
    env.cmd().arg("rotate").assert().success();
}

fn shard_args(db: &Db, shard: u32) -> Vec<String> {
    let mut a = migrate_args(&db.url());
    a.extend(["--shard".into(), format!("{shard}/{SHARDS}")]);
    a
}

/// A shard process, throttled so the test can watch it work (the pacer, not the machine,
/// sets the pace).
fn spawn_shard(env: &Env, db: &Db, shard: u32) -> Child {
    env.process()
        .args(shard_args(db, shard))
        .args(["--apply", "--progress", "none", "--batch", "50"])
        .args(["--max-rows-per-second", "1500"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn progress_json(env: &Env, db: &Db) -> Value {
    json(
        &succeeds(env.cmd().args([
            "report",
            "--db",
            &db.url(),
            "--table",
            "users",
            "--column",
            "secret",
            "--progress",
            "--json",
        ]))
        .stdout,
    )
}

/// 3 shards at once, 10 SIGKILLs at random points of the observed progress (rows written
/// so far, read from the database), each killed shard restarted at once; then every shard
/// is run once more to its end. Every row decrypts to its original, none was written twice.
fn crash_and_resume(db: Db, n: i64) {
    let env = Env::new();
    scene(&env, &db, n);
    let mut rng = Rng::from_time();
    let mut marks: Vec<i64> = (0..10)
        .map(|_| rng.range(n as u64 / 20, n as u64 * 9 / 10) as i64)
        .collect();
    marks.sort_unstable();
    let mut children: Vec<Child> = (0..SHARDS).map(|i| spawn_shard(&env, &db, i)).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut kills = 0;
    let mut written = db.watch();
    for mark in marks {
        // Wait for the progress to pass the mark (the pacer keeps it slow enough to watch;
        // the pause only spaces the polls).
        while written() < mark {
            assert!(Instant::now() < deadline, "no progress to {mark} rows");
            std::thread::sleep(Duration::from_millis(2));
        }
        let alive: Vec<usize> = (0..children.len())
            .filter(|&i| children[i].try_wait().unwrap().is_none())
            .collect();
        let Some(&victim) = alive.get(rng.range(0, alive.len().max(1) as u64 - 1) as usize) else {
            break;
        };
        children[victim].kill().unwrap(); // SIGKILL
        children[victim].wait().unwrap();
        kills += 1;
        children[victim] = spawn_shard(&env, &db, victim as u32);
    }
    for c in &mut children {
        c.wait().unwrap();
    }
    assert_eq!(kills, 10, "every kill hit a running shard");
    // Each shard once more (a no-op where it had finished): all done, nothing left.
    for shard in 0..SHARDS {
        let out = succeeds(
            env.cmd()
                .args(shard_args(&db, shard))
                .args(["--apply", "--json"]),
        );
        assert_eq!(json(&out.stdout)["remaining"], 0);
    }
    let rows = db.rows();
    assert_all_migrated(&env.ring(), "users", "secret", &rows, n as usize);
    assert_eq!(db.written(), n, "every row written");
    assert_eq!(db.most_writes_of_a_row(), 1, "a row was written twice");
    let progress = progress_json(&env, &db);
    let workers = progress["workers"].as_array().unwrap();
    assert_eq!(workers.len(), SHARDS as usize, "{progress}");
    for w in workers {
        assert_eq!(w["state"], "done", "{w}");
        assert_eq!(w["shard_count"], SHARDS);
    }
    let run = &workers[0]["run_id"];
    assert!(workers.iter().all(|w| &w["run_id"] == run), "one plan");
}

#[test]
fn sqlite_three_shards_survive_ten_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_resume(Db::Sqlite(dir.path().join("app.db")), 3000);
}

#[test]
fn postgres_three_shards_survive_ten_sigkills() {
    crash_and_resume(Db::Postgres(pg_fresh_db("kr_shards_crash")), 3000);
}

fn migrate_shard(env: &Env, db: &Db, shard: &str) -> Value {
    let mut a = migrate_args(&db.url());
    a.extend(["--shard".into(), shard.into()]);
    let out = succeeds(env.cmd().args(a).args(["--apply", "--json"]));
    json(&out.stdout)
}

/// A worker started after the table grew uses the plan the first worker cut, not one of its
/// own: the boundaries come from the 300 rows of the first start, and the rows added since
/// fall into the open-ended last range.
fn plan_shared_by_late_workers(db: Db) {
    let env = Env::new();
    scene(&env, &db, 300);
    let first = migrate_shard(&env, &db, "0/3");
    assert_eq!(first["range"], "(-inf, 100]", "{first}");
    assert_eq!(first["migrated"], 100);
    // The table doubles; a fresh cut would now be at 200 and 400.
    let ring = env.ring();
    let more: Vec<(i64, String)> = (301..=600)
        .map(|i| {
            let t = ring
                .encrypt(
                    secret(i).as_bytes(),
                    context("users", i, "secret").as_bytes(),
                    None,
                )
                .unwrap();
            (i, t)
        })
        .collect();
    db.insert(&more);
    let last = migrate_shard(&env, &db, "2/3");
    assert_eq!(last["range"], "(200, +inf]", "{last}");
    assert_eq!(last["run_id"], first["run_id"]);
    assert_eq!(last["total"], 400, "ids 201..=600: {last}");
    let middle = migrate_shard(&env, &db, "1/3");
    assert_eq!(middle["range"], "(100, 200]", "{middle}");
    assert_eq!(middle["total"], 100);
    let progress = progress_json(&env, &db);
    assert_eq!(
        progress["workers"].as_array().unwrap().len(),
        3,
        "{progress}"
    );
}

#[test]
fn sqlite_plan_is_shared_by_late_workers() {
    let dir = tempfile::tempdir().unwrap();
    plan_shared_by_late_workers(Db::Sqlite(dir.path().join("app.db")));
}

#[test]
fn postgres_plan_is_shared_by_late_workers() {
    plan_shared_by_late_workers(Db::Postgres(pg_fresh_db("kr_shards_plan")));
}

/// The command's error as `--json` prints it, after checking the exit status.
fn refused(cmd: &mut assert_cmd::Command, exit: i32) -> Value {
    let out = cmd.arg("--json").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out.stdout)["error"].clone()
}

#[test]
fn bad_shard_arguments_and_combinations_are_refused_and_change_nothing() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("app.db"));
    scene(&env, &db, 20);
    let before = db.rows();
    for shard in ["3/3", "0/0", "1", "x/2", "-1/2"] {
        let mut a = migrate_args(&db.url());
        a.extend(["--apply".into(), format!("--shard={shard}")]);
        let e = refused(env.cmd().args(a), 8);
        assert_eq!(e["code"], "invalid_shard", "{shard}: {e}");
    }
    // A Job index without the count.
    let e = refused(
        env.cmd()
            .args(migrate_args(&db.url()))
            .arg("--apply")
            .env("JOB_COMPLETION_INDEX", "1"),
        8,
    );
    assert_eq!(e["code"], "invalid_shard", "{e}");
    // An index out of the Job's range.
    let e = refused(
        env.cmd()
            .args(migrate_args(&db.url()))
            .arg("--apply")
            .env("JOB_COMPLETION_INDEX", "2")
            .env("JOB_COMPLETIONS", "2"),
        8,
    );
    assert_eq!(e["code"], "invalid_shard", "{e}");
    // A composite key with a shard.
    let mut a = migrate_args(&db.url());
    a.extend(["--apply", "--shard", "0/2", "--id-column", "id,secret"].map(String::from));
    let e = refused(env.cmd().args(a), 6);
    assert_eq!(e["code"], "id_not_unique", "{e}");
    // No rate of zero.
    let mut a = migrate_args(&db.url());
    a.extend(["--apply", "--max-rows-per-second", "0"].map(String::from));
    let out = env.cmd().args(a).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(db.rows(), before, "nothing changed");
    assert_eq!(db.written(), 0);
    // And no plan was written by a refused command.
    let progress = progress_json(&env, &db);
    assert_eq!(progress["workers"], serde_json::json!([]), "{progress}");
}

#[test]
fn the_job_completion_index_is_picked_up_without_shard() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("app.db"));
    scene(&env, &db, 40);
    let run = |index: &str| {
        json(
            &succeeds(
                env.cmd()
                    .args(migrate_args(&db.url()))
                    .args(["--apply", "--json"])
                    .env("JOB_COMPLETION_INDEX", index)
                    .env("JOB_COMPLETIONS", "2"),
            )
            .stdout,
        )
    };
    let one = run("1");
    assert_eq!(one["shard"], "1/2", "{one}");
    assert_eq!(one["range"], "(20, +inf]");
    assert_eq!(one["migrated"], 20);
    let zero = run("0");
    assert_eq!(zero["shard"], "0/2");
    assert_eq!(zero["migrated"], 20);
    assert_all_migrated(&env.ring(), "users", "secret", &db.rows(), 40);
}

#[test]
fn report_progress_shows_every_worker() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("app.db"));
    scene(&env, &db, 30);
    let report_progress = || {
        let out = succeeds(env.cmd().args([
            "report",
            "--db",
            &db.url(),
            "--table",
            "users",
            "--column",
            "secret",
            "--progress",
        ]));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(report_progress().contains("no sharded migration has started"));
    migrate_shard(&env, &db, "1/3");
    let text = report_progress();
    assert!(text.contains("1 of 3 shards done"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains("shard") && lines[1].contains("cursor"),
        "{text}"
    );
    assert!(
        lines[2].contains("0/3") && lines[2].contains("planned"),
        "{text}"
    );
    assert!(
        lines[3].contains("1/3") && lines[3].contains("(10, 20]") && lines[3].contains("done"),
        "{text}"
    );
    let json = progress_json(&env, &db);
    let w = &json["workers"][1];
    assert_eq!(w["shard"], 1);
    assert_eq!(w["state"], "done");
    assert_eq!(w["rows_read"], 10);
    assert_eq!(w["rows_written"], 10);
    assert_eq!(w["rows_skipped"], 0);
    assert_eq!(w["last_id"], "20");
    assert_eq!(w["range_after"], "10");
    assert!(w["pid"].as_i64().is_some());
    assert_eq!(json["workers"][0]["state"], "planned");
}

#[test]
fn report_chart_colours_legacy_rows_unless_no_color() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("app.db"));
    scene(&env, &db, 40);
    let report = |extra: &[(&str, &str)]| {
        let mut c = env.cmd();
        c.args([
            "report",
            "--db",
            &db.url(),
            "--table",
            "users",
            "--column",
            "secret",
        ])
        .env("COLUMNS", "100");
        for (k, v) in extra {
            c.env(k, v);
        }
        String::from_utf8(succeeds(&mut c).stdout).unwrap()
    };
    let coloured = report(&[("CLICOLOR_FORCE", "1")]);
    let fernet = coloured.lines().find(|l| l.contains("Fernet")).unwrap();
    assert!(
        fernet.contains("\u{1b}[33m█"),
        "legacy in yellow: {fernet:?}"
    );
    assert!(coloured.contains("still on compromised or legacy keys"));
    let plain = report(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let fernet = plain.lines().find(|l| l.contains("Fernet")).unwrap();
    // 20 of 40 rows on a 100-column terminal: the longest label, "v1 (decrypt_only)", leaves
    // 100 - (2 + 17 + 2 + 12 + 2 + 6 + 2) = 57 cells, half of which is 28 and a half.
    assert_eq!(fernet.chars().filter(|c| *c == '█').count(), 28, "{plain}");
    assert!(fernet.ends_with('▌'), "{plain}");
    // Not a terminal and nothing forced: no colour either.
    assert!(!report(&[]).contains('\u{1b}'));
    // --json is the census as before.
    let j = json(
        &succeeds(env.cmd().args([
            "report",
            "--db",
            &db.url(),
            "--table",
            "users",
            "--column",
            "secret",
            "--json",
        ]))
        .stdout,
    );
    assert_eq!(j["fernet"], 20);
    assert_eq!(j["versions"]["v1"]["rows"], 20);
}

/// uuid ids on PostgreSQL: the cut, the bounds and the cursor travel as text and compare as
/// uuid; two shards cover every row once.
#[test]
fn postgres_uuid_ids_are_sharded() {
    let url = pg_fresh_db("kr_shards_uuid");
    let env = Env::new();
    env.init();
    let mut c = pg_client(&url);
    c.batch_execute("CREATE TABLE users (id uuid PRIMARY KEY, secret text)")
        .unwrap();
    let ring = env.ring();
    let mut ids = Vec::new();
    for i in 0..90u32 {
        // Spread over the uuid order, not in insertion order.
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            i.wrapping_mul(2_654_435_761),
            i
        );
        let t = ring
            .encrypt(secret(i64::from(i)).as_bytes(), id.as_bytes(), None)
            .unwrap();
        c.execute("INSERT INTO users VALUES ($1::text::uuid, $2)", &[&id, &t])
            .unwrap();
        ids.push(id);
    }
    env.cmd().arg("rotate").assert().success();
    let mut totals = 0;
    for shard in ["0/2", "1/2"] {
        let out = succeeds(env.cmd().args([
            "migrate",
            "--db",
            &url,
            "--table",
            "users",
            "--column",
            "secret",
            "--context-template",
            "{id}",
            "--batch",
            "7",
            "--shard",
            shard,
            "--apply",
            "--json",
        ]));
        let v = json(&out.stdout);
        assert_eq!(v["failed"], 0, "{v}");
        assert_eq!(v["remaining"], 0, "{v}");
        totals += v["migrated"].as_u64().unwrap();
    }
    assert_eq!(totals, 90, "each row once");
    let ring = env.ring();
    for r in c.query("SELECT id::text, secret FROM users", &[]).unwrap() {
        let (id, t): (String, String) = (r.get(0), r.get(1));
        assert!(!ring.needs_rewrap(t.as_bytes()).unwrap(), "{id}");
        ring.decrypt(t.as_bytes(), id.as_bytes(), None).unwrap();
    }
}
