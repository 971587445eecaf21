//! External known-answer suites for the primitives keyroll uses, through keyroll's own API:
//!
//! * Wycheproof AES-GCM (every case with a 256-bit key and a 96-bit nonce) through
//!   `keyroll::aead::AeadKey`, on whichever backend this build uses (`aws-lc-rs` by default,
//!   RustCrypto `aes-gcm` with `--features rustcrypto`; CI runs both).
//! * Wycheproof HKDF-SHA256 through `keyroll::kdf::hkdf_sha256`.
//! * Wycheproof PBKDF2-HMAC-SHA256 through `keyroll::kdf::pbkdf2_sha256`.
//!
//! Each suite runs on the data bundled in the `wycheproof` crate, and again on the copies in
//! `../shared/vectors/external/` (next to the repository; `KEYROLL_EXTERNAL_VECTORS` overrides
//! the folder) together with RFC 5869 and the PBKDF2 known answers, when that folder exists.
#![allow(clippy::unwrap_used)]

use keyroll::aead::{AeadKey, BACKEND, NONCE_LEN, TAG_LEN};
use keyroll::kdf::{hkdf_sha256, pbkdf2_sha256};
use keyroll::SecretKey;
use serde_json::Value;
use std::path::PathBuf;

/// One AES-GCM case, whichever file it came from.
struct GcmCase {
    id: String,
    key: Vec<u8>,
    nonce: Vec<u8>,
    aad: Vec<u8>,
    pt: Vec<u8>,
    ct: Vec<u8>,
    tag: Vec<u8>,
    valid: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct GcmCount {
    valid: usize,
    invalid: usize,
    other_sizes: usize,
}

/// Runs every 256-bit-key, 96-bit-nonce, 128-bit-tag case: valid ones must seal to exactly
/// `ct ‖ tag` and open back; invalid ones must not open. Other sizes are counted, not run:
/// keyroll's AEAD only has this one shape.
fn run_gcm(cases: impl IntoIterator<Item = GcmCase>) -> GcmCount {
    let mut count = GcmCount::default();
    for case in cases {
        if case.key.len() != 32 || case.nonce.len() != NONCE_LEN || case.tag.len() != TAG_LEN {
            count.other_sizes += 1;
            continue;
        }
        let key = AeadKey::new(&SecretKey::from_slice(&case.key).unwrap());
        let nonce: [u8; NONCE_LEN] = case.nonce.as_slice().try_into().unwrap();
        let ct_tag = [case.ct.as_slice(), case.tag.as_slice()].concat();
        let opened = key.open(&nonce, &case.aad, &ct_tag);
        if case.valid {
            let mut sealed = b"prefix".to_vec();
            key.seal_append(&nonce, &case.aad, &case.pt, &mut sealed);
            assert_eq!(
                &sealed[..6],
                b"prefix",
                "{}: seal_append kept the prefix",
                case.id
            );
            assert_eq!(
                hex::encode(&sealed[6..]),
                hex::encode(&ct_tag),
                "{}: seal",
                case.id
            );
            assert_eq!(
                opened.as_deref(),
                Some(case.pt.as_slice()),
                "{}: open",
                case.id
            );
            count.valid += 1;
        } else {
            assert_eq!(opened, None, "{}: an invalid case opened", case.id);
            count.invalid += 1;
        }
    }
    count
}

#[derive(Debug, Default, PartialEq, Eq)]
struct KdfCount {
    valid: usize,
    invalid: usize,
}

/// HKDF: valid cases give exactly `okm` (also with `info` split in two, since keyroll passes
/// info as parts); invalid ones (output longer than 255 × 32 bytes) must be refused.
fn run_hkdf(id: &str, ikm: &[u8], salt: &[u8], info: &[u8], size: usize, okm: &[u8], valid: bool) {
    let mut out = vec![0u8; size];
    let result = hkdf_sha256(ikm, salt, &[info], &mut out);
    if valid {
        result.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(hex::encode(&out), hex::encode(okm), "{id}");
        let (a, b) = info.split_at(info.len() / 2);
        let mut split = vec![0u8; size];
        hkdf_sha256(ikm, salt, &[a, b], &mut split).unwrap();
        assert_eq!(split, out, "{id}: info in two parts");
    } else {
        let err = result.expect_err(id);
        assert_eq!(err.code(), "invalid_argument", "{id}");
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct PbkdfCount {
    /// dkLen == 32: keyroll's output compared whole.
    exact: usize,
    /// dkLen != 32: keyroll's 32-byte output compared with the first block of `dk`.
    first_block: usize,
}

/// keyroll derives 32-byte keys only. PBKDF2's output is blocks `T1 ‖ T2 ‖ …`, each depending
/// only on (password, salt, iterations, block index), so for another dkLen the first
/// min(dkLen, 32) bytes of `dk` are the first bytes of keyroll's `T1`: those are compared too,
/// and counted apart.
fn run_pbkdf2(
    id: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    dk: &[u8],
    count: &mut PbkdfCount,
) {
    let key = pbkdf2_sha256(password, salt, iterations);
    let n = dk.len().min(32);
    assert_eq!(
        hex::encode(&key.expose()[..n]),
        hex::encode(&dk[..n]),
        "{id}"
    );
    if dk.len() == 32 {
        count.exact += 1;
    } else {
        count.first_block += 1;
    }
}

fn print_backend() {
    println!("AEAD backend: {BACKEND}");
    #[cfg(feature = "rustcrypto")]
    assert_eq!(BACKEND, "rustcrypto-aes-gcm");
    #[cfg(not(feature = "rustcrypto"))]
    assert_eq!(BACKEND, "aws-lc-rs");
}

// ---------------------------------------------------------------------------------------------
// The `wycheproof` crate's bundled data.

#[test]
fn wycheproof_crate_aes_gcm() {
    use wycheproof::aead::{TestName, TestSet};
    print_backend();
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let cases = set.test_groups.into_iter().flat_map(|group| {
        group.tests.into_iter().map(|t| GcmCase {
            id: format!("aes_gcm tcId {}", t.tc_id),
            key: t.key.to_vec(),
            nonce: t.nonce.to_vec(),
            aad: t.aad.to_vec(),
            pt: t.pt.to_vec(),
            ct: t.ct.to_vec(),
            tag: t.tag.to_vec(),
            valid: !t.result.must_fail(),
        })
    });
    let count = run_gcm(cases);
    println!(
        "wycheproof crate AES-GCM on {BACKEND}: {} passed ({} valid, {} invalid); {} cases with other key/nonce sizes not applicable",
        count.valid + count.invalid,
        count.valid,
        count.invalid,
        count.other_sizes
    );
    assert_eq!(
        count,
        GcmCount {
            valid: 39,
            invalid: 27,
            other_sizes: 250
        }
    );
}

#[test]
fn wycheproof_crate_hkdf_sha256() {
    use wycheproof::hkdf::{TestName, TestSet};
    let set = TestSet::load(TestName::HkdfSha256).unwrap();
    let mut count = KdfCount::default();
    for group in set.test_groups {
        for t in group.tests {
            let valid = !t.result.must_fail();
            run_hkdf(
                &format!("hkdf_sha256 tcId {}", t.tc_id),
                &t.ikm,
                &t.salt,
                &t.info,
                t.size,
                &t.okm,
                valid,
            );
            if valid {
                count.valid += 1;
            } else {
                count.invalid += 1;
            }
        }
    }
    println!(
        "wycheproof crate HKDF-SHA256: {} passed ({} valid, {} invalid = output too long, refused)",
        count.valid + count.invalid,
        count.valid,
        count.invalid
    );
    assert_eq!(
        count,
        KdfCount {
            valid: 83,
            invalid: 3
        }
    );
}

#[test]
fn wycheproof_crate_pbkdf2_hmac_sha256() {
    use wycheproof::pbkdf2::{TestName, TestSet};
    let set = TestSet::load(TestName::Pbkdf2HmacSha256).unwrap();
    let mut count = PbkdfCount::default();
    for group in set.test_groups {
        for t in group.tests {
            assert!(!t.result.must_fail(), "the suite has valid cases only");
            assert_eq!(t.dk.len(), t.dk_len);
            run_pbkdf2(
                &format!("pbkdf2_hmacsha256 tcId {}", t.tc_id),
                &t.password,
                &t.salt,
                u32::try_from(t.iteration_count).unwrap(),
                &t.dk,
                &mut count,
            );
        }
    }
    println!(
        "wycheproof crate PBKDF2-HMAC-SHA256: {} passed with dkLen 32 (keyroll's only length); \
         {} other-length cases checked on their first 32-byte block",
        count.exact, count.first_block
    );
    assert_eq!(
        count,
        PbkdfCount {
            exact: 4,
            first_block: 56
        }
    );
}

// ---------------------------------------------------------------------------------------------
// The copies in ../shared/vectors/external, when present.

fn external_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("KEYROLL_EXTERNAL_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/external"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "external vectors NOT FOUND at {} (set KEYROLL_EXTERNAL_VECTORS): these file checks did not run",
            dir.display()
        );
        None
    }
}

fn load(dir: &std::path::Path, name: &str) -> Value {
    let path = dir.join(name);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap()
}

fn hex_field(t: &Value, name: &str) -> Vec<u8> {
    hex::decode(t[name].as_str().unwrap_or_else(|| panic!("field {name}"))).unwrap()
}

fn tests_of(file: &Value) -> Vec<(Value, Value)> {
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| {
            group["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (group.clone(), t.clone()))
        })
        .collect()
}

#[test]
fn external_wycheproof_aes_gcm() {
    print_backend();
    let Some(dir) = external_dir() else { return };
    let file = load(&dir, "wycheproof_aes_gcm_test.json");
    let cases: Vec<GcmCase> = tests_of(&file)
        .into_iter()
        .map(|(_, t)| GcmCase {
            id: format!("external aes_gcm tcId {}", t["tcId"]),
            key: hex_field(&t, "key"),
            nonce: hex_field(&t, "iv"),
            aad: hex_field(&t, "aad"),
            pt: hex_field(&t, "msg"),
            ct: hex_field(&t, "ct"),
            tag: hex_field(&t, "tag"),
            valid: t["result"] != "invalid",
        })
        .collect();
    assert_eq!(cases.len(), 316);
    let count = run_gcm(cases);
    println!(
        "external wycheproof_aes_gcm_test.json on {BACKEND}: {} passed ({} valid, {} invalid); {} with other sizes not applicable",
        count.valid + count.invalid,
        count.valid,
        count.invalid,
        count.other_sizes
    );
    assert_eq!(
        count,
        GcmCount {
            valid: 39,
            invalid: 27,
            other_sizes: 250
        }
    );
}

#[test]
fn external_hkdf_sha256() {
    let Some(dir) = external_dir() else { return };
    let file = load(&dir, "wycheproof_hkdf_sha256_test.json");
    let mut count = KdfCount::default();
    for (_, t) in tests_of(&file) {
        let valid = t["result"] != "invalid";
        run_hkdf(
            &format!("external hkdf tcId {}", t["tcId"]),
            &hex_field(&t, "ikm"),
            &hex_field(&t, "salt"),
            &hex_field(&t, "info"),
            usize::try_from(t["size"].as_u64().unwrap()).unwrap(),
            &hex_field(&t, "okm"),
            valid,
        );
        if valid {
            count.valid += 1;
        } else {
            count.invalid += 1;
        }
    }
    let rfc = load(&dir, "rfc5869_hkdf_sha256.json");
    let mut rfc_passed = 0;
    for t in rfc["tests"].as_array().unwrap() {
        run_hkdf(
            &format!("RFC 5869 {}", t["name"]),
            &hex_field(t, "ikm"),
            &hex_field(t, "salt"),
            &hex_field(t, "info"),
            usize::try_from(t["L"].as_u64().unwrap()).unwrap(),
            &hex_field(t, "okm"),
            true,
        );
        rfc_passed += 1;
    }
    println!(
        "external wycheproof_hkdf_sha256_test.json: {} passed ({} valid, {} invalid); rfc5869_hkdf_sha256.json: {rfc_passed} passed (OKM; the PRK is internal to keyroll's HKDF)",
        count.valid + count.invalid,
        count.valid,
        count.invalid
    );
    assert_eq!(
        count,
        KdfCount {
            valid: 83,
            invalid: 3
        }
    );
    assert_eq!(rfc_passed, 3);
}

#[test]
fn external_pbkdf2_hmac_sha256() {
    let Some(dir) = external_dir() else { return };
    let file = load(&dir, "wycheproof_pbkdf2_hmacsha256_test.json");
    let mut count = PbkdfCount::default();
    for (_, t) in tests_of(&file) {
        assert_eq!(t["result"], "valid");
        run_pbkdf2(
            &format!("external pbkdf2 tcId {}", t["tcId"]),
            &hex_field(&t, "password"),
            &hex_field(&t, "salt"),
            u32::try_from(t["iterationCount"].as_u64().unwrap()).unwrap(),
            &hex_field(&t, "dk"),
            &mut count,
        );
    }
    assert_eq!(
        count,
        PbkdfCount {
            exact: 4,
            first_block: 56
        }
    );

    let known = load(&dir, "pbkdf2_hmac_sha256_known_answers.json");
    let mut known_count = PbkdfCount::default();
    let mut slow_skipped = 0;
    for t in known["tests"].as_array().unwrap() {
        // tcId 4 runs 16,777,216 iterations: minutes in a debug build. Skipped, and counted.
        if t["slow"] == true {
            slow_skipped += 1;
            continue;
        }
        run_pbkdf2(
            &format!("known answer tcId {}", t["tcId"]),
            &hex_field(t, "password_hex"),
            &hex_field(t, "salt_hex"),
            u32::try_from(t["iterations"].as_u64().unwrap()).unwrap(),
            &hex_field(t, "dk"),
            &mut known_count,
        );
    }
    println!(
        "external wycheproof_pbkdf2_hmacsha256_test.json: {} passed with dkLen 32, {} other lengths checked on their first block; \
         pbkdf2_hmac_sha256_known_answers.json: {} passed with dkLen 32, {} on their first block, {slow_skipped} skipped (16,777,216 iterations)",
        count.exact, count.first_block, known_count.exact, known_count.first_block
    );
    assert_eq!(
        known_count,
        PbkdfCount {
            exact: 3,
            first_block: 4
        }
    );
    assert_eq!(slow_skipped, 1);
}
