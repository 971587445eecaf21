//! The keyring's rules: state machine, rotation, exports, documents, batches, policy.
#![allow(clippy::unwrap_used, missing_docs)]

use keyroll::{
    Error, FernetKey, KeyState, Keyring, Policy, PolicyState, Protection, RewrapOptions, SecretKey,
    Ttl, Unlock,
};

const NOW: u64 = 1_700_000_000;
const DAY: u64 = 86_400;

fn state(ring: &Keyring, v: u32) -> KeyState {
    ring.version(v).unwrap().state
}

#[test]
fn keyring_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Keyring>();
}

#[test]
fn every_state_transition_is_checked() {
    use KeyState::*;
    let all = [
        Pending,
        Active,
        DecryptOnly,
        Disabled,
        Compromised,
        Destroyed,
    ];
    let allowed = [
        (Pending, Disabled),
        (Pending, Destroyed),
        (DecryptOnly, Disabled),
        (DecryptOnly, Compromised),
        (DecryptOnly, Destroyed),
        (Disabled, DecryptOnly),
        (Disabled, Compromised),
        (Disabled, Destroyed),
        (Compromised, Destroyed),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
    // And set_state enforces it on a real keyring.
    let mut ring = Keyring::generate(NOW).unwrap();
    let err = ring.set_state(1, Disabled, None, NOW).unwrap_err();
    assert_eq!(err.code(), "invalid_state_transition");
    ring.rotate(NOW).unwrap();
    ring.set_state(1, Compromised, Some("leak"), NOW).unwrap();
    let err = ring.set_state(1, DecryptOnly, None, NOW).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidStateTransition {
            version: 1,
            from: Compromised,
            to: DecryptOnly
        }
    );
    ring.set_state(1, Destroyed, None, NOW).unwrap();
    assert_eq!(
        ring.set_state(1, Disabled, None, NOW).unwrap_err().code(),
        "invalid_state_transition"
    );
    assert_eq!(
        ring.set_state(9, Disabled, None, NOW).unwrap_err().code(),
        "unknown_key_version"
    );
}

#[test]
fn two_phase_rotation_reads_before_it_writes() {
    let mut writer = Keyring::generate(NOW).unwrap();
    let pending = writer.add_version(NOW + DAY).unwrap();
    assert_eq!(state(&writer, pending), KeyState::Pending);
    assert_eq!(writer.active_version(), Some(1));
    // A reader that got the pending key reads what a promoted peer writes.
    let master = SecretKey::generate().unwrap();
    let doc = writer.to_document(Protection::MasterKey(&master)).unwrap();
    let mut peer = Keyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap();
    peer.promote(pending, NOW + 2 * DAY).unwrap();
    let token = peer.encrypt(b"fleet", b"", None).unwrap();
    assert!(token.starts_with("kr1:v2:"));
    assert_eq!(
        writer.decrypt(token.as_bytes(), b"", None).unwrap(),
        b"fleet"
    );
    // Still writes with v1 until promoted.
    assert!(writer
        .encrypt(b"x", b"", None)
        .unwrap()
        .starts_with("kr1:v1:"));
    writer.promote(pending, NOW + 2 * DAY).unwrap();
    assert_eq!(state(&writer, 1), KeyState::DecryptOnly);
    assert_eq!(writer.version(1).unwrap().retired_at, Some(NOW + 2 * DAY));
    assert_eq!(writer.version(2).unwrap().activated_at, Some(NOW + 2 * DAY));
    // Promoting the active version again is not a transition.
    assert_eq!(
        writer.promote(2, NOW).unwrap_err().code(),
        "invalid_state_transition"
    );
    // Rolling back to the previous key is allowed (decrypt_only -> active).
    writer.promote(1, NOW + 3 * DAY).unwrap();
    assert_eq!(writer.active_version(), Some(1));
}

