//! Property tests (proptest) of the envelope, the keyring and its documents:
//!
//! * random keyrings, plaintexts, contexts and timestamps round-trip in text and binary form,
//!   also after the keyring goes through a document (passphrase or master key) and back;
//! * every single-bit flip of a binary envelope, and sampled character changes of the text
//!   form, are refused with a typed error (the right one for the field that changed);
//! * `decrypt`, `verify`, `rewrap`, `needs_rewrap`, `inspect` and `Keyring::from_document`
//!   never panic on arbitrary (or almost valid) bytes, and only report codes from the table;
//! * random rotation sequences (rotate, two-phase add + promote, emergency rotation, disable
//!   and re-enable, save and reload) keep every earlier envelope readable through rewrap.
#![allow(clippy::unwrap_used)]

use keyroll::aead::AeadKey;
use keyroll::legacy::fernet;
use keyroll::{
    inspect, Error, FernetKey, KeyState, Keyring, Protection, RawGcmImport, RawGcmKey,
    RewrapOptions, SecretKey, TokenFormat, Ttl, Unlock,
};
use proptest::prelude::*;
use zeroize::Zeroizing;

const NOW: u64 = 1_700_000_000;

fn coded<T: std::fmt::Debug>(result: &Result<T, Error>) {
    if let Err(e) = result {
        assert!(Error::CODES.contains(&e.code()), "uncoded error {e:?}");
        // Messages are short, fixed texts: never the input echoed back.
        assert!(e.to_string().len() < 120, "{e}");
    }
}

/// A keyring that went through `rotations` rotations.
fn ring_with_rotations(rotations: u32) -> Keyring {
    let mut ring = Keyring::generate(NOW).unwrap();
    for i in 0..rotations {
        ring.rotate(NOW + u64::from(i) + 1).unwrap();
    }
    ring
}

/// Seals and reopens a keyring, by passphrase (1–3 PBKDF2 iterations) or master key.
fn through_document(ring: &Keyring, by_passphrase: bool, iterations: u32) -> Keyring {
    if by_passphrase {
        let doc = ring
            .to_document(Protection::PassphraseForTesting {
                passphrase: b"correct horse",
                iterations,
            })
            .unwrap();
        assert_eq!(
            Keyring::from_document(&doc, Unlock::Passphrase(b"wrong horse"))
                .unwrap_err()
                .code(),
            "bad_passphrase"
        );
        Keyring::from_document(&doc, Unlock::Passphrase(b"correct horse")).unwrap()
    } else {
        let master = SecretKey::from_bytes([0x5a; 32]);
        let doc = ring.to_document(Protection::MasterKey(&master)).unwrap();
        Keyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap()
    }
}

