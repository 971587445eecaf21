//! The live keyring handle: swaps only forward, keeps the last good keyring, reloads once
//! for an unknown version.
#![allow(clippy::unwrap_used, missing_docs)]

use keyroll::{Error, Keyring, KeyringHandle, Offered, Protection, SecretKey, Unlock};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const NOW: u64 = 1_700_000_000;

/// A writer's keyring and its key: `save` seals the next generation, `open` is what a reader
/// gets from the store.
struct Writer {
    ring: Keyring,
    key: SecretKey,
}

impl Writer {
    fn new() -> Self {
        Writer {
            ring: Keyring::generate(NOW).unwrap(),
            key: SecretKey::generate().unwrap(),
        }
    }
    fn save(&mut self) -> Vec<u8> {
        let doc = self
            .ring
            .to_document(Protection::MasterKey(&self.key))
            .unwrap();
        self.ring
            .mark_saved(Keyring::document_generation(&doc).unwrap());
        doc
    }
    fn open(&self, doc: &[u8]) -> Keyring {
        Keyring::from_document(doc, Unlock::MasterKey(&self.key)).unwrap()
    }
}

#[test]
fn handle_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<KeyringHandle>();
}

#[test]
fn offer_swaps_forward_ignores_the_same_and_refuses_lower() {
    let mut w = Writer::new();
    let g1 = w.save();
    let handle = KeyringHandle::new(w.open(&g1));
    assert_eq!(handle.generation(), 1);
    w.ring.add_version(NOW + 1).unwrap();
    let g2 = w.save();

    assert_eq!(handle.offer(w.open(&g1)).unwrap(), Offered::Unchanged);
    assert_eq!(
        handle.offer(w.open(&g2)).unwrap(),
        Offered::Swapped { from: 1, to: 2 }
    );
    assert_eq!(handle.status().versions, vec![1, 2]);
    let e = handle.offer(w.open(&g1)).unwrap_err();
    assert_eq!(e.code(), "keyring_rollback");
    assert_eq!(handle.generation(), 2, "a refused offer changes nothing");

    // Another keyring altogether is refused too.
    let mut other = Writer::new();
    other.ring.mark_saved(10);
    let e = handle.offer(other.ring).unwrap_err();
    assert_eq!(e.code(), "wrong_keyring");
    assert_eq!(handle.generation(), 2);
}

#[test]
fn an_envelope_under_a_freshly_staged_version_reloads_once_and_decrypts() {
    let mut w = Writer::new();
    let g1 = w.save();
    let handle = Arc::new(KeyringHandle::new(w.open(&g1)));
    w.ring.rotate(NOW + 1).unwrap();
    let g2 = w.save();
    let token = w.ring.encrypt(b"fresh", b"ctx", None).unwrap();

    // Without a hook: the error the core gives.
    let e = handle.decrypt(token.as_bytes(), b"ctx", None).unwrap_err();
    assert!(matches!(e, Error::UnknownKeyVersion(2)));

    // The hook stands in for a reload from the store.
    let calls = Arc::new(AtomicUsize::new(0));
    let store = Arc::new(Mutex::new(g2));
    let opened = w.open(&store.lock().unwrap());
    let pending = Arc::new(Mutex::new(Some(opened)));
    let weak = Arc::downgrade(&handle);
    let (c, p) = (calls.clone(), pending.clone());
    handle.set_on_unknown_version(Some(Arc::new(move |version| {
        assert_eq!(version, 2);
        c.fetch_add(1, Ordering::SeqCst);
        match (weak.upgrade(), p.lock().unwrap().take()) {
            (Some(h), Some(ring)) => h.offer(ring).is_ok(),
            _ => false,
        }
    })));
    assert_eq!(
        handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
        b"fresh"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(handle.generation(), 2);

    // A version nobody has: the hook is called once per decrypt, the read retried once.
    let mut w3 = Writer {
        ring: w.open(&store.lock().unwrap()),
        key: SecretKey::generate().unwrap(),
    };
    w3.ring.rotate(NOW + 2).unwrap();
    let unknown = w3.ring.encrypt(b"x", b"ctx", None).unwrap();
    let before = calls.load(Ordering::SeqCst);
    handle.set_on_unknown_version(Some(Arc::new({
        let c = calls.clone();
        move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            true
        }
    })));
    let e = handle
        .decrypt(unknown.as_bytes(), b"ctx", None)
        .unwrap_err();
    assert!(matches!(e, Error::UnknownKeyVersion(3)));
    assert_eq!(calls.load(Ordering::SeqCst), before + 1);

    // decrypt_many: one hook call for the batch, only unknown-version items retried.
    let results = handle.decrypt_many(
        &[token.as_bytes(), unknown.as_bytes(), b"junk"],
        b"ctx",
        None,
    );
    assert_eq!(results[0].as_ref().unwrap(), b"fresh");
    assert!(matches!(results[1], Err(Error::UnknownKeyVersion(3))));
    assert!(results[2].is_err());
    assert_eq!(calls.load(Ordering::SeqCst), before + 2);
}

