#![allow(clippy::unwrap_used, missing_docs)]
//! Live reload over the file store: a reader decrypts a freshly staged version at once,
//! keeps its last good keyring through corrupt and older documents, and checks in.

use keyroll::{Keyring, Protection, SecretKey, Unlock};
use keyroll_store::fleet::reload::{Opener, Polled, ReloadOptions, Reloader};
use keyroll_store::fleet::{FileStore, KeyringStore, ReaderCheckIn, Stored};
use keyroll_store::{AuditRecord, Result, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const NOW: u64 = 1_700_000_000;

fn key() -> SecretKey {
    SecretKey::from_bytes([9u8; 32])
}

fn opener() -> Opener {
    Arc::new(|doc: &[u8]| Keyring::from_document(doc, Unlock::MasterKey(&key())))
}

/// No background polls: every poll in these tests is explicit (or the unknown-version hook).
fn manual() -> ReloadOptions {
    ReloadOptions {
        poll_interval: Duration::ZERO,
        reader: Some("test-host:1:abcd".into()),
        ..ReloadOptions::default()
    }
}

/// A file store with a first keyring saved (generation 1).
fn file_store() -> (tempfile::TempDir, Arc<FileStore>) {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FileStore::new(Store::new(dir.path().join("k.json"))));
    let doc = Keyring::generate(NOW)
        .unwrap()
        .to_document(Protection::MasterKey(&key()))
        .unwrap();
    fs.compare_and_swap(None, &doc).unwrap();
    (dir, fs)
}

/// What an operator's `keyroll stage` does: the next document with one more pending version,
/// compare-and-swapped in. Returns the staged version.
fn stage(store: &dyn KeyringStore) -> u32 {
    let stored = store.load().unwrap().unwrap();
    let mut ring = Keyring::from_document(&stored.document, Unlock::MasterKey(&key())).unwrap();
    let version = ring.add_version(NOW + stored.generation).unwrap();
    let doc = ring.to_document(Protection::MasterKey(&key())).unwrap();
    store
        .compare_and_swap(Some(stored.generation), &doc)
        .unwrap();
    version
}

/// A writer that already holds the staged version (it reloaded, promoted locally) encrypts.
fn encrypt_under(store: &dyn KeyringStore, version: u32) -> String {
    let doc = store.load().unwrap().unwrap().document;
    let mut ring = Keyring::from_document(&doc, Unlock::MasterKey(&key())).unwrap();
    ring.promote(version, NOW + 100).unwrap();
    ring.encrypt(b"fresh", b"ctx", None).unwrap()
}

/// Counts loads and reports generation polls, around a real store.
#[derive(Debug)]
struct Counting {
    inner: Arc<FileStore>,
    loads: AtomicUsize,
    generations: AtomicUsize,
    polls: Mutex<Option<mpsc::Sender<()>>>,
}

impl Counting {
    fn new(inner: Arc<FileStore>) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            loads: AtomicUsize::new(0),
            generations: AtomicUsize::new(0),
            polls: Mutex::new(None),
        })
    }
}

impl KeyringStore for Counting {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn load(&self) -> Result<Option<Stored>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load()
    }
    fn generation(&self) -> Result<Option<u64>> {
        self.generations.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = &*self.polls.lock().unwrap() {
            let _ = tx.send(());
        }
        self.inner.generation()
    }
    fn compare_and_swap(&self, expected: Option<u64>, document: &[u8]) -> Result<()> {
        self.inner.compare_and_swap(expected, document)
    }
    fn audit(&self, record: &AuditRecord) -> Result<()> {
        self.inner.audit(record)
    }
    fn check_in(&self, reader: &ReaderCheckIn) -> Result<()> {
        self.inner.check_in(reader)
    }
    fn readers(&self) -> Result<Vec<ReaderCheckIn>> {
        self.inner.readers()
    }
}

