//! Documents sealed under a key-encryption key wrapped by a key-management service
//! (`"method": "wrapped-key"`, wire format §7): what the document records, and every way to
//! open one wrongly.
#![allow(clippy::unwrap_used, clippy::type_complexity, missing_docs)]

use keyroll::{document_sealing, Error, KeyWrap, Keyring, Protection, Sealing, SecretKey, Unlock};
use std::collections::BTreeMap;

const NOW: u64 = 1_700_000_000;

fn wrap() -> KeyWrap {
    KeyWrap {
        provider: "aws-kms".into(),
        key_id: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            .into(),
        context: BTreeMap::from([
            ("app".to_string(), "payments".to_string()),
            ("keyring".to_string(), "default".to_string()),
        ]),
        wrapped: vec![7u8; 184],
    }
}

fn sealed(kek: &SecretKey, w: &KeyWrap) -> (Keyring, Vec<u8>) {
    let mut ring = Keyring::generate(NOW).unwrap();
    ring.rotate(NOW + 10).unwrap();
    let doc = ring
        .to_document(Protection::WrappedKey { key: kek, wrap: w })
        .unwrap();
    (ring, doc)
}

#[test]
fn the_document_records_the_wrap_and_opens_with_the_unwrapped_key() {
    let kek = SecretKey::generate().unwrap();
    let (ring, doc) = sealed(&kek, &wrap());
    assert_eq!(document_sealing(&doc).unwrap(), Sealing::Wrapped(wrap()));
    let opened = Keyring::from_document(&doc, Unlock::Unwrapped(&kek)).unwrap();
    let envelope = ring.encrypt(b"card", b"ctx", None).unwrap();
    assert_eq!(
        opened.decrypt(envelope.as_bytes(), b"ctx", None).unwrap(),
        b"card"
    );
    assert_eq!(opened.generation(), 1);
    // Re-sealing a changed keyring reuses the wrap: no service call on save.
    let mut changed = opened;
    changed.rotate(NOW + 20).unwrap();
    let w = match document_sealing(&doc).unwrap() {
        Sealing::Wrapped(w) => w,
        other => panic!("{other:?}"),
    };
    let next = changed
        .to_document(Protection::WrappedKey {
            key: &kek,
            wrap: &w,
        })
        .unwrap();
    assert_eq!(document_sealing(&next).unwrap(), Sealing::Wrapped(wrap()));
    assert_eq!(Keyring::check_successor(Some(&doc), &next).unwrap(), 2);
}

#[test]
fn a_wrong_key_or_credential_kind_is_bad_passphrase() {
    let kek = SecretKey::generate().unwrap();
    let (_, doc) = sealed(&kek, &wrap());
    let other = SecretKey::generate().unwrap();
    for unlock in [
        Unlock::Unwrapped(&other),
        Unlock::MasterKey(&kek),
        Unlock::Passphrase(b"correct horse"),
    ] {
        let e = Keyring::from_document(&doc, unlock).unwrap_err();
        assert!(matches!(e, Error::BadPassphrase), "{unlock:?}: {e:?}");
    }
    // And the unwrapped key does not open a master-key document made from the same bytes.
    let ring = Keyring::generate(NOW).unwrap();
    let master = ring.to_document(Protection::MasterKey(&kek)).unwrap();
    assert!(matches!(
        Keyring::from_document(&master, Unlock::Unwrapped(&kek)),
        Err(Error::BadPassphrase)
    ));
}

fn edit(doc: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn the_recorded_wrap_is_under_the_mac() {
    let kek = SecretKey::generate().unwrap();
    let (_, doc) = sealed(&kek, &wrap());
    // Pointing readers at another key or context is an attack on availability or, with a
    // service that ignores context, on policy: each is refused as an altered document.
    let edits: Vec<Box<dyn Fn(&mut serde_json::Value)>> = vec![
        Box::new(|v| v["body"]["kek"]["key_id"] = "alias/other".into()),
        Box::new(|v| v["body"]["kek"]["context"]["app"] = "billing".into()),
        Box::new(|v| {
            v["body"]["kek"]["context"]
                .as_object_mut()
                .unwrap()
                .remove("keyring");
        }),
        Box::new(|v| v["body"]["kek"]["provider"] = "gcp-kms".into()),
        Box::new(|v| v["body"]["kek"]["wrapped"] = "AQID".into()),
    ];
    for (i, e) in edits.into_iter().enumerate() {
        let bad = edit(&doc, e);
        let err = Keyring::from_document(&bad, Unlock::Unwrapped(&kek)).unwrap_err();
        assert!(matches!(err, Error::KeyringCorrupt(_)), "edit {i}: {err:?}");
    }
    let unknown = edit(&doc, |v| v["body"]["kek"]["region"] = "us-east-1".into());
    assert!(matches!(
        Keyring::from_document(&unknown, Unlock::Unwrapped(&kek)),
        Err(Error::KeyringCorrupt(_))
    ));
}

#[test]
fn a_wrap_outside_its_bounds_is_refused_when_sealing_and_reading() {
    let kek = SecretKey::generate().unwrap();
    let ring = Keyring::generate(NOW).unwrap();
    let bad: Vec<Box<dyn Fn(&mut KeyWrap)>> = vec![
        Box::new(|w| w.provider = "AWS KMS".into()),
        Box::new(|w| w.provider = String::new()),
        Box::new(|w| w.key_id = String::new()),
        Box::new(|w| w.key_id = "key\n".into()),
        Box::new(|w| w.wrapped = Vec::new()),
        Box::new(|w| w.wrapped = vec![0; 8193]),
        Box::new(|w| {
            w.context = (0..17)
                .map(|i| (format!("k{i}"), "v".to_string()))
                .collect();
        }),
        Box::new(|w| {
            w.context.insert("k".into(), String::new());
        }),
    ];
    for (i, f) in bad.into_iter().enumerate() {
        let mut w = wrap();
        f(&mut w);
        let e = ring
            .to_document(Protection::WrappedKey {
                key: &kek,
                wrap: &w,
            })
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "case {i}: {e:?}");
    }
    let (_, doc) = sealed(&kek, &wrap());
    let bad = edit(&doc, |v| v["body"]["kek"]["provider"] = "Not Valid".into());
    assert!(matches!(
        document_sealing(&bad),
        Err(Error::KeyringCorrupt(_))
    ));
}

#[test]
fn debug_shows_where_never_the_key() {
    let kek = SecretKey::generate().unwrap();
    let w = wrap();
    let shown = format!(
        "{:?} {:?}",
        Protection::WrappedKey {
            key: &kek,
            wrap: &w
        },
        Unlock::Unwrapped(&kek)
    );
    assert!(
        shown.contains("aws-kms") && shown.contains("<redacted>"),
        "{shown}"
    );
    let hex: String = kek.expose().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(&hex));
}
