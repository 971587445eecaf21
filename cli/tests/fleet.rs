//! The CLI on store URLs (`file:`, plain paths, `postgres://…#NAME`): racing operators, the
//! reader gate of `promote`, `keyroll readers`, `health`'s reader lines, typed URL errors, and
//! no password from a URL in any output or audit record.
//!
//! The PostgreSQL cases use the server scripts/ci/50-cli.sh starts (`KEYROLL_TEST_PG_URL`),
//! each on its own keyring row.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json, Env};
use keyroll::{KeyState, Keyring, SecretKey, Unlock};
use keyroll_store::fleet::{KeyringStore, ReaderCheckIn};
use std::sync::Arc;

/// A fixed clock for every command and check-in.
const T: u64 = 1_800_000_000;

/// One keyring behind a store URL, with the CLI pointed at it.
struct Fleet {
    env: Env,
    url: String,
    /// The keyring's row name, for PostgreSQL stores.
    pg_name: Option<String>,
}

fn pg_url() -> String {
    std::env::var("KEYROLL_TEST_PG_URL").expect(
        "KEYROLL_TEST_PG_URL must name a PostgreSQL server (scripts/ci/50-cli.sh starts one)",
    )
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}_{}_{nanos}", std::process::id())
}

impl Fleet {
    fn file() -> Self {
        let env = Env::new();
        let url = format!("file:{}", env.keyring.display());
        Fleet {
            env,
            url,
            pg_name: None,
        }
    }

    fn postgres(tag: &str) -> Self {
        let name = unique(tag);
        Fleet {
            env: Env::new(),
            url: format!("{}#{name}", pg_url()),
            pg_name: Some(name),
        }
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.env.cmd();
        c.env("KEYROLL_KEYRING", &self.url)
            .env("KEYROLL_NOW", T.to_string());
        c
    }

    fn process(&self) -> std::process::Command {
        let mut c = self.env.process();
        c.env("KEYROLL_KEYRING", &self.url)
            .env("KEYROLL_NOW", T.to_string());
        c
    }

    fn store(&self) -> Arc<dyn KeyringStore> {
        keyroll_store::fleet::open(&self.url).unwrap()
    }

    fn ring(&self) -> Keyring {
        let doc = self.store().load().unwrap().unwrap().document;
        let key = SecretKey::from_slice(&self.env.master_key).unwrap();
        Keyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap()
    }

    fn check_in(&self, reader: &str, versions: &[u32], checked_at: u64) {
        self.check_in_with(reader, versions, checked_at, None);
    }

    fn check_in_with(&self, reader: &str, versions: &[u32], checked_at: u64, error: Option<&str>) {
        let generation = self.store().generation().unwrap().unwrap();
        self.store()
            .check_in(&ReaderCheckIn {
                reader: reader.to_string(),
                generation,
                versions: versions.to_vec(),
                checked_at,
                poll_interval: 30,
                last_error: error.map(str::to_string),
            })
            .unwrap();
    }

    /// Every audit record of this keyring, oldest first.
    fn audit(&self) -> Vec<serde_json::Value> {
        match &self.pg_name {
            None => self.env.audit(),
            Some(name) => {
                let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
                c.query(
                    "SELECT record::text FROM keyroll_audit WHERE name = $1 ORDER BY id",
                    &[name],
                )
                .unwrap()
                .iter()
                .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
                .collect()
            }
        }
    }

    fn init(&self) {
        self.cmd().arg("init").assert().success();
    }