#[test]
fn a_version_staged_by_another_thread_decrypts_at_once_without_waiting_for_the_poll() {
    let (_dir, fs) = file_store();
    let reloader = Reloader::open(
        fs.clone(),
        opener(),
        ReloadOptions {
            // A poll far away: only the unknown-version reload can bring the key in time.
            poll_interval: Duration::from_secs(3600),
            ..manual()
        },
    )
    .unwrap();
    let handle = reloader.handle().clone();
    assert_eq!(handle.generation(), 1);

    let writer_store = fs.clone();
    let token = std::thread::spawn(move || {
        let v = stage(&*writer_store);
        encrypt_under(&*writer_store, v)
    })
    .join()
    .unwrap();
    assert!(token.starts_with("kr1:v2:"));
    let started = std::time::Instant::now();
    assert_eq!(
        handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
        b"fresh"
    );
    // The first decrypt under a fresh key pays one reload: printed for the notes.
    eprintln!(
        "file store: decrypt with an immediate reload took {:?}",
        started.elapsed()
    );
    assert_eq!(handle.generation(), 2);

    // It checked in with what it holds now.
    let readers = fs.readers().unwrap();
    assert_eq!(readers.len(), 1);
    assert_eq!(readers[0].reader, "test-host:1:abcd");
    assert_eq!(
        (readers[0].generation, readers[0].versions.clone()),
        (2, vec![1, 2])
    );
    assert_eq!(readers[0].poll_interval, 3600);
    assert_eq!(readers[0].last_error, None);
}

#[test]
fn unknown_versions_reload_at_most_once_per_gap() {
    let (_dir, fs) = file_store();
    let counting = Counting::new(fs.clone());
    let reloader = Reloader::open(
        counting.clone(),
        opener(),
        ReloadOptions {
            min_reload_gap: Duration::from_secs(3600),
            ..manual()
        },
    )
    .unwrap();
    let handle = reloader.handle().clone();
    let loads = counting.loads.load(Ordering::SeqCst);
    let polls = counting.generations.load(Ordering::SeqCst);

    // A forged or foreign version, again and again: one store reload, not one per decrypt.
    let mut other = Keyring::from_document(
        &fs.load().unwrap().unwrap().document,
        Unlock::MasterKey(&key()),
    )
    .unwrap();
    other.rotate(NOW + 5).unwrap();
    other.rotate(NOW + 6).unwrap();
    let token = other.encrypt(b"x", b"ctx", None).unwrap();
    for _ in 0..50 {
        let e = handle.decrypt(token.as_bytes(), b"ctx", None).unwrap_err();
        assert_eq!(e.code(), "unknown_key_version");
    }
    // One look at the store for fifty decrypts; it had not moved, so nothing was loaded.
    assert_eq!(counting.generations.load(Ordering::SeqCst), polls + 1);
    assert_eq!(counting.loads.load(Ordering::SeqCst), loads);

    // Within the gap a staged version is not fetched by the hook; the next poll brings it.
    let v = stage(&*fs);
    let token = encrypt_under(&*fs, v);
    assert_eq!(
        handle
            .decrypt(token.as_bytes(), b"ctx", None)
            .unwrap_err()
            .code(),
        "unknown_key_version"
    );
    assert_eq!(
        reloader.poll_now().unwrap(),
        Polled::Reloaded { from: 1, to: 2 }
    );
    assert_eq!(
        handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
        b"fresh"
    );
    assert_eq!(reloader.poll_now().unwrap(), Polled::Current);
}

#[test]
fn a_reload_that_brought_a_version_does_not_hold_back_the_next() {
    let (_dir, fs) = file_store();
    let reloader = Reloader::open(
        fs.clone(),
        opener(),
        ReloadOptions {
            min_reload_gap: Duration::from_secs(3600),
            ..manual()
        },
    )
    .unwrap();
    let handle = reloader.handle().clone();
    // Stage then promote-and-write in quick succession: both reach the reader at once.
    for expected in [2, 3] {
        let v = stage(&*fs);
        let token = encrypt_under(&*fs, v);
        assert_eq!(
            handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
            b"fresh"
        );
        assert_eq!(handle.generation(), expected);
    }
}

