#![allow(clippy::unwrap_used, missing_docs)]
//! Behaviour of the keyring store: atomic writes, modes, locks, backups, audit log,
//! generations (conflicts and rollbacks) and refused symlinks and directories.

use keyroll::{Keyring, Protection, SecretKey, Unlock};
use keyroll_store::{write_atomic, AuditRecord, Error, Store};
use std::sync::{Arc, Barrier};

const NOW: u64 = 1_700_000_000;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("keyring.json"));
    (dir, store)
}

/// The master key every test keyring is sealed under (fixed: sealing is cheap under it).
fn key() -> SecretKey {
    SecretKey::from_bytes([7u8; 32])
}

fn seal(ring: &Keyring) -> Vec<u8> {
    ring.to_document(Protection::MasterKey(&key())).unwrap()
}

fn open(doc: &[u8]) -> Keyring {
    Keyring::from_document(doc, Unlock::MasterKey(&key())).unwrap()
}

/// The document that follows the stored one (one more rotation), or a new keyring's first.
fn next_doc(store: &Store) -> Vec<u8> {
    match store.read() {
        Ok(doc) => {
            let mut ring = open(&doc);
            ring.rotate(NOW + ring.generation()).unwrap();
            seal(&ring)
        }
        Err(Error::NotFound(_)) => seal(&Keyring::generate(NOW).unwrap()),
        Err(e) => panic!("{e}"),
    }
}

/// Saves the next document; returns it.
fn save_next(store: &Store) -> Vec<u8> {
    let doc = next_doc(store);
    store.save(&doc).unwrap();
    doc
}

fn generation(doc: &[u8]) -> u64 {
    Keyring::document_generation(doc).unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn read_of_missing_keyring_is_not_found() {
    let (_d, store) = store();
    let err = store.read().unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    assert_eq!(err.code(), "keyring_not_found");
    assert!(!store.exists());
}

#[test]
fn create_then_write_backs_up_the_old_document() {
    let (_d, store) = store();
    let lock = store.lock().unwrap();
    assert_eq!(lock.read().unwrap(), None);
    let one = seal(&Keyring::generate(NOW).unwrap());
    lock.create(&one).unwrap();
    let err = lock.create(&one).unwrap_err();
    assert_eq!(err.code(), "keyring_exists");
    let mut ring = open(&one);
    ring.rotate(NOW + 1).unwrap();
    let two = seal(&ring);
    let backup = lock.write(&two).unwrap().expect("a backup of `one`");
    drop(lock);
    assert_eq!(store.read().unwrap(), two);
    assert_eq!(store.read_backup(&backup).unwrap(), one);
    assert_eq!(backup.size, one.len() as u64);
    assert_eq!(store.backups().unwrap(), vec![backup]);
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    let (_d, store) = store();
    save_next(&store);
    save_next(&store);
    store.audit().append(&AuditRecord::new("init", 1)).unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(store.backup_dir()), 0o700);
    for b in store.backups().unwrap() {
        assert_eq!(mode(&b.path), 0o600);
    }
    assert_eq!(mode(store.audit().path()), 0o600);
}

#[cfg(unix)]
#[test]
fn existing_loose_backup_dir_is_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, store) = store();
    std::fs::create_dir(store.backup_dir()).unwrap();
    std::fs::set_permissions(store.backup_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    save_next(&store);
    save_next(&store);
    assert_eq!(mode(store.backup_dir()), 0o700);
}

#[test]
fn write_atomic_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    for i in 0..20u8 {
        write_atomic(&path, &[i; 100]).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), vec![19u8; 100]);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("f")]);
}

#[test]
fn write_atomic_into_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("f");
    assert!(write_atomic(&path, b"x").is_err());
    assert!(!path.exists());
}

#[test]
fn try_lock_reports_a_held_lock() {
    let (_d, store) = store();
    let held = store.lock().unwrap();
    let other = Store::new(store.path());
    let err = other.try_lock().unwrap_err();
    assert_eq!(err.code(), "keyring_locked");
    drop(held);
    assert!(other.try_lock().is_ok());
}