    /// init, then stage v2 (pending).
    fn staged(&self) {
        self.init();
        let out = self.cmd().args(["stage", "--json"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(json(&out.stdout)["staged_version"], 2);
    }
}

fn err_json(out: &std::process::Output) -> serde_json::Value {
    json(&out.stdout)["error"].clone()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// Scenarios, each run on a file: URL and on a PostgreSQL row.

/// Two CLIs rotate at the same time, several times each: every rotation that reported
/// success left its version and its audit record; the only failure allowed is a reported
/// `keyring_conflict` (which wrote nothing).
fn racing_rotations_lose_nothing(f: &Fleet) {
    f.init();
    let each = 6;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let cmds: Vec<_> = (0..each).map(|_| f.process()).collect();
            std::thread::spawn(move || {
                let mut ok = 0u32;
                for mut c in cmds {
                    let out = c.args(["rotate", "--json"]).output().unwrap();
                    if out.status.success() {
                        ok += 1;
                    } else {
                        let e = err_json(&out);
                        assert_eq!(e["code"], "keyring_conflict", "{}", text(&out));
                    }
                }
                ok
            })
        })
        .collect();
    let ok: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let ring = f.ring();
    let versions: Vec<u32> = ring.versions().iter().map(|v| v.version).collect();
    assert_eq!(
        versions,
        (1..=1 + ok).collect::<Vec<_>>(),
        "a rotation was lost"
    );
    assert_eq!(ring.active_version(), Some(1 + ok));
    let audited: Vec<_> = f
        .audit()
        .into_iter()
        .filter(|r| r["event"] == "rotate" && r["result"] == "ok")
        .collect();
    assert_eq!(audited.len() as u32, ok);
    // Nearly all of them go through (a conflict is retried once on a fresh read).
    assert!(ok >= each, "only {ok} of {} rotations succeeded", 2 * each);
}

/// A live reader lacking the pending version blocks promote (typed, nothing changed,
/// audited); once it checks in holding it, promote goes through.
fn promote_waits_for_live_readers(f: &Fleet) {
    f.staged();
    f.check_in("web-1", &[1], T - 10);
    f.check_in("web-2", &[1, 2], T - 5);
    let out = f.cmd().args(["promote", "2", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    let e = err_json(&out);
    assert_eq!(e["code"], "readers_behind");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("1 live reader"), "{message}");
    assert!(message.contains("web-1 (generation 2)"), "{message}");
    assert!(!message.contains("web-2"), "{message}");
    assert_eq!(f.ring().active_version(), Some(1), "nothing was promoted");
    let last = f.audit().pop().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["result"].as_str()),
        (Some("promote"), Some("readers_behind"))
    );

    f.check_in("web-1", &[1, 2], T);
    let out = f.cmd().args(["promote", "2", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out.stdout)["forced"], false);
    assert_eq!(f.ring().active_version(), Some(2));
    let last = f.audit().pop().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["result"].as_str()),
        (Some("promote"), Some("ok"))
    );
}

/// `--force` promotes over a lagging reader and says so in the audit trail: the event is
/// `promote_forced` and its details name the readers and their generations.
fn forced_promote_is_audited(f: &Fleet) {
    f.staged();
    f.check_in("worker-7", &[1], T);
    let out = f.cmd().args(["promote", "2", "--force"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("forced: 1 live reader"),
        "{}",
        text(&out)
    );
    assert_eq!(f.ring().active_version(), Some(2));
    let last = f.audit().pop().unwrap();
    assert_eq!(last["event"], "promote_forced");
    assert_eq!(last["result"], "ok");
    let lacking = &last["details"]["readers_lacking"];
    assert_eq!(lacking[0]["reader"], "worker-7");
    assert_eq!(lacking[0]["generation"], 2);
    assert_eq!(lacking.as_array().unwrap().len(), 1);
}

/// A reader silent for more than three poll intervals is stale: listed as such, never waited
/// for. One silent for exactly three is still live.
fn stale_readers_are_not_waited_for(f: &Fleet) {
    f.staged();
    f.check_in("gone", &[1], T - 91);
    f.check_in("edge", &[1], T - 90);
    let out = f.cmd().args(["promote", "2", "--json"]).output().unwrap();
    let e = err_json(&out);
    assert_eq!(e["code"], "readers_behind", "{}", text(&out));
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("edge") && !message.contains("gone"),
        "{message}"
    );
    f.check_in("edge", &[1, 2], T);
    f.cmd().args(["promote", "2"]).assert().success();
    assert_eq!(f.ring().active_version(), Some(2));
}