#[test]
fn a_corrupt_document_keeps_the_last_good_keyring_and_reports_keyring_corrupt() {
    let (dir, fs) = file_store();
    let reloader = Reloader::open(fs.clone(), opener(), manual()).unwrap();
    let handle = reloader.handle().clone();
    let token = handle.encrypt(b"kept", b"ctx", None).unwrap();

    // Someone writes garbage over the keyring (not through the store).
    let mut doc: serde_json::Value =
        serde_json::from_slice(&fs.load().unwrap().unwrap().document).unwrap();
    doc["generation"] = serde_json::json!(2);
    std::fs::write(dir.path().join("k.json"), serde_json::to_vec(&doc).unwrap()).unwrap();

    let e = reloader.poll_now().unwrap_err();
    assert_eq!(e.code(), "keyring_corrupt");
    assert_eq!(handle.generation(), 1);
    assert_eq!(
        handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
        b"kept"
    );
    let status = handle.status();
    assert_eq!(status.last_error.unwrap().code, "keyring_corrupt");
    let readers = fs.readers().unwrap();
    assert_eq!(readers[0].last_error.as_deref(), Some("keyring_corrupt"));
    assert_eq!(readers[0].generation, 1);

    // Not JSON at all: the same.
    std::fs::write(dir.path().join("k.json"), b"{not json").unwrap();
    assert!(reloader.poll_now().is_err());
    assert_eq!(handle.generation(), 1);
    assert!(handle.status().last_error.is_some());
}

#[test]
fn a_lower_generation_in_the_store_is_never_swapped_in() {
    let (dir, fs) = file_store();
    let first = fs.load().unwrap().unwrap().document;
    stage(&*fs);
    let reloader = Reloader::open(fs.clone(), opener(), manual()).unwrap();
    let handle = reloader.handle().clone();
    assert_eq!(handle.generation(), 2);

    // The generation-1 file put back by hand (an old copy restored by mistake).
    std::fs::write(dir.path().join("k.json"), &first).unwrap();
    let e = reloader.poll_now().unwrap_err();
    assert_eq!(e.code(), "keyring_rollback");
    assert_eq!(handle.generation(), 2);
    assert_eq!(handle.status().versions, vec![1, 2]);
    assert_eq!(handle.status().last_error.unwrap().code, "keyring_rollback");
}

#[test]
fn a_store_that_does_not_open_or_has_no_keyring_is_an_error() {
    let (dir, fs) = file_store();
    let reloader = Reloader::open(fs.clone(), opener(), manual()).unwrap();
    let wrong: Opener = Arc::new(|doc: &[u8]| {
        Keyring::from_document(doc, Unlock::MasterKey(&SecretKey::from_bytes([1u8; 32])))
    });
    let e = Reloader::open(fs.clone(), wrong, manual()).unwrap_err();
    assert_eq!(e.code(), "bad_passphrase");
    let empty = Arc::new(FileStore::new(Store::new(dir.path().join("none.json"))));
    let e = Reloader::open(empty, opener(), manual()).unwrap_err();
    assert_eq!(e.code(), "keyring_not_found");

    std::fs::write(dir.path().join("k.json"), b"junk").unwrap();
    assert!(reloader.poll_now().is_err());
    std::fs::remove_file(dir.path().join("k.json")).unwrap();
    assert_eq!(reloader.poll_now().unwrap_err().code(), "keyring_not_found");
    assert!(reloader.handle().status().last_error.is_some());
}

#[test]
fn a_failed_check_in_is_reported_from_the_first_load_on() {
    let (dir, fs) = file_store();
    // Something that is not a directory where the check-ins go.
    std::fs::write(dir.path().join("k.json.readers"), b"").unwrap();
    let reloader = Reloader::open(fs, opener(), manual()).unwrap();
    let status = reloader.handle().status();
    assert_eq!(status.last_error.unwrap().code, "io_error");
    assert_eq!(status.generation, 1, "the keyring itself loaded");
    assert_eq!(reloader.poll_now().unwrap(), Polled::Current);
    assert_eq!(
        reloader.handle().status().last_error.unwrap().code,
        "io_error"
    );
}