#[test]
fn other_errors_do_not_call_the_hook() {
    let mut w = Writer::new();
    let g1 = w.save();
    let handle = KeyringHandle::new(w.open(&g1));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    handle.set_on_unknown_version(Some(Arc::new(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        true
    })));
    let token = handle.encrypt(b"p", b"a", None).unwrap();
    assert_eq!(
        handle
            .decrypt(token.as_bytes(), b"b", None)
            .unwrap_err()
            .code(),
        "decrypt_failed"
    );
    let foreign = Writer::new().ring.encrypt(b"p", b"a", None).unwrap();
    assert_eq!(
        handle
            .decrypt(foreign.as_bytes(), b"a", None)
            .unwrap_err()
            .code(),
        "wrong_keyring"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_failed_reload_is_reported_and_cleared_by_the_next_good_check() {
    let mut w = Writer::new();
    let g1 = w.save();
    let handle = KeyringHandle::new(w.open(&g1));
    let token = handle.encrypt(b"p", b"c", None).unwrap();
    assert_eq!(handle.status().last_check, None);
    handle.record_failure("keyring_corrupt", NOW + 5);
    let s = handle.status();
    assert_eq!(s.last_error.as_ref().unwrap().code, "keyring_corrupt");
    assert_eq!(s.last_error.unwrap().at, NOW + 5);
    assert_eq!(s.last_check, Some(NOW + 5));
    assert_eq!(handle.decrypt(token.as_bytes(), b"c", None).unwrap(), b"p");
    handle.record_check(NOW + 35);
    let s = handle.status();
    assert_eq!((s.last_check, s.last_error), (Some(NOW + 35), None));
}

#[test]
fn debug_shows_generation_and_versions_never_key_bytes() {
    let mut w = Writer::new();
    let g1 = w.save();
    let handle = KeyringHandle::new(w.open(&g1));
    let shown = format!("{handle:?}");
    assert_eq!(
        shown,
        "KeyringHandle { generation: 1, versions: [1], last_error: None, .. }"
    );
}

#[test]
fn a_reader_mid_operation_keeps_its_keyring_while_a_swap_happens() {
    let mut w = Writer::new();
    let g1 = w.save();
    let handle = KeyringHandle::new(w.open(&g1));
    let held = handle.current();
    w.ring.rotate(NOW + 1).unwrap();
    let g2 = w.save();
    handle.offer(w.open(&g2)).unwrap();
    assert_eq!(held.generation(), 1);
    assert_eq!(handle.current().generation(), 2);
    let token = handle.encrypt(b"p", b"c", None).unwrap();
    assert!(token.starts_with("kr1:v2:"));
}

#[test]
fn readers_on_many_threads_never_fail_while_offers_swap_generations() {
    let mut w = Writer::new();
    let docs: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            if i > 0 {
                w.ring.rotate(NOW + i).unwrap();
            }
            w.save()
        })
        .collect();
    let handle = Arc::new(KeyringHandle::new(w.open(&docs[0])));
    let token = handle.encrypt(b"row", b"ctx", None).unwrap();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (handle, token) = (handle.clone(), token.clone());
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    assert_eq!(
                        handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
                        b"row"
                    );
                    let written = handle.encrypt(b"new", b"ctx", None).unwrap();
                    assert_eq!(
                        handle.decrypt(written.as_bytes(), b"ctx", None).unwrap(),
                        b"new"
                    );
                }
            })
        })
        .collect();
    for doc in &docs[1..] {
        handle.offer(w.open(doc)).unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(handle.generation(), 20);
}