/// A keyring that also reads legacy tokens: an imported Fernet key and raw GCM keys.
fn legacy_ring() -> (Keyring, FernetKey) {
    let mut ring = Keyring::generate(NOW).unwrap();
    let key = FernetKey::from_base64(b"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").unwrap();
    ring.import_fernet(std::slice::from_ref(&key), NOW).unwrap();
    for (bytes, byte) in [([0x11u8; 32], Some(3u8)), ([0x22u8; 32], None)] {
        ring.import_raw_gcm(
            &RawGcmImport {
                key: RawGcmKey::Bytes(Zeroizing::new(bytes.to_vec())),
                version_byte: byte,
            },
            NOW,
        )
        .unwrap();
    }
    (ring, key)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_text_and_binary(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
        // Up to 300 bytes: contexts that fit the 256-byte stack AAD buffer and ones that don't.
        context in proptest::collection::vec(any::<u8>(), 0..300),
        issued_at in proptest::option::of(any::<u64>()),
        rotations in 0u32..4,
        by_passphrase in any::<bool>(),
        iterations in 1u32..4,
    ) {
        let ring = ring_with_rotations(rotations);
        let active = ring.active_version().unwrap();
        prop_assert_eq!(active, rotations + 1);
        let text = ring.encrypt(&plaintext, &context, issued_at).unwrap();
        let binary = ring.encrypt_binary(&plaintext, &context, issued_at).unwrap();
        let prefix = format!("kr1:v{active}:");
        prop_assert!(text.starts_with(&prefix));

        for token in [text.as_bytes(), binary.as_slice()] {
            prop_assert_eq!(&ring.decrypt(token, &context, None).unwrap(), &plaintext);
            let verified = ring.verify(token, &context, None).unwrap();
            prop_assert_eq!(verified.key_version, active);
            prop_assert_eq!(verified.issued_at, issued_at);
            let info = inspect(token).unwrap();
            prop_assert_eq!(info.key_version, Some(active));
            prop_assert_eq!(info.issued_at, issued_at);
            prop_assert_eq!(info.plaintext_len, Some(plaintext.len()));
            prop_assert_eq!(info.keyring_id, Some(ring.id().to_hex()));
            prop_assert!(!ring.needs_rewrap(token).unwrap());
            // Another context never opens it.
            let mut other = context.clone();
            other.push(0);
            prop_assert_eq!(ring.decrypt(token, &other, None).unwrap_err().code(), "decrypt_failed");
        }
        prop_assert_eq!(inspect(text.as_bytes()).unwrap().format, TokenFormat::KeyrollV1Text);
        prop_assert_eq!(inspect(&binary).unwrap().format, TokenFormat::KeyrollV1Binary);

        // The keyring survives its document, and so do its envelopes.
        let reopened = through_document(&ring, by_passphrase, iterations);
        prop_assert_eq!(reopened.id(), ring.id());
        prop_assert_eq!(reopened.versions(), ring.versions());
        prop_assert_eq!(reopened.active_version(), Some(active));
        prop_assert_eq!(&reopened.decrypt(text.as_bytes(), &context, None).unwrap(), &plaintext);
        prop_assert_eq!(&reopened.decrypt(&binary, &context, None).unwrap(), &plaintext);
        let fresh = reopened.encrypt_binary(&plaintext, &context, issued_at).unwrap();
        prop_assert_eq!(&ring.decrypt(&fresh, &context, None).unwrap(), &plaintext);

        // Another keyring refuses it as such.
        let stranger = Keyring::generate(NOW).unwrap();
        prop_assert_eq!(stranger.decrypt(&binary, &context, None).unwrap_err().code(), "wrong_keyring");
    }

    #[test]
    fn ttl_follows_issued_at(
        issued_at in 0u64..u64::MAX / 2,
        age in 0u64..10_000,
        seconds in 0u64..10_000,
    ) {
        let ring = ring_with_rotations(0);
        let token = ring.encrypt_binary(b"x", b"", Some(issued_at)).unwrap();
        let ttl = Ttl { seconds, now: issued_at + age };
        let result = ring.decrypt(&token, b"", Some(ttl));
        if age <= seconds {
            prop_assert_eq!(result.unwrap(), b"x");
        } else {
            prop_assert_eq!(result.unwrap_err().code(), "expired");
        }
        // 60 s of clock skew are allowed, not 61.
        let early = |skew| ring.decrypt(&token, b"", Some(Ttl { seconds, now: issued_at.saturating_sub(skew) }));
        prop_assert!(issued_at < 60 || early(60).is_ok());
        prop_assert!(issued_at < 61 || early(61).unwrap_err().code() == "expired");
        let untimed = ring.encrypt_binary(b"x", b"", None).unwrap();
        prop_assert_eq!(ring.decrypt(&untimed, b"", Some(ttl)).unwrap_err().code(), "missing_timestamp");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every bit of a binary envelope matters, and the error names the field that changed.
    #[test]
    fn every_bit_flip_of_a_binary_envelope_is_refused(
        plaintext in proptest::collection::vec(any::<u8>(), 0..48),
        context in proptest::collection::vec(any::<u8>(), 0..16),
        issued_at in proptest::option::of(any::<u64>()),
        rotations in 0u32..3,
    ) {
        let ring = ring_with_rotations(rotations);
        let envelope = ring.encrypt_binary(&plaintext, &context, issued_at).unwrap();
        let header_len = if issued_at.is_some() { 26 } else { 18 };
        for bit in 0..envelope.len() * 8 {
            let mut bad = envelope.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let byte = bit / 8;
            let err = ring.decrypt(&bad, &context, None).unwrap_err();
            coded::<()>(&Err(err.clone()));
            prop_assert_eq!(ring.verify(&bad, &context, None).unwrap_err().code(), err.code());
            prop_assert_eq!(ring.rewrap_binary(&bad, &context).unwrap_err().code(), err.code());
            let code = err.code();
            let expected: &[&str] = match byte {
                // Magic (the token is no longer a v1 envelope), format version, algorithm.
                0..=4 => &["unsupported_format"],
                // Flags: an unknown bit, or the issued-at bit (the header changes length).
                5 => &["unsupported_format", "malformed", "decrypt_failed", "unknown_key_version", "wrong_keyring"],
                6..=13 => &["wrong_keyring"],
                // Key version: one the keyring lacks, 0, or another of its versions (whose key
                // then fails to authenticate).
                14..=17 => &["unknown_key_version", "malformed", "decrypt_failed"],
                _ => &["decrypt_failed"],
            };
            prop_assert!(expected.contains(&code), "bit {} (byte {}, header {}): {}", bit, byte, header_len, code);
        }
    }

    /// Sampled changes of single characters of the text form: all refused, with a typed error.
    #[test]
    fn character_changes_of_a_text_envelope_are_refused(
        plaintext in proptest::collection::vec(any::<u8>(), 0..48),
        issued_at in proptest::option::of(any::<u64>()),
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 64),
    ) {
        let ring = ring_with_rotations(1);
        let text = ring.encrypt(&plaintext, b"ctx", issued_at).unwrap().into_bytes();
        for (index, replacement) in changes {
            let at = index.index(text.len());
            if text[at] == replacement {
                continue;
            }
            let mut bad = text.clone();
            bad[at] = replacement;
            let result = ring.decrypt(&bad, b"ctx", None);
            prop_assert!(result.is_err(), "char {} -> {:?} still decrypts", at, replacement as char);
            coded(&result);
            let code = result.unwrap_err().code();
            let allowed: &[&str] = if at < 7 {
                // "kr1:v2:" itself.
                &["unsupported_format", "malformed"]
            } else {
                &["malformed", "unsupported_format", "decrypt_failed", "wrong_keyring", "unknown_key_version"]
            };
            prop_assert!(allowed.contains(&code), "char {}: {}", at, code);
        }
        // Whitespace and padding are not tolerated either.
        for extra in [&b"="[..], b" ", b"\n"] {
            let mut bad = text.clone();
            bad.extend_from_slice(extra);
            prop_assert_eq!(ring.decrypt(&bad, b"ctx", None).unwrap_err().code(), "malformed");
        }
        // Nor is any truncation.
        for len in 0..text.len() {
            let result = ring.decrypt(&text[..len], b"ctx", None);
            prop_assert!(result.is_err());
            coded(&result);
        }
    }
}