#[test]
fn emergency_rotation_quarantines_the_old_key() {
    let mut ring = Keyring::generate(NOW).unwrap();
    let old = ring.encrypt(b"before the leak", b"c", Some(NOW)).unwrap();
    let v = ring
        .emergency_rotate("key in a public repo", NOW + 5)
        .unwrap();
    assert_eq!(v, 2);
    let info = ring.version(1).unwrap();
    assert_eq!(info.state, KeyState::Compromised);
    assert_eq!(info.compromised_at, Some(NOW + 5));
    assert_eq!(info.note.as_deref(), Some("key in a public repo"));
    assert_eq!(
        ring.decrypt(old.as_bytes(), b"c", None).unwrap_err().code(),
        "key_compromised"
    );
    assert!(ring.needs_rewrap(old.as_bytes()).unwrap());
    // Whoever stole v1 can forge envelopes under it: a plain rewrap refuses it rather than
    // launder such forgeries under v2; moving the data off v1 is an explicit, reported opt-in.
    assert_eq!(
        ring.rewrap(old.as_bytes(), b"c").unwrap_err().code(),
        "key_compromised"
    );
    assert_eq!(
        ring.rewrap_many(&[old.as_bytes()], b"c")[0]
            .as_ref()
            .unwrap_err()
            .code(),
        "key_compromised"
    );
    let opt_in = RewrapOptions {
        allow_compromised: true,
    };
    let out = ring
        .rewrap_to_context_with(old.as_bytes(), b"c", b"c", opt_in)
        .unwrap();
    assert_eq!((out.from_version, out.from_compromised), (1, true));
    let moved = out.token;
    let again = ring.rewrap_many_with(&[moved.as_bytes()], b"c", opt_in);
    let again = again[0].as_ref().unwrap();
    assert_eq!((again.from_version, again.from_compromised), (2, false));
    assert!(!ring.needs_rewrap(moved.as_bytes()).unwrap());
    assert_eq!(
        ring.decrypt(moved.as_bytes(), b"c", None).unwrap(),
        b"before the leak"
    );
    assert_eq!(
        ring.verify(moved.as_bytes(), b"c", None).unwrap().issued_at,
        Some(NOW)
    );
}

#[test]
fn destroy_wipes_material_but_keeps_metadata() {
    let mut ring = Keyring::generate(NOW).unwrap();
    let token = ring.encrypt(b"gone", b"", None).unwrap();
    ring.rotate(NOW).unwrap();
    ring.set_state(1, KeyState::Destroyed, None, NOW + 1)
        .unwrap();
    assert_eq!(
        ring.decrypt(token.as_bytes(), b"", None)
            .unwrap_err()
            .code(),
        "key_destroyed"
    );
    assert_eq!(
        ring.rewrap(token.as_bytes(), b"").unwrap_err().code(),
        "key_destroyed"
    );
    let master = SecretKey::generate().unwrap();
    let doc = ring.to_document(Protection::MasterKey(&master)).unwrap();
    let text = String::from_utf8(doc.clone()).unwrap();
    assert_eq!(
        text.matches("\"sealed\"").count(),
        1,
        "only v2 keeps material"
    );
    let back = Keyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap();
    assert_eq!(back.version(1).unwrap().destroyed_at, Some(NOW + 1));
}

#[test]
fn decrypt_only_export_reads_and_refuses_changes() {
    let mut ring = Keyring::generate(NOW).unwrap();
    ring.rotate(NOW).unwrap();
    let t2 = ring.encrypt(b"two", b"", None).unwrap();
    let export = ring.export_decrypt_only(&[2]).unwrap();
    assert!(export.is_read_only());
    assert_eq!(export.active_version(), None);
    assert_eq!(export.decrypt(t2.as_bytes(), b"", None).unwrap(), b"two");
    assert_eq!(
        export.encrypt(b"x", b"", None).unwrap_err().code(),
        "no_active_key"
    );
    assert_eq!(export.versions().len(), 1);
    let master = SecretKey::generate().unwrap();
    let doc = export.to_document(Protection::MasterKey(&master)).unwrap();
    let mut back = Keyring::from_document(&doc, Unlock::MasterKey(&master)).unwrap();
    assert!(back.is_read_only());
    assert_eq!(back.rotate(NOW).unwrap_err().code(), "read_only");
    assert_eq!(back.promote(2, NOW).unwrap_err().code(), "read_only");
    assert_eq!(
        ring.export_decrypt_only(&[7]).unwrap_err().code(),
        "unknown_key_version"
    );
}

#[test]
fn resealing_under_a_new_passphrase_keeps_data_keys() {
    let ring = Keyring::generate(NOW).unwrap();
    let token = ring.encrypt(b"payload", b"", None).unwrap();
    let doc1 = ring
        .to_document(Protection::PassphraseForTesting {
            passphrase: b"one",
            iterations: 1000,
        })
        .unwrap();
    let opened = Keyring::from_document(&doc1, Unlock::Passphrase(b"one")).unwrap();
    let doc2 = opened
        .to_document(Protection::PassphraseForTesting {
            passphrase: b"two",
            iterations: 1000,
        })
        .unwrap();
    assert_ne!(doc1, doc2);
    assert_eq!(
        Keyring::from_document(&doc2, Unlock::Passphrase(b"one")).unwrap_err(),
        Error::BadPassphrase
    );
    let reopened = Keyring::from_document(&doc2, Unlock::Passphrase(b"two")).unwrap();
    assert_eq!(reopened.id(), ring.id());
    assert_eq!(
        reopened.decrypt(token.as_bytes(), b"", None).unwrap(),
        b"payload"
    );
    let err = ring
        .to_document(Protection::Passphrase {
            passphrase: b"x",
            iterations: 0,
        })
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
}