#[test]
fn concurrent_read_modify_write_loses_nothing() {
    // Eight threads each rotate the shared keyring 10 times, under the lock.
    let (_d, store) = store();
    save_next(&store);
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let path = store.path().to_path_buf();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let store = Store::new(path);
                barrier.wait();
                for _ in 0..10 {
                    let lock = store.lock().unwrap();
                    let mut ring = open(&lock.read().unwrap().unwrap());
                    ring.rotate(NOW + t as u64).unwrap();
                    lock.write(&seal(&ring)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let doc = store.read().unwrap();
    assert_eq!(open(&doc).versions().len(), threads * 10 + 1);
    assert_eq!(generation(&doc), threads as u64 * 10 + 1);
    assert_eq!(store.backups().unwrap().len(), threads * 10);
}

#[test]
fn damaged_backup_is_refused_and_nothing_changes() {
    let (_d, store) = store();
    save_next(&store);
    let two = save_next(&store);
    let backup = store.backups().unwrap().pop().unwrap();
    std::fs::write(&backup.path, b"ONE").unwrap();
    let err = store.read_backup(&backup).unwrap_err();
    assert_eq!(err.code(), "backup_corrupt");
    assert_eq!(store.read().unwrap(), two);
    assert_eq!(store.backups().unwrap().len(), 1);
}

#[test]
fn restore_brings_back_a_backup_and_backs_up_the_current() {
    let (_d, store) = store();
    let one = save_next(&store);
    let two = save_next(&store);
    let backup = store.backups().unwrap().pop().unwrap();
    let found = store.find_backup(&backup.name).unwrap();
    assert_eq!(found, backup);
    let by_hash = store.find_backup(&backup.sha256[..12]).unwrap();
    assert_eq!(by_hash, backup);
    assert_eq!(
        store.find_backup("nothing").unwrap_err().code(),
        "backup_not_found"
    );
    let lock = store.lock().unwrap();
    let mut ring = open(&store.read_backup(&backup).unwrap());
    assert_eq!(ring.generation(), 1);
    ring.mark_saved(lock.restore_base().unwrap());
    let restored = seal(&ring);
    lock.restore(&restored).unwrap();
    drop(lock);
    assert_eq!(store.read().unwrap(), restored);
    // One's content, above every generation seen.
    assert_eq!(open(&restored).versions(), open(&one).versions());
    assert_eq!(generation(&restored), 3);
    assert_eq!(store.highest_generation().unwrap(), 3);
    let all = store.backups().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(store.read_backup(all.last().unwrap()).unwrap(), two);
}

#[test]
fn prune_keeps_the_newest() {
    let (_d, store) = store();
    let docs: Vec<Vec<u8>> = (0..6).map(|_| save_next(&store)).collect();
    let before = store.backups().unwrap();
    assert_eq!(before.len(), 5);
    let removed = store.lock().unwrap().prune(2).unwrap();
    assert_eq!(removed, before[..3].to_vec());
    let after = store.backups().unwrap();
    assert_eq!(after, before[3..].to_vec());
    assert_eq!(store.read_backup(&after[1]).unwrap(), docs[4]);
    assert!(store.lock().unwrap().prune(10).unwrap().is_empty());
}

#[test]
fn unrelated_files_in_backup_dir_are_ignored() {
    let (_d, store) = store();
    save_next(&store);
    save_next(&store);
    std::fs::write(store.backup_dir().join("notes.txt"), b"hi").unwrap();
    std::fs::write(store.backup_dir().join("keyring-1.2-zz.json"), b"hi").unwrap();
    assert_eq!(store.backups().unwrap().len(), 1);
}

#[test]
fn audit_log_appends_records_in_order() {
    let (_d, store) = store();
    assert!(store.audit().records().unwrap().is_empty());
    let mut first = AuditRecord::new("init", 10);
    first.versions = vec![1];
    let mut second = AuditRecord::new("emergency_rotate", 20);
    second.versions = vec![1, 2];
    second.reason = Some("laptop stolen".into());
    second.details = Some(serde_json::json!({"migrated": 5}));
    store.audit().append(&first).unwrap();
    store.audit().append(&second).unwrap();
    assert_eq!(store.audit().records().unwrap(), vec![first, second]);
    let text = std::fs::read_to_string(store.audit().path()).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
}

#[test]
fn corrupt_audit_line_is_reported_with_its_number() {
    let (_d, store) = store();
    store.audit().append(&AuditRecord::new("init", 10)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(store.audit().path())
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"not json\n"))
        .unwrap();
    match store.audit().records().unwrap_err() {
        Error::AuditCorrupt { line, .. } => assert_eq!(line, 2),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn custom_sidecar_locations() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("k.json"))
        .with_backup_dir(dir.path().join("bk"))
        .with_audit_log(dir.path().join("audit.log"));
    save_next(&store);
    save_next(&store);
    store.audit().append(&AuditRecord::new("x", 1)).unwrap();
    assert!(dir.path().join("bk").is_dir());
    assert!(dir.path().join("audit.log").is_file());
    assert_eq!(
        store.backups().unwrap()[0].path.parent().unwrap(),
        dir.path().join("bk")
    );
}

// ---- generations: a stale save is refused (keyring_conflict) ----

#[test]
fn a_stale_save_is_refused_and_changes_nothing() {
    let (_d, store) = store();
    save_next(&store);
    let doc = store.read().unwrap();
    let n = generation(&doc);
    // Two processes load generation N.
    let mut a = open(&doc);
    let mut b = open(&doc);
    assert_eq!((a.generation(), b.generation()), (n, n));
    // A rotates and saves: N + 1.
    let a_version = a.rotate(NOW + 10).unwrap();
    let a_doc = seal(&a);
    let (_, saved) = store.save(&a_doc).unwrap();
    assert_eq!(saved, n + 1);
    a.mark_saved(saved);
    let backups = store.backups().unwrap();
    // B rotates and saves: refused, the file and the backups are untouched.
    b.rotate(NOW + 20).unwrap();
    let err = store.save(&seal(&b)).unwrap_err();
    assert_eq!(err.code(), "keyring_conflict");
    assert!(matches!(
        err,
        Error::Keyring(keyroll::Error::KeyringConflict { base, current }) if base == n && current == n + 1
    ));
    assert_eq!(store.read().unwrap(), a_doc);
    assert_eq!(store.backups().unwrap(), backups);
    assert!(open(&store.read().unwrap()).version(a_version).is_some());
    // A's handle, told its save landed, saves again on top of it.
    a.rotate(NOW + 30).unwrap();
    let (_, again) = store.save(&seal(&a)).unwrap();
    assert_eq!(again, n + 2);
}

#[test]
fn a_document_from_before_generations_reads_as_generation_zero() {
    let (_d, store) = store();
    let old = include_bytes!("fixtures/pre-generation.json");
    let master = SecretKey::from_bytes(hex_decode(
        "ba2e73ccfef07da5b9721bec5158189376a7489b9c02a2bd48e3bdc0518bbae0",
    ));
    std::fs::write(store.path(), old).unwrap();
    let mut ring =
        Keyring::from_document(&store.read().unwrap(), Unlock::MasterKey(&master)).unwrap();
    assert_eq!(ring.generation(), 0);
    ring.rotate(NOW).unwrap();
    let doc = ring.to_document(Protection::MasterKey(&master)).unwrap();
    assert_eq!(store.save(&doc).unwrap().1, 1);
    // Re-saving the same generation-0 base again is a conflict.
    let stale = Keyring::from_document(old, Unlock::MasterKey(&master)).unwrap();
    let err = store
        .save(&stale.to_document(Protection::MasterKey(&master)).unwrap())
        .unwrap_err();
    assert_eq!(err.code(), "keyring_conflict");
}

fn hex_decode(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[test]
fn the_generation_is_authenticated() {
    let (_d, store) = store();
    save_next(&store);
    let doc = save_next(&store);
    let text = String::from_utf8(doc).unwrap();
    assert!(text.contains("\"generation\": 2"));
    let forged = text.replacen("\"generation\": 2", "\"generation\": 9", 1);
    let err = Keyring::from_document(forged.as_bytes(), Unlock::MasterKey(&key())).unwrap_err();
    assert_eq!(err.code(), "keyring_corrupt");
}

// ---- symlinks, loose directories, owners (Safety issue #13) ----

#[cfg(unix)]
#[test]
fn symlinks_where_the_store_keeps_its_files_are_refused() {
    use std::os::unix::fs::symlink;
    let (d, store) = store();
    save_next(&store);
    let target = d.path().join("victim");
    std::fs::write(&target, b"precious").unwrap();
    // Lock file.
    let lock_path = d.path().join("keyring.json.lock");
    std::fs::remove_file(&lock_path).unwrap();
    symlink(&target, &lock_path).unwrap();
    let err = store.lock().unwrap_err();
    assert_eq!(err.code(), "symlink_refused");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(
        store.save(&next_doc(&store)).unwrap_err().code(),
        "symlink_refused"
    );
    std::fs::remove_file(&lock_path).unwrap();
    // Audit log.
    symlink(&target, store.audit().path()).unwrap();
    let err = store.audit().append(&AuditRecord::new("x", 1)).unwrap_err();
    assert_eq!(err.code(), "symlink_refused");
    assert_eq!(
        store.audit().records().unwrap_err().code(),
        "symlink_refused"
    );
    std::fs::remove_file(store.audit().path()).unwrap();
    // A backup.
    save_next(&store);
    let backup = store.backups().unwrap().pop().unwrap();
    std::fs::remove_file(&backup.path).unwrap();
    symlink(&target, &backup.path).unwrap();
    assert_eq!(
        store.read_backup(&backup).unwrap_err().code(),
        "symlink_refused"
    );
    // The backup directory itself.
    let before = store.read().unwrap();
    std::fs::rename(store.backup_dir(), d.path().join("moved")).unwrap();
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    symlink(&elsewhere, store.backup_dir()).unwrap();
    let err = store.save(&next_doc(&store)).unwrap_err();
    assert_eq!(err.code(), "symlink_refused");
    assert_eq!(store.read().unwrap(), before);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    // Nothing was written through any of them.
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
}

#[cfg(unix)]
#[test]
fn a_directory_others_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o775, 0o757, 0o1777] {
        let (d, store) = store();
        save_next(&store);
        let before = store.read().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        let err = store.read().unwrap_err();
        assert_eq!(err.code(), "unsafe_directory", "{mode:o}");
        assert!(err.to_string().contains("chmod 700"), "{err}");
        let err = store.save(&b"x"[..]).unwrap_err();
        assert_eq!(err.code(), "unsafe_directory");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(store.read().unwrap(), before);
    }
}

