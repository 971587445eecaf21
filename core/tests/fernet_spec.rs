//! The Fernet specification's acceptance files (github.com/fernet/spec: `generate.json`,
//! `verify.json`, `invalid.json`), read from `../shared/vectors/external/fernet/` next to the
//! repository (`KEYROLL_EXTERNAL_VECTORS` overrides the parent folder) when it exists.
//!
//! * generate: `keyroll::legacy::fernet::encrypt` reproduces each token byte for byte;
//! * verify: a keyring holding the imported key decrypts each token under `Ttl { 60, now }`;
//! * invalid: all 8 tokens are refused with a typed error, and the code of each is pinned.
#![allow(clippy::unwrap_used)]

use keyroll::legacy::fernet;
use keyroll::{FernetKey, Keyring, Ttl};
use serde_json::Value;
use std::path::PathBuf;

fn spec_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("KEYROLL_EXTERNAL_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/external"),
    };
    let dir = base.join("fernet");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "Fernet spec files NOT FOUND at {} (set KEYROLL_EXTERNAL_VECTORS): the Fernet spec checks did not run",
            dir.display()
        );
        None
    }
}

fn load(dir: &std::path::Path, name: &str) -> Vec<Value> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice::<Vec<Value>>(&bytes).unwrap()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of an RFC 3339 time as the spec files write it: `YYYY-MM-DDTHH:MM:SS±HH:MM`
/// or `…Z`.
fn rfc3339(s: &str) -> u64 {
    let n = |range: std::ops::Range<usize>| -> i64 { s[range].parse().unwrap() };
    assert_eq!(&s[4..5], "-", "{s}");
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    let local = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    let offset = match &s[19..] {
        "Z" => 0,
        tz => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz[1..3].parse::<i64>().unwrap() * 3600 + tz[4..6].parse::<i64>().unwrap() * 60)
        }
    };
    u64::try_from(local - offset).unwrap()
}

#[test]
fn rfc3339_parser() {
    assert_eq!(rfc3339("1970-01-01T00:00:00Z"), 0);
    assert_eq!(rfc3339("1985-10-26T01:20:00-07:00"), 499_162_800);
    assert_eq!(rfc3339("2000-03-01T00:00:00+01:00"), 951_865_200);
}

fn key_of(case: &Value) -> FernetKey {
    FernetKey::from_base64(case["secret"].as_str().unwrap().as_bytes()).unwrap()
}

/// A keyroll keyring of its own (v1 active) with the Fernet key imported next to it.
fn ring_with(key: &FernetKey, now: u64) -> Keyring {
    let mut ring = Keyring::generate(now).unwrap();
    ring.import_fernet(std::slice::from_ref(key), now).unwrap();
    ring
}