/// `readers` lists every check-in, newest first, live or stale, with the last error.
fn readers_are_listed(f: &Fleet) {
    f.init();
    let out = f.cmd().args(["readers", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out.stdout)["readers"], serde_json::json!([]));
    f.check_in("api-1", &[1], T - 5);
    f.check_in_with("api-2", &[1], T - 500, Some("store_unavailable"));
    let out = f.cmd().args(["readers", "--json"]).output().unwrap();
    let v = json(&out.stdout);
    let rows = v["readers"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["reader"], "api-1");
    assert_eq!(rows[0]["generation"], 1);
    assert_eq!(rows[0]["versions"], serde_json::json!([1]));
    assert_eq!(rows[0]["age_seconds"], 5);
    assert_eq!(rows[0]["live"], true);
    assert_eq!(rows[0]["last_error"], serde_json::Value::Null);
    assert_eq!(rows[1]["reader"], "api-2");
    assert_eq!(rows[1]["live"], false);
    assert_eq!(rows[1]["last_error"], "store_unavailable");
    let out = f.cmd().arg("readers").output().unwrap();
    let t = text(&out);
    assert!(
        t.contains("api-1") && t.contains("5s ago") && t.contains("live"),
        "{t}"
    );
    assert!(
        t.contains("api-2") && t.contains("stale") && t.contains("store_unavailable"),
        "{t}"
    );
}

