//! Signing keyrings through the public API: messages, JWTs, states, documents, keysets.
#![allow(clippy::unwrap_used)]

use keyroll::signing::{JwtOptions, SigningAlgorithm, SigningKeyring, BACKEND};
use keyroll::{KeyState, Keyring, Protection, SecretKey, Unlock};

const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"django-insecure-0123456789abcdefghijklmnopqrstuv";

fn master() -> SecretKey {
    SecretKey::from_bytes([7u8; 32])
}

#[test]
fn messages_round_trip_and_bind_context_on_both_algorithms() {
    eprintln!("signing backend: {BACKEND}");
    for algorithm in [SigningAlgorithm::HmacSha256, SigningAlgorithm::Ed25519] {
        let ring = SigningKeyring::generate(algorithm, NOW).unwrap();
        let signed = ring.sign(b"hello", b"ctx").unwrap();
        assert!(signed.starts_with("krs1:v1:"), "{signed}");
        let verified = ring.verify(signed.as_bytes(), b"ctx").unwrap();
        assert_eq!(verified.message, b"hello");
        assert_eq!((verified.key_version, verified.algorithm), (1, algorithm));
        let binary = ring.sign_binary(b"hello", b"ctx").unwrap();
        assert_eq!(ring.verify(&binary, b"ctx").unwrap().message, b"hello");
        assert_eq!(
            ring.verify(signed.as_bytes(), b"other").unwrap_err().code(),
            "signature_invalid"
        );
        let other = SigningKeyring::generate(algorithm, NOW).unwrap();
        assert_eq!(
            other.verify(signed.as_bytes(), b"ctx").unwrap_err().code(),
            "wrong_keyring"
        );
        let mut tampered = binary.clone();
        tampered[18] ^= 1;
        assert_eq!(
            ring.verify(&tampered, b"ctx").unwrap_err().code(),
            "signature_invalid"
        );
    }
}

#[test]
fn states_decide_who_signs_and_who_verifies() {
    let mut ring = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
    let v1 = ring.sign(b"m", b"").unwrap();
    let v2 = ring.add_version(SigningAlgorithm::Ed25519, NOW).unwrap();
    // Pending: verifies, does not sign.
    assert_eq!(ring.version(v2).unwrap().state, KeyState::Pending);
    assert!(ring.sign(b"m", b"").unwrap().starts_with("krs1:v1:"));
    ring.promote(v2, NOW + 1).unwrap();
    let signed2 = ring.sign(b"m", b"").unwrap();
    assert!(signed2.starts_with("krs1:v2:"));
    assert_eq!(ring.verify(v1.as_bytes(), b"").unwrap().key_version, 1);
    ring.set_state(1, KeyState::Disabled, None, NOW + 2)
        .unwrap();
    assert_eq!(
        ring.verify(v1.as_bytes(), b"").unwrap_err().code(),
        "key_disabled"
    );
    ring.set_state(1, KeyState::Compromised, None, NOW + 2)
        .unwrap();
    assert_eq!(
        ring.verify(v1.as_bytes(), b"").unwrap_err().code(),
        "key_compromised"
    );
    ring.emergency_rotate("leak", NOW + 3).unwrap();
    assert_eq!(
        ring.verify(signed2.as_bytes(), b"").unwrap_err().code(),
        "key_compromised"
    );
}

