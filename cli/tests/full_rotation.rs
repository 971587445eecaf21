//! `keyroll full-rotation` on SQLite: a dry run that changes no byte anywhere, `--apply`
//! (rotate, audited as `rotate`, then migrate), `--if-due` from cron, and a bad target refused
//! before the keyring is rotated.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{assert_all_migrated, json, Env, TEMPLATE};
use std::collections::BTreeMap;
use std::path::Path;

const DAY: u64 = 86_400;
const T0: u64 = 1_800_000_000;
const ROWS: i64 = 25;

/// A keyring made at `T0` and `users(id, secret)` of `ROWS` v1 envelopes bound to their row
/// (a plain rollback-journal file: reading it leaves every byte as it was).
fn setup() -> (Env, String) {
    let env = Env::new();
    env.cmd()
        .env("KEYROLL_NOW", T0.to_string())
        .arg("init")
        .assert()
        .success();
    let path = env.path("app.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, secret TEXT)")
        .unwrap();
    let ring = env.ring();
    for i in 1..=ROWS {
        let token = ring
            .encrypt(
                common::secret(i).as_bytes(),
                common::context("users", i, "secret").as_bytes(),
                None,
            )
            .unwrap();
        c.execute(
            "INSERT INTO users (id, secret) VALUES (?1, ?2)",
            rusqlite::params![i, token],
        )
        .unwrap();
    }
    let url = format!("sqlite:{}", path.display());
    (env, url)
}

/// Every file under `dir` (keyring, backups, audit log, database) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// `full-rotation` of `users.secret` at time `now`, with `extra` arguments.
fn full_rotation(env: &Env, url: &str, now: u64, extra: &[&str]) -> std::process::Output {
    env.cmd()
        .env("KEYROLL_NOW", now.to_string())
        .args([
            "full-rotation",
            "--db",
            url,
            "--table",
            "users",
            "--column",
            "secret",
        ])
        .args(["--context-template", TEMPLATE, "--progress", "none"])
        .args(extra)
        .output()
        .unwrap()
}

fn rows(url: &str) -> Vec<(i64, Option<String>)> {
    common::sqlite_rows(Path::new(url.trim_start_matches("sqlite:")), "users")
}

#[test]
fn a_dry_run_says_what_would_happen_and_changes_no_byte() {
    let (env, url) = setup();
    let before = snapshot(env.dir.path());
    let out = full_rotation(&env, &url, T0 + DAY, &[]);
    common::assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("would rotate from v1 to v2")
            && text.contains(&format!("migrate {ROWS} rows")),
        "{text}"
    );
    assert!(text.contains("add --apply"), "{text}");
    let out = full_rotation(&env, &url, T0 + DAY, &["--json"]);
    common::assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(v["mode"], "dry_run");
    assert_eq!(v["rotation"]["rotated"], false);
    assert_eq!(v["rotation"]["previous_version"], 1);
    assert_eq!(v["rotation"]["active_version"], 2);
    assert_eq!(v["migration"]["migrated"], ROWS);
    assert_eq!(v["migration"]["active_version"], 2);
    // Keyring, backups, audit log and database: byte for byte as before.
    assert_eq!(snapshot(env.dir.path()), before);
    assert_eq!(env.ring().active_version(), Some(1));
}

#[test]
fn apply_rotates_audited_as_rotate_then_migrates_every_row() {
    let (env, url) = setup();
    let out = full_rotation(&env, &url, T0 + DAY, &["--apply", "--json", "--batch", "7"]);
    common::assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(v["mode"], "apply");
    assert_eq!(v["rotation"]["rotated"], true);
    assert_eq!(v["rotation"]["active_version"], 2);
    assert_eq!(
        (&v["migration"]["migrated"], &v["migration"]["remaining"]),
        (&ROWS.into(), &0.into())
    );
    let ring = env.ring();
    assert_eq!(ring.active_version(), Some(2));
    assert_all_migrated(&ring, "users", "secret", &rows(&url), ROWS as usize);
    let events: Vec<String> = env
        .audit()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_string())
        .collect();
    let tail = &events[events.len() - 2..];
    assert_eq!(tail, ["rotate", "migrate"], "{events:?}");
    // The human form says both steps.
    let out = full_rotation(&env, &url, T0 + 2 * DAY, &["--apply"]);
    common::assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("v3 is active") && text.contains("migrated"),
        "{text}"
    );
    assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), ROWS as usize);
}

#[test]
fn if_due_does_nothing_until_the_policy_says_due() {
    let (env, url) = setup();
    let before = snapshot(env.dir.path());
    for extra in [&["--if-due", "--apply"][..], &["--if-due"][..]] {
        let out = full_rotation(&env, &url, T0 + 30 * DAY, extra);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("not due") && text.contains("nothing changed"),
            "{text}"
        );
    }
    let out = full_rotation(
        &env,
        &url,
        T0 + 30 * DAY,
        &["--if-due", "--apply", "--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out.stdout);
    assert_eq!(
        (&v["rotation"]["due"], &v["migration"]),
        (&false.into(), &serde_json::Value::Null)
    );
    assert_eq!(snapshot(env.dir.path()), before, "not due: nothing changed");
    // 91 days on, the same cron line rotates and migrates.
    let out = full_rotation(
        &env,
        &url,
        T0 + 91 * DAY,
        &["--if-due", "--apply", "--json"],
    );
    common::assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(
        (&v["rotation"]["due"], &v["rotation"]["rotated"]),
        (&true.into(), &true.into())
    );
    assert_all_migrated(&env.ring(), "users", "secret", &rows(&url), ROWS as usize);
}

#[test]
fn a_bad_target_is_refused_before_the_keyring_is_rotated() {
    let (env, url) = setup();
    let before = snapshot(env.dir.path());
    for (args, code) in [
        (&["--table", "nope"][..], 6),
        (&["--id-column", "id,secret"][..], 6),
        (&["--batch", "0"][..], 8),
    ] {
        let out = env
            .cmd()
            .args([
                "full-rotation",
                "--db",
                &url,
                "--column",
                "secret",
                "--apply",
            ])
            .args(if args[0] == "--table" {
                &[][..]
            } else {
                &["--table", "users"][..]
            })
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Not a byte changed: keyring, backups, audit log, database.
        assert_eq!(snapshot(env.dir.path()), before, "{args:?}");
    }
    assert_eq!(env.ring().active_version(), Some(1));
}

#[test]
fn help_says_dry_run_by_default_and_how_to_resume() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["full-rotation", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["--if-due", "--apply", "dry run", "keyroll migrate", "cron"] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
}

#[test]
fn shards_are_refused_before_anything_changes() {
    // Each of N shard workers would rotate the keyring: rotation is once per fleet.
    let (env, url) = setup();
    let before = snapshot(env.dir.path());
    let out = full_rotation(&env, &url, T0 + 100 * DAY, &["--apply", "--shard", "0/2"]);
    assert_eq!(out.status.code(), Some(8), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid_shard") && stderr.contains("migrate"),
        "{stderr}"
    );
    let out = env
        .cmd()
        .env("KEYROLL_NOW", (T0 + 100 * DAY).to_string())
        .env("JOB_COMPLETION_INDEX", "1")
        .env("JOB_COMPLETIONS", "3")
        .args([
            "full-rotation",
            "--db",
            &url,
            "--table",
            "users",
            "--column",
            "secret",
        ])
        .args(["--context-template", TEMPLATE, "--apply"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "{out:?}");
    assert_eq!(snapshot(env.dir.path()), before, "nothing changed");
}
