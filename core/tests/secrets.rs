//! Key material never shows: every type that holds it is formatted (`{:?}`, `{:#?}`, and
//! `Display`/serde where they exist), every failure path's error is formatted, and the sealed
//! keyring documents are read as text; no key byte sequence may appear in any of them, in raw
//! bytes, hex (either case), base64 (standard or URL-safe, at any alignment) or as a Rust byte
//! array. Nor may passphrases or plaintexts.
//!
//! The data keys of a generated keyring are never exposed by the API, so the test recovers
//! them from a master-key document the way `docs/wire-format.md` describes (HKDF wrap key,
//! AES-GCM with the key's AAD): that also checks the document layout.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use keyroll::aead::AeadKey;
use keyroll::kdf::{hkdf_sha256, pbkdf2_sha256};
use keyroll::legacy::fernet;
use keyroll::{
    inspect, Error, FernetKey, KeyState, Keyring, Policy, Protection, RawGcmImport, RawGcmKey,
    SecretKey, Ttl, Unlock,
};
use serde_json::Value;
use zeroize::Zeroizing;

const NOW: u64 = 1_700_000_000;
const PASSPHRASE: &[u8] = b"PassphraseMarker-7f3a91";
const PLAINTEXT: &[u8] = b"PlaintextMarker-078-05-1120";
const RAW_PASSWORD: &[u8] = b"RawPasswordMarker-55c2";

/// Byte patterns that must never appear.
struct Forbidden(Vec<(String, Vec<u8>)>);

impl Forbidden {
    fn new() -> Self {
        let mut f = Forbidden(Vec::new());
        f.text("passphrase", PASSPHRASE);
        f.text("plaintext", PLAINTEXT);
        f.text("raw password", RAW_PASSWORD);
        f
    }

    fn text(&mut self, what: &str, bytes: &[u8]) {
        self.0.push((what.to_owned(), bytes.to_vec()));
    }

    /// Every encoding of a 32-byte key (and of its parts) that could leak it.
    fn key(&mut self, what: &str, key: &[u8; 32]) {
        let mut add =
            |how: &str, pattern: Vec<u8>| self.0.push((format!("{what} as {how}"), pattern));
        add("raw bytes", key.to_vec());
        for i in 0..=24 {
            add(&format!("raw bytes {i}..{}", i + 8), key[i..i + 8].to_vec());
        }
        for (i, chunk) in key.chunks(8).enumerate() {
            add(&format!("hex chunk {i}"), hex::encode(chunk).into_bytes());
            add(
                &format!("HEX chunk {i}"),
                hex::encode_upper(chunk).into_bytes(),
            );
            let list = format!("{chunk:?}");
            add(
                &format!("byte list chunk {i}"),
                list.trim_matches(['[', ']']).as_bytes().to_vec(),
            );
        }
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            add("base64", engine.encode(key).into_bytes());
        }
        // Inside a longer base64 text the key starts at one of three alignments; 27 bytes from
        // that point encode to 36 characters that are there whatever surrounds them.
        for k in 0..3 {
            for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                add(
                    &format!("base64 at offset {k}"),
                    engine.encode(&key[k..k + 27]).into_bytes(),
                );
            }
        }
    }

    /// The first forbidden pattern found in `output`.
    fn find(&self, output: &[u8]) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, pattern)| {
                output
                    .windows(pattern.len())
                    .any(|w| w == pattern.as_slice())
            })
            .map(|(what, _)| what.as_str())
    }

    #[track_caller]
    fn assert_absent(&self, label: &str, output: &[u8]) {
        if let Some(what) = self.find(output) {
            panic!(
                "{label} shows the {what}:\n{}",
                String::from_utf8_lossy(output)
            );
        }
    }

    #[track_caller]
    fn debug<T: std::fmt::Debug>(&self, label: &str, value: &T) -> String {
        let plain = format!("{value:?}");
        let pretty = format!("{value:#?}");
        self.assert_absent(label, plain.as_bytes());
        self.assert_absent(label, pretty.as_bytes());
        plain
    }

    #[track_caller]
    fn error(&self, label: &str, err: &Error) {
        self.debug(label, err);
        self.assert_absent(label, err.to_string().as_bytes());
        assert!(Error::CODES.contains(&err.code()), "{label}: {err:?}");
    }
}

fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf_sha256(ikm, salt, &[info], &mut out).unwrap();
    out
}

/// Opens every sealed key of a document with its KEK root (master key or PBKDF2 output), as
/// the spec describes. Returns the data keys and the derived wrap/mac keys.
fn recover_keys(document: &[u8], root: &[u8; 32]) -> Vec<(String, [u8; 32])> {
    let doc: Value = serde_json::from_slice(document).unwrap();
    let body = &doc["body"];
    let id = hex::decode(body["keyring_id"].as_str().unwrap()).unwrap();
    let wrap = hkdf32(root, &id, b"keyroll/v1 keyring wrap");
    let mac = hkdf32(root, &id, b"keyroll/v1 keyring mac");
    let check = hkdf32(root, &id, b"keyroll/v1 keyring check");
    assert_eq!(
        URL_SAFE_NO_PAD.encode(check),
        body["check"].as_str().unwrap(),
        "the check value is HKDF(root, id, \"keyroll/v1 keyring check\")"
    );
    let wrap_key = AeadKey::new(&SecretKey::from_bytes(wrap));
    let mut keys = vec![
        ("KEK wrap key".to_owned(), wrap),
        ("KEK mac key".to_owned(), mac),
    ];
    for v in body["versions"].as_array().unwrap() {
        let Some(sealed) = v["sealed"].as_str() else {
            continue;
        };
        let raw = URL_SAFE_NO_PAD.decode(sealed).unwrap();
        let version = u32::try_from(v["version"].as_u64().unwrap()).unwrap();
        let kind = match v["kind"].as_str().unwrap() {
            "aes256_gcm" => 1u8,
            "fernet" => 2,
            "raw_gcm" => 3,
            other => panic!("kind {other}"),
        };
        let mut aad = b"keyroll/v1 keyring key".to_vec();
        aad.extend_from_slice(&id);
        aad.extend_from_slice(&version.to_be_bytes());
        aad.push(kind);
        let nonce: [u8; 12] = raw[..12].try_into().unwrap();
        let key = wrap_key
            .open(&nonce, &aad, &raw[12..])
            .expect("sealed key opens");
        keys.push((format!("data key v{version}"), key.try_into().unwrap()));
    }
    keys
}

/// A keyring with a version in every state, an imported Fernet key, raw GCM keys (raw bytes
/// and PBKDF2), and a few envelopes.
struct Fixture {
    ring: Keyring,
    fernet_key: FernetKey,
    fernet_raw: [u8; 32],
    raw_key: [u8; 32],
    tokens: Vec<Vec<u8>>,
}

