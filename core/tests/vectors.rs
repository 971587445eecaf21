//! Runs every case of every file in `tests/vectors/v1/` (schema: `tests/vectors/README.md`).
#![allow(clippy::unwrap_used, missing_docs)]

use keyroll::{
    inspect, FernetKey, KeyState, Keyring, Policy, RawGcmImport, RawGcmKey, RewrapOptions,
    SecretKey, Ttl, Unlock, VersionInfo,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use zeroize::Zeroizing;

#[path = "vectors/signing.rs"]
mod signing;

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
fn run(
    case: &Value,
    rings: &HashMap<String, keyroll::Result<Keyring>>,
    docs: &serde_json::Map<String, Value>,
) -> keyroll::Result<Value> {
    let ring = || match rings.get(case["keyring"].as_str().unwrap()).unwrap() {
        Ok(r) => Ok(r),
        Err(e) => Err(e.clone()),
    };
    let ctx = hex_field(case, "context_hex");
    match case["op"].as_str().unwrap() {
        op if signing::handles(op) => signing::run(case, docs),
        "decrypt" => {
            let ttl = case.get("ttl").map(|t| Ttl {
                seconds: t["seconds"].as_u64().unwrap(),
                now: t["now"].as_u64().unwrap(),
            });
            let r = ring()?;
            let tok = token(case);
            let result = r.decrypt(&tok, &ctx, ttl);
            // `decrypt_into` must agree with `decrypt` on every vector, success or error, and
            // leave no byte of plaintext in the buffer when it fails.
            let len = Keyring::plaintext_len(&tok).unwrap_or(tok.len());
            let mut buf = vec![0xEEu8; len];
            let into = r.decrypt_into(&tok, &ctx, ttl, &mut buf);
            match (&result, &into) {
                (Ok(pt), Ok(n)) => assert_eq!(&buf[..*n], &pt[..], "{}", case["name"]),
                (Err(a), Err(b)) => {
                    assert_eq!(a.code(), b.code(), "{}", case["name"]);
                    assert!(
                        buf.iter().all(|&b| b == 0),
                        "{}: buffer wiped",
                        case["name"]
                    );
                }
                _ => panic!(
                    "{}: decrypt {result:?} but decrypt_into {into:?}",
                    case["name"]
                ),
            }
            if let (Ok(pt), Some(exact)) = (&result, Keyring::plaintext_len(&tok)) {
                assert_eq!(exact, pt.len(), "{}: plaintext_len", case["name"]);
            }
            Ok(json!({"plaintext_hex": hex::encode(result?)}))
        }
        "rewrap" => {
            let r = ring()?;
            let options = RewrapOptions {
                allow_compromised: case["allow_compromised"].as_bool().unwrap_or(false),
            };
            let out = r.rewrap_to_context_with(&token(case), &ctx, &ctx, options)?;
            let fresh = &out.token;
            let info = inspect(fresh.as_bytes())?;
            let pt = r.decrypt(fresh.as_bytes(), &ctx, None)?;
            // Fresh output: even a token already under the active version gets a new nonce.
            assert_ne!(
                fresh.as_bytes(),
                &token(case)[..],
                "{}: rewritten",
                case["name"]
            );
            let mut got = json!({
                "plaintext_hex": hex::encode(pt),
                "expect_version": info.key_version,
                "expect_format": info.format.as_str(),
                "expect_issued_at": info.issued_at,
            });
            if options.allow_compromised {
                got["expect_from_version"] = json!(out.from_version);
                got["expect_from_compromised"] = json!(out.from_compromised);
            }
            Ok(got)
        }
        "operations" => {
            // Steps change the keyring: each case starts from a fresh copy of the document.
            let mut r = open(&docs[case["keyring"].as_str().unwrap()])?;
            let steps = case["steps"].as_array().unwrap();
            for (i, s) in steps.iter().enumerate() {
                match apply(&mut r, s) {
                    Ok(got) => assert_eq!(
                        s.get("expect").unwrap_or(&Value::Null),
                        &got,
                        "{}: step {i}",
                        case["name"]
                    ),
                    // Only the last step of a fail_* case may fail.
                    Err(e) => {
                        assert_eq!(i, steps.len() - 1, "{}: step {i}: {e}", case["name"]);
                        return Err(e);
                    }
                }
            }
            Ok(json!({}))
        }
        "check_successor" => {
            let doc = |name: &Value| docs[name.as_str().unwrap()]["document"].as_str().unwrap();
            let current = (!case["current"].is_null()).then(|| doc(&case["current"]).as_bytes());
            let g = Keyring::check_successor(current, doc(&case["next"]).as_bytes())?;
            Ok(json!({"expect_generation": g}))
        }
        "check_not_rolled_back" => {
            let doc = docs[case["keyring"].as_str().unwrap()]["document"]
                .as_str()
                .unwrap();
            let seen = case["highest_seen"].as_u64().unwrap();
            let g = Keyring::check_not_rolled_back(doc.as_bytes(), seen)?;
            Ok(json!({"expect_generation": g}))
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
        "blind_index" | "blind_index_candidates" => blind_index(case, ring()?),
        op => panic!("unknown op {op}"),
    }
}

/// A `blind_index` case (compute, and the normalised bytes) or a `blind_index_candidates` case.
fn blind_index(case: &Value, ring: &Keyring) -> keyroll::Result<Value> {
    let normalizer = keyroll::Normalizer::parse(case["normalizer"].as_str().unwrap())?;
    let bits = case["bits"].as_u64().unwrap() as u32;
    let index = ring.blind_index(case["index_name"].as_str().unwrap(), normalizer, bits)?;
    let value = match case["value_utf8"].as_str() {
        Some(s) => s.as_bytes().to_vec(),
        None => hex_field(case, "value_hex"),
    };
    if case["op"] == "blind_index_candidates" {
        let list = index.candidates(&value)?;
        return Ok(json!({"expect": list, "expect_versions": index.versions()}));
    }
    let text = index.compute(&value)?;
    let normalized = hex::encode(normalizer.apply(&value)?);
    Ok(json!({"expect": text, "normalized_hex": normalized}))
}

/// One step of an `operations` case: the value it gives (`null` for none).
fn apply(r: &mut Keyring, s: &Value) -> keyroll::Result<Value> {
    let now = || s["now"].as_u64().unwrap();
    let version = || s["version"].as_u64().unwrap() as u32;
    let ctx = hex_field(s, "context_hex");
    let days = |k: &str| s[k].as_u64().unwrap() as u32;
    Ok(match s["do"].as_str().unwrap() {
        "add_version" => json!(r.add_version(now())?),
        "rotate" => json!(r.rotate(now())?),
        "emergency_rotate" => json!(r.emergency_rotate(s["reason"].as_str().unwrap(), now())?),
        "promote" => json!(r.promote(version(), now())?),
        "set_state" => {
            let to = KeyState::parse(s["state"].as_str().unwrap()).unwrap();
            json!(r.set_state(version(), to, s["note"].as_str(), now())?)
        }
        "set_min_version" => json!(r.set_min_version(s["minimum"].as_u64().unwrap() as u32)?),
        "set_policy" => json!(r.set_policy(Policy {
            rotate_after_days: days("rotate_after_days"),
            warn_after_days: days("warn_after_days"),
        })?),
        "check_policy" => serde_json::to_value(r.check_policy(now())).unwrap(),
        "encrypt" => {
            let pt = hex_field(s, "plaintext_hex");
            let token = r.encrypt(&pt, &ctx, None)?;
            assert_eq!(&*r.decrypt(token.as_bytes(), &ctx, None)?, &pt[..]);
            json!(inspect(token.as_bytes())?.key_version)
        }
        "decrypt" => json!(hex::encode(r.decrypt(&token(s), &ctx, None)?)),
        "summary" => summary(r),
        other => panic!("unknown step {other}"),
    })
}

#[test]
fn every_vector_file() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "vector files missing");
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
            let result = run(case, &rings, doc["keyrings"].as_object().unwrap());
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

/// Every code in `Error::CODES` is named by at least one `fail_*` vector, except the one no
/// input data can cause.
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
    // A failing system random generator is not something a file can describe: `rng_failure`
    // is the one code without a vector (tests/vectors/README.md says so too).
    let no_vector = ["rng_failure"];
    let missing: Vec<&str> = keyroll::Error::CODES
        .iter()
        .copied()
        .filter(|c| !seen.contains(*c))
        .collect();
    assert_eq!(missing, no_vector, "codes without a vector");
}

