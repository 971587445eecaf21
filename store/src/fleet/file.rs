//! The file store: [`crate::Store`] (lock, atomic write, generation mark, backups, audit
//! log) behind [`KeyringStore`]. Reader check-ins are files in `PATH.readers/`, which works
//! for every process that shares the file system (one host, or a shared volume).

use super::{KeyringStore, ReaderCheckIn, Stored};
use crate::atomic::write_atomic;
use crate::{AuditRecord, Error, Result, Store};
use keyroll::Keyring;
use std::path::PathBuf;

/// A keyring file as a [`KeyringStore`].
#[derive(Debug, Clone)]
pub struct FileStore {
    store: Store,
    readers_dir: PathBuf,
}

impl FileStore {
    /// The store for this keyring file (with its sidecars, see [`Store`]).
    pub fn new(store: Store) -> Self {
        let mut name = store.path().file_name().unwrap_or_default().to_os_string();
        name.push(".readers");
        let readers_dir = crate::atomic::parent_dir(store.path()).join(name);
        FileStore { store, readers_dir }
    }

    /// The file store underneath, for what only files have (backups, restore).
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn reader_file(&self, reader: &str) -> PathBuf {
        // Reader ids are ours (host:pid:tag) but come back from disk: keep the file name safe.
        let safe: String = reader
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(128)
            .collect();
        self.readers_dir.join(format!("{safe}.json"))
    }
}

impl KeyringStore for FileStore {
    fn location(&self) -> String {
        format!("file:{}", self.store.path().display())
    }

    fn load(&self) -> Result<Option<Stored>> {
        match self.store.read() {
            Ok(document) => {
                let generation = Keyring::document_generation(&document)?;
                Ok(Some(Stored {
                    document,
                    generation,
                }))
            }
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn generation(&self) -> Result<Option<u64>> {
        Ok(self.load()?.map(|s| s.generation))
    }

    fn compare_and_swap(&self, expected: Option<u64>, document: &[u8]) -> Result<()> {
        let lock = self.store.lock()?;
        let current = lock.read()?;
        let current_generation = match &current {
            Some(c) => Some(Keyring::document_generation(c)?),
            None => None,
        };
        if current_generation != expected {
            return Err(keyroll::Error::KeyringConflict {
                base: expected.unwrap_or(0),
                current: current_generation.unwrap_or(0),
            }
            .into());
        }
        match current {
            Some(_) => lock.write(document).map(|_| ()),
            None => lock.create(document),
        }
    }

    fn audit(&self, record: &AuditRecord) -> Result<()> {
        self.store.audit().append(record)
    }

    fn check_in(&self, reader: &ReaderCheckIn) -> Result<()> {
        std::fs::create_dir_all(&self.readers_dir)
            .map_err(|e| Error::io("create readers directory", &self.readers_dir, e))?;
        let path = self.reader_file(&reader.reader);
        let bytes = serde_json::to_vec(reader).map_err(|e| {
            Error::io(
                "write reader check-in",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        write_atomic(&path, &bytes).map_err(|e| Error::io("write reader check-in", &path, e))
    }

    fn readers(&self) -> Result<Vec<ReaderCheckIn>> {
        let entries = match std::fs::read_dir(&self.readers_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list readers", &self.readers_dir, e)),
        };
        let mut readers = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| Error::io("list readers", &self.readers_dir, e))?
                .path();
            if path.extension() != Some(std::ffi::OsStr::new("json")) {
                continue;
            }
            // A check-in being replaced right now, or damaged: skip it rather than fail a
            // promote over one file (a live reader writes a fresh one within its interval).
            if let Some(r) = crate::atomic::read_no_follow(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<ReaderCheckIn>(&b).ok())
            {
                readers.push(r);
            }
        }
        readers.sort_by(|a, b| {
            b.checked_at
                .cmp(&a.checked_at)
                .then(a.reader.cmp(&b.reader))
        });
        Ok(readers)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use keyroll::{Protection, SecretKey, Unlock};

    fn sealed(ring: &Keyring, key: &SecretKey) -> Vec<u8> {
        ring.to_document(Protection::MasterKey(key)).unwrap()
    }

    #[test]
    fn compare_and_swap_refuses_a_stale_base_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FileStore::new(Store::new(dir.path().join("k.json")));
        let key = SecretKey::generate().unwrap();
        let ring = Keyring::generate(1_700_000_000).unwrap();
        fs.compare_and_swap(None, &sealed(&ring, &key)).unwrap();
        assert_eq!(fs.generation().unwrap(), Some(1));

        // Two operators load generation 1; the first to save wins.
        let doc = fs.load().unwrap().unwrap().document;
        let mut a = Keyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap();
        let mut b = Keyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap();
        a.rotate(1_700_000_100).unwrap();
        b.rotate(1_700_000_200).unwrap();
        let a_doc = sealed(&a, &key);
        fs.compare_and_swap(Some(1), &a_doc).unwrap();
        let e = fs.compare_and_swap(Some(1), &sealed(&b, &key)).unwrap_err();
        assert_eq!(e.code(), "keyring_conflict");
        let now = fs.load().unwrap().unwrap();
        assert_eq!(now.generation, 2);
        assert_eq!(now.document, a_doc, "the winner's document stays");
        // Creating again over an existing keyring is a conflict too.
        let e = fs.compare_and_swap(None, &sealed(&ring, &key)).unwrap_err();
        assert_eq!(e.code(), "keyring_conflict");
    }

    #[test]
    fn reader_check_ins_replace_each_other_and_list_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FileStore::new(Store::new(dir.path().join("k.json")));
        assert!(fs.readers().unwrap().is_empty());
        let mut r = ReaderCheckIn {
            reader: "host:1:abc".into(),
            generation: 1,
            versions: vec![1],
            checked_at: 100,
            poll_interval: 30,
            last_error: None,
        };
        fs.check_in(&r).unwrap();
        r.generation = 2;
        r.versions = vec![1, 2];
        r.checked_at = 130;
        fs.check_in(&r).unwrap();
        let other = ReaderCheckIn {
            reader: "host/../2".into(),
            checked_at: 120,
            ..r.clone()
        };
        fs.check_in(&other).unwrap();
        let got = fs.readers().unwrap();
        assert_eq!(got, vec![r.clone(), other]);
        assert_eq!(super::super::readers_lacking(&got, 3, 140).len(), 2);
        assert!(super::super::readers_lacking(&got, 2, 140).is_empty());
        // Gone quiet for more than three intervals: no longer waited for.
        assert!(super::super::readers_lacking(&got, 3, 400).is_empty());
    }
}