/// #14: no document is sealed with fewer than 100,000 PBKDF2 iterations (the floor), but one
/// sealed with fewer (by an older release) still opens, so that it can be re-sealed.
#[test]
fn passphrase_sealing_floor_is_100_000_iterations_and_old_documents_still_open() {
    let ring = Keyring::generate(NOW).unwrap();
    for iterations in [1, 1000, 99_999] {
        let err = ring
            .to_document(Protection::Passphrase {
                passphrase: b"pw",
                iterations,
            })
            .unwrap_err();
        assert_eq!(err.code(), "invalid_argument", "{iterations}");
        assert!(
            err.to_string().contains("100,000"),
            "names the floor: {err}"
        );
    }
    let too_many = ring
        .to_document(Protection::Passphrase {
            passphrase: b"pw",
            iterations: keyroll::MAX_ITERATIONS + 1,
        })
        .unwrap_err();
    assert_eq!(too_many.code(), "invalid_argument");
    assert_eq!(keyroll::MIN_ITERATIONS, 100_000);
    let at_floor = ring
        .to_document(Protection::Passphrase {
            passphrase: b"pw",
            iterations: keyroll::MIN_ITERATIONS,
        })
        .unwrap();
    let sealing = keyroll::document_sealing(&at_floor).unwrap();
    assert_eq!(
        sealing,
        keyroll::Sealing::Passphrase {
            iterations: 100_000
        }
    );
    assert!(!sealing.below_floor());
    // An old document below the floor (made here through the testing path) opens.
    let old = ring
        .to_document(Protection::PassphraseForTesting {
            passphrase: b"pw",
            iterations: 1000,
        })
        .unwrap();
    assert!(keyroll::document_sealing(&old).unwrap().below_floor());
    let opened = Keyring::from_document(&old, Unlock::Passphrase(b"pw")).unwrap();
    assert_eq!(opened.id(), ring.id());
}

#[test]
fn policy_warns_at_80_and_is_due_at_90_days() {
    let mut ring = Keyring::generate(NOW).unwrap();
    assert_eq!(ring.check_policy(NOW + 79 * DAY).state, PolicyState::Ok);
    assert_eq!(ring.check_policy(NOW + 80 * DAY).state, PolicyState::Warn);
    let due = ring.check_policy(NOW + 90 * DAY);
    assert_eq!(due.state, PolicyState::Due);
    assert_eq!(due.age_seconds, 90 * DAY);
    ring.rotate(NOW + 90 * DAY).unwrap();
    assert_eq!(ring.check_policy(NOW + 91 * DAY).state, PolicyState::Ok);
    let bad = Policy {
        rotate_after_days: 10,
        warn_after_days: 20,
    };
    assert_eq!(ring.set_policy(bad).unwrap_err().code(), "invalid_argument");
    ring.set_policy(Policy {
        rotate_after_days: 30,
        warn_after_days: 20,
    })
    .unwrap();
    assert_eq!(ring.check_policy(NOW + 120 * DAY).state, PolicyState::Due);
}

#[test]
fn min_version_cannot_exceed_the_active_version() {
    let mut ring = Keyring::generate(NOW).unwrap();
    assert_eq!(
        ring.set_min_version(2).unwrap_err().code(),
        "invalid_argument"
    );
    ring.rotate(NOW).unwrap();
    ring.set_min_version(2).unwrap();
    assert_eq!(
        ring.promote(1, NOW).unwrap_err().code(),
        "invalid_state_transition"
    );
}