/// The count table of tests/vectors/README.md matches the files: each file and op with its
/// number of cases and of `fail_*` cases, and the totals (recomputed here, not read from the
/// generator).
#[test]
fn readme_counts_match() {
    let readme = std::fs::read_to_string(vector_dir().join("../README.md")).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut all, mut all_fail, mut rows) = (0, 0, 0);
    for path in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            readme.contains(&format!("| `{name}` | ")),
            "{name} missing from the README"
        );
        let mut ops = std::collections::BTreeMap::<&str, (usize, usize)>::new();
        for case in doc["cases"].as_array().unwrap() {
            let e = ops.entry(case["op"].as_str().unwrap()).or_default();
            e.0 += 1;
            e.1 += usize::from(case["name"].as_str().unwrap().starts_with("fail_"));
        }
        for (op, (n, fail)) in ops {
            let row = format!("| `{name}` | `{op}` | {n} | {fail} |");
            assert!(readme.contains(&row), "README lacks the row {row}");
            (all, all_fail, rows) = (all + n, all_fail + fail, rows + 1);
        }
    }
    let total = format!("| all | | {all} | {all_fail} |");
    assert!(readme.contains(&total), "README lacks the totals {total}");
    let listed = readme
        .lines()
        .filter(|l| l.starts_with("| `") && l.matches(" | ").count() == 3)
        .count();
    assert_eq!(listed, rows, "README count rows vs files");
}
