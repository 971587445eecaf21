//! End-to-end tests of the keyring commands: human and JSON output, exit codes, bad input.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::{assert_success, json, Env};
use keyroll::KeyState;

const DAY: u64 = 86_400;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn init_creates_a_private_keyring_and_refuses_a_second() {
    let env = Env::new();
    let out = env.cmd().args(["init", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v = json(&out.stdout);
    assert_eq!(v["active_version"], 1);
    assert_eq!(v["keyring_id"].as_str().unwrap().len(), 16);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env.keyring)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = std::fs::read(&env.keyring).unwrap();
    let out = env.cmd().arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), before);
    let audit = env.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["event"], "init");
    assert_eq!(audit[0]["actor"], "tester");
}

#[test]
fn info_human_and_json() {
    let env = Env::new();
    env.init();
    let out = env.cmd().arg("info").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("active      v1"), "{text}");
    assert!(text.contains("master key"));
    let v = json(&env.cmd().args(["info", "--json"]).output().unwrap().stdout);
    assert_eq!(v["active_version"], 1);
    assert_eq!(v["versions"].as_array().unwrap().len(), 1);
    assert_eq!(v["versions"][0]["state"], "active");
    assert_eq!(v["policy"]["rotate_after_days"], 90);
    assert_eq!(v["protection"], "master key");
}

#[test]
fn health_exit_codes_follow_the_policy() {
    let env = Env::new();
    let t0: u64 = 1_800_000_000;
    env.cmd()
        .env("KEYROLL_NOW", t0.to_string())
        .arg("init")
        .assert()
        .success();
    let at = |days: u64| (t0 + days * DAY).to_string();
    let out = env
        .cmd()
        .env("KEYROLL_NOW", at(10))
        .arg("health")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("OK"));
    let out = env
        .cmd()
        .env("KEYROLL_NOW", at(85))
        .args(["health", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout)["status"], "warning");
    let out = env
        .cmd()
        .env("KEYROLL_NOW", at(91))
        .arg("health")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("CRITICAL"));
    assert!(stdout(&out).contains("rotation is due"));
}

