//! Findings of the security review (issue 9) that live in the keyring's own rules: each test
//! failed on the code before its fix.
#![allow(clippy::unwrap_used, missing_docs)]

use keyroll::aead::AeadKey;
use keyroll::{
    FernetKey, KeyState, Keyring, RawGcmImport, RawGcmKey, RewrapOptions, RewrapRequest, SecretKey,
};
use std::collections::HashMap;
use zeroize::Zeroizing;

const NOW: u64 = 1_700_000_000;

/// #4: a raw AES-GCM blob whose base64 starts with `kr` and a digit (its first bytes are
/// `92 BD`–`92 BF`) is claimed by the text parser; with raw keys imported it must still open.
#[test]
fn raw_gcm_blobs_that_look_like_text_envelopes_still_open() {
    use base64::Engine as _;
    let raw_key = [7u8; 32];
    let mut ring = Keyring::generate(NOW).unwrap();
    ring.import_raw_gcm(
        &RawGcmImport {
            key: RawGcmKey::Bytes(Zeroizing::new(raw_key.to_vec())),
            version_byte: None,
        },
        NOW,
    )
    .unwrap();
    let aead = AeadKey::new(&SecretKey::from_bytes(raw_key));
    for third in [0x00u8, 0x40, 0x80, 0xC0] {
        let mut nonce = [0x5Au8; 12];
        nonce[..3].copy_from_slice(&[0x92, 0xBE, third]);
        let mut blob = nonce.to_vec();
        aead.seal_append(&nonce, b"", b"legacy row", &mut blob);
        let text = base64::engine::general_purpose::STANDARD.encode(&blob);
        assert!(text.starts_with("kr") && text.as_bytes()[2].is_ascii_digit());
        assert_eq!(
            ring.decrypt(text.as_bytes(), b"", None).unwrap(),
            b"legacy row"
        );
        let moved = ring.rewrap(text.as_bytes(), b"").unwrap();
        assert!(moved.starts_with("kr1:v1:"));
    }
    // A damaged blob of that shape gives the text reading's error, not a misdecryption.
    let mut nonce = [0u8; 12];
    nonce[..2].copy_from_slice(&[0x92, 0xBE]);
    let mut blob = nonce.to_vec();
    aead.seal_append(&nonce, b"", b"x", &mut blob);
    *blob.last_mut().unwrap() ^= 1;
    let text = base64::engine::general_purpose::STANDARD.encode(&blob);
    assert!(ring.decrypt(text.as_bytes(), b"", None).is_err());
    // Without raw keys the text reading alone decides, as before.
    let plain = Keyring::generate(NOW).unwrap();
    assert!(plain.decrypt(text.as_bytes(), b"", None).is_err());
}

/// #8: rewrap reads compromised versions only on explicit opt-in, and says so per item.
#[test]
fn rewrap_batch_refuses_compromised_input_unless_asked_and_reports_it() {
    let mut ring = Keyring::generate(NOW).unwrap();
    let forged_or_not = ring.encrypt(b"v1 data", b"a", Some(NOW)).unwrap();
    ring.emergency_rotate("leak", NOW + 1).unwrap();
    let fresh = ring.encrypt(b"v2 data", b"b", None).unwrap();
    let items = [
        RewrapRequest {
            token: forged_or_not.as_bytes(),
            from: b"a",
            to: b"a2",
            binary: false,
        },
        RewrapRequest {
            token: fresh.as_bytes(),
            from: b"b",
            to: b"b2",
            binary: true,
        },
    ];
    let refused = ring.rewrap_batch(&items, RewrapOptions::default());
    assert_eq!(refused[0].as_ref().unwrap_err().code(), "key_compromised");
    assert_eq!(refused[1].as_ref().unwrap().from_version, 2);
    let opt_in = RewrapOptions {
        allow_compromised: true,
    };
    let moved = ring.rewrap_batch(&items, opt_in);
    let first = moved[0].as_ref().unwrap();
    assert_eq!((first.from_version, first.from_compromised), (1, true));
    assert!(first.token.starts_with(b"kr1:v2:"));
    assert_eq!(ring.decrypt(&first.token, b"a2", None).unwrap(), b"v1 data");
    let second = moved[1].as_ref().unwrap();
    assert!(!second.from_compromised);
    assert_eq!(
        ring.decrypt(&second.token, b"b2", None).unwrap(),
        b"v2 data"
    );
    // Every nonce of a batch is distinct.
    let again = ring.rewrap_batch(&[items[1]; 64], RewrapOptions::default());
    let mut nonces: Vec<Vec<u8>> = again
        .iter()
        .map(|r| r.as_ref().unwrap().token[18..30].to_vec())
        .collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 64);
}

