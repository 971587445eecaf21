//! Runs every case of every file in `tests/vectors/v1/` (schema: `tests/vectors/README.md`).
#![allow(clippy::unwrap_used, missing_docs)]

use keyroll::{
    inspect, FernetKey, Keyring, RawGcmImport, RawGcmKey, SecretKey, Ttl, Unlock, VersionInfo,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use zeroize::Zeroizing;

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/v1")
}

fn open(entry: &Value) -> keyroll::Result<Keyring> {
    let doc = entry["document"].as_str().unwrap().as_bytes();
    if let Some(p) = entry["passphrase"].as_str() {
        Keyring::from_document(doc, Unlock::Passphrase(p.as_bytes()))
    } else {
        let key = hex::decode(entry["master_key_hex"].as_str().unwrap()).unwrap();
        Keyring::from_document(
            doc,
            Unlock::MasterKey(&SecretKey::from_slice(&key).unwrap()),
        )
    }
}

fn token(case: &Value) -> Vec<u8> {
    match (case["token"].as_str(), case["token_hex"].as_str()) {
        (Some(t), None) => t.as_bytes().to_vec(),
        (None, Some(h)) => hex::decode(h).unwrap(),
        _ => panic!("{}: needs token or token_hex", case["name"]),
    }
}

fn hex_field(case: &Value, field: &str) -> Vec<u8> {
    hex::decode(case[field].as_str().unwrap_or("")).unwrap()
}

fn summary(r: &Keyring) -> Value {
    let versions: Vec<Value> = r
        .versions()
        .iter()
        .map(|v: &VersionInfo| json!({"version": v.version, "kind": v.kind, "state": v.state}))
        .collect();
    json!({
        "keyring_id": r.id().to_hex(),
        "active_version": r.active_version(),
        "min_version": r.min_version(),
        "read_only": r.is_read_only(),
        "versions": versions,
    })
}

