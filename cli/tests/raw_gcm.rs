//! `keyroll import-raw-gcm` end to end, per shape of home-made AES-GCM manager: blobs written
//! by pyca `cryptography` (AESGCM, and PBKDF2HMAC for the derived shape) here in the test,
//! loaded into SQLite, the keys imported through the CLI, then `report`, `health`,
//! `migrate --apply` and an idempotent re-run of both. Python comes from the repo's `.venv`
//! (made by `scripts/ci/20-python.sh` with `python/requirements-dev.txt`) or `python3`; if
//! neither has `cryptography` the test fails saying so (it is not skipped).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json, migrate_args, secret, sqlite_rows, sqlite_table, succeeds, Env};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const PASSWORD: &str = "old manager master password 7Hq!";
const SALT_PATTERN: &str = "app-{version}";
/// Low, so PBKDF2 (21 derivations on each side) stays in milliseconds; the CLI takes whatever
/// count the old manager used.
const ITERATIONS: u32 = 1000;
const ASCII_KEYS: [&str; 3] = [
    "0123456789abcdefghijklmnopqrstuv",
    "Tr0ub4dor&3 legacy key #2 ......",
    "ZYXWVUTSRQPONMLKJIHGFEDCBA987654",
];

/// The writer of the old manager, in Python: for each row `[id, version byte or null]`,
/// `base64([byte] ‖ nonce ‖ AESGCM(key).encrypt(nonce, plaintext, None))`; rows without a
/// byte are the unversioned legacy blobs, written with version 1's key.
const WRITER: &str = r#"
import base64, json, os, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
spec = json.load(sys.stdin)
def key(v):
    if spec["shape"] == "pbkdf2":
        salt = spec["salt_pattern"].replace("{version}", str(v)).encode()
        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=spec["iterations"])
        return kdf.derive(spec["password"].encode())
    return spec["keys"][str(v)].encode("ascii")
keys = {}
out = []
for row_id, byte, plaintext in spec["rows"]:
    v = 1 if byte is None else byte
    if v not in keys:
        keys[v] = AESGCM(key(v))
    nonce = os.urandom(12)
    prefix = b"" if byte is None else bytes([byte])
    out.append(base64.b64encode(prefix + nonce + keys[v].encrypt(nonce, plaintext.encode(), None)).decode())
json.dump(out, sys.stdout)
"#;

/// The repo's venv Python if there is one, else `python3`; fails the test unless it has
/// `cryptography`.
fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let python = if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    };
    let ok = Command::new(&python)
        .args(["-c", "import cryptography.hazmat.primitives.ciphers.aead"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "these tests write their blobs with pyca `cryptography`, which {} cannot import: run \
         `bash scripts/ci/20-python.sh` (makes .venv) or `pip install cryptography`",
        python.display()
    );
    python
}