#[cfg(unix)]
#[test]
fn replacing_the_keyring_keeps_its_owner_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (_d, store) = store();
    save_next(&store);
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let (uid, gid) = if root {
        // A service account's keyring, rotated by root.
        std::os::unix::fs::chown(store.path(), Some(4242), Some(4343)).unwrap();
        (4242, 4343)
    } else {
        let m = std::fs::metadata(store.path()).unwrap();
        (m.uid(), m.gid())
    };
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    save_next(&store);
    let m = std::fs::metadata(store.path()).unwrap();
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    assert_eq!(m.permissions().mode() & 0o777, 0o640);
    // Never anything for others, even if the old file allowed it.
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    save_next(&store);
    assert_eq!(mode(store.path()), 0o640);
}

/// The generation mark only rises: deleting the keyring and creating (or saving) an old copy,
/// or a document built on one, in its place is refused, and nothing is written; a new keyring
/// sealed above the mark is created, and the old copy is still refused after it.
#[test]
fn deleting_the_keyring_does_not_reset_the_rollback_mark() {
    let (_d, store) = store();
    let one = save_next(&store);
    let two = save_next(&store);
    let three = save_next(&store);
    assert_eq!(store.highest_generation().unwrap(), 3);
    std::fs::remove_file(store.path()).unwrap();
    let lock = store.lock().unwrap();
    // An old copy, the deleted document's generation, and one built on the copy before it.
    let mut on_two = open(&two);
    on_two.rotate(NOW + 50).unwrap();
    let rebuilt = seal(&on_two);
    assert_eq!(generation(&rebuilt), 3);
    for doc in [&one, &two, &three, &rebuilt] {
        let err = lock.create(doc).unwrap_err();
        assert_eq!(err.code(), "keyring_rollback", "{err}");
        assert!(
            matches!(err, Error::GenerationUsed { seen: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("keyroll restore"), "{err}");
        let err = lock.write(doc).unwrap_err();
        assert_eq!(err.code(), "keyring_rollback", "{err}");
        assert!(!store.exists());
        assert_eq!(store.highest_generation().unwrap(), 3);
    }
    drop(lock);
    assert_eq!(store.save(&one).unwrap_err().code(), "keyring_rollback");
    // A new keyring sealed above the mark is fine, and the mark stays where it belongs.
    let lock = store.lock().unwrap();
    assert_eq!(lock.create_base().unwrap(), 3);
    let mut fresh = Keyring::generate(NOW + 60).unwrap();
    fresh.mark_saved(lock.create_base().unwrap());
    let fresh = seal(&fresh);
    lock.create(&fresh).unwrap();
    drop(lock);
    assert_eq!(store.highest_generation().unwrap(), 4);
    // The old copy put back by hand is refused on every read.
    std::fs::remove_file(store.path()).unwrap();
    std::fs::write(store.path(), &two).unwrap();
    assert_eq!(store.read().unwrap_err().code(), "keyring_rollback");
    // Restoring it on purpose still works, above every generation seen.
    let lock = store.lock().unwrap();
    let mut ring = open(&two);
    ring.mark_saved(lock.restore_base().unwrap());
    let restored = seal(&ring);
    lock.restore(&restored).unwrap();
    drop(lock);
    assert_eq!(generation(&store.read().unwrap()), 5);
}

fn has_material(doc: &[u8], version: u32) -> bool {
    let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    v["body"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["version"] == version && x.get("sealed").is_some())
}

/// A save that destroys a version purges its material from every backup, the one the save
/// itself just took included; a save that destroys nothing leaves the backups alone.
#[test]
fn a_save_that_destroys_a_version_purges_it_from_every_backup() {
    let (_d, store) = store();
    save_next(&store);
    save_next(&store);
    let doc = save_next(&store); // v1..v3, backups of generations 1 and 2
    let (_, _, reports) = store
        .save_purging(&next_doc(&store), Unlock::MasterKey(&key()), NOW)
        .unwrap();
    assert!(reports.is_empty());
    let mut ring = open(&store.read().unwrap());
    ring.set_state(1, keyroll::KeyState::Destroyed, None, NOW + 9)
        .unwrap();
    let destroying = seal(&ring);
    assert_eq!(
        keyroll_store::destroyed_since(&store.read().unwrap(), &destroying),
        vec![1]
    );
    assert!(keyroll_store::destroyed_since(&doc, &doc).is_empty());
    let (backup, generation, reports) = store
        .save_purging(&destroying, Unlock::MasterKey(&key()), NOW + 9)
        .unwrap();
    assert_eq!(generation, 5);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].version, 1);
    assert_eq!(reports[0].resealed.len(), 4);
    assert!(reports[0].deleted.is_empty());
    // The backup this save took was re-sealed too (under a new name).
    let backup = backup.unwrap();
    assert!(!backup.path.exists());
    for b in store.backups().unwrap() {
        let bytes = store.read_backup(&b).unwrap();
        assert!(!has_material(&bytes, 1), "{}", b.name);
        assert!(open(&bytes).version(1).is_some());
    }
    let audit = store.audit().records().unwrap();
    assert_eq!(audit.last().unwrap().event, "purge_backups");
}