/// Runs one case; `Ok(value)` is compared with the case's expectation, `Err` with its code.
fn run(case: &Value, rings: &HashMap<String, keyroll::Result<Keyring>>) -> keyroll::Result<Value> {
    let ring = || match rings.get(case["keyring"].as_str().unwrap()).unwrap() {
        Ok(r) => Ok(r),
        Err(e) => Err(e.clone()),
    };
    let ctx = hex_field(case, "context_hex");
    match case["op"].as_str().unwrap() {
        "decrypt" => {
            let ttl = case.get("ttl").map(|t| Ttl {
                seconds: t["seconds"].as_u64().unwrap(),
                now: t["now"].as_u64().unwrap(),
            });
            let pt = ring()?.decrypt(&token(case), &ctx, ttl)?;
            Ok(json!({"plaintext_hex": hex::encode(pt)}))
        }
        "rewrap" => {
            let r = ring()?;
            let fresh = r.rewrap(&token(case), &ctx)?;
            let info = inspect(fresh.as_bytes())?;
            let pt = r.decrypt(fresh.as_bytes(), &ctx, None)?;
            // Fresh output: even a token already under the active version gets a new nonce.
            assert_ne!(
                fresh.as_bytes(),
                &token(case)[..],
                "{}: rewritten",
                case["name"]
            );
            Ok(json!({
                "plaintext_hex": hex::encode(pt),
                "expect_version": info.key_version,
                "expect_format": info.format.as_str(),
                "expect_issued_at": info.issued_at,
            }))
        }
        "inspect" => Ok(json!({"expect": serde_json::to_value(inspect(&token(case))?).unwrap()})),
        "load" => Ok(json!({"expect": summary(ring()?)})),
        "policy" => {
            let status = ring()?.check_policy(case["now"].as_u64().unwrap());
            Ok(json!({"expect": serde_json::to_value(status).unwrap()}))
        }
        "derive" => {
            let len = case["length"].as_u64().unwrap() as usize;
            let purpose = case["purpose"].as_str().unwrap().as_bytes();
            let (version, key) = ring()?.derive_key(purpose, len)?;
            Ok(json!({"expect_hex": hex::encode(&*key), "expect_version": version}))
        }
        "fernet_compat" => {
            let keys: Vec<FernetKey> = case["fernet_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| FernetKey::from_base64(k.as_str().unwrap().as_bytes()))
                .collect::<Result<_, _>>()?;
            Ok(json!({"expect": summary(&Keyring::from_fernet_keys(&keys, 0)?)}))
        }
        "import_raw_gcm" => {
            let spec = &case["import"];
            let key = if let Some(k) = spec["key_utf8"].as_str() {
                RawGcmKey::Bytes(Zeroizing::new(k.as_bytes().to_vec()))
            } else if let Some(k) = spec["key_hex"].as_str() {
                RawGcmKey::Bytes(Zeroizing::new(hex::decode(k).unwrap()))
            } else {
                RawGcmKey::Pbkdf2 {
                    password: Zeroizing::new(spec["password_utf8"].as_str().unwrap().into()),
                    salt_pattern: spec["salt_pattern"].as_str().unwrap().into(),
                    iterations: spec["iterations"].as_u64().unwrap() as u32,
                }
            };
            let version_byte = spec["version_byte"].as_u64().map(|b| b as u8);
            let mut r = Keyring::generate(0)?;
            r.import_raw_gcm(&RawGcmImport { key, version_byte }, 0)?;
            let pt = r.decrypt(&token(case), b"", None)?;
            Ok(json!({"plaintext_hex": hex::encode(pt)}))
        }
        op => panic!("unknown op {op}"),
    }
}

#[test]
fn every_vector_file() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "vector files missing");
    let (mut passed, mut failed_as_expected) = (0, 0);
    for file in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let rings: HashMap<String, keyroll::Result<Keyring>> = doc["keyrings"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, entry)| (name.clone(), open(entry)))
            .collect();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let result = run(case, &rings);
            if name.starts_with("fail_") {
                let want = case["error"].as_str().unwrap();
                match result {
                    Err(e) => assert_eq!(e.code(), want, "{name}: {e}"),
                    Ok(v) => panic!("{name}: succeeded with {v}, wanted {want}"),
                }
                failed_as_expected += 1;
            } else {
                let got = result.unwrap_or_else(|e| panic!("{name}: {e} ({})", e.code()));
                for (field, value) in got.as_object().unwrap() {
                    assert_eq!(&case[field], value, "{name}: {field}");
                }
                passed += 1;
            }
        }
    }
    println!(
        "vectors ({}): {passed} positive and {failed_as_expected} fail_* cases in {} files",
        keyroll::aead::BACKEND,
        files.len()
    );
    assert!(
        passed >= 90 && failed_as_expected >= 90,
        "too few cases ran"
    );
}

/// Every code the vectors use is in the core's table, and the core's table is documented.
#[test]
fn codes_are_documented() {
    let spec = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/wire-format.md"),
    )
    .unwrap();
    for code in keyroll::Error::CODES {
        assert!(
            spec.contains(&format!("`{code}`")),
            "{code} missing from docs/wire-format.md"
        );
    }
}

/// Every code in `Error::CODES` is named by at least one `fail_*` vector, except those no
/// vector op can reach yet (listed here so the gap is visible and must shrink, never grow).
#[test]
fn every_code_has_a_vector() {
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(vector_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            if let Some(code) = case["error"].as_str() {
                seen.insert(code.to_string());
            }
        }
    }
    // Need keyring-operation ops (promote/set_state on a read-only export, document
    // successor checks) in every runner, or a failing RNG: not vectors yet.
    let not_yet = [
        "invalid_state_transition",
        "read_only",
        "rng_failure",
        "keyring_conflict",
        "keyring_rollback",
    ];
    let missing: Vec<&str> = keyroll::Error::CODES
        .iter()
        .copied()
        .filter(|c| !seen.contains(*c))
        .collect();
    assert_eq!(missing, not_yet, "codes without a vector");
}
