//! End-to-end tests of the signing-keyring commands (`keyroll keys …`, `keyroll jwks`): the
//! move off a single SECRET_KEY without logging anyone out, two-phase Ed25519 rotation with the
//! public keys published first, the store's rules (generations, backups, audit) on signing
//! documents, the refusal of the other kind of keyring both ways, and no key material in any
//! output.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{assert_success, json, succeeds, Env};
use keyroll::signing::{HmacSha256Key, JwtOptions, SigningKeyring};
use keyroll::{KeyState, SecretKey, Unlock};
use std::io::Write;

const NOW: u64 = 1_700_000_000;
/// What a Django/Flask app had in its settings: one HS256 secret, no versions.
const OLD_SECRET: &str = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz!@#";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The signing keyring as stored now, opened in-process.
fn signing_ring(env: &Env) -> SigningKeyring {
    let doc = std::fs::read(&env.keyring).unwrap();
    let key = SecretKey::from_slice(&env.master_key).unwrap();
    SigningKeyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap()
}

/// A JWT as the old system (PyJWT, jsonwebtoken) wrote it with the single secret: HS256, no
/// `kid`.
fn old_system_jwt(secret: &[u8], claims: &str) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let tag = HmacSha256Key::new(secret).sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(tag));
    token
}

fn header(token: &str) -> serde_json::Value {
    let first = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn a_legacy_secret_imports_rotates_and_old_tokens_keep_verifying() {
    let env = Env::new();
    let claims = format!(r#"{{"sub":"42","exp":{}}}"#, NOW + 7 * 86_400);
    let old = old_system_jwt(OLD_SECRET.as_bytes(), &claims);

    let out = succeeds(
        env.cmd()
            .env("SECRET_KEY", OLD_SECRET)
            .env("KEYROLL_NOW", NOW.to_string())
            .args(["keys", "import-secret", "--json"]),
    );
    let v = json(&out.stdout);
    assert_eq!(v["created"], true);
    assert_eq!(v["imported_version"], 1);
    assert_eq!(v["active_version"], 1);
    // Every process given the same secret makes the same keyring (and kids).
    let same = SigningKeyring::from_hmac_secret(OLD_SECRET.as_bytes(), NOW).unwrap();
    assert_eq!(v["keyring_id"], same.id().to_hex());

    let ring = signing_ring(&env);
    let options = JwtOptions::default();
    assert_eq!(
        ring.verify_jwt(&old, &options, NOW + 60)
            .unwrap()
            .key_version,
        1
    );
    let v1_token = ring.sign_jwt(&claims, NOW).unwrap();

    // Rotation: v2 signs from now on; the old secret verifies what it signed, kid or not.
    let out = succeeds(
        env.cmd()
            .env("KEYROLL_NOW", (NOW + 100).to_string())
            .args(["keys", "rotate", "--json"]),
    );
    let v = json(&out.stdout);
    assert_eq!(
        (v["previous_version"].clone(), v["active_version"].clone()),
        (1.into(), 2.into())
    );
    let ring = signing_ring(&env);
    let new = ring.sign_jwt(&claims, NOW + 200).unwrap();
    assert_eq!(header(&new)["kid"], format!("{}:v2", ring.id().to_hex()));
    assert_eq!(header(&new)["alg"], "HS256");
    for (token, version) in [(&old, 1), (&v1_token, 1), (&new, 2)] {
        let got = ring.verify_jwt(token, &options, NOW + 300).unwrap();
        assert_eq!(got.key_version, version, "{token}");
    }
    // The old system, holding only the old secret, cannot be fooled by a v2 token.
    assert_ne!(
        old_system_jwt(OLD_SECRET.as_bytes(), &claims)
            .rsplit('.')
            .next(),
        new.rsplit('.').next()
    );

    let info = json(&succeeds(env.cmd().args(["keys", "info", "--json"])).stdout);
    assert_eq!(info["keyring_kind"], "signing");
    assert_eq!(info["jwt_alg"], "HS256");
    assert_eq!(info["versions"][0]["kind"], "hmac_sha256_legacy");
    assert_eq!(info["versions"][0]["state"], "decrypt_only");
    assert_eq!(info["versions"][1]["kind"], "hmac_sha256");
    assert_eq!(info["versions"][1]["state"], "active");
    assert_eq!(info["backups"], 1);
    let events: Vec<String> = env
        .audit()
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["signing_import_secret", "signing_rotate"]);
}

#[test]
fn a_second_secret_imports_into_an_existing_keyring_from_stdin() {
    let env = Env::new();
    succeeds(env.cmd().args(["keys", "create", "--algorithm", "hs256"]));
    let other = "another-service-secret-that-is-long-enough-000";
    let mut child = env
        .process()
        .args(["keys", "import-secret", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `echo` adds a newline that is not part of the secret.
    writeln!(child.stdin.take().unwrap(), "{other}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert_eq!(json(&out.stdout)["imported_version"], 2);
    let ring = signing_ring(&env);
    let token = old_system_jwt(other.as_bytes(), r#"{"sub":"7"}"#);
    assert_eq!(
        ring.verify_jwt(&token, &JwtOptions::default(), NOW)
            .unwrap()
            .key_version,
        2
    );
    assert_eq!(ring.version(2).unwrap().state, KeyState::DecryptOnly);
    assert_eq!(ring.active_version(), Some(1));
}

#[test]
fn ed25519_rotation_publishes_the_new_public_key_before_anything_is_signed_with_it() {
    let env = Env::new();
    let v = json(
        &succeeds(
            env.cmd()
                .args(["keys", "create", "--algorithm", "ed25519", "--json"]),
        )
        .stdout,
    );
    let id = v["keyring_id"].as_str().unwrap().to_owned();
    assert_eq!(v["kid"], format!("{id}:v1"));
    let claims = format!(r#"{{"sub":"42","exp":{}}}"#, u64::MAX / 2);
    let t1 = signing_ring(&env).sign_jwt(&claims, NOW).unwrap();

    // Stage: v2 is in the JWKS and the public keyset while v1 still signs.
    succeeds(env.cmd().args(["keys", "stage"]));
    let jwks = json(&succeeds(env.cmd().arg("jwks")).stdout);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [format!("{id}:v2"), format!("{id}:v1")]);
    assert_eq!(signing_ring(&env).active_version(), Some(1));
    let keyset = env.path("public.json");
    succeeds(
        env.cmd()
            .args(["keys", "export-public", "--out"])
            .arg(&keyset),
    );

    // What the app ships: the keyset exported before the promotion.
    let app =
        SigningKeyring::from_public_keyset(&std::fs::read_to_string(&keyset).unwrap()).unwrap();
    assert!(app.is_verify_only());
    let options = JwtOptions::default();
    assert_eq!(app.verify_jwt(&t1, &options, NOW).unwrap().key_version, 1);

    let out = succeeds(env.cmd().args(["keys", "promote", "2"]));
    assert!(
        stdout(&out).contains("v2 signs; v1 verifies only"),
        "{}",
        stdout(&out)
    );
    let t2 = signing_ring(&env).sign_jwt(&claims, NOW + 10).unwrap();
    assert_eq!(header(&t2)["alg"], "EdDSA");
    assert_eq!(
        app.verify_jwt(&t2, &options, NOW + 20).unwrap().key_version,
        2
    );
    assert_eq!(
        app.verify_jwt(&t1, &options, NOW + 20).unwrap().key_version,
        1
    );

    // The public keyset alone gives the same JWKS, without credentials.
    let from_public = succeeds(
        env.cmd()
            .env_remove("KEYROLL_MASTER_KEY")
            .arg("jwks")
            .arg("--public")
            .arg(&keyset),
    );
    assert_eq!(json(&from_public.stdout), jwks);
}

#[test]
fn emergency_rotation_needs_confirmation_and_its_tokens_stop_verifying() {
    let env = Env::new();
    succeeds(env.cmd().args(["keys", "create", "--algorithm", "ed25519"]));
    let t1 = signing_ring(&env).sign_jwt(r#"{"sub":"1"}"#, NOW).unwrap();
    let before = std::fs::read(&env.keyring).unwrap();
    let out = env
        .cmd()
        .args(["keys", "rotate", "--emergency", "--reason", "laptop stolen"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(10), "{}", stderr(&out));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), before);
    succeeds(env.cmd().args([
        "keys",
        "rotate",
        "--emergency",
        "--reason",
        "laptop stolen",
        "-y",
    ]));
    let ring = signing_ring(&env);
    let err = ring
        .verify_jwt(&t1, &JwtOptions::default(), NOW)
        .unwrap_err();
    assert_eq!(err.code(), "key_compromised");
    // The JWKS no longer offers the compromised key.
    let jwks = json(&succeeds(env.cmd().arg("jwks")).stdout);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let health = env.cmd().args(["keys", "health"]).output().unwrap();
    assert_eq!(code(&health), Some(1));
    assert!(
        stdout(&health).contains("v1 is compromised"),
        "{}",
        stdout(&health)
    );
    let audit = env.audit();
    assert_eq!(audit.last().unwrap()["event"], "signing_emergency_rotate");
    assert_eq!(audit.last().unwrap()["reason"], "laptop stolen");
}

#[test]
fn rotate_if_due_follows_the_policy() {
    let env = Env::new();
    succeeds(env.cmd().env("KEYROLL_NOW", NOW.to_string()).args([
        "keys",
        "create",
        "--algorithm",
        "hs256",
        "--rotate-after-days",
        "30",
        "--warn-after-days",
        "20",
    ]));
    let at = |days: u64| (NOW + days * 86_400).to_string();
    let out = succeeds(
        env.cmd()
            .env("KEYROLL_NOW", at(10))
            .args(["keys", "rotate", "--if-due", "--json"]),
    );
    assert_eq!(json(&out.stdout)["rotated"], false);
    let health = env
        .cmd()
        .env("KEYROLL_NOW", at(25))
        .args(["keys", "health"])
        .output()
        .unwrap();
    assert_eq!(code(&health), Some(1), "{}", stdout(&health));
    let health = env
        .cmd()
        .env("KEYROLL_NOW", at(31))
        .args(["keys", "health", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&health), Some(2));
    assert_eq!(json(&health.stdout)["status"], "critical");
    let out = succeeds(
        env.cmd()
            .env("KEYROLL_NOW", at(31))
            .args(["keys", "rotate", "--if-due", "--json"]),
    );
    assert_eq!(json(&out.stdout)["active_version"], 2);
    let health = env
        .cmd()
        .env("KEYROLL_NOW", at(31))
        .args(["keys", "health"])
        .output()
        .unwrap();
    assert_eq!(code(&health), Some(0), "{}", stdout(&health));
}

#[test]
fn the_other_kind_of_keyring_is_refused_both_ways_and_nothing_changes() {
    // An encryption keyring given to the signing commands.
    let enc = Env::new();
    enc.init();
    let before = std::fs::read(&enc.keyring).unwrap();
    for args in [
        vec!["keys", "info"],
        vec!["keys", "rotate"],
        vec!["keys", "stage"],
        vec!["jwks"],
        vec!["keys", "export-public"],
    ] {
        let out = enc.cmd().args(&args).output().unwrap();
        assert_eq!(code(&out), Some(5), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("[wrong_keyring_kind]"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("this is an encryption keyring"),
            "{}",
            stderr(&out)
        );
    }
    let out = enc
        .cmd()
        .env("SECRET_KEY", OLD_SECRET)
        .args(["keys", "import-secret"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("[wrong_keyring_kind]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&enc.keyring).unwrap(), before);

    // A signing keyring given to the encryption commands.
    let sig = Env::new();
    succeeds(sig.cmd().args(["keys", "create", "--algorithm", "ed25519"]));
    let before = std::fs::read(&sig.keyring).unwrap();
    for args in [
        vec!["info"],
        vec!["rotate"],
        vec!["stage"],
        vec!["health"],
        vec!["state", "1", "disable"],
    ] {
        let out = sig.cmd().args(&args).output().unwrap();
        assert_eq!(code(&out), Some(5), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("[wrong_keyring_kind]"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("this is a signing keyring"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&sig.keyring).unwrap(), before);

    // A keyring document where a public keyset is expected.
    let out = sig
        .cmd()
        .arg("jwks")
        .arg("--public")
        .arg(&sig.keyring)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("[wrong_keyring_kind]"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("not a public keyset"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_hs256_keyring_has_no_public_keys_to_export() {
    let env = Env::new();
    succeeds(env.cmd().args(["keys", "create", "--algorithm", "hs256"]));
    for args in [vec!["jwks"], vec!["keys", "export-public"]] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(code(&out), Some(8), "{args:?}");
        assert!(
            stderr(&out).contains("[no_public_keys]"),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }
    // Moving it to EdDSA: stage an Ed25519 version, and it has one.
    succeeds(env.cmd().args(["keys", "stage", "--algorithm", "ed25519"]));
    let jwks = json(&succeeds(env.cmd().arg("jwks")).stdout);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn a_rolled_back_signing_keyring_is_refused() {
    let env = Env::new();
    succeeds(env.cmd().args(["keys", "create", "--algorithm", "ed25519"]));
    let old = std::fs::read(&env.keyring).unwrap();
    succeeds(
        env.cmd()
            .args(["keys", "rotate", "--emergency", "--reason", "leak", "-y"]),
    );
    // Putting the copy from before the compromise back would make v1 trusted again.
    std::fs::write(&env.keyring, &old).unwrap();
    for args in [vec!["keys", "info"], vec!["jwks"], vec!["keys", "rotate"]] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(code(&out), Some(5), "{args:?}");
        assert!(
            stderr(&out).contains("[keyring_rollback]"),
            "{}",
            stderr(&out)
        );
    }
    // And a second create over an existing file is refused.
    let out = env
        .cmd()
        .args(["keys", "create", "--algorithm", "hs256"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(8));
}

#[test]
fn the_secret_is_refused_as_an_argument_and_too_short_a_secret_changes_nothing() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["keys", "import-secret", OLD_SECRET])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(64));
    assert!(
        stderr(&out).contains("[secret_in_argv]"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(OLD_SECRET));
    assert!(!env.keyring.exists());
    let out = env
        .cmd()
        .env("SECRET_KEY", "short-secret")
        .args(["keys", "import-secret"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(8));
    assert!(stderr(&out).contains("[invalid_key]"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("short-secret"));
    assert!(!env.keyring.exists());
    let out = env.cmd().args(["keys", "import-secret"]).output().unwrap();
    assert_eq!(code(&out), Some(8));
    assert!(
        stderr(&out).contains("SECRET_KEY is unset"),
        "{}",
        stderr(&out)
    );
}

/// Every way a secret could be written out.
fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        secret.to_vec(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        STANDARD.encode(secret).into_bytes(),
        URL_SAFE_NO_PAD.encode(secret).into_bytes(),
        format!("{secret:?}").into_bytes(),
    ]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every run of 43 base64url characters (an encoded 32-byte value) in `text`.
fn b64_32(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut run = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            run.push(c);
        } else {
            if run.len() == 43 {
                found.push(std::mem::take(&mut run));
            }
            run.clear();
        }
    }
    found
}

#[test]
fn no_key_material_reaches_stdout_stderr_or_the_audit_log() {
    // HMAC: both secrets are known to the test (one imported, one promoted to sign).
    let env = Env::new();
    let second = "second-secret-that-signs-after-promotion-0123456789";
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut run = |label: &str, cmd: &mut assert_cmd::Command| {
        let out = cmd.output().unwrap();
        outputs.push((format!("{label} stdout"), out.stdout));
        outputs.push((format!("{label} stderr"), out.stderr));
    };
    run(
        "import",
        env.cmd()
            .env("SECRET_KEY", OLD_SECRET)
            .args(["keys", "import-secret"]),
    );
    run(
        "import 2",
        env.cmd()
            .env("OTHER", second)
            .args(["keys", "import-secret", "--env", "OTHER", "--json"]),
    );
    run("argv", env.cmd().args(["keys", "import-secret", second]));
    run("promote", env.cmd().args(["keys", "promote", "2"]));
    for json in [false, true] {
        let flag: &[&str] = if json { &["--json"] } else { &[] };
        run("info", env.cmd().args(["keys", "info"]).args(flag));
        run("health", env.cmd().args(["keys", "health"]).args(flag));
        run("jwks", env.cmd().arg("jwks").args(flag));
        run("audit", env.cmd().arg("audit").args(flag));
    }
    run("stage", env.cmd().args(["keys", "stage"]));
    run(
        "rotate",
        env.cmd()
            .args(["keys", "rotate", "--emergency", "--reason", "r", "-y"]),
    );
    let audit = std::fs::read(env.path("keyring.json.audit.jsonl")).unwrap();
    outputs.push(("audit log".into(), audit));
    let secrets: Vec<Vec<u8>> = [OLD_SECRET.as_bytes(), second.as_bytes(), &env.master_key]
        .iter()
        .flat_map(|s| encodings(s))
        .collect();
    for (label, bytes) in &outputs {
        for secret in &secrets {
            assert!(
                !contains(bytes, secret),
                "{label} holds key material: {}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    // Ed25519: the private seeds are unknown to the test, so every 32-byte value in any
    // output must be one of the public keys (the JWKS's `x`).
    let ed = Env::new();
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut run = |label: &str, cmd: &mut assert_cmd::Command| {
        let out = cmd.output().unwrap();
        texts.push((format!("{label} stdout"), stdout(&out)));
        texts.push((format!("{label} stderr"), stderr(&out)));
    };
    run(
        "create",
        ed.cmd()
            .args(["keys", "create", "--algorithm", "ed25519", "--json"]),
    );
    run("stage", ed.cmd().args(["keys", "stage", "--json"]));
    run("info", ed.cmd().args(["keys", "info", "--json"]));
    run("info", ed.cmd().args(["keys", "info"]));
    run("export", ed.cmd().args(["keys", "export-public"]));
    run("promote", ed.cmd().args(["keys", "promote", "2", "--json"]));
    run("rotate", ed.cmd().args(["keys", "rotate", "--json"]));
    let jwks = json(&succeeds(ed.cmd().arg("jwks")).stdout);
    let public: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["x"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(public.len(), 3);
    texts.push((
        "audit log".into(),
        std::fs::read_to_string(ed.path("keyring.json.audit.jsonl")).unwrap(),
    ));
    let mut seen = 0;
    for (label, text) in &texts {
        for value in b64_32(text) {
            assert!(
                public.contains(&value),
                "{label}: {value} is not a public key"
            );
            seen += 1;
        }
    }
    assert!(seen >= 2, "the public keys do show in export-public");
}

#[test]
fn a_signing_keyring_is_restored_from_a_backup_on_purpose() {
    let env = Env::new();
    succeeds(env.cmd().args(["keys", "create", "--algorithm", "ed25519"]));
    let t1 = signing_ring(&env).sign_jwt(r#"{"sub":"1"}"#, NOW).unwrap();
    succeeds(
        env.cmd()
            .args(["keys", "rotate", "--emergency", "--reason", "drill", "-y"]),
    );
    let backups = json(&succeeds(env.cmd().args(["backups", "--json"])).stdout);
    let name = backups["backups"][0]["name"].as_str().unwrap().to_owned();
    // Without --yes and no terminal: refused, nothing changes.
    let before = std::fs::read(&env.keyring).unwrap();
    let out = env.cmd().args(["restore", &name]).output().unwrap();
    assert_eq!(code(&out), Some(10), "{}", stderr(&out));
    assert_eq!(std::fs::read(&env.keyring).unwrap(), before);
    let out = succeeds(env.cmd().args(["restore", &name, "--json", "-y"]));
    let v = json(&out.stdout);
    assert_eq!(v["changes"][0]["version"], 1);
    assert_eq!(v["changes"][0]["change"], "re-activated");
    let ring = signing_ring(&env);
    assert_eq!(ring.active_version(), Some(1));
    assert_eq!(
        ring.verify_jwt(&t1, &JwtOptions::default(), NOW)
            .unwrap()
            .key_version,
        1
    );
    // Above every generation seen, so the keyring keeps working.
    succeeds(env.cmd().args(["keys", "info"]));
    assert_eq!(env.audit().last().unwrap()["event"], "restore");
}

#[test]
fn retiring_the_old_secret_disables_then_destroys_it_everywhere() {
    let env = Env::new();
    succeeds(
        env.cmd()
            .env("SECRET_KEY", OLD_SECRET)
            .args(["keys", "import-secret"]),
    );
    succeeds(env.cmd().args(["keys", "rotate"]));
    let old = old_system_jwt(OLD_SECRET.as_bytes(), r#"{"sub":"9"}"#);
    let out = succeeds(env.cmd().args([
        "keys",
        "state",
        "1",
        "disable",
        "--note",
        "sessions expired",
    ]));
    assert!(
        stdout(&out).contains("v1: verify-only -> disabled"),
        "{}",
        stdout(&out)
    );
    let err = signing_ring(&env)
        .verify_jwt(&old, &JwtOptions::default(), NOW)
        .unwrap_err();
    assert_eq!(err.code(), "key_disabled");
    succeeds(env.cmd().args(["keys", "state", "1", "enable"]));
    assert_eq!(
        signing_ring(&env)
            .verify_jwt(&old, &JwtOptions::default(), NOW)
            .unwrap()
            .key_version,
        1
    );
    // Destroying the old secret wipes it from the keyring and from every backup (before, the
    // purge opened backups as encryption keyrings only, so the CLI refused the destroy).
    let sealed_v1 = |doc: &[u8]| -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
        v["body"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["version"] == 1)
            .and_then(|x| x["sealed"].as_str().map(str::to_string))
    };
    // Every sealed copy of v1 (each save seals afresh, so each backup has its own).
    let store = keyroll_store::Store::new(&env.keyring);
    let mut blobs = vec![sealed_v1(&std::fs::read(&env.keyring).unwrap()).unwrap()];
    for b in store.backups().unwrap() {
        blobs.extend(sealed_v1(&store.read_backup(&b).unwrap()));
    }
    assert!(blobs.len() >= 3, "{}", blobs.len());
    let holding = || {
        let mut files = vec![env.keyring.clone()];
        for entry in std::fs::read_dir(store.backup_dir()).unwrap() {
            files.push(entry.unwrap().path());
        }
        files
            .iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                blobs.iter().any(|b| text.contains(b.as_str()))
            })
            .count()
    };
    let out = succeeds(env.cmd().args(["keys", "state", "1", "destroy", "--yes"]));
    assert!(
        stdout(&out).contains("v1: verify-only -> destroyed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(holding(), 0, "no file holds any copy of v1 after");
    let err = signing_ring(&env)
        .verify_jwt(&old, &JwtOptions::default(), NOW)
        .unwrap_err();
    // The old system's tokens carry no `kid`: with no legacy key left to try, none verifies.
    assert_eq!(err.code(), "signature_invalid");
    let audit = env.audit();
    let events: Vec<&str> = audit
        .iter()
        .rev()
        .take(2)
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["purge_backups", "signing_state_destroyed"]);
    let out = env
        .cmd()
        .args(["keys", "state", "2", "disable"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(8), "the active version: {}", stderr(&out));
}