#[test]
fn the_background_thread_polls_and_stops_at_once() {
    let (_dir, fs) = file_store();
    let counting = Counting::new(fs.clone());
    let (tx, rx) = mpsc::channel();
    let mut reloader = Reloader::open(
        counting.clone(),
        opener(),
        ReloadOptions {
            poll_interval: Duration::from_millis(20),
            ..manual()
        },
    )
    .unwrap();
    let handle = reloader.handle().clone();
    let v = stage(&*fs);
    *counting.polls.lock().unwrap() = Some(tx);
    // Two polls seen: the second started after the first finished, so the staged
    // generation (on disk before either) has been swapped in.
    for _ in 0..2 {
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
    }
    reloader.poll_now().unwrap(); // waits for a poll in progress; nothing new
    assert_eq!(handle.generation(), 2);
    assert!(handle.status().versions.contains(&v));

    // A stop wakes the thread at once: no poll after it returns.
    reloader.stop();
    while rx.try_recv().is_ok() {}
    drop(reloader);
    assert!(rx.try_recv().is_err());
    // The handle outlives the reloader and keeps its keyring; the hook is gone with it.
    let token = encrypt_under(&*fs, v);
    assert_eq!(
        handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
        b"fresh"
    );
    let v3 = stage(&*fs);
    let token = encrypt_under(&*fs, v3);
    assert_eq!(
        handle
            .decrypt(token.as_bytes(), b"ctx", None)
            .unwrap_err()
            .code(),
        "unknown_key_version"
    );
    assert_eq!(handle.generation(), 2);
}

#[test]
fn dropping_a_reloader_with_a_long_interval_returns_at_once() {
    let (_dir, fs) = file_store();
    let reloader = Reloader::open(fs, opener(), ReloadOptions::default()).unwrap();
    let reader = reloader.reader().to_owned();
    let parts: Vec<&str> = reader.split(':').collect();
    assert_eq!(parts.len(), 3, "{reader}");
    assert_eq!(parts[1], std::process::id().to_string());
    let started = std::time::Instant::now();
    drop(reloader);
    // 30 s is the interval: a drop that waited for it would take that long.
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The same reader over the PostgreSQL store, on the server `scripts/ci/50-cli.sh` starts
/// (`KEYROLL_TEST_PG_URL`): a writer on another connection stages, the reader decrypts at
/// once and its check-in lands in the readers table.
#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use keyroll_store::fleet::postgres::PgStore;

    fn store(name: &str) -> Arc<PgStore> {
        let url = std::env::var("KEYROLL_TEST_PG_URL")
            .expect("KEYROLL_TEST_PG_URL must be set (scripts/ci/50-cli.sh starts the server)");
        Arc::new(PgStore::connect(&url, name).unwrap())
    }

    fn unique(test: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("reload-{test}-{}-{nanos}", std::process::id())
    }

    #[test]
    fn a_version_staged_on_another_connection_decrypts_at_once_and_the_reader_checks_in() {
        let name = unique("staged");
        let reader_store = store(&name);
        let doc = Keyring::generate(NOW)
            .unwrap()
            .to_document(Protection::MasterKey(&key()))
            .unwrap();
        reader_store.compare_and_swap(None, &doc).unwrap();
        let reloader = Reloader::open(
            reader_store.clone(),
            opener(),
            ReloadOptions {
                poll_interval: Duration::from_secs(3600),
                reader: Some(format!("pg-reader:{name}")),
                ..ReloadOptions::default()
            },
        )
        .unwrap();
        let handle = reloader.handle().clone();

        let writer_name = name.clone();
        let token = std::thread::spawn(move || {
            let writer = store(&writer_name);
            let v = stage(&*writer);
            encrypt_under(&*writer, v)
        })
        .join()
        .unwrap();
        let started = std::time::Instant::now();
        assert_eq!(
            handle.decrypt(token.as_bytes(), b"ctx", None).unwrap(),
            b"fresh"
        );
        eprintln!(
            "postgres store: decrypt with an immediate reload took {:?}",
            started.elapsed()
        );
        assert_eq!(handle.generation(), 2);
        let readers = reader_store.readers().unwrap();
        let me = readers
            .iter()
            .find(|r| r.reader == format!("pg-reader:{name}"))
            .unwrap();
        assert_eq!((me.generation, me.versions.clone()), (2, vec![1, 2]));
        assert_eq!(me.last_error, None);
        assert_eq!(reloader.poll_now().unwrap(), Polled::Current);
    }
}