#[test]
fn jwt_rotation_from_a_legacy_secret_keeps_old_tokens() {
    let mut ring = SigningKeyring::from_hmac_secret(SECRET, NOW).unwrap();
    let old = ring
        .sign_jwt(r#"{"sub":"42","exp":1700003600}"#, NOW)
        .unwrap();
    ring.rotate(NOW + 10).unwrap();
    let new = ring
        .sign_jwt(r#"{"sub":"42","exp":1700003600}"#, NOW + 10)
        .unwrap();
    let options = JwtOptions::default();
    assert_eq!(
        ring.verify_jwt(&old, &options, NOW + 20)
            .unwrap()
            .key_version,
        1
    );
    assert_eq!(
        ring.verify_jwt(&new, &options, NOW + 20)
            .unwrap()
            .key_version,
        2
    );
    assert_eq!(
        ring.verify_jwt(&new, &options, 1_700_003_600)
            .unwrap_err()
            .code(),
        "expired"
    );
    // The same secret, in another process, makes the same keyring id (same kid).
    assert_eq!(
        SigningKeyring::from_hmac_secret(SECRET, NOW).unwrap().id(),
        ring.id()
    );
    assert_eq!(
        SigningKeyring::from_hmac_secret(b"short", NOW)
            .unwrap_err()
            .code(),
        "invalid_key"
    );
}

#[test]
fn documents_round_trip_and_refuse_the_other_kind() {
    let mut ring = SigningKeyring::from_hmac_secret(SECRET, NOW).unwrap();
    ring.rotate_to(SigningAlgorithm::Ed25519, NOW).unwrap();
    let key = master();
    let doc = ring.to_document(Protection::MasterKey(&key)).unwrap();
    let back = SigningKeyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap();
    assert_eq!(back.versions(), ring.versions());
    assert_eq!(back.generation(), 1);
    let token = ring.sign_jwt(r#"{"sub":"1"}"#, NOW).unwrap();
    assert_eq!(
        back.verify_jwt(&token, &JwtOptions::default(), NOW)
            .unwrap()
            .key_version,
        2
    );
    assert_eq!(
        Keyring::from_document(&doc, Unlock::MasterKey(&key))
            .unwrap_err()
            .code(),
        "wrong_keyring_kind"
    );
    let enc = Keyring::generate(NOW)
        .unwrap()
        .to_document(Protection::MasterKey(&key))
        .unwrap();
    assert_eq!(
        SigningKeyring::from_document(&enc, Unlock::MasterKey(&key))
            .unwrap_err()
            .code(),
        "wrong_keyring_kind"
    );
}

#[test]
fn a_public_keyset_alone_verifies_ed25519() {
    let ring = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
    let keyset = ring.public_keyset().unwrap();
    let verifier = SigningKeyring::from_public_keyset(&keyset).unwrap();
    assert!(verifier.is_verify_only());
    let token = ring.sign_jwt(r#"{"sub":"1"}"#, NOW).unwrap();
    verifier
        .verify_jwt(&token, &JwtOptions::default(), NOW)
        .unwrap();
    let signed = ring.sign(b"m", b"c").unwrap();
    assert_eq!(
        verifier.verify(signed.as_bytes(), b"c").unwrap().message,
        b"m"
    );
    assert_eq!(verifier.sign(b"m", b"c").unwrap_err().code(), "read_only");
    assert!(ring.jwks().unwrap().contains(r#""kty":"OKP""#));
    assert!(!format!("{ring:?}").contains("seed"));
}

#[test]
fn debug_output_and_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<SigningKeyring>();
    let mut ring = SigningKeyring::from_hmac_secret(SECRET, NOW).unwrap();
    ring.add_version(SigningAlgorithm::Ed25519, NOW).unwrap();
    let debug = format!("{ring:?}");
    assert!(
        debug.contains("hmac_sha256_legacy") && debug.contains("ed25519"),
        "{debug}"
    );
    assert!(
        !debug.contains(std::str::from_utf8(SECRET).unwrap()),
        "{debug}"
    );
    assert!(!debug.contains(&hex::encode(SECRET)), "{debug}");
}

#[test]
fn a_verify_only_keyring_refuses_every_change() {
    let ring = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
    let mut app = SigningKeyring::from_public_keyset(&ring.public_keyset().unwrap()).unwrap();
    let before = app.versions();
    for err in [
        app.add_version(SigningAlgorithm::Ed25519, NOW).unwrap_err(),
        app.rotate(NOW).unwrap_err(),
        app.promote(1, NOW).unwrap_err(),
        app.set_state(1, KeyState::Disabled, None, NOW).unwrap_err(),
        app.import_hmac_secret(SECRET, NOW).unwrap_err(),
        app.sign_jwt("{}", NOW).unwrap_err(),
    ] {
        assert_eq!(err.code(), "read_only");
    }
    assert_eq!(app.versions(), before);
    // HMAC versions are not in a keyset: an HS256 token names a version it lacks.
    let mut mixed = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
    mixed.rotate_to(SigningAlgorithm::HmacSha256, NOW).unwrap();
    let token = mixed.sign_jwt("{}", NOW).unwrap();
    let app = SigningKeyring::from_public_keyset(&mixed.public_keyset().unwrap()).unwrap();
    assert_eq!(
        app.verify_jwt(&token, &JwtOptions::default(), NOW)
            .unwrap_err()
            .code(),
        "unknown_key_version"
    );
}

#[test]
fn every_bit_flip_and_truncation_of_a_signed_message_is_refused() {
    for algorithm in [SigningAlgorithm::HmacSha256, SigningAlgorithm::Ed25519] {
        let ring = SigningKeyring::generate(algorithm, NOW).unwrap();
        let signed = ring.sign_binary(b"twenty bytes of data", b"ctx").unwrap();
        for i in 0..signed.len() * 8 {
            let mut flipped = signed.clone();
            flipped[i / 8] ^= 1 << (i % 8);
            let err = ring.verify(&flipped, b"ctx").unwrap_err();
            assert!(
                keyroll::Error::CODES.contains(&err.code()),
                "bit {i}: {err}"
            );
        }
        for len in 0..signed.len() {
            assert!(ring.verify(&signed[..len], b"ctx").is_err(), "{len} bytes");
        }
        let text = ring.sign(b"twenty bytes of data", b"ctx").unwrap();
        for len in 0..text.len() {
            assert!(
                ring.verify(&text.as_bytes()[..len], b"ctx").is_err(),
                "{len} chars"
            );
        }
    }
}