#[test]
fn batches_report_each_item() {
    let ring = Keyring::generate(NOW).unwrap();
    let items: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; i as usize]).collect();
    let tokens = ring.encrypt_many(&items, b"ctx", Some(NOW)).unwrap();
    let mut mixed: Vec<Vec<u8>> = tokens.iter().map(|t| t.as_bytes().to_vec()).collect();
    mixed[7] = b"kr1:v1:AAAA".to_vec();
    let out = ring.decrypt_many(
        &mixed,
        b"ctx",
        Some(Ttl {
            seconds: 10,
            now: NOW,
        }),
    );
    for (i, r) in out.iter().enumerate() {
        if i == 7 {
            assert_eq!(r.as_ref().unwrap_err().code(), "unsupported_format");
        } else {
            assert_eq!(r.as_ref().unwrap(), &items[i]);
        }
    }
    let rewrapped = ring.rewrap_many(&mixed, b"ctx");
    assert_eq!(rewrapped.iter().filter(|r| r.is_err()).count(), 1);
}

#[test]
fn derive_key_is_per_purpose_and_per_version() {
    let mut ring = Keyring::generate(NOW).unwrap();
    let (v1, pii) = ring.derive_key(b"pii", 32).unwrap();
    let (_, audit) = ring.derive_key(b"audit", 32).unwrap();
    assert_ne!(*pii, *audit);
    assert_eq!(ring.derive_key(b"pii", 32).unwrap().1, pii);
    ring.rotate(NOW).unwrap();
    let (v2, pii2) = ring.derive_key(b"pii", 32).unwrap();
    assert_eq!((v1, v2), (1, 2));
    assert_ne!(*pii, *pii2);
    assert_eq!(
        ring.derive_key(b"pii", 0).unwrap_err().code(),
        "invalid_argument"
    );
    assert_eq!(
        ring.derive_key(b"pii", 8161).unwrap_err().code(),
        "invalid_argument"
    );
    assert_eq!(ring.derive_key(b"pii", 8160).unwrap().1.len(), 8160);
}