/// `health` warns about live readers lacking the active version and readers whose last
/// reload failed, in words and in `--json`; with every reader current it is OK.
fn health_reports_readers_behind(f: &Fleet) {
    f.init();
    f.cmd().arg("rotate").assert().success();
    f.check_in("current", &[1, 2], T);
    let out = f.cmd().args(["health", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out.stdout);
    assert_eq!(v["readers"]["live"], 1);
    assert_eq!(v["readers"]["behind"], serde_json::json!([]));

    f.check_in("lagging", &[1], T - 20);
    f.check_in_with("failing", &[1, 2], T - 10, Some("bad_passphrase"));
    f.check_in("stale", &[1], T - 1000);
    let out = f.cmd().args(["health", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out.stdout);
    assert_eq!(v["status"], "warning");
    assert_eq!(v["readers"]["live"], 3);
    assert_eq!(v["readers"]["stale"], 1);
    assert_eq!(v["readers"]["behind"][0]["reader"], "lagging");
    assert_eq!(v["readers"]["behind"][0]["lacking"], serde_json::json!([2]));
    assert_eq!(v["readers"]["errors"][0]["reader"], "failing");
    assert_eq!(v["readers"]["errors"][0]["last_error"], "bad_passphrase");
    let out = f.cmd().arg("health").output().unwrap();
    let t = text(&out);
    assert!(t.contains("WARNING"), "{t}");
    assert!(
        t.contains("reader lagging (generation 2) lacks the active v2"),
        "{t}"
    );
    assert!(
        t.contains("reader failing (generation 2): its last reload failed (bad_passphrase)"),
        "{t}"
    );
    assert!(!t.contains("reader stale"), "{t}");
}

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod file_store {
            $(#[test] fn $scenario() { super::$scenario(&super::Fleet::file()); })*
        }
        mod postgres_store {
            $(#[test] fn $scenario() { super::$scenario(&super::Fleet::postgres(stringify!($scenario))); })*
        }
    };
}

on_both_stores!(
    racing_rotations_lose_nothing,
    promote_waits_for_live_readers,
    forced_promote_is_audited,
    stale_readers_are_not_waited_for,
    readers_are_listed,
    health_reports_readers_behind,
    signing_promote_waits_for_verifiers,
);

// ---------------------------------------------------------------------------------------------
// URLs.

#[test]
fn file_urls_and_plain_paths_name_the_same_keyring() {
    let f = Fleet::file();
    f.init();
    let id = |keyring: String| {
        let out = f
            .cmd()
            .env("KEYROLL_KEYRING", keyring)
            .args(["info", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        json(&out.stdout)["keyring_id"].clone()
    };
    let path = f.env.keyring.display().to_string();
    let a = id(path.clone());
    assert_eq!(a, id(format!("file:{path}")));
    assert_eq!(a, id(format!("file://{path}")));
    // --keyring wins over the variable.
    let out = f
        .cmd()
        .env("KEYROLL_KEYRING", "s3://nowhere/k")
        .args(["--keyring", &format!("file:{path}"), "info", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out.stdout)["keyring_id"], a);
}

#[test]
fn invalid_store_urls_are_a_typed_error_and_change_nothing() {
    let env = Env::new();
    for url in [
        "s3://bucket/keyring",
        "file:",
        "aws-sm://",
        "postgres://h/db#",
    ] {
        let out = env
            .cmd()
            .env("KEYROLL_KEYRING", url)
            .args(["init", "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(8), "{url}: {}", text(&out));
        assert_eq!(err_json(&out)["code"], "invalid_store_url", "{url}");
        let out = env
            .cmd()
            .env("KEYROLL_KEYRING", url)
            .args(["backups", "--json"])
            .output()
            .unwrap();
        assert_eq!(err_json(&out)["code"], "invalid_store_url", "{url}");
    }
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 0);
    // Commands that need no keyring do not care.
    env.cmd()
        .env("KEYROLL_KEYRING", "s3://bucket/keyring")
        .args(["generate", "--kind", "passphrase"])
        .assert()
        .success();
}

#[test]
fn file_only_commands_are_refused_on_other_stores_without_connecting() {
    let env = Env::new();
    // Port 1: nothing listens, so a connection attempt would be store_unavailable instead.
    let url = "postgres://app@127.0.0.1:1/db#k";
    for args in [
        &["backups"][..],
        &["backup"],
        &["restore", "abc"],
        &["prune", "--keep", "1"],
    ] {
        let out = env
            .cmd()
            .env("KEYROLL_KEYRING", url)
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(8), "{args:?}: {}", text(&out));
        let e = err_json(&out);
        assert_eq!(e["code"], "store_unsupported", "{args:?}");
        assert!(
            e["message"].as_str().unwrap().contains("keyring file"),
            "{e}"
        );
    }
}

/// A password in a PostgreSQL URL never reaches output, errors or the audit trail: against
/// the test server (trust authentication accepts any password), and against a port where
/// nothing listens (the error path).
#[test]
fn a_password_in_the_url_is_never_shown() {
    const PW: &str = "Sw0rdf1sh-hunter2";
    let base = pg_url();
    let with_pw = base.replacen("postgres@", &format!("postgres:{PW}@"), 1);
    assert_ne!(with_pw, base, "the test URL names the user postgres");
    let name = unique("password");
    let f = Fleet {
        env: Env::new(),
        url: format!("{with_pw}#{name}"),
        pg_name: Some(name),
    };
    let mut seen = String::new();
    for args in [
        &["init", "--json"][..],
        &["info"],
        &["info", "--json"],
        &["stage"],
        &["readers"],
        &["health", "--json"],
        &["promote", "5"],
        &["backups"],
        &["audit"],
        &["init"],
    ] {
        let out = f.cmd().args(args).output().unwrap();
        seen.push_str(&text(&out));
    }
    assert!(
        seen.contains("***"),
        "the location is shown, redacted: {seen}"
    );
    assert!(!seen.contains(PW), "{seen}");
    let audit = f.audit();
    assert!(audit.len() >= 2);
    assert!(!serde_json::to_string(&audit).unwrap().contains(PW));

    // Unreachable: the connection error names the store without the password.
    let env = Env::new();
    let out = env
        .cmd()
        .env(
            "KEYROLL_KEYRING",
            format!("postgres://app:{PW}@127.0.0.1:1/db#k"),
        )
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert_eq!(err_json(&out)["code"], "store_unavailable");
    assert!(!text(&out).contains(PW), "{}", text(&out));
    assert!(text(&out).contains("app:***@127.0.0.1:1"), "{}", text(&out));
}

/// Emergency rotation over a store URL compromises the version that was active.
#[test]
fn emergency_rotation_on_postgres() {
    let f = Fleet::postgres("emergency");
    f.init();
    f.cmd()
        .args(["rotate", "--emergency", "--reason", "leak", "--yes"])
        .assert()
        .success();
    let ring = f.ring();
    assert_eq!(ring.active_version(), Some(2));
    assert_eq!(ring.versions()[0].state, KeyState::Compromised);
    let last = f.audit().pop().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["reason"].as_str()),
        (Some("emergency_rotate"), Some("leak"))
    );
}

/// On PostgreSQL, `audit` lists the store's audit table, and destroying a version purges it
/// from every history row (the store's backups), as a file's backups are.
#[test]
fn postgres_audit_listing_and_destroy_purges_the_history() {
    let f = Fleet::postgres("destroy");
    f.init();
    f.cmd().arg("rotate").assert().success();
    f.cmd().arg("rotate").assert().success();
    let out = f
        .cmd()
        .args(["state", "1", "destroy", "--yes", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out.stdout);
    assert_eq!(v["to"], "destroyed");
    assert!(v["backups"].is_object(), "the purge is reported: {v}");
    let name = f.pg_name.clone().unwrap();
    let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    let rows = c
        .query(
            "SELECT document FROM keyroll_keyring_history WHERE name = $1",
            &[&name],
        )
        .unwrap();
    assert!(rows.len() >= 2, "the rotations left history rows");
    let key = SecretKey::from_slice(&f.env.master_key).unwrap();
    for row in rows {
        let doc: Vec<u8> = row.get(0);
        let old = Keyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap();
        let v1 = old.versions().into_iter().find(|v| v.version == 1).unwrap();
        assert_eq!(
            v1.state,
            KeyState::Destroyed,
            "v1's material left in a history row"
        );
    }
    let out = f.cmd().args(["audit", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let events: Vec<String> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        [
            "init",
            "rotate",
            "rotate",
            "state_destroyed",
            "purge_backups"
        ],
        "{events:?}"
    );
}

/// A Secrets Manager keyring keeps no audit records of its own: without a local log
/// (`KEYROLL_AUDIT_LOG` / `--audit-log`) a change is refused before anything is sent.
#[test]
fn a_secrets_manager_keyring_is_not_changed_without_an_audit_log() {
    let env = Env::new();
    for args in [
        &["init", "--json"][..],
        &["stage", "--json"],
        &["rotate", "--json"],
    ] {
        let out = env
            .cmd()
            .env("KEYROLL_KEYRING", "aws-sm://prod/keyroll")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(8), "{args:?}: {}", text(&out));
        let e = err_json(&out);
        assert_eq!(e["code"], "store_unsupported", "{args:?}");
        assert!(
            e["message"].as_str().unwrap().contains("KEYROLL_AUDIT_LOG"),
            "{e}"
        );
    }
}

/// `keys promote` waits for the verifiers' check-ins the same way, on any store.
fn signing_promote_waits_for_verifiers(f: &Fleet) {
    f.cmd()
        .args(["keys", "create", "--algorithm", "ed25519"])
        .assert()
        .success();
    f.cmd().args(["keys", "stage"]).assert().success();
    f.check_in("verifier-1", &[1], T);
    let out = f
        .cmd()
        .args(["keys", "promote", "2", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert_eq!(err_json(&out)["code"], "readers_behind");
    let out = f
        .cmd()
        .args(["keys", "promote", "2", "--force", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out.stdout)["forced"], true);
    let last = f.audit().pop().unwrap();
    assert_eq!(last["event"], "signing_promote_forced");
    assert_eq!(
        last["details"]["readers_lacking"][0]["reader"],
        "verifier-1"
    );
}