/// Signing keyrings keep sealed private keys in backups too: a save that destroys a signing
/// version re-seals every backup without it (before, the purge opened backups as encryption
/// keyrings only, so a signing backup that held the key was deleted rather than re-sealed,
/// and the bindings' signing `save` skipped the purge altogether).
#[test]
fn a_destroyed_signing_key_leaves_every_backup_too() {
    use keyroll::signing::{SigningAlgorithm, SigningKeyring};
    let (_d, store) = store();
    let unlock = Unlock::MasterKey(&key());
    let mut ring = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
    for i in 1..=3 {
        let doc = ring.to_document(Protection::MasterKey(&key())).unwrap();
        let (_, generation, _) = store.save_purging(&doc, unlock, NOW + i).unwrap();
        ring = SigningKeyring::from_document(&store.read().unwrap(), unlock).unwrap();
        assert_eq!(ring.generation(), generation);
        ring.rotate(NOW + 10 * i).unwrap();
    }
    // v1 is retired (decrypt_only: verify only); destroy it.
    ring.set_state(1, keyroll::KeyState::Destroyed, None, NOW + 99)
        .unwrap();
    let destroying = ring.to_document(Protection::MasterKey(&key())).unwrap();
    let (_, _, reports) = store.save_purging(&destroying, unlock, NOW + 99).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].version, 1);
    assert!(reports[0].deleted.is_empty(), "{:?}", reports[0]);
    assert_eq!(reports[0].resealed.len(), 3);
    for b in store.backups().unwrap() {
        let bytes = store.read_backup(&b).unwrap();
        assert!(!has_material(&bytes, 1), "{}", b.name);
        // Still a signing keyring, still opening, its other keys kept.
        let copy = SigningKeyring::from_document(&bytes, unlock).unwrap();
        assert_eq!(copy.version(1).unwrap().state, keyroll::KeyState::Destroyed);
    }
}