#[test]
fn fernet_lists_agree_across_processes_and_import_is_idempotent() {
    let k1 = FernetKey::generate().unwrap();
    let k2 = FernetKey::generate().unwrap();
    // Mid-deploy: one process already has the new key first, the other only the old key.
    let new_list = Keyring::from_fernet_keys(&[k1.clone(), k2.clone()], NOW).unwrap();
    let old_list = Keyring::from_fernet_keys(std::slice::from_ref(&k2), NOW).unwrap();
    let from_old = old_list.encrypt(b"old writer", b"", None).unwrap();
    assert_eq!(
        new_list.decrypt(from_old.as_bytes(), b"", None).unwrap(),
        b"old writer"
    );
    let from_new = new_list.encrypt(b"new writer", b"", None).unwrap();
    assert_eq!(
        old_list
            .decrypt(from_new.as_bytes(), b"", None)
            .unwrap_err()
            .code(),
        "unknown_key_version"
    );
    // An ordinary keyring that imports the keys reads the compat envelopes too.
    let mut ring = Keyring::generate(NOW).unwrap();
    let first = ring.import_fernet(&[k1.clone(), k2.clone()], NOW).unwrap();
    let again = ring.import_fernet(&[k2.clone(), k1.clone()], NOW).unwrap();
    assert_eq!(first, vec![again[1], again[0]]);
    assert_eq!(ring.versions().len(), 3);
    assert_eq!(
        ring.decrypt(from_new.as_bytes(), b"", None).unwrap(),
        b"new writer"
    );
    // An operator turns the compat keyring into an ordinary one by rotating it.
    let mut owned = new_list;
    assert_eq!(owned.rotate(NOW).unwrap(), 1);
    let fresh = owned.encrypt(b"ordinary", b"", None).unwrap();
    assert!(fresh.starts_with("kr1:v1:"));
    assert_eq!(
        owned.decrypt(from_old.as_bytes(), b"", None).unwrap(),
        b"old writer"
    );
    assert!(matches!(
        FernetKey::from_base64(b"short"),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn legacy_raw_keys_never_become_active() {
    use keyroll::{RawGcmImport, RawGcmKey};
    let mut ring = Keyring::generate(NOW).unwrap();
    let v = ring
        .import_raw_gcm(
            &RawGcmImport {
                key: RawGcmKey::Bytes(zeroize::Zeroizing::new(vec![1; 32])),
                version_byte: Some(3),
            },
            NOW,
        )
        .unwrap();
    assert_eq!(
        ring.promote(v, NOW).unwrap_err().code(),
        "invalid_state_transition"
    );
    let short = RawGcmImport {
        key: RawGcmKey::Bytes(zeroize::Zeroizing::new(vec![1; 31])),
        version_byte: None,
    };
    assert_eq!(
        ring.import_raw_gcm(&short, NOW).unwrap_err().code(),
        "invalid_key"
    );
}

#[test]
fn binary_and_text_forms_are_interchangeable() {
    let ring = Keyring::generate(NOW).unwrap();
    let bin = ring.encrypt_binary(b"both", b"ctx", None).unwrap();
    let text = ring.rewrap(&bin, b"ctx").unwrap();
    let bin2 = ring.rewrap_binary(text.as_bytes(), b"ctx").unwrap();
    assert_eq!(ring.decrypt(&bin2, b"ctx", None).unwrap(), b"both");
    let info = keyroll::inspect(&bin2).unwrap();
    assert_eq!(info.plaintext_len, Some(4));
    assert_eq!(info.binary_len, bin2.len());
}

#[test]
fn key_text_forms() {
    let key = SecretKey::generate().unwrap();
    let hex: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.expose());
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.expose());
    for text in [hex.clone(), hex.to_uppercase(), b64, format!(" {url}\n")] {
        assert_eq!(SecretKey::from_text(&text).unwrap(), key, "{text}");
    }
    for bad in ["", "zz", &hex[..62], "AAAA"] {
        assert_eq!(SecretKey::from_text(bad).unwrap_err().code(), "invalid_key");
    }
    let (k1, k2) = (
        FernetKey::generate().unwrap(),
        FernetKey::generate().unwrap(),
    );
    let list = format!("{}, {}\n", k1.to_base64().as_str(), k2.to_base64().as_str());
    assert_eq!(FernetKey::parse_list(&list).unwrap(), vec![k1, k2]);
    assert_eq!(
        FernetKey::parse_list("a,b").unwrap_err().code(),
        "invalid_key"
    );
    assert!(FernetKey::parse_list(" , ").unwrap().is_empty());
}

#[test]
fn names_match_serde() {
    use keyroll::{KeyKind, TokenFormat};
    for kind in [KeyKind::Aes256Gcm, KeyKind::Fernet, KeyKind::RawGcm] {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    for state in [
        PolicyState::Ok,
        PolicyState::Warn,
        PolicyState::Due,
        PolicyState::NoActiveKey,
    ] {
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
    for format in [
        TokenFormat::KeyrollV1Binary,
        TokenFormat::KeyrollV1Text,
        TokenFormat::Fernet,
    ] {
        assert_eq!(serde_json::to_value(format).unwrap(), format.as_str());
    }
    let import = keyroll::RawGcmImport {
        key: keyroll::RawGcmKey::Bytes(zeroize::Zeroizing::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
        )),
        version_byte: Some(1),
    };
    let shown = format!("{import:?}");
    assert!(
        !shown.contains("0123456789abcdef") && shown.contains("redacted"),
        "{shown}"
    );
}

#[test]
fn rewrap_to_context_moves_legacy_tokens_to_row_contexts() {
    let mut ring = Keyring::generate(NOW).unwrap();
    let key = FernetKey::generate().unwrap();
    ring.import_fernet(std::slice::from_ref(&key), NOW).unwrap();
    let old = keyroll::legacy::fernet::encrypt(&key, b"row 42", NOW - 10, &[9; 16]);
    let moved = ring
        .rewrap_to_context(old.as_bytes(), b"", b"users:42:ssn")
        .unwrap();
    assert_eq!(
        ring.decrypt(moved.as_bytes(), b"users:42:ssn", None)
            .unwrap(),
        b"row 42"
    );
    assert_eq!(
        ring.decrypt(moved.as_bytes(), b"", None)
            .unwrap_err()
            .code(),
        "decrypt_failed"
    );
    assert_eq!(
        keyroll::inspect(moved.as_bytes()).unwrap().issued_at,
        Some(NOW - 10)
    );
    let bin = ring
        .rewrap_binary_to_context(moved.as_bytes(), b"users:42:ssn", b"x")
        .unwrap();
    assert_eq!(ring.decrypt(&bin, b"x", None).unwrap(), b"row 42");
    // A compromised legacy key is readable by a rewrap only on explicit opt-in.
    let v = ring.version(ring.versions()[1].version).unwrap().version;
    ring.set_state(v, KeyState::Compromised, None, NOW).unwrap();
    assert_eq!(
        ring.rewrap_to_context(old.as_bytes(), b"", b"c")
            .unwrap_err()
            .code(),
        "key_compromised"
    );
    let opt_in = RewrapOptions {
        allow_compromised: true,
    };
    let out = ring
        .rewrap_binary_to_context_with(old.as_bytes(), b"", b"c", opt_in)
        .unwrap();
    assert_eq!((out.from_version, out.from_compromised), (v, true));
}

#[test]
fn needs_rewrap_reads_only_the_header_of_text_tokens() {
    let mut ring = Keyring::generate(NOW).unwrap();
    let t1 = ring.encrypt(b"a", b"", Some(NOW)).unwrap();
    ring.rotate(NOW).unwrap();
    let t2 = ring.encrypt(&[7; 300], b"", None).unwrap();
    assert!(ring.needs_rewrap(t1.as_bytes()).unwrap());
    assert!(!ring.needs_rewrap(t2.as_bytes()).unwrap());
    // A damaged body after the header does not matter to the header check...
    let damaged = format!("{}!!!!", &t2[..60]);
    assert!(!ring.needs_rewrap(damaged.as_bytes()).unwrap());
    // ...but a damaged prefix, header or another keyring does.
    let other = Keyring::generate(NOW).unwrap();
    let mut o = other.encrypt(b"x", b"", None).unwrap();
    o = o.replacen("kr1:v1:", "kr1:v2:", 1);
    assert_eq!(
        ring.needs_rewrap(o.as_bytes()).unwrap_err().code(),
        "malformed"
    );
    let foreign = Keyring::generate(NOW).unwrap();
    let mut f = foreign;
    f.rotate(NOW).unwrap();
    let ft = f.encrypt(b"x", b"", None).unwrap();
    assert!(
        ring.needs_rewrap(ft.as_bytes()).unwrap(),
        "same version, other keyring"
    );
    assert!(ring.needs_rewrap(b"gAAAAAsomething").unwrap());
    assert_eq!(
        ring.needs_rewrap(b"kr1:v2:xGty").unwrap_err().code(),
        "unsupported_format"
    );
}

#[test]
fn document_sealing_is_readable_without_a_key() {
    let ring = Keyring::generate(NOW).unwrap();
    let doc = ring
        .to_document(Protection::PassphraseForTesting {
            passphrase: b"p",
            iterations: 1234,
        })
        .unwrap();
    assert_eq!(
        keyroll::document_sealing(&doc).unwrap(),
        keyroll::Sealing::Passphrase { iterations: 1234 }
    );
    assert!(keyroll::document_sealing(&doc).unwrap().below_floor());
    let key = SecretKey::generate().unwrap();
    let doc = ring.to_document(Protection::MasterKey(&key)).unwrap();
    assert_eq!(
        keyroll::document_sealing(&doc).unwrap(),
        keyroll::Sealing::MasterKey
    );
    assert_eq!(
        keyroll::document_sealing(b"{}").unwrap_err().code(),
        "keyring_corrupt"
    );
}

/// Operators re-run imports: the same raw GCM key (derived or given) is not added twice, a
/// different key under the same version byte is, and a destroyed one cannot come back.
#[test]
fn raw_gcm_import_once_is_rerunnable_and_never_resurrects_a_destroyed_key() {
    use keyroll::{KeyState, RawGcmImport, RawGcmKey};
    use zeroize::Zeroizing;
    let pbkdf2 = |byte: u8| RawGcmImport {
        key: RawGcmKey::Pbkdf2 {
            password: Zeroizing::new(b"master password".to_vec()),
            salt_pattern: "app-{version}".into(),
            iterations: 1_000,
        },
        version_byte: Some(byte),
    };
    let mut ring = Keyring::generate(NOW).unwrap();
    let (v3, new) = ring.import_raw_gcm_once(&pbkdf2(3), NOW).unwrap();
    assert!(new);
    let count = ring.versions().len();
    assert_eq!(
        ring.import_raw_gcm_once(&pbkdf2(3), NOW).unwrap(),
        (v3, false)
    );
    assert_eq!(ring.versions().len(), count);
    let (v4, new) = ring.import_raw_gcm_once(&pbkdf2(4), NOW).unwrap();
    assert!(new && v4 != v3);
    let bytes = RawGcmImport {
        key: RawGcmKey::Bytes(Zeroizing::new(b"0123456789abcdef0123456789abcdef".to_vec())),
        version_byte: Some(3),
    };
    let (vb, new) = ring.import_raw_gcm_once(&bytes, NOW).unwrap();
    assert!(
        new && vb != v3,
        "another key under the same version byte is another version"
    );
    ring.set_state(v4, KeyState::Destroyed, None, NOW).unwrap();
    let err = ring.import_raw_gcm_once(&pbkdf2(4), NOW).unwrap_err();
    assert_eq!(err.code(), "key_destroyed");
}