#[test]
fn rotate_if_due_only_rotates_when_due() {
    let env = Env::new();
    let t0: u64 = 1_800_000_000;
    env.cmd()
        .env("KEYROLL_NOW", t0.to_string())
        .arg("init")
        .assert()
        .success();
    let out = env
        .cmd()
        .env("KEYROLL_NOW", (t0 + 30 * DAY).to_string())
        .args(["rotate", "--if-due", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json(&out.stdout)["rotated"], false);
    assert_eq!(env.ring().active_version(), Some(1));
    let out = env
        .cmd()
        .env("KEYROLL_NOW", (t0 + 91 * DAY).to_string())
        .args(["rotate", "--if-due"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("v2 is active"));
    let ring = env.ring();
    assert_eq!(ring.active_version(), Some(2));
    assert_eq!(ring.version(1).unwrap().state, KeyState::DecryptOnly);
    // Healthy again right after.
    let out = env
        .cmd()
        .env("KEYROLL_NOW", (t0 + 92 * DAY).to_string())
        .arg("health")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<_> = env
        .audit()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["init", "rotate_not_due", "rotate"]);
}

#[test]
fn emergency_rotation_needs_a_reason_and_confirmation() {
    let env = Env::new();
    env.init();
    let out = env.cmd().args(["rotate", "--emergency"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "clap requires --reason");
    let out = env
        .cmd()
        .args(["rotate", "--emergency", "--reason", "laptop stolen"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "no terminal and no --yes");
    assert_eq!(env.ring().active_version(), Some(1));
    let out = env
        .cmd()
        .args([
            "rotate",
            "--emergency",
            "--reason",
            "laptop stolen",
            "--yes",
            "--json",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(v["emergency"], true);
    assert_eq!(v["active_version"], 2);
    let ring = env.ring();
    assert_eq!(ring.version(1).unwrap().state, KeyState::Compromised);
    assert_eq!(
        ring.version(1).unwrap().note.as_deref(),
        Some("laptop stolen")
    );
    let last = env.audit().pop().unwrap();
    assert_eq!(last["event"], "emergency_rotate");
    assert_eq!(last["reason"], "laptop stolen");
    assert_eq!(last["versions"], serde_json::json!([1, 2]));
    // health warns about the compromised version
    let out = env.cmd().args(["health", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(json(&out.stdout)["warnings"][0]
        .as_str()
        .unwrap()
        .contains("v1 is compromised"));
}

#[test]
fn stage_then_promote() {
    let env = Env::new();
    env.init();
    let v = json(&env.cmd().args(["stage", "--json"]).output().unwrap().stdout);
    assert_eq!(v["staged_version"], 2);
    let ring = env.ring();
    assert_eq!(ring.active_version(), Some(1));
    assert_eq!(ring.version(2).unwrap().state, KeyState::Pending);
    let out = env.cmd().arg("health").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a staged version is a warning");
    let out = env.cmd().args(["promote", "2"]).output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("v2 is active"));
    assert_eq!(env.ring().active_version(), Some(2));
    // Promoting an unknown version fails cleanly and changes nothing.
    let before = std::fs::read(&env.keyring).unwrap();
    let out = env.cmd().args(["promote", "9", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(json(&out.stdout)["error"]["code"], "unknown_key_version");
    assert_eq!(std::fs::read(&env.keyring).unwrap(), before);
    assert_eq!(env.audit().pop().unwrap()["result"], "unknown_key_version");
}

#[test]
fn policy_show_and_set() {
    let env = Env::new();
    env.init();
    let out = env.cmd().arg("policy").output().unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "warn after 80 days, rotate after 90 days"
    );
    let v = json(
        &env.cmd()
            .args([
                "policy",
                "--rotate-after-days",
                "30",
                "--warn-after-days",
                "25",
                "--json",
            ])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["rotate_after_days"], 30);
    assert_eq!(env.ring().policy().warn_after_days, 25);
    let out = env
        .cmd()
        .args(["policy", "--warn-after-days", "40"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "warn after rotate is refused");
    assert_eq!(env.ring().policy().warn_after_days, 25);
}

#[test]
fn state_changes_and_destroy_confirmation() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    let v = json(
        &env.cmd()
            .args(["state", "1", "disable", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["from"], "decrypt_only");
    assert_eq!(v["to"], "disabled");
    env.cmd().args(["state", "1", "enable"]).assert().success();
    assert_eq!(env.ring().version(1).unwrap().state, KeyState::DecryptOnly);
    let out = env.cmd().args(["state", "1", "destroy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert_eq!(env.ring().version(1).unwrap().state, KeyState::DecryptOnly);
    let out = env
        .cmd()
        .args(["state", "1", "destroy", "--yes", "--note", "retired"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(env.ring().version(1).unwrap().state, KeyState::Destroyed);
    let out = env.cmd().args(["state", "2", "disable"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(8),
        "the active version cannot be disabled"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_state_transition"));
}

#[test]
fn import_fernet_from_stdin_and_environment() {
    let env = Env::new();
    env.init();
    let k1 = keyroll::FernetKey::generate().unwrap();
    let k2 = keyroll::FernetKey::generate().unwrap();
    let k3 = keyroll::FernetKey::generate().unwrap();
    let v = json(
        &env.cmd()
            .args(["import-fernet", "--json", "-"])
            .write_stdin(format!("{}\n", k1.to_base64().as_str()))
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["imported_versions"][0], k1.keyroll_version());
    let out = env
        .cmd()
        .env("ENCRYPTION_KEY", k2.to_base64().as_str())
        .env(
            "ENCRYPTION_KEY_PREVIOUS",
            format!("{}, {}", k3.to_base64().as_str(), k1.to_base64().as_str()),
        )
        .arg("import-fernet")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).matches("imported").count(), 3);
    let ring = env.ring();
    for k in [&k1, &k2, &k3] {
        assert_eq!(
            ring.version(k.keyroll_version()).unwrap().state,
            KeyState::DecryptOnly
        );
    }
    let out = env
        .cmd()
        .env("ENCRYPTION_KEY", "not-a-key")
        .arg("import-fernet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("not-a-key"),
        "the input is not echoed"
    );
    let out = env.cmd().arg("import-fernet").output().unwrap();
    assert_eq!(out.status.code(), Some(8));
}

#[test]
fn export_decrypt_only() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    let path = env.path("reader.json");
    let v = json(
        &env.cmd()
            .args([
                "export",
                "--decrypt-only",
                "--version",
                "1",
                "--version",
                "2",
                "--out",
                path.to_str().unwrap(),
                "--json",
            ])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["versions"], serde_json::json!([1, 2]));
    let reader = common::open_ring(&path, &env.master_key);
    assert!(reader.is_read_only());
    assert_eq!(reader.active_version(), None);
    let token = env.ring().encrypt(b"hello", b"ctx", None).unwrap();
    assert_eq!(
        reader.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
        b"hello"
    );
    let out = env
        .cmd()
        .args([
            "export",
            "--decrypt-only",
            "--version",
            "2",
            "--out",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "no overwrite without --force");
    let out = env
        .cmd()
        .args([
            "export",
            "--decrypt-only",
            "--version",
            "2",
            "--force",
            "--out",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        common::open_ring(&path, &env.master_key).versions().len(),
        1
    );
    // The exported keyring can be inspected but not rotated.
    let out = env
        .cmd()
        .env("KEYROLL_KEYRING", &path)
        .arg("rotate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read_only"));
}

#[test]
fn generate_and_validate_key_material() {
    let env = Env::new();
    let out = env.cmd().arg("generate").output().unwrap();
    let key = stdout(&out).trim().to_string();
    assert_eq!(key.len(), 44);
    env.cmd()
        .args(["validate", "--kind", "master-key"])
        .write_stdin(key.clone())
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["generate", "--kind", "fernet"])
        .output()
        .unwrap();
    let fernet = stdout(&out).trim().to_string();
    assert!(keyroll::FernetKey::from_base64(fernet.as_bytes()).is_ok());
    let out = env
        .cmd()
        .args(["validate", "--kind", "fernet", "--json"])
        .write_stdin(fernet.clone())
        .output()
        .unwrap();
    assert_eq!(json(&out.stdout)["valid"], true);
    assert!(
        !stdout(&out).contains(&fernet),
        "validate never echoes the key"
    );
    let out = env
        .cmd()
        .args(["validate", "--kind", "fernet", "--json"])
        .write_stdin("short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(json(&out.stdout)["valid"], false);
    let out = env
        .cmd()
        .args(["validate", "--kind", "master-key"])
        .write_stdin("zz")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    // Generated keys work as KEYROLL_MASTER_KEY.
    env.cmd()
        .env("KEYROLL_MASTER_KEY", &key)
        .arg("init")
        .assert()
        .success();
    // --out writes a 0600 file and prints no key.
    let file = env.path("pass.txt");
    let out = env
        .cmd()
        .args([
            "generate",
            "--kind",
            "passphrase",
            "--out",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let pass = std::fs::read_to_string(&file).unwrap();
    assert_eq!(pass.trim().len(), 35);
    assert!(!stdout(&out).contains(pass.trim()));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(pass.trim()));
}

#[test]
fn passphrase_keyrings_keep_their_iterations() {
    let env = Env::new();
    env.cmd_pass("correct horse battery")
        .args(["init", "--iterations", "100000"])
        .assert()
        .success();
    env.cmd_pass("correct horse battery")
        .arg("rotate")
        .assert()
        .success();
    let v = json(
        &env.cmd_pass("correct horse battery")
            .args(["info", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(
        v["protection"],
        "passphrase (PBKDF2-HMAC-SHA256, 100000 iterations)"
    );
    assert_eq!(v["active_version"], 2);
}

/// #14: `--iterations` below the 100,000 floor is refused before anything is written.
#[test]
fn iterations_below_the_floor_are_refused() {
    let env = Env::new();
    let out = env
        .cmd_pass("correct horse battery")
        .args(["init", "--iterations", "99999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid_argument") || err.contains("invalid argument"),
        "{err}"
    );
    assert!(err.contains("at least 100,000"), "names the floor: {err}");
    assert!(!env.keyring.exists(), "no keyring written");
}

/// #14: a document sealed below the floor by an older release (the shared vector
/// `by_passphrase`, 1,000 iterations) still opens; `info` and `health` warn, and the next
/// change re-seals it at the floor.
#[test]
fn old_documents_below_the_floor_open_warn_and_are_resealed_at_the_floor() {
    let env = Env::new();
    let vectors: serde_json::Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/v1/keyring.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let old = &vectors["keyrings"]["by_passphrase"];
    let pass = old["passphrase"].as_str().unwrap();
    std::fs::write(&env.keyring, old["document"].as_str().unwrap()).unwrap();
    let info = json(
        &env.cmd_pass(pass)
            .args(["info", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    let protection = info["protection"].as_str().unwrap();
    assert!(protection.starts_with("passphrase (PBKDF2-HMAC-SHA256, 1000 iterations)"));
    assert!(
        protection.contains("below the floor of 100000"),
        "{protection}"
    );
    let out = env
        .cmd_pass(pass)
        .args(["health", "--json"])
        .output()
        .unwrap();
    let warnings = json(&out.stdout)["warnings"].to_string();
    assert!(warnings.contains("below the floor of 100000"), "{warnings}");
    env.cmd_pass(pass).arg("rotate").assert().success();
    let info = json(
        &env.cmd_pass(pass)
            .args(["info", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(
        info["protection"],
        "passphrase (PBKDF2-HMAC-SHA256, 100000 iterations)"
    );
    assert_eq!(info["active_version"], 3);
}

#[test]
fn wrong_credentials_change_nothing() {
    let env = Env::new();
    env.cmd_pass("right passphrase")
        .args(["init", "--iterations", "100000"])
        .assert()
        .success();
    let before = std::fs::read(&env.keyring).unwrap();
    let out = env
        .cmd_pass("wrong passphrase")
        .arg("rotate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
    let last = env.audit().pop().unwrap();
    assert_eq!(last["event"], "rotate");
    assert_eq!(last["result"], "bad_passphrase");
    let out = env.cmd().args(["info", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "a master key does not open a passphrase keyring"
    );
    assert_eq!(json(&out.stdout)["error"]["code"], "bad_passphrase");
    // No credentials and no terminal.
    let out = env
        .cmd()
        .env_remove("KEYROLL_MASTER_KEY")
        .arg("info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEYROLL_PASSPHRASE"));
    // A malformed master key.
    let out = env
        .cmd()
        .env("KEYROLL_MASTER_KEY", "abc")
        .arg("info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), before);
    assert!(
        env.path("keyring.json.backups")
            .read_dir()
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
}

#[test]
fn corrupt_and_truncated_keyrings_are_reported() {
    let env = Env::new();
    env.init();
    let good = std::fs::read(&env.keyring).unwrap();
    // Truncated.
    std::fs::write(&env.keyring, &good[..good.len() / 2]).unwrap();
    let out = env.cmd().arg("info").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyring_corrupt"));
    // One character of metadata altered (the policy), the MAC catches it.
    let text = String::from_utf8(good.clone()).unwrap().replacen(
        "\"rotate_after_days\": 90",
        "\"rotate_after_days\": 91",
        1,
    );
    assert_ne!(
        text.as_bytes(),
        &good[..],
        "the test must alter the document"
    );
    std::fs::write(&env.keyring, &text).unwrap();
    let out = env.cmd().arg("rotate").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        std::fs::read(&env.keyring).unwrap(),
        text.as_bytes(),
        "nothing written"
    );
    // Missing.
    let out = env
        .cmd()
        .env("KEYROLL_KEYRING", env.path("nope.json"))
        .arg("info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyroll init"));
}

#[test]
fn backups_restore_and_prune() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    env.cmd().arg("rotate").assert().success();
    env.cmd().arg("backup").assert().success();
    let v = json(
        &env.cmd()
            .args(["backups", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    let list = v["backups"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|b| b["status"] == "ok"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("keyring.json.backups"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
    }
    // The first backup is the keyring with only v1.
    let first = list[0]["name"].as_str().unwrap().to_string();
    let out = env.cmd().args(["restore", &first]).output().unwrap();
    assert_eq!(out.status.code(), Some(10), "restore asks first");
    assert_eq!(env.ring().active_version(), Some(3));
    let out = env
        .cmd()
        .args(["restore", &first, "--yes", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(json(&out.stdout)["versions"], serde_json::json!([1]));
    assert_eq!(env.ring().active_version(), Some(1));
    // The replaced keyring (v3 active) was backed up: 4 backups now.
    let v = json(
        &env.cmd()
            .args(["backups", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["backups"].as_array().unwrap().len(), 4);
    // Human listing.
    let out = env.cmd().arg("backups").output().unwrap();
    assert_eq!(stdout(&out).matches(" ok ").count(), 4);
    // Prune.
    let out = env
        .cmd()
        .args(["prune", "--keep", "2", "--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out.stdout)["removed"].as_array().unwrap().len(), 2);
    let v = json(
        &env.cmd()
            .args(["backups", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v["backups"].as_array().unwrap().len(), 2);
    let events: Vec<_> = env
        .audit()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        ["init", "rotate", "rotate", "backup", "restore", "prune"]
    );
}

#[test]
fn damaged_or_foreign_backups_are_not_restored() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    let v = json(
        &env.cmd()
            .args(["backups", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    let b = &v["backups"][0];
    let path = std::path::PathBuf::from(b["path"].as_str().unwrap());
    let name = b["name"].as_str().unwrap().to_string();
    let mut bytes = std::fs::read(&path).unwrap();
    let current = std::fs::read(&env.keyring).unwrap();
    // Damaged: one byte flipped.
    bytes[40] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let out = env.cmd().args(["backups", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(json(&out.stdout)["backups"][0]["status"], "backup_corrupt");
    let out = env
        .cmd()
        .args(["restore", &name, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), current);
    bytes[40] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    // Sealed under another master key: the checksum is fine but it does not open.
    let other = Env::new();
    let out = other
        .cmd()
        .env("KEYROLL_KEYRING", &env.keyring)
        .args(["restore", &name, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), current);
    // Unknown name.
    let out = env
        .cmd()
        .args(["restore", "keyring-nothing.json", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    // Unreadable file (a directory where the backup should be).
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let out = env
        .cmd()
        .args(["restore", &name, "--yes"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), current);
}

#[test]
fn concurrent_rotations_never_lose_a_version() {
    let env = Env::new();
    env.init();
    let keyring = env.keyring.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A reader that keeps parsing the file: it must never see a torn document.
    let reader = {
        let stop = stop.clone();
        let key = env.master_key;
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let doc = std::fs::read(&keyring).unwrap();
                let k = keyroll::SecretKey::from_slice(&key).unwrap();
                keyroll::Keyring::from_document(&doc, keyroll::Unlock::MasterKey(&k))
                    .expect("a whole keyring document");
                reads += 1;
            }
            reads
        })
    };
    let procs = 4;
    let each = 3;
    let handles: Vec<_> = (0..procs)
        .map(|_| {
            let mut c = env.process();
            std::thread::spawn(move || {
                for _ in 0..each {
                    let out = c.arg("rotate").output().unwrap();
                    assert_success(&out);
                    c = {
                        let mut n = std::process::Command::new(c.get_program());
                        n.env_clear();
                        for (k, v) in c.get_envs() {
                            if let Some(v) = v {
                                n.env(k, v);
                            }
                        }
                        n.current_dir(c.get_current_dir().unwrap());
                        n
                    };
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let ring = env.ring();
    let versions: Vec<u32> = ring.versions().iter().map(|v| v.version).collect();
    let expected: Vec<u32> = (1..=(1 + procs * each)).collect();
    assert_eq!(versions, expected, "every rotation left its version");
    assert_eq!(ring.active_version(), Some(1 + procs * each));
    let actives = ring
        .versions()
        .iter()
        .filter(|v| v.state == KeyState::Active)
        .count();
    assert_eq!(actives, 1);
    assert_eq!(
        env.audit()
            .iter()
            .filter(|r| r["event"] == "rotate")
            .count(),
        (procs * each) as usize
    );
}

#[test]
fn audit_command_lists_events() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    let out = env.cmd().arg("audit").output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("init") && text.contains("rotate") && text.contains("tester"));
    let v = json(
        &env.cmd()
            .args(["audit", "--last", "1", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["event"], "rotate");
    assert_eq!(v[0]["versions"], serde_json::json!([1, 2]));
}

#[test]
fn usage_errors_exit_64() {
    let env = Env::new();
    let out = env.cmd().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = env.cmd().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("Exit status"));
}

#[test]
fn demo_runs_end_to_end() {
    let env = Env::new();
    let dir = env.path("demo");
    let out = env
        .cmd()
        .args(["demo", "--rows", "3000", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("migrated         3000  (fernet: 3000)"),
        "{text}"
    );
    assert!(text.contains("migrated         3000  (v1: 3000)"), "{text}");
    assert!(text.contains("already current  3000"), "{text}");
    assert!(
        text.contains("rows spread over the table decrypt to their originals"),
        "{text}"
    );
    assert!(text.contains("demo done: 3000 Fernet rows"), "{text}");
    // A second demo into the same directory is refused.
    let out = env
        .cmd()
        .args(["demo", "--rows", "10", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
}

// ---- Safety issue #5 and #6: generations, conflicts, rollbacks ----

fn store_of(env: &Env) -> keyroll_store::Store {
    keyroll_store::Store::new(&env.keyring)
}

fn master(env: &Env) -> keyroll::SecretKey {
    keyroll::SecretKey::from_bytes(env.master_key)
}

#[test]
fn a_process_holding_an_old_keyring_cannot_undo_a_cli_rotation() {
    let env = Env::new();
    env.init();
    // An application loads the keyring (generation 1)...
    let store = store_of(&env);
    let mut app = keyroll::Keyring::from_document(
        &store.read().unwrap(),
        keyroll::Unlock::MasterKey(&master(&env)),
    )
    .unwrap();
    assert_eq!(app.generation(), 1);
    // ...the operator rotates with the CLI (generation 2)...
    env.cmd().arg("rotate").assert().success();
    let after_cli = std::fs::read(&env.keyring).unwrap();
    assert_eq!(
        keyroll::Keyring::document_generation(&after_cli).unwrap(),
        2
    );
    // ...and the application's own rotation and save is refused: it would drop v2.
    app.rotate(1).unwrap();
    let doc = app
        .to_document(keyroll::Protection::MasterKey(&master(&env)))
        .unwrap();
    let err = store.save(&doc).unwrap_err();
    assert_eq!(err.code(), "keyring_conflict");
    assert_eq!(std::fs::read(&env.keyring).unwrap(), after_cli);
    assert_eq!(env.ring().active_version(), Some(2));
    // The CLI keeps building on the stored generation.
    env.cmd().arg("rotate").assert().success();
    assert_eq!(env.ring().generation(), 3);
}

#[test]
fn a_rolled_back_keyring_is_refused_until_restored_on_purpose() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success(); // v2 active, generation 2
    env.cmd()
        .args(["rotate", "--emergency", "--reason", "leak", "--yes"])
        .assert()
        .success(); // v2 compromised, v3 active, generation 3
    let current = std::fs::read(&env.keyring).unwrap();
    // Someone copies the generation-2 backup (v2 active) back over the keyring.
    let store = store_of(&env);
    let old = store
        .backups()
        .unwrap()
        .into_iter()
        .find(|b| {
            keyroll::Keyring::document_generation(&store.read_backup(b).unwrap()).unwrap() == 2
        })
        .unwrap();
    let old_bytes = store.read_backup(&old).unwrap();
    std::fs::write(&env.keyring, &old_bytes).unwrap();
    for args in [vec!["info"], vec!["rotate"], vec!["health"]] {
        let out = env.cmd().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("rollback"), "{args:?}: {err}");
        assert!(err.contains("keyroll restore"), "{err}");
        assert_eq!(std::fs::read(&env.keyring).unwrap(), old_bytes);
    }
    // The same refusal through the store (every binding loads through it).
    assert_eq!(store.read().unwrap_err().code(), "keyring_rollback");
    // Restore asks, and says what it re-activates compared with the current keyring.
    std::fs::write(&env.keyring, &current).unwrap();
    let out = env.cmd().args(["restore", &old.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("v2 re-activated (compromised -> active)"),
        "{err}"
    );
    assert_eq!(std::fs::read(&env.keyring).unwrap(), current);
    let out = env
        .cmd()
        .args(["restore", &old.name, "--yes", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(
        v["changes"],
        serde_json::json!([{"version": 2, "change": "re-activated", "current_state": "compromised", "restored_state": "active"}])
    );
    // Restored on purpose: above every generation seen, so it loads, and the mark moved.
    assert_eq!(v["generation"], 4);
    assert_eq!(env.ring().generation(), 4);
    assert_eq!(env.ring().active_version(), Some(2));
    assert_eq!(store.highest_generation().unwrap(), 4);
    let audit = env.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["event"], "restore");
    assert_eq!(last["details"]["changes"][0]["version"], 2);
    // The generation-3 keyring it replaced is now an old copy too.
    std::fs::write(&env.keyring, &current).unwrap();
    assert_eq!(store.read().unwrap_err().code(), "keyring_rollback");
    // And restore is also the way out of a rolled-back file.
    let out = env
        .cmd()
        .args(["restore", &old.name, "--yes"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(env.ring().generation(), 5);
}

/// A rollback is a keyring error (exit 5, like a damaged file), not a file-system one (7),
/// and the message says how to go back on purpose. (`keyring_conflict` shares the mapping; a
/// stale save cannot be raced from outside the lock, so cli/src/error.rs tests that one.)
#[test]
fn a_rollback_exits_with_the_keyring_status_and_names_restore() {
    let env = Env::new();
    env.init();
    let first = std::fs::read(&env.keyring).unwrap();
    env.cmd().arg("rotate").assert().success();
    std::fs::write(&env.keyring, &first).unwrap();
    let out = env.cmd().arg("rotate").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("older than one already used here"), "{err}");
    assert!(err.contains("`keyroll restore <backup>`"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(std::fs::read(&env.keyring).unwrap(), first);
    let out = env.cmd().args(["info", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(json(&out.stdout)["error"]["code"], "keyring_rollback");
}

#[test]
fn restore_lists_versions_it_re_activates() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    env.cmd()
        .args(["state", "1", "disable", "--yes"])
        .assert()
        .success();
    let store = store_of(&env);
    let first = store.backups().unwrap().remove(0);
    let out = env.cmd().args(["restore", &first.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("v1 re-activated (disabled -> active)"),
        "{err}"
    );
    // Destroyed: every backup lost v1's material with it, so no restore brings it back.
    env.cmd()
        .args(["state", "1", "destroy", "--yes"])
        .assert()
        .success();
    let first = store.backups().unwrap().remove(0);
    let out = env.cmd().args(["restore", &first.name]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("re-activates and brings back no version"),
        "{err}"
    );
}

// ---- Safety issue #7: destroy purges the key from every backup ----

/// The sealed blob of `version` in a document, if it has one.
fn sealed_blob(doc: &[u8], version: u32) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    v["body"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["version"] == version)
        .and_then(|x| x["sealed"].as_str().map(str::to_string))
}

#[test]
fn destroy_purges_the_key_from_every_backup() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    env.cmd().arg("rotate").assert().success();
    env.cmd().arg("backup").assert().success();
    // One backup sealed under other credentials (it cannot be re-sealed: it is deleted).
    let store = store_of(&env);
    let other_key = keyroll::SecretKey::from_bytes([9u8; 32]);
    let mut foreign = env.ring();
    foreign.mark_saved(0);
    let foreign_doc = foreign
        .to_document(keyroll::Protection::MasterKey(&other_key))
        .unwrap();
    let oldest = store.backups().unwrap().remove(0);
    let foreign_name = store
        .lock()
        .unwrap()
        .replace_backup(&oldest, &foreign_doc)
        .unwrap()
        .name;
    // Every sealed copy of v1 that exists anywhere now.
    let mut blobs: Vec<String> =
        vec![sealed_blob(&std::fs::read(&env.keyring).unwrap(), 1).unwrap()];
    for b in store.backups().unwrap() {
        if let Some(blob) = sealed_blob(&store.read_backup(&b).unwrap(), 1) {
            blobs.push(blob);
        }
    }
    assert!(blobs.len() >= 4, "{}", blobs.len());
    let out = env
        .cmd()
        .args(["state", "1", "destroy", "--yes", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(v["backups"]["deleted"], serde_json::json!([foreign_name]));
    assert!(
        v["backups"]["resealed"].as_array().unwrap().len() >= 3,
        "{v}"
    );
    // Every backup left opens, and none holds v1's material.
    let master = master(&env);
    let left = store.backups().unwrap();
    assert!(!left.is_empty());
    for b in &left {
        let doc = store.read_backup(b).unwrap();
        let ring =
            keyroll::Keyring::from_document(&doc, keyroll::Unlock::MasterKey(&master)).unwrap();
        if let Some(info) = ring.version(1) {
            assert_eq!(info.state, KeyState::Destroyed, "{}", b.name);
        }
        assert_eq!(sealed_blob(&doc, 1), None, "{}", b.name);
    }
    // No file beside the keyring contains any sealed copy of v1.
    let mut files = vec![env.keyring.clone()];
    for entry in std::fs::read_dir(store.backup_dir()).unwrap() {
        files.push(entry.unwrap().path());
    }
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for blob in &blobs {
            assert!(
                !text.contains(blob.as_str()),
                "{} still holds v1",
                f.display()
            );
        }
    }
    // Said and audited.
    let audit = env.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["event"], "purge_backups");
    assert_eq!(last["versions"], serde_json::json!([1]));
    assert_eq!(
        last["details"]["deleted"],
        serde_json::json!([foreign_name])
    );
    // The human output says what happened to each backup, for the reason it happened: one
    // damaged (its checksum fails), one sealed under other credentials, the rest re-sealed.
    let mut left = store.backups().unwrap();
    let damaged = left.remove(0);
    let mut bytes = std::fs::read(&damaged.path).unwrap();
    bytes.push(b' ');
    std::fs::write(&damaged.path, &bytes).unwrap();
    let mut foreign = env.ring();
    foreign.mark_saved(0);
    let foreign_doc = foreign
        .to_document(keyroll::Protection::MasterKey(&other_key))
        .unwrap();
    let foreign_name = store
        .lock()
        .unwrap()
        .replace_backup(&left.remove(0), &foreign_doc)
        .unwrap()
        .name;
    let out = env
        .cmd()
        .args(["state", "2", "destroy", "--yes"])
        .output()
        .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    for want in [
        "re-sealed without it, 2 deleted (1 failing their checksum or unreadable, 1 not opening with the current credentials)".to_string(),
        format!("deleted {}: it failed its checksum or could not be read", damaged.name),
        format!("deleted {foreign_name}: it does not open with the current credentials"),
    ] {
        assert!(text.contains(&want), "{want}: {text}");
    }
    assert!(!damaged.path.exists());
    let last = env.audit().pop().unwrap();
    assert_eq!(
        last["details"]["damaged"],
        serde_json::json!([damaged.name])
    );
    assert_eq!(
        last["details"]["unopenable"],
        serde_json::json!([foreign_name])
    );
}

/// A truncated, damaged or missing current keyring is when restore is needed most: it still
/// works, says it cannot compare version by version, lists everything the backup brings back
/// and still asks.
#[test]
fn restore_works_when_the_current_keyring_is_truncated_or_missing() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success();
    env.cmd().arg("rotate").assert().success(); // generation 3, backups of 1 and 2
    let store = store_of(&env);
    let second = store
        .backups()
        .unwrap()
        .into_iter()
        .find(|b| {
            keyroll::Keyring::document_generation(&store.read_backup(b).unwrap()).unwrap() == 2
        })
        .unwrap();
    let good = std::fs::read(&env.keyring).unwrap();
    // Truncated: asks (no terminal: exit 10), naming the reason and every version.
    let truncated = &good[..good.len() / 2];
    std::fs::write(&env.keyring, truncated).unwrap();
    let out = env.cmd().args(["restore", &second.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the current keyring cannot be read (keyring_corrupt"),
        "{err}"
    );
    assert!(
        err.contains(
            "every version of the backup will be brought back: v1 (decrypt_only), v2 (active)"
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&env.keyring).unwrap(), truncated);
    let out = env
        .cmd()
        .args(["restore", &second.name, "--yes", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let v = json(&out.stdout);
    assert!(
        v["current_unreadable"]
            .as_str()
            .unwrap()
            .starts_with("keyring_corrupt"),
        "{v}"
    );
    assert_eq!(v["generation"], 4);
    assert_eq!(env.ring().active_version(), Some(2));
    // Deleted: the same, and the human output says so after the fact too.
    std::fs::remove_file(&env.keyring).unwrap();
    let out = env.cmd().args(["restore", &second.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the current keyring cannot be read (there is no file at"),
        "{err}"
    );
    assert!(err.contains("v1 (decrypt_only), v2 (active)"), "{err}");
    let out = env
        .cmd()
        .args(["restore", &second.name, "--yes"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        stdout(&out).contains("every version of the backup was brought back"),
        "{}",
        stdout(&out)
    );
    let ring = env.ring();
    assert_eq!(ring.generation(), 5);
    assert_eq!(ring.active_version(), Some(2));
}

/// Restore also names versions it makes readable again as `pending` (a pending key decrypts),
/// and warns about every version whose data it makes unreadable: dropped from the keyring,
/// destroyed, disabled or compromised in the backup while it reads data now.
#[test]
fn restore_names_pending_re_activations_and_warns_about_what_it_drops_or_demotes() {
    let env = Env::new();
    env.init(); // v1 active, generation 1
    env.cmd().arg("rotate").assert().success(); // v2 active, v1 decrypt_only (2)
    for args in [
        vec!["state", "1", "disable", "--yes"], // (3)
        vec!["stage"],                          // v3 pending (4)
        vec!["state", "3", "disable", "--yes"], // (5), backup of 4
        vec!["state", "1", "enable", "--yes"],  // v1 decrypt_only (6)
        vec!["rotate"],                         // v4 active, v2 decrypt_only (7)
    ] {
        env.cmd().args(&args).assert().success();
    }
    let store = store_of(&env);
    let fourth = store
        .backups()
        .unwrap()
        .into_iter()
        .find(|b| {
            keyroll::Keyring::document_generation(&store.read_backup(b).unwrap()).unwrap() == 4
        })
        .unwrap();
    // A backup in which v2 was destroyed (as if it came from another line of history).
    let master = master(&env);
    let mut old = keyroll::Keyring::from_document(
        &store.read_backup(&fourth).unwrap(),
        keyroll::Unlock::MasterKey(&master),
    )
    .unwrap();
    assert_eq!(old.version(3).unwrap().state, KeyState::Pending);
    assert!(old.purge_material(2, 1).unwrap());
    old.mark_saved(3);
    let doc = old
        .to_document(keyroll::Protection::MasterKey(&master))
        .unwrap();
    let fourth = store.lock().unwrap().replace_backup(&fourth, &doc).unwrap();
    let before = std::fs::read(&env.keyring).unwrap();
    let out = env.cmd().args(["restore", &fourth.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    let err = String::from_utf8_lossy(&out.stderr);
    for text in [
        "v3 re-activated (disabled -> pending)",
        "WARNING: v1 demoted (decrypt_only -> disabled): data written under it cannot be read until it is enabled again",
        "v2 destroyed (decrypt_only -> destroyed): data written under it becomes unreadable",
        "v4 dropped (active now, not in the backup): data written under it becomes unreadable",
    ] {
        assert!(err.contains(text), "{text}: {err}");
    }
    assert_eq!(std::fs::read(&env.keyring).unwrap(), before);
    let out = env
        .cmd()
        .args(["restore", &fourth.name, "--yes", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let v = json(&out.stdout);
    assert_eq!(
        v["changes"],
        serde_json::json!([{"version": 3, "change": "re-activated", "current_state": "disabled", "restored_state": "pending"}])
    );
    assert_eq!(
        v["losses"],
        serde_json::json!([
            {"version": 1, "change": "demoted", "current_state": "decrypt_only", "restored_state": "disabled"},
            {"version": 2, "change": "destroyed", "current_state": "decrypt_only", "restored_state": "destroyed"},
            {"version": 4, "change": "dropped", "current_state": "active", "restored_state": null},
        ])
    );
    assert_eq!(
        env.audit().last().unwrap()["details"]["losses"],
        v["losses"]
    );
}

/// Deleting the keyring does not reset the rollback mark: `keyroll init` seals the new keyring
/// above it, an old copy put back afterwards (or instead) is refused, and `keyroll restore`
/// still brings it back on purpose.
#[test]
fn deleting_the_keyring_and_putting_an_old_copy_back_is_refused() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success(); // v2 active (2)
    env.cmd()
        .args(["rotate", "--emergency", "--reason", "leak", "--yes"])
        .assert()
        .success(); // v2 compromised, v3 active (3)
    let store = store_of(&env);
    let second = store
        .backups()
        .unwrap()
        .into_iter()
        .find(|b| {
            keyroll::Keyring::document_generation(&store.read_backup(b).unwrap()).unwrap() == 2
        })
        .unwrap();
    let old = store.read_backup(&second).unwrap();
    // Deleted, and the old copy put in its place.
    std::fs::remove_file(&env.keyring).unwrap();
    std::fs::write(&env.keyring, &old).unwrap();
    let out = env.cmd().args(["info", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(json(&out.stdout)["error"]["code"], "keyring_rollback");
    // Deleted, a new keyring made there, then the old copy put back.
    std::fs::remove_file(&env.keyring).unwrap();
    env.init();
    assert_eq!(env.ring().generation(), 4);
    assert_eq!(store.highest_generation().unwrap(), 4);
    std::fs::write(&env.keyring, &old).unwrap();
    for args in [vec!["info"], vec!["rotate"]] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(5), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("keyroll restore"),
            "{args:?}"
        );
        assert_eq!(std::fs::read(&env.keyring).unwrap(), old);
    }
    // On purpose, it still comes back.
    let out = env
        .cmd()
        .args(["restore", &second.name, "--yes", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(json(&out.stdout)["generation"], 5);
    assert_eq!(env.ring().active_version(), Some(2));
}

#[test]
fn info_json_shows_the_generation_each_change_raises() {
    let env = Env::new();
    assert_success(&env.cmd().arg("init").output().unwrap());
    let generation = |env: &Env| {
        let out = env.cmd().args(["info", "--json"]).output().unwrap();
        assert_success(&out);
        json(&out.stdout)["generation"].as_u64().unwrap()
    };
    assert_eq!(generation(&env), 1);
    assert_success(&env.cmd().arg("rotate").output().unwrap());
    assert_success(&env.cmd().arg("stage").output().unwrap());
    assert_eq!(generation(&env), 3);
}

#[test]
fn a_closed_stdout_ends_json_output_without_a_panic() {
    use std::process::Stdio;
    let env = Env::new();
    assert_success(&env.cmd().arg("init").output().unwrap());
    // As `keyroll info --json | head -0`: the reader is gone before anything is written.
    let mut child = env
        .process()
        .args(["info", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