/// #9: an export carries exactly the versions named, never compromised, disabled, destroyed
/// or pending material.
#[test]
fn decrypt_only_exports_carry_only_named_trusted_versions() {
    let mut ring = Keyring::generate(NOW).unwrap();
    ring.rotate(NOW).unwrap(); // v2 active, v1 decrypt-only
    ring.rotate(NOW).unwrap(); // v3 active, v2 decrypt-only
    ring.set_state(1, KeyState::Compromised, None, NOW).unwrap();
    ring.add_version(NOW).unwrap(); // v4 pending
    assert_eq!(
        ring.export_decrypt_only(&[]).unwrap_err().code(),
        "invalid_argument"
    );
    for bad in [1, 4] {
        assert_eq!(
            ring.export_decrypt_only(&[3, bad]).unwrap_err().code(),
            "invalid_argument",
            "version {bad}"
        );
    }
    ring.set_state(2, KeyState::Disabled, None, NOW).unwrap();
    assert_eq!(
        ring.export_decrypt_only(&[2]).unwrap_err().code(),
        "invalid_argument"
    );
    let export = ring.export_decrypt_only(&[3]).unwrap();
    let versions: Vec<(u32, KeyState)> = export
        .versions()
        .iter()
        .map(|v| (v.version, v.state))
        .collect();
    assert_eq!(versions, vec![(3, KeyState::DecryptOnly)]);
    assert!(export.is_read_only());
}

/// #12: the minimum version orders ordinary versions; a Fernet-active keyring cannot be given
/// a minimum that locks out its own output.
#[test]
fn min_version_is_defined_for_fernet_versions() {
    let key = FernetKey::from_secret(SecretKey::from_bytes([3; 32]));
    let mut ring = Keyring::from_fernet_keys(std::slice::from_ref(&key), NOW).unwrap();
    let own = ring.encrypt(b"mine", b"", None).unwrap();
    assert_eq!(
        ring.set_min_version(u32::MAX).unwrap_err().code(),
        "invalid_argument"
    );
    assert_eq!(ring.decrypt(own.as_bytes(), b"", None).unwrap(), b"mine");
    // An ordinary minimum is allowed and never applies to the Fernet versions.
    ring.set_min_version(1).unwrap();
    assert_eq!(ring.decrypt(own.as_bytes(), b"", None).unwrap(), b"mine");
    // After rotating to ordinary versions, the minimum retires ordinary ones below it.
    let v1 = ring.rotate(NOW).unwrap();
    assert_eq!(v1, 1);
    let under_v1 = ring.encrypt(b"v1", b"", None).unwrap();
    ring.rotate(NOW).unwrap();
    ring.set_min_version(2).unwrap();
    assert_eq!(
        ring.decrypt(under_v1.as_bytes(), b"", None)
            .unwrap_err()
            .code(),
        "below_minimum_version"
    );
    assert_eq!(ring.decrypt(own.as_bytes(), b"", None).unwrap(), b"mine");
}

/// #18: two different Fernet keys whose 31-bit versions collide are refused, all or nothing.
#[test]
fn colliding_fernet_versions_are_refused() {
    use sha2::{Digest, Sha256};
    // A birthday search over deterministic keys finds a colliding pair (~60,000 keys).
    let mut seen: HashMap<u32, FernetKey> = HashMap::new();
    let (a, b) = (0u64..)
        .find_map(|i| {
            let bytes: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            let key = FernetKey::from_secret(SecretKey::from_bytes(bytes));
            let version = key.keyroll_version();
            match seen.remove(&version) {
                Some(earlier) => Some((earlier, key)),
                None => {
                    seen.insert(version, key);
                    None
                }
            }
        })
        .unwrap();
    assert_eq!(a.keyroll_version(), b.keyroll_version());
    // In one list: refused, nothing imported.
    let mut ring = Keyring::generate(NOW).unwrap();
    let before = ring.versions();
    let err = ring
        .import_fernet(&[a.clone(), b.clone()], NOW)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_key");
    assert_eq!(ring.versions(), before);
    assert!(Keyring::from_fernet_keys(&[a.clone(), b.clone()], NOW).is_err());
    // One after the other: the second is refused and the first kept.
    ring.import_fernet(std::slice::from_ref(&a), NOW).unwrap();
    assert_eq!(
        ring.import_fernet(std::slice::from_ref(&b), NOW)
            .unwrap_err()
            .code(),
        "invalid_key"
    );
    // The same key again is not a collision.
    ring.import_fernet(&[a.clone(), a], NOW).unwrap();
}
