#![allow(clippy::unwrap_used, missing_docs)]
//! Behaviour of the keyring store: atomic writes, modes, locks, backups, audit log.

use keyroll_store::{write_atomic, AuditRecord, Error, Store};
use std::sync::{Arc, Barrier};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("keyring.json"));
    (dir, store)
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
    lock.create(b"one").unwrap();
    let err = lock.create(b"again").unwrap_err();
    assert_eq!(err.code(), "keyring_exists");
    let backup = lock.write(b"two").unwrap().expect("a backup of `one`");
    drop(lock);
    assert_eq!(store.read().unwrap(), b"two");
    assert_eq!(store.read_backup(&backup).unwrap(), b"one");
    assert_eq!(backup.size, 3);
    assert_eq!(store.backups().unwrap(), vec![backup]);
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    let (_d, store) = store();
    store.save(b"one").unwrap();
    store.save(b"two").unwrap();
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
    store.save(b"one").unwrap();
    store.save(b"two").unwrap();
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
    // Eight threads each append their number to a shared document 10 times, under the lock.
    let (_d, store) = store();
    store.save(b"").unwrap();
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
                    let mut doc = lock.read().unwrap().unwrap();
                    doc.push(b'a' + t as u8);
                    lock.write(&doc).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let doc = store.read().unwrap();
    assert_eq!(doc.len(), threads * 10);
    for t in 0..threads {
        assert_eq!(doc.iter().filter(|&&b| b == b'a' + t as u8).count(), 10);
    }
    assert_eq!(store.backups().unwrap().len(), threads * 10);
}

#[test]
fn damaged_backup_is_refused_and_nothing_changes() {
    let (_d, store) = store();
    store.save(b"one").unwrap();
    store.save(b"two").unwrap();
    let backup = store.backups().unwrap().pop().unwrap();
    std::fs::write(&backup.path, b"ONE").unwrap();
    let lock = store.lock().unwrap();
    let err = lock.restore(&backup).unwrap_err();
    assert_eq!(err.code(), "backup_corrupt");
    drop(lock);
    assert_eq!(store.read().unwrap(), b"two");
    assert_eq!(store.backups().unwrap().len(), 1);
}

#[test]
fn restore_brings_back_a_backup_and_backs_up_the_current() {
    let (_d, store) = store();
    store.save(b"one").unwrap();
    store.save(b"two").unwrap();
    let backup = store.backups().unwrap().pop().unwrap();
    let found = store.find_backup(&backup.name).unwrap();
    assert_eq!(found, backup);
    let by_hash = store.find_backup(&backup.sha256[..12]).unwrap();
    assert_eq!(by_hash, backup);
    assert_eq!(
        store.find_backup("nothing").unwrap_err().code(),
        "backup_not_found"
    );
    let restored = store.lock().unwrap().restore(&backup).unwrap();
    assert_eq!(restored, b"one");
    assert_eq!(store.read().unwrap(), b"one");
    let all = store.backups().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(store.read_backup(all.last().unwrap()).unwrap(), b"two");
}

#[test]
fn prune_keeps_the_newest() {
    let (_d, store) = store();
    for i in 0..6u8 {
        store.save(&[b'0' + i]).unwrap();
    }
    let before = store.backups().unwrap();
    assert_eq!(before.len(), 5);
    let removed = store.lock().unwrap().prune(2).unwrap();
    assert_eq!(removed, before[..3].to_vec());
    let after = store.backups().unwrap();
    assert_eq!(after, before[3..].to_vec());
    assert_eq!(store.read_backup(&after[1]).unwrap(), b"4");
    assert!(store.lock().unwrap().prune(10).unwrap().is_empty());
}

#[test]
fn unrelated_files_in_backup_dir_are_ignored() {
    let (_d, store) = store();
    store.save(b"one").unwrap();
    store.save(b"two").unwrap();
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
    store.save(b"1").unwrap();
    store.save(b"2").unwrap();
    store.audit().append(&AuditRecord::new("x", 1)).unwrap();
    assert!(dir.path().join("bk").is_dir());
    assert!(dir.path().join("audit.log").is_file());
    assert_eq!(
        store.backups().unwrap()[0].path.parent().unwrap(),
        dir.path().join("bk")
    );
}