/// Bytes shaped like tokens, so that the decoders get past their first checks.
fn token_like() -> impl Strategy<Value = Vec<u8>> {
    let any_bytes = proptest::collection::vec(any::<u8>(), 0..300);
    let b64 = || proptest::string::string_regex("[A-Za-z0-9_=+/-]{0,200}").unwrap();
    prop_oneof![
        any_bytes.clone(),
        // v1 binary: the magic, then anything.
        any_bytes
            .clone()
            .prop_map(|rest| [&[0xC4, 0x6B, 0x72][..], &rest].concat()),
        // v1 binary with a plausible header.
        (any::<u8>(), any::<[u8; 12]>(), any_bytes.clone()).prop_map(|(flags, mid, rest)| {
            [&[0xC4, 0x6B, 0x72, 1, 1, flags & 3][..], &mid, &rest].concat()
        }),
        // v1 text: the prefix, a version, base64url-ish.
        ("[0-9]{0,12}", b64()).prop_map(|(v, body)| format!("kr1:v{v}:{body}").into_bytes()),
        ("kr[0-9]{0,3}:?v?[0-9]{0,3}:?", b64())
            .prop_map(|(p, body)| format!("{p}{body}").into_bytes()),
        // Fernet-ish: starts with "gAAAAA".
        b64().prop_map(|body| format!("gAAAAA{body}").into_bytes()),
        // base64 of anything (what raw GCM blobs look like).
        any_bytes.prop_map(|raw| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .encode(raw)
                .into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic(token in token_like(), context in proptest::collection::vec(any::<u8>(), 0..8)) {
        let (legacy, _) = legacy_ring();
        let plain = ring_with_rotations(0);
        let info = inspect(&token);
        coded(&info);
        for ring in [&legacy, &plain] {
            coded(&ring.needs_rewrap(&token));
            for ctx in [&b""[..], &context] {
                let plaintext = ring.decrypt(&token, ctx, None);
                coded(&plaintext);
                coded(&ring.verify(&token, ctx, Some(Ttl { seconds: 60, now: NOW })));
                let rewrapped = ring.rewrap(&token, ctx);
                coded(&rewrapped);
                prop_assert_eq!(plaintext.is_ok(), rewrapped.is_ok());
            }
        }
        let batch = legacy.decrypt_many(&[token.as_slice(), b"", b"kr1:v1:"], b"", None);
        prop_assert_eq!(batch.len(), 3);
        batch.iter().for_each(coded);
    }

    #[test]
    fn from_document_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let master = SecretKey::from_bytes([1; 32]);
        for unlock in [Unlock::MasterKey(&master), Unlock::Passphrase(b"pw")] {
            let err = Keyring::from_document(&bytes, unlock).unwrap_err();
            prop_assert_eq!(err.code(), "keyring_corrupt");
        }
    }
}

/// A sealed document of a keyring with every state and a Fernet import, to be mutated.
fn sample_document(master: &SecretKey) -> Vec<u8> {
    let (mut ring, _) = legacy_ring();
    ring.rotate(NOW + 1).unwrap();
    ring.rotate(NOW + 2).unwrap();
    ring.add_version(NOW + 3).unwrap();
    ring.set_state(1, KeyState::Compromised, Some("test"), NOW)
        .unwrap();
    ring.set_state(2, KeyState::Disabled, None, NOW).unwrap();
    ring.to_document(Protection::MasterKey(master)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A document with any one byte changed (or cut short) never opens, never panics, and
    /// reports `keyring_corrupt` (or `bad_passphrase` when the check value itself changed).
    #[test]
    fn altered_documents_are_refused(
        index in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let master = SecretKey::from_bytes([3; 32]);
        let doc = sample_document(&master);
        let at = index.index(doc.len());
        let bad = if cut {
            doc[..at].to_vec()
        } else {
            let mut bad = doc.clone();
            bad[at] = replacement;
            bad
        };
        let result = Keyring::from_document(&bad, Unlock::MasterKey(&master));
        match result {
            // A change to JSON whitespace, or a hex digit's case, may leave the same document.
            Ok(ring) => {
                let reopened = Keyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap();
                prop_assert_eq!(ring.versions(), reopened.versions());
                prop_assert!(!cut);
                prop_assert!(replacement == doc[at] || replacement.is_ascii_whitespace() || doc[at].is_ascii_whitespace()
                    || doc[at].is_ascii_hexdigit(), "byte {} {:?} -> {:?}", at, doc[at] as char, replacement as char);
            }
            Err(e) => prop_assert!(matches!(e.code(), "keyring_corrupt" | "bad_passphrase"), "{:?}", e),
        }
    }
}

/// (token, plaintext, context, the version it was written under)
type Written = (Vec<u8>, Vec<u8>, Vec<u8>, u32);

#[derive(Clone, Debug)]
enum Op {
    Encrypt(Vec<u8>, bool),
    Rotate,
    AddThenPromote,
    EmergencyRotate,
    DisableOldest,
    EnableAll,
    SaveAndLoad,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::collection::vec(any::<u8>(), 0..64), any::<bool>()).prop_map(|(p, t)| Op::Encrypt(p, t)),
        2 => Just(Op::Rotate),
        1 => Just(Op::AddThenPromote),
        1 => Just(Op::EmergencyRotate),
        1 => Just(Op::DisableOldest),
        1 => Just(Op::EnableAll),
        1 => Just(Op::SaveAndLoad),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn rotation_sequences_keep_old_envelopes_readable(ops in proptest::collection::vec(op(), 1..24)) {
        let mut ring = Keyring::generate(NOW).unwrap();
        let mut now = NOW;
        let mut written: Vec<Written> = Vec::new();
        for op in ops {
            now += 86_400;
            match op {
                Op::Encrypt(plaintext, text) => {
                    let context = format!("row:{}", written.len()).into_bytes();
                    let token = if text {
                        ring.encrypt(&plaintext, &context, Some(now)).unwrap().into_bytes()
                    } else {
                        ring.encrypt_binary(&plaintext, &context, Some(now)).unwrap()
                    };
                    written.push((token, plaintext, context, ring.active_version().unwrap()));
                }
                Op::Rotate => { ring.rotate(now).unwrap(); }
                Op::AddThenPromote => {
                    let v = ring.add_version(now).unwrap();
                    prop_assert_eq!(ring.version(v).unwrap().state, KeyState::Pending);
                    // A pending version reads (nothing yet) but does not write.
                    let before = ring.active_version();
                    let probe = ring.encrypt_binary(b"p", b"", None).unwrap();
                    prop_assert_eq!(inspect(&probe).unwrap().key_version, before);
                    ring.promote(v, now).unwrap();
                }
                Op::EmergencyRotate => {
                    let old = ring.active_version().unwrap();
                    ring.emergency_rotate("leaked in a test", now).unwrap();
                    prop_assert_eq!(ring.version(old).unwrap().state, KeyState::Compromised);
                }
                Op::DisableOldest => {
                    let oldest = ring.versions().into_iter()
                        .find(|v| v.state == KeyState::DecryptOnly).map(|v| v.version);
                    if let Some(v) = oldest {
                        ring.set_state(v, KeyState::Disabled, Some("paused"), now).unwrap();
                    }
                }
                Op::EnableAll => {
                    for v in ring.versions() {
                        if v.state == KeyState::Disabled {
                            ring.set_state(v.version, KeyState::DecryptOnly, None, now).unwrap();
                        }
                    }
                }
                Op::SaveAndLoad => {
                    ring = through_document(&ring, false, 1);
                }
            }
        }
        let active = ring.active_version().unwrap();
        for (token, plaintext, context, version) in &written {
            let state = ring.version(*version).unwrap().state;
            let direct = ring.decrypt(token, context, None);
            let opt_in = RewrapOptions { allow_compromised: true };
            let rewrapped = ring
                .rewrap_binary_to_context_with(token, context, context, opt_in)
                .map(|r| r.token);
            match state {
                KeyState::Active | KeyState::DecryptOnly => {
                    prop_assert_eq!(direct.as_ref().unwrap(), plaintext);
                }
                KeyState::Compromised => {
                    prop_assert_eq!(direct.unwrap_err().code(), "key_compromised");
                    // Without the opt-in a rewrap refuses it like decrypt does.
                    prop_assert_eq!(
                        ring.rewrap_binary(token, context).unwrap_err().code(),
                        "key_compromised"
                    );
                }
                KeyState::Disabled => {
                    prop_assert_eq!(direct.unwrap_err().code(), "key_disabled");
                    prop_assert_eq!(rewrapped.unwrap_err().code(), "key_disabled");
                    continue;
                }
                other => prop_assert!(false, "unexpected state {:?}", other),
            }
            // Rewrap moves every readable envelope (compromised ones on opt-in) to the active version.
            let fresh = rewrapped.unwrap();
            prop_assert_eq!(inspect(&fresh).unwrap().key_version, Some(active));
            prop_assert!(!ring.needs_rewrap(&fresh).unwrap());
            prop_assert_eq!(ring.needs_rewrap(token).unwrap(), *version != active);
            prop_assert_eq!(&ring.decrypt(&fresh, context, None).unwrap(), plaintext);
            // The issued-at time travels with it.
            prop_assert_eq!(inspect(&fresh).unwrap().issued_at, inspect(token).unwrap().issued_at);
        }
    }
}

#[test]
fn legacy_tokens_round_trip_through_rewrap() {
    let (ring, key) = legacy_ring();
    for (i, plaintext) in [&b""[..], b"a", &[0u8; 100]].into_iter().enumerate() {
        let token = fernet::encrypt(&key, plaintext, NOW, &[i as u8; 16]);
        assert_eq!(
            ring.decrypt(token.as_bytes(), b"", None).unwrap(),
            plaintext
        );
        let fresh = ring.rewrap(token.as_bytes(), b"").unwrap();
        assert!(fresh.starts_with("kr1:v1:"));
        assert_eq!(
            ring.decrypt(fresh.as_bytes(), b"", None).unwrap(),
            plaintext
        );
        // Every single-bit flip of the raw Fernet bytes is refused.
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(&token)
            .unwrap();
        for bit in 0..raw.len() * 8 {
            let mut bad = raw.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let bad = base64::engine::general_purpose::URL_SAFE.encode(bad);
            let result = ring.decrypt(bad.as_bytes(), b"", None);
            assert!(result.is_err(), "Fernet bit {bit}");
            coded(&result);
        }
    }
    // Raw GCM blob with a version byte, and without.
    for (key, prefix) in [([0x11u8; 32], Some(3u8)), ([0x22u8; 32], None)] {
        let aead = AeadKey::new(&SecretKey::from_bytes(key));
        let nonce = [3u8; 12];
        let mut blob: Vec<u8> = prefix.into_iter().collect();
        blob.extend_from_slice(&nonce);
        aead.seal_append(&nonce, b"", b"legacy", &mut blob);
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(&blob);
        assert_eq!(
            ring.decrypt(token.as_bytes(), b"", None).unwrap(),
            b"legacy"
        );
        let fresh = ring.rewrap(token.as_bytes(), b"").unwrap();
        assert_eq!(
            ring.decrypt(fresh.as_bytes(), b"", None).unwrap(),
            b"legacy"
        );
        for bit in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let bad = base64::engine::general_purpose::STANDARD.encode(bad);
            let result = ring.decrypt(bad.as_bytes(), b"", None);
            assert!(result.is_err(), "raw bit {bit}");
            coded(&result);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// The text form's base64url reading (SIMD since issue 14) is exactly as strict as the
    /// `base64` crate's URL_SAFE_NO_PAD engine it replaced: the same strings are refused as
    /// bad base64 (non-canonical trailing bits, a length of 4n+1, padding, whitespace,
    /// characters of the other alphabet), and the same are accepted.
    #[test]
    fn text_base64_is_as_strict_as_the_base64_crate(
        body in proptest::collection::vec(
            proptest::sample::select(b"AQgw_-+/=aZ09 \nB".to_vec()), 0..120),
    ) {
        use base64::Engine as _;
        let reference = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&body).is_ok();
        let token = [b"kr1:v1:".as_slice(), &body].concat();
        let result = Keyring::generate(NOW).unwrap().decrypt(&token, b"", None);
        coded(&result);
        let bad_base64 = matches!(&result, Err(e) if e.to_string().contains("bad base64"));
        prop_assert_eq!(bad_base64, !reference, "{:?}", String::from_utf8_lossy(&body));
    }
}