fn fixture() -> Fixture {
    let mut ring = Keyring::generate(NOW).unwrap();
    let mut tokens = vec![ring.encrypt_binary(PLAINTEXT, b"ctx", Some(NOW)).unwrap()];
    for i in 1..=5 {
        ring.rotate(NOW + i).unwrap();
        tokens.push(ring.encrypt(PLAINTEXT, b"ctx", None).unwrap().into_bytes());
    }
    ring.add_version(NOW + 9).unwrap();
    ring.set_state(1, KeyState::Disabled, Some("paused"), NOW)
        .unwrap();
    ring.set_state(2, KeyState::Compromised, Some("leaked"), NOW)
        .unwrap();
    ring.set_state(3, KeyState::Destroyed, None, NOW).unwrap();
    let fernet_key = FernetKey::generate().unwrap();
    let fernet_raw: [u8; 32] = URL_SAFE
        .decode(fernet_key.to_base64().as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    ring.import_fernet(std::slice::from_ref(&fernet_key), NOW)
        .unwrap();
    let raw_key = *SecretKey::generate().unwrap().expose();
    ring.import_raw_gcm(
        &RawGcmImport {
            key: RawGcmKey::Bytes(Zeroizing::new(raw_key.to_vec())),
            version_byte: Some(1),
        },
        NOW,
    )
    .unwrap();
    ring.import_raw_gcm(
        &RawGcmImport {
            key: RawGcmKey::Pbkdf2 {
                password: Zeroizing::new(RAW_PASSWORD.to_vec()),
                salt_pattern: "salt-{version}".to_owned(),
                iterations: 10,
            },
            version_byte: Some(2),
        },
        NOW,
    )
    .unwrap();
    tokens.push(fernet::encrypt(&fernet_key, PLAINTEXT, NOW, &[7; 16]).into_bytes());
    Fixture {
        ring,
        fernet_key,
        fernet_raw,
        raw_key,
        tokens,
    }
}

/// Every secret of the fixture, recovered or derived, plus the master key.
fn forbidden_for(fx: &Fixture, master: &SecretKey) -> Forbidden {
    let document = fx.ring.to_document(Protection::MasterKey(master)).unwrap();
    let mut forbidden = Forbidden::new();
    forbidden.key("master key", master.expose());
    let recovered = recover_keys(&document, master.expose());
    // Versions 1..=6 (3 destroyed: no material), v7 pending, the Fernet key, two raw keys.
    assert_eq!(recovered.len(), 2 + 6 + 1 + 2, "{recovered:?}");
    for (what, key) in &recovered {
        forbidden.key(what, key);
    }
    forbidden.key("Fernet key", &fx.fernet_raw);
    assert!(recovered.iter().any(|(_, k)| *k == fx.fernet_raw));
    assert!(recovered.iter().any(|(_, k)| *k == fx.raw_key));
    forbidden.key(
        "Fernet-derived AES key",
        &hkdf32(&fx.fernet_raw, b"", b"keyroll/v1 fernet aes-256-gcm"),
    );
    forbidden.key(
        "PBKDF2-derived raw key",
        pbkdf2_sha256(RAW_PASSWORD, b"salt-2", 10).expose(),
    );
    forbidden
}

#[test]
fn key_holding_types_never_format_their_keys() {
    let fx = fixture();
    let master = SecretKey::generate().unwrap();
    let forbidden = forbidden_for(&fx, &master);

    let shown = forbidden.debug("SecretKey", &master);
    assert_eq!(shown, "SecretKey(<redacted>)");
    forbidden.debug("FernetKey", &fx.fernet_key);
    forbidden.debug("Keyring", &fx.ring);
    forbidden.debug("AeadKey", &AeadKey::new(&master));
    let readonly = fx
        .ring
        .export_decrypt_only(&[fx.ring.active_version().unwrap()])
        .unwrap();
    forbidden.debug("decrypt-only Keyring", &readonly);
    let compat = Keyring::from_fernet_keys(std::slice::from_ref(&fx.fernet_key), NOW).unwrap();
    forbidden.debug("compat Keyring", &compat);
    forbidden.debug(
        "Protection::Passphrase",
        &Protection::Passphrase {
            passphrase: PASSPHRASE,
            iterations: 7,
        },
    );
    forbidden.debug("Protection::MasterKey", &Protection::MasterKey(&master));
    forbidden.debug("Unlock::Passphrase", &Unlock::Passphrase(PASSPHRASE));
    forbidden.debug("Unlock::MasterKey", &Unlock::MasterKey(&master));
    forbidden.debug("KeyringId", &fx.ring.id());
    forbidden.assert_absent("KeyringId display", fx.ring.id().to_string().as_bytes());

    // Metadata types, in Debug and in their serde form.
    for info in fx.ring.versions() {
        forbidden.debug("VersionInfo", &info);
        forbidden.assert_absent("VersionInfo json", &serde_json::to_vec(&info).unwrap());
    }
    let status = fx.ring.check_policy(NOW);
    forbidden.debug("PolicyStatus", &status);
    forbidden.assert_absent("PolicyStatus json", &serde_json::to_vec(&status).unwrap());
    forbidden.assert_absent(
        "Policy json",
        &serde_json::to_vec(&fx.ring.policy()).unwrap(),
    );
    for token in &fx.tokens {
        forbidden.assert_absent("token", token);
        let info = inspect(token).unwrap();
        forbidden.debug("TokenInfo", &info);
        forbidden.assert_absent("TokenInfo json", &serde_json::to_vec(&info).unwrap());
    }
    let verified = fx.ring.verify(&fx.tokens[4], b"ctx", None).unwrap();
    forbidden.debug("Verified", &verified);
}

#[test]
fn documents_hold_no_key_in_the_clear() {
    let fx = fixture();
    let master = SecretKey::generate().unwrap();
    let mut forbidden = forbidden_for(&fx, &master);
    let by_master = fx.ring.to_document(Protection::MasterKey(&master)).unwrap();
    forbidden.assert_absent("master-key document", &by_master);

    let by_passphrase = fx
        .ring
        .to_document(Protection::PassphraseForTesting {
            passphrase: PASSPHRASE,
            iterations: 3,
        })
        .unwrap();
    // The passphrase document's own KEK keys (from PBKDF2) must not show either.
    let doc: Value = serde_json::from_slice(&by_passphrase).unwrap();
    let salt = URL_SAFE_NO_PAD
        .decode(doc["body"]["kek"]["salt"].as_str().unwrap())
        .unwrap();
    let root = pbkdf2_sha256(PASSPHRASE, &salt, 3);
    forbidden.key("PBKDF2 root", root.expose());
    let recovered = recover_keys(&by_passphrase, root.expose());
    for (what, key) in &recovered {
        forbidden.key(&format!("passphrase document {what}"), key);
    }
    forbidden.assert_absent("passphrase document", &by_passphrase);
    forbidden.assert_absent("master-key document (again)", &by_master);
    // Both documents seal the same data keys.
    let from_master = recover_keys(&by_master, master.expose());
    for (what, key) in from_master.iter().filter(|(w, _)| w.starts_with("data")) {
        assert!(
            recovered.iter().any(|(w, k)| w == what && k == key),
            "{what}"
        );
    }
}

#[test]
fn errors_from_every_failure_path_carry_no_secrets() {
    let mut fx = fixture();
    let master = SecretKey::generate().unwrap();
    let mut forbidden = forbidden_for(&fx, &master);
    // Bad keys: the rejected bytes themselves are secrets and must not be echoed.
    let secret31 = *SecretKey::generate().unwrap().expose();
    forbidden.key("rejected key", &secret31);
    let forbidden = forbidden;
    let ring = &fx.ring;
    let mut seen = std::collections::BTreeSet::new();
    let mut check = |label: &str, err: Error| {
        forbidden.error(label, &err);
        seen.insert(err.code());
    };

    let v6 = fx.tokens[5].clone();
    // Envelope failures.
    check(
        "wrong context",
        ring.decrypt(&v6, b"other", None).unwrap_err(),
    );
    check(
        "disabled",
        ring.decrypt(&fx.tokens[0], b"ctx", None).unwrap_err(),
    );
    check(
        "compromised",
        ring.decrypt(&fx.tokens[1], b"ctx", None).unwrap_err(),
    );
    check(
        "destroyed",
        ring.decrypt(&fx.tokens[2], b"ctx", None).unwrap_err(),
    );
    check(
        "destroyed rewrap",
        ring.rewrap(&fx.tokens[2], b"ctx").unwrap_err(),
    );
    let stranger = Keyring::generate(NOW).unwrap();
    check(
        "wrong keyring",
        stranger.decrypt(&v6, b"ctx", None).unwrap_err(),
    );
    let ttl = Ttl {
        seconds: 1,
        now: NOW + 1000,
    };
    let timed_ring = Keyring::generate(NOW).unwrap();
    let old = timed_ring
        .encrypt_binary(PLAINTEXT, b"", Some(NOW))
        .unwrap();
    check(
        "expired (readable)",
        timed_ring.decrypt(&old, b"", Some(ttl)).unwrap_err(),
    );
    check(
        "missing timestamp",
        ring.decrypt(&v6, b"ctx", Some(ttl)).unwrap_err(),
    );
    let mut tampered = v6.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    check(
        "tampered text",
        ring.decrypt(&tampered, b"ctx", None).unwrap_err(),
    );
    check(
        "bad base64",
        ring.decrypt(b"kr1:v6:!!!!", b"ctx", None).unwrap_err(),
    );
    check(
        "truncated",
        ring.decrypt(&v6[..20], b"ctx", None).unwrap_err(),
    );
    check(
        "unsupported",
        stranger.decrypt(b"hello", b"", None).unwrap_err(),
    );
    let future = {
        let mut r = Keyring::generate(NOW).unwrap();
        for i in 0..9 {
            r.rotate(NOW + i).unwrap();
        }
        let mut t = r.encrypt_binary(PLAINTEXT, b"", None).unwrap();
        t[6..14].copy_from_slice(&ring.id().0);
        t
    };
    check(
        "unknown version",
        ring.decrypt(&future, b"", None).unwrap_err(),
    );
    check(
        "legacy with context",
        ring.decrypt(&fx.tokens[6], b"ctx", None).unwrap_err(),
    );
    let mut bad_fernet = URL_SAFE.decode(&fx.tokens[6]).unwrap();
    bad_fernet[40] ^= 1;
    check(
        "tampered Fernet",
        ring.decrypt(URL_SAFE.encode(bad_fernet).as_bytes(), b"", None)
            .unwrap_err(),
    );
    check(
        "needs_rewrap malformed",
        ring.needs_rewrap(b"kr1:v1:@@").unwrap_err(),
    );
    check("inspect", inspect(b"kr1:v1:AAAA").unwrap_err());
    let batch = ring.decrypt_many(&[&fx.tokens[0][..], &fx.tokens[1][..]], b"ctx", None);
    for r in batch {
        check("decrypt_many", r.unwrap_err());
    }

    // Keyring changes.
    check(
        "state transition",
        fx.ring
            .set_state(3, KeyState::DecryptOnly, None, NOW)
            .unwrap_err(),
    );
    check("promote destroyed", fx.ring.promote(3, NOW).unwrap_err());
    check("unknown promote", fx.ring.promote(99, NOW).unwrap_err());
    check(
        "policy",
        fx.ring
            .set_policy(Policy {
                rotate_after_days: 1,
                warn_after_days: 2,
            })
            .unwrap_err(),
    );
    check("min version", fx.ring.set_min_version(100).unwrap_err());
    check("derive length", fx.ring.derive_key(b"pii", 0).unwrap_err());
    let mut readonly = fx
        .ring
        .export_decrypt_only(&[fx.ring.active_version().unwrap()])
        .unwrap();
    check("read-only rotate", readonly.rotate(NOW).unwrap_err());
    check(
        "no active key",
        readonly.encrypt(PLAINTEXT, b"", None).unwrap_err(),
    );
    check(
        "no active key derive",
        readonly.derive_key(b"pii", 32).unwrap_err(),
    );
    fx.ring.set_min_version(5).unwrap();
    check(
        "below minimum",
        fx.ring.decrypt(&fx.tokens[3], b"ctx", None).unwrap_err(),
    );

    // Bad keys.
    check(
        "short key",
        SecretKey::from_slice(&secret31[..31]).unwrap_err(),
    );
    let mut long = secret31.to_vec();
    long.push(0);
    check("long key", SecretKey::from_slice(&long).unwrap_err());
    check(
        "short Fernet key",
        FernetKey::from_base64(URL_SAFE.encode(&secret31[..31]).as_bytes()).unwrap_err(),
    );
    check(
        "non-base64 Fernet key",
        FernetKey::from_base64(hex::encode(secret31).as_bytes()).unwrap_err(),
    );
    check(
        "raw import length",
        fx.ring
            .import_raw_gcm(
                &RawGcmImport {
                    key: RawGcmKey::Bytes(Zeroizing::new(secret31[..31].to_vec())),
                    version_byte: None,
                },
                NOW,
            )
            .unwrap_err(),
    );
    check(
        "raw import pattern",
        fx.ring
            .import_raw_gcm(
                &RawGcmImport {
                    key: RawGcmKey::Pbkdf2 {
                        password: Zeroizing::new(RAW_PASSWORD.to_vec()),
                        salt_pattern: "s-{version}".to_owned(),
                        iterations: 1,
                    },
                    version_byte: None,
                },
                NOW,
            )
            .unwrap_err(),
    );

    // Documents.
    let doc = fx
        .ring
        .to_document(Protection::PassphraseForTesting {
            passphrase: PASSPHRASE,
            iterations: 2,
        })
        .unwrap();
    check(
        "wrong passphrase",
        Keyring::from_document(&doc, Unlock::Passphrase(b"PassphraseMarker-7f3a92")).unwrap_err(),
    );
    check(
        "master key for passphrase doc",
        Keyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap_err(),
    );
    let altered =
        String::from_utf8(doc.clone())
            .unwrap()
            .replacen("\"disabled\"", "\"decrypt_only\"", 1);
    check(
        "altered document",
        Keyring::from_document(altered.as_bytes(), Unlock::Passphrase(PASSPHRASE)).unwrap_err(),
    );
    check(
        "not a document",
        Keyring::from_document(&master.expose()[..], Unlock::MasterKey(&master)).unwrap_err(),
    );
    check(
        "stale save",
        Keyring::check_successor(Some(&doc), &doc).unwrap_err(),
    );
    check(
        "rollback",
        Keyring::check_not_rolled_back(&doc, 7).unwrap_err(),
    );
    check(
        "iterations",
        fx.ring
            .to_document(Protection::Passphrase {
                passphrase: PASSPHRASE,
                iterations: 0,
            })
            .unwrap_err(),
    );

    // Signing keyrings (their keys are checked against the message text below).
    {
        use keyroll::signing::{JwtOptions, SigningAlgorithm, SigningKeyring};
        const HMAC_SECRET: &str = "legacy-SECRET_KEY-never-in-an-error-0123456789";
        let signing = SigningKeyring::from_hmac_secret(HMAC_SECRET.as_bytes(), 0).unwrap();
        let ed = SigningKeyring::generate(SigningAlgorithm::Ed25519, 0).unwrap();
        let signed = signing.sign(b"message", b"ctx").unwrap();
        let mut sig_check = |label: &str, err: Error| {
            assert!(!err.to_string().contains(HMAC_SECRET), "{label}: {err}");
            check(label, err);
        };
        sig_check(
            "signature",
            signing.verify(signed.as_bytes(), b"other").unwrap_err(),
        );
        let ed_token = ed.sign_jwt("{}", 0).unwrap();
        let (_, rest) = ed_token.split_once('.').unwrap();
        let header = format!(
            r#"{{"alg":"HS256","kid":"{}"}}"#,
            keyroll::signing::kid(ed.id(), 1)
        );
        let confused = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header));
        sig_check(
            "alg confusion",
            ed.verify_jwt(&confused, &JwtOptions::default(), 0)
                .unwrap_err(),
        );
        let token = signing.sign_jwt(r#"{"aud":"x"}"#, 0).unwrap();
        sig_check(
            "aud",
            signing
                .verify_jwt(&token, &JwtOptions::default(), 0)
                .unwrap_err(),
        );
        sig_check(
            "kind",
            SigningKeyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap_err(),
        );
    }

    // Every code but `rng_failure`, which no test can provoke (see below).
    let expected: Vec<&str> = keyroll::Error::CODES
        .iter()
        .copied()
        .filter(|c| *c != "rng_failure")
        .collect();
    let missing: Vec<_> = expected.iter().filter(|c| !seen.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "failure paths not exercised: {missing:?}"
    );
    // `rng_failure` is the one code no test can provoke (the system generator would have to fail).
    assert_eq!(seen.len() + 1, Error::CODES.len(), "{seen:?}");
}

#[test]
fn the_detector_finds_every_encoding() {
    let key = *SecretKey::generate().unwrap().expose();
    let mut forbidden = Forbidden(Vec::new());
    forbidden.key("key", &key);
    let leaks: Vec<Vec<u8>> = vec![
        key.to_vec(),
        [&b"prefix"[..], &key[5..21], b"suffix"].concat(),
        hex::encode(key).into_bytes(),
        hex::encode_upper(key).into_bytes(),
        format!("{key:?}").into_bytes(),
        format!("{:?}", &key[8..16]).into_bytes(),
        STANDARD.encode(key).into_bytes(),
        URL_SAFE_NO_PAD
            .encode([&b"x"[..], &key].concat())
            .into_bytes(),
        URL_SAFE_NO_PAD
            .encode([&b"xy"[..], &key, b"z"].concat())
            .into_bytes(),
        STANDARD.encode([&b"abc"[..], &key].concat()).into_bytes(),
        format!("token={}", hex::encode(&key[24..])).into_bytes(),
    ];
    for (i, leak) in leaks.iter().enumerate() {
        assert!(forbidden.find(leak).is_some(), "leak {i} not detected");
    }
    assert_eq!(forbidden.find(b"SecretKey(<redacted>)"), None);
}