#[test]
fn fernet_spec_generate() {
    let Some(dir) = spec_dir() else { return };
    let cases = load(&dir, "generate.json");
    let mut passed = 0;
    for case in &cases {
        let key = key_of(case);
        let now = rfc3339(case["now"].as_str().unwrap());
        let iv: Vec<u8> = case["iv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
            .collect();
        let iv: [u8; 16] = iv.try_into().unwrap();
        let src = case["src"].as_str().unwrap().as_bytes();
        let token = fernet::encrypt(&key, src, now, &iv);
        assert_eq!(token, case["token"].as_str().unwrap());
        // And keyroll reads what it wrote, through a keyring, at that time.
        let ring = ring_with(&key, now);
        let ttl = Ttl { seconds: 60, now };
        assert_eq!(ring.decrypt(token.as_bytes(), b"", Some(ttl)).unwrap(), src);
        passed += 1;
    }
    println!("Fernet spec generate.json: {passed} passed (token reproduced exactly)");
    assert_eq!(passed, 1);
}

#[test]
fn fernet_spec_verify() {
    let Some(dir) = spec_dir() else { return };
    let cases = load(&dir, "verify.json");
    let mut passed = 0;
    for case in &cases {
        let key = key_of(case);
        let now = rfc3339(case["now"].as_str().unwrap());
        let ttl = Ttl {
            seconds: case["ttl_sec"].as_u64().unwrap(),
            now,
        };
        let token = case["token"].as_str().unwrap().as_bytes();
        let src = case["src"].as_str().unwrap().as_bytes();

        let ring = ring_with(&key, now);
        assert_eq!(ring.decrypt(token, b"", Some(ttl)).unwrap(), src);
        let verified = ring.verify(token, b"", Some(ttl)).unwrap();
        assert_eq!(verified.key_version, key.keyroll_version());
        assert_eq!(verified.issued_at, Some(now - 1));
        // The compat keyring built from the key list alone reads it too, and rewraps it to v1.
        let compat = Keyring::from_fernet_keys(std::slice::from_ref(&key), now).unwrap();
        assert_eq!(compat.decrypt(token, b"", Some(ttl)).unwrap(), src);
        let v1 = ring.rewrap(token, b"").unwrap();
        assert!(v1.starts_with("kr1:v1:"), "{v1}");
        assert_eq!(ring.decrypt(v1.as_bytes(), b"", Some(ttl)).unwrap(), src);
        // Legacy tokens carry no context: a context is refused, not ignored.
        assert_eq!(
            ring.decrypt(token, b"ctx", None).unwrap_err().code(),
            "invalid_argument"
        );
        passed += 1;
    }
    println!("Fernet spec verify.json: {passed} passed (decrypted with ttl and now)");
    assert_eq!(passed, 1);
}

#[test]
fn fernet_spec_invalid() {
    let Some(dir) = spec_dir() else { return };
    let cases = load(&dir, "invalid.json");
    // The code keyroll gives each case. MAC and padding failures are one indistinguishable
    // `decrypt_failed`; structure problems are `malformed`; time problems `expired`.
    let expected = [
        ("incorrect mac", "decrypt_failed"),
        ("too short", "malformed"),
        ("invalid base64", "malformed"),
        ("payload size not multiple of block size", "malformed"),
        ("payload padding error", "decrypt_failed"),
        ("far-future TS (unacceptable clock skew)", "expired"),
        ("expired TTL", "expired"),
        ("incorrect IV (causes padding error)", "decrypt_failed"),
    ];
    assert_eq!(cases.len(), expected.len());
    let mut rejected = 0;
    let mut readable_without_ttl = Vec::new();
    for (case, (desc, code)) in cases.iter().zip(expected) {
        assert_eq!(case["desc"], desc);
        let key = key_of(case);
        let now = rfc3339(case["now"].as_str().unwrap());
        let ttl = Ttl {
            seconds: case["ttl_sec"].as_u64().unwrap(),
            now,
        };
        let token = case["token"].as_str().unwrap().as_bytes();
        let ring = ring_with(&key, now);
        let err = ring.decrypt(token, b"", Some(ttl)).unwrap_err();
        println!(
            "Fernet spec invalid.json: {desc:?} -> {} ({err})",
            err.code()
        );
        assert_eq!(err.code(), code, "{desc}");
        assert_eq!(
            ring.verify(token, b"", Some(ttl)).unwrap_err().code(),
            code,
            "{desc}: verify"
        );
        let compat = Keyring::from_fernet_keys(std::slice::from_ref(&key), now).unwrap();
        assert_eq!(
            compat.decrypt(token, b"", Some(ttl)).unwrap_err().code(),
            code,
            "{desc}: compat keyring"
        );
        // inspect needs no key: it may describe the token or refuse it, never panic.
        let _ = keyroll::inspect(token);
        if ring.decrypt(token, b"", None).is_ok() {
            readable_without_ttl.push(desc);
        }
        rejected += 1;
    }
    println!("Fernet spec invalid.json: {rejected} of 8 rejected with a typed error");
    assert_eq!(rejected, 8);
    // Only the two time cases are authentic tokens; without a TTL they decrypt.
    assert_eq!(
        readable_without_ttl,
        ["far-future TS (unacceptable clock skew)", "expired TTL"]
    );
}