/// Blobs for `rows` (`(id, version byte)`), plaintext `secret(id)`, written by Python.
fn python_blobs(mut spec: Value, rows: &[(i64, Option<u8>)]) -> Vec<(i64, String)> {
    spec["rows"] = rows
        .iter()
        .map(|(i, b)| json!([i, b, secret(*i)]))
        .collect();
    let mut child = Command::new(python())
        .args(["-c", WRITER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let blobs: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter().map(|(i, _)| *i).zip(blobs).collect()
}

/// Everything a command printed, to search for secrets.
fn printed(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

fn db_args(db: &str, command: &str) -> Vec<String> {
    [
        command, "--db", db, "--table", "users", "--column", "secret",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `report`, `health`, `migrate` (dry run, apply, re-run) after an import; returns everything
/// printed. `by_version` is how many rows each imported key opens before the migration.
fn report_health_migrate(env: &Env, db: &str, n: usize, by_version: &Value) -> String {
    let mut printed_all = String::new();
    let report = succeeds(env.cmd().args(db_args(db, "report")).arg("--json"));
    printed_all += &printed(&report);
    let report = json(&report.stdout);
    // Raw blobs carry no readable prefix, but with the imported keys the census attributes
    // each to the version whose key opens it (not `other`).
    assert_eq!(report["total"], n);
    assert_eq!(report["other"], 0, "{report}");
    assert_eq!(report["to_migrate"], n, "{report}");
    for (version, rows) in by_version.as_object().unwrap() {
        assert_eq!(&report["versions"][version]["rows"], rows, "{report}");
    }

    let health = succeeds(env.cmd().args(["health", "--json"]));
    printed_all += &printed(&health);
    assert_eq!(json(&health.stdout)["status"], "ok");

    let dry = succeeds(env.cmd().args(migrate_args(db)).arg("--json"));
    printed_all += &printed(&dry);
    let dry = json(&dry.stdout);
    assert_eq!(dry["failed"], 0, "{dry}");
    // Raw blobs count under the imported version that opened them (not `other`); which key
    // opens each row is also checked through the keyring itself.
    assert_eq!(&dry["by_source"], by_version, "{dry}");
    let ring = env.ring();
    let mut counts = serde_json::Map::new();
    for (_, token) in sqlite_rows(&env.path("app.db"), "users") {
        let opened = ring.verify(token.unwrap().as_bytes(), b"", None).unwrap();
        let entry = counts
            .entry(format!("v{}", opened.key_version))
            .or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap() + 1);
    }
    assert_eq!(&Value::Object(counts), by_version);

    let before = sqlite_rows(&env.path("app.db"), "users");
    let applied = succeeds(
        env.cmd()
            .args(migrate_args(db))
            .args(["--apply", "--batch", "64", "--json"]),
    );
    printed_all += &printed(&applied);
    let applied = json(&applied.stdout);
    assert_eq!(applied["migrated"], n, "{applied}");
    assert_eq!(applied["failed"], 0, "{applied}");
    let rows = sqlite_rows(&env.path("app.db"), "users");
    assert_ne!(rows, before);
    common::assert_all_migrated(&env.ring(), "users", "secret", &rows, n);

    // A re-run finds nothing to do and changes nothing.
    let again = succeeds(env.cmd().args(migrate_args(db)).args(["--apply", "--json"]));
    printed_all += &printed(&again);
    let again = json(&again.stdout);
    assert_eq!(again["migrated"], 0, "{again}");
    assert_eq!(again["already_current"], n, "{again}");
    assert_eq!(sqlite_rows(&env.path("app.db"), "users"), rows);

    let report = succeeds(env.cmd().args(db_args(db, "report")).arg("--json"));
    printed_all += &printed(&report);
    let report = json(&report.stdout);
    let active = env.ring().active_version().unwrap();
    assert_eq!(
        report["versions"][format!("v{active}")]["rows"],
        n,
        "{report}"
    );
    assert_eq!(report["other"], 0);
    printed_all
}

/// The raw-GCM versions of the keyring, as (keyroll version, version byte).
fn raw_versions(env: &Env) -> Vec<(u32, Option<u8>)> {
    env.ring()
        .versions()
        .into_iter()
        .filter(|v| v.kind == keyroll::KeyKind::RawGcm)
        .map(|v| {
            assert_eq!(v.state, keyroll::KeyState::DecryptOnly);
            (v.version, v.legacy_version_byte)
        })
        .collect()
}

/// Expected `by_source` of a dry run: rows per keyroll version.
fn count_by_version(rows: &[(i64, Option<u8>)], map: &[(u32, Option<u8>)]) -> Value {
    let mut counts = serde_json::Map::new();
    for (_, b) in rows {
        // Unversioned blobs were written with version byte 1's key.
        let byte = Some(b.unwrap_or(1));
        let (v, _) = map.iter().find(|(_, mb)| *mb == byte).unwrap();
        let entry = counts.entry(format!("v{v}")).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap() + 1);
    }
    Value::Object(counts)
}

#[test]
fn pbkdf2_per_version_keys_with_unversioned_legacy_blobs() {
    let env = Env::new();
    env.init();
    let bytes: Vec<u8> = (1..=20).chain([99]).collect();
    // Each version byte, the emergency 99 included, plus every 7th row an unversioned blob.
    let rows: Vec<(i64, Option<u8>)> = (1..=300)
        .map(|i| {
            let b = (i % 7 != 0).then(|| bytes[(i as usize) % bytes.len()]);
            (i, b)
        })
        .collect();
    let spec = json!({
        "shape": "pbkdf2", "password": PASSWORD, "salt_pattern": SALT_PATTERN,
        "iterations": ITERATIONS,
    });
    let blobs = python_blobs(spec, &rows);
    sqlite_table(&env.path("app.db"), "users", &blobs);
    let db = format!("sqlite:{}", env.path("app.db").display());

    let import = |extra: &[&str]| {
        env.cmd()
            .args(["import-raw-gcm", "--json", "--versions", "1-20,99"])
            .args(["--salt-pattern", SALT_PATTERN])
            .args(["--iterations", &ITERATIONS.to_string()])
            .args(extra)
            .env("RAW_GCM_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    };
    let out = import(&[]);
    common::assert_success(&out);
    let mut printed_all = printed(&out);
    let v = json(&out.stdout);
    assert_eq!(v["imported_versions"].as_array().unwrap().len(), 21, "{v}");
    let map = raw_versions(&env);
    assert_eq!(
        map.iter().map(|(_, b)| b.unwrap()).collect::<Vec<_>>(),
        bytes
    );

    // Importing again adds nothing: every key is recognised.
    let out = import(&[]);
    common::assert_success(&out);
    printed_all += &printed(&out);
    assert_eq!(json(&out.stdout)["imported_versions"], json!([]));
    assert_eq!(raw_versions(&env), map);

    printed_all += &report_health_migrate(&env, &db, rows.len(), &count_by_version(&rows, &map));

    let audit = std::fs::read_to_string(env.path("keyring.json.audit.jsonl")).unwrap();
    let imports: Vec<_> = env
        .audit()
        .into_iter()
        .filter(|r| r["event"] == "import_raw_gcm")
        .collect();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["result"], "ok");
    assert_eq!(imports[0]["versions"].as_array().unwrap().len(), 21);
    assert_eq!(
        imports[1]["details"]["already_present"]
            .as_array()
            .unwrap()
            .len(),
        21
    );
    for text in [&printed_all, &audit] {
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    }
}

#[test]
fn ascii_keys_used_as_bytes_from_stdin() {
    let env = Env::new();
    env.init();
    let rows: Vec<(i64, Option<u8>)> = (1..=120)
        .map(|i| (i, [None, Some(1), Some(2), Some(3)][(i % 4) as usize]))
        .collect();
    let spec = json!({
        "shape": "bytes",
        "keys": { "1": ASCII_KEYS[0], "2": ASCII_KEYS[1], "3": ASCII_KEYS[2] },
    });
    let blobs = python_blobs(spec, &rows);
    sqlite_table(&env.path("app.db"), "users", &blobs);
    let db = format!("sqlite:{}", env.path("app.db").display());
    let stdin = format!("{}\n{}\n{}\n", ASCII_KEYS[0], ASCII_KEYS[1], ASCII_KEYS[2]);
    let mut printed_all = String::new();
    for _ in 0..2 {
        let out = succeeds(
            env.cmd()
                .args(["import-raw-gcm", "--versions", "1-3", "-"])
                .write_stdin(stdin.clone()),
        );
        printed_all += &printed(&out);
    }
    let map = raw_versions(&env);
    assert_eq!(
        map.iter().map(|(_, b)| *b).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)],
        "the re-run added nothing"
    );
    assert!(printed_all.contains("already imported"), "{printed_all}");
    printed_all += &report_health_migrate(&env, &db, rows.len(), &count_by_version(&rows, &map));
    let audit = std::fs::read_to_string(env.path("keyring.json.audit.jsonl")).unwrap();
    for key in ASCII_KEYS {
        for text in [&printed_all, &audit] {
            assert!(!text.contains(key), "a key leaked: {text}");
        }
    }
}

#[test]
fn one_unversioned_key_from_a_named_variable() {
    let env = Env::new();
    env.init();
    let rows: Vec<(i64, Option<u8>)> = (1..=40).map(|i| (i, None)).collect();
    let spec = json!({ "shape": "bytes", "keys": { "1": ASCII_KEYS[2] } });
    sqlite_table(&env.path("app.db"), "users", &python_blobs(spec, &rows));
    let db = format!("sqlite:{}", env.path("app.db").display());
    succeeds(
        env.cmd()
            .args(["import-raw-gcm", "--env", "OLD_APP_KEY"])
            .env("OLD_APP_KEY", ASCII_KEYS[2]),
    );
    let map = raw_versions(&env);
    assert_eq!(map.len(), 1);
    assert_eq!(map[0].1, None);
    let by_version = json!({ format!("v{}", map[0].0): rows.len() });
    report_health_migrate(&env, &db, rows.len(), &by_version);
}

#[test]
fn secrets_on_the_command_line_are_refused() {
    let env = Env::new();
    env.init();
    let before = std::fs::read(&env.keyring).unwrap();
    for args in [
        vec!["import-raw-gcm", "--versions", "1", ASCII_KEYS[0]],
        vec!["import-raw-gcm", "-", ASCII_KEYS[0]],
        vec![
            "import-raw-gcm",
            "--versions",
            "1-20,99",
            "--salt-pattern",
            SALT_PATTERN,
            "--iterations",
            "1000",
            PASSWORD,
        ],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let text = printed(&out);
        assert!(text.contains("secret_in_argv"), "{text}");
        assert!(text.contains("ps"), "the message says why: {text}");
        assert!(
            !text.contains(ASCII_KEYS[0]) && !text.contains(PASSWORD),
            "{text}"
        );
    }
    assert_eq!(
        std::fs::read(&env.keyring).unwrap(),
        before,
        "nothing changed"
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let env = Env::new();
    env.init();
    let before = std::fs::read(&env.keyring).unwrap();
    let short = "only 20 characters..";
    for (args, var, value, says) in [
        (
            vec!["--versions", "1-2"],
            "RAW_GCM_KEY",
            ASCII_KEYS[0],
            "1 keys given for 2",
        ),
        (vec![], "RAW_GCM_KEY", short, "exactly 32"),
        (
            vec!["--versions", "1-300"],
            "RAW_GCM_KEY",
            ASCII_KEYS[0],
            "0-255",
        ),
        (
            vec!["--salt-pattern", SALT_PATTERN, "--iterations", "1000"],
            "RAW_GCM_PASSWORD",
            PASSWORD,
            "--versions",
        ),
        (
            vec![
                "--versions",
                "1",
                "--salt-pattern",
                SALT_PATTERN,
                "--iterations",
                "0",
            ],
            "RAW_GCM_PASSWORD",
            PASSWORD,
            "at least 1",
        ),
        (
            vec!["--versions", "1"],
            "UNRELATED",
            ASCII_KEYS[0],
            "RAW_GCM_KEY is unset",
        ),
    ] {
        let out = env
            .cmd()
            .arg("import-raw-gcm")
            .args(&args)
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(8), "{args:?}: {}", printed(&out));
        let text = printed(&out);
        assert!(text.contains(says), "{args:?}: {text}");
        assert!(!text.contains(value), "{text}");
    }
    assert_eq!(
        std::fs::read(&env.keyring).unwrap(),
        before,
        "nothing changed"
    );
}
