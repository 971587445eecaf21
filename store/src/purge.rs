//! Destroy means destroy: when a version is destroyed, its sealed key material leaves every
//! backup too. One implementation, for the CLI and every binding's save.

use crate::audit::AuditRecord;
use crate::backup::Backup;
use crate::store::Locked;
use crate::Result;
use keyroll::signing::SigningKeyring;
use keyroll::{Keyring, Protection, Sealing, Unlock};
use serde::Serialize;

/// What [`Locked::purge_version_from_backups`] did, by backup file name. Every backup that
/// held (or may have held) the version's material is either re-sealed without it or deleted;
/// the others are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// The destroyed version.
    pub version: u32,
    /// Backups re-sealed without the version's material (their new names): they opened with
    /// the credentials given.
    pub resealed: Vec<String>,
    /// Every backup deleted: the union of `damaged` and `unopenable`.
    pub deleted: Vec<String>,
    /// Deleted because they failed their checksum (damaged or altered) or could not be read
    /// at all: what they hold cannot be checked, so they cannot be kept.
    pub damaged: Vec<String>,
    /// Deleted because they do not open with the credentials given (sealed under older
    /// credentials, or by another keyring) and may hold the version's material.
    pub unopenable: Vec<String>,
    /// How many backups were left alone: they hold no material of the version.
    pub untouched: usize,
}

/// Versions that `previous` (a stored document) holds sealed material for and that `next`
/// (the document replacing it) has destroyed. Read without any key, so a store can tell
/// when a save destroys a key and its backups must follow.
pub fn destroyed_since(previous: &[u8], next: &[u8]) -> Vec<u32> {
    let sealed = versions(previous)
        .into_iter()
        .filter(|(_, _, has_material)| *has_material)
        .map(|(version, _, _)| version);
    let destroyed: Vec<u32> = versions(next)
        .into_iter()
        .filter(|(_, state, has_material)| state == "destroyed" && !has_material)
        .map(|(version, _, _)| version)
        .collect();
    sealed.filter(|v| destroyed.contains(v)).collect()
}

/// (version, state, has sealed material) of each version of a document; empty if it is not
/// a document.
fn versions(document: &[u8]) -> Vec<(u32, String, bool)> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(document) else {
        return Vec::new();
    };
    let Some(list) = doc.pointer("/body/versions").and_then(|v| v.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|v| {
            let version = u32::try_from(v.get("version")?.as_u64()?).ok()?;
            let state = v.get("state")?.as_str()?.to_string();
            Some((version, state, v.get("sealed").is_some()))
        })
        .collect()
}

/// Whether a document that cannot be opened may hold sealed material of `version`: read
/// without a key; anything that is not plainly a document without it counts as "may".
pub(crate) fn may_hold_material(document: &[u8], version: u32) -> bool {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(document) else {
        return true;
    };
    let Some(list) = doc.pointer("/body/versions").and_then(|v| v.as_array()) else {
        return true;
    };
    list.iter().any(|v| {
        v.get("version").and_then(|n| n.as_u64()) == Some(u64::from(version))
            && v.get("sealed").is_some()
    })
}

/// A backup opened as whichever kind of keyring it holds: both kinds keep sealed keys in
/// backups, so both must lose a destroyed one.
pub(crate) enum Opened {
    Encryption(Keyring),
    Signing(SigningKeyring),
}

impl Opened {
    pub(crate) fn open(document: &[u8], unlock: Unlock<'_>) -> keyroll::Result<Self> {
        match Keyring::from_document(document, unlock) {
            Err(keyroll::Error::WrongKeyringKind) => {
                SigningKeyring::from_document(document, unlock).map(Opened::Signing)
            }
            other => other.map(Opened::Encryption),
        }
    }

    /// Removes `version`'s material if this copy holds it; whether it did.
    pub(crate) fn purge(&mut self, version: u32, now: u64) -> keyroll::Result<bool> {
        match self {
            Opened::Encryption(r) if r.version(version).is_some() => r.purge_material(version, now),
            Opened::Signing(r) if r.version(version).is_some() => r.purge_material(version, now),
            _ => Ok(false),
        }
    }

    /// Seals it as `generation` again (a backup keeps its place in history), the way
    /// `previous` was sealed: the same credential and, for a passphrase, the same PBKDF2
    /// iterations (raised to the floor for documents from older releases).
    pub(crate) fn reseal(
        &mut self,
        generation: u64,
        previous: &[u8],
        unlock: Unlock<'_>,
    ) -> Result<Vec<u8>> {
        // A KMS-sealed copy keeps its own wrapped key-encryption key (it opened with it).
        let wrap = match keyroll::document_sealing(previous) {
            Ok(Sealing::Wrapped(wrap)) => Some(wrap),
            _ => None,
        };
        let protection = match unlock {
            Unlock::MasterKey(key) => Protection::MasterKey(key),
            Unlock::Unwrapped(key) => Protection::WrappedKey {
                key,
                wrap: wrap.as_ref().ok_or(keyroll::Error::BadPassphrase)?,
            },
            Unlock::Passphrase(passphrase) => Protection::Passphrase {
                passphrase,
                iterations: match keyroll::document_sealing(previous) {
                    Ok(Sealing::Passphrase { iterations }) => {
                        iterations.max(keyroll::MIN_ITERATIONS)
                    }
                    _ => keyroll::DEFAULT_PBKDF2_ITERATIONS,
                },
            },
        };
        let before = generation.saturating_sub(1);
        Ok(match self {
            Opened::Encryption(r) => {
                r.mark_saved(before);
                r.to_document(protection)?
            }
            Opened::Signing(r) => {
                r.mark_saved(before);
                r.to_document(protection)?
            }
        })
    }
}

impl Locked<'_> {
    /// Removes `version`'s sealed key material from every backup, after `version` was
    /// destroyed: a destroyed key must not survive in a copy. A backup that opens with
    /// `unlock` is re-sealed without it (keeping its generation, time and KDF settings). A
    /// backup that fails its checksum or cannot be read is deleted, and so is one that does
    /// not open with `unlock` and may hold the material. Backups without it are left alone.
    /// Appends a `purge_backups` audit record saying which backups went which way.
    pub fn purge_version_from_backups(
        &self,
        version: u32,
        unlock: Unlock<'_>,
        now: u64,
    ) -> Result<PurgeReport> {
        let mut report = PurgeReport {
            version,
            ..PurgeReport::default()
        };
        let outcome = self.purge_each(version, unlock, now, &mut report);
        let mut record = AuditRecord::new("purge_backups", now);
        record.versions = vec![version];
        record.details = Some(serde_json::json!({
            "resealed": report.resealed,
            "deleted": report.deleted,
            "damaged": report.damaged,
            "unopenable": report.unopenable,
        }));
        if let Err(e) = &outcome {
            record.result = e.code().to_string();
        }
        self.store().audit().append(&record)?;
        outcome.map(|()| report)
    }

    fn purge_each(
        &self,
        version: u32,
        unlock: Unlock<'_>,
        now: u64,
        report: &mut PurgeReport,
    ) -> Result<()> {
        for backup in self.store().backups()? {
            let bytes = match self.store().read_backup(&backup) {
                Ok(bytes) => bytes,
                Err(_) => {
                    self.delete_into(&backup, &mut report.damaged)?;
                    report.deleted.push(backup.name);
                    continue;
                }
            };
            match Opened::open(&bytes, unlock) {
                Ok(mut ring) => {
                    if !ring.purge(version, now)? {
                        report.untouched += 1;
                        continue;
                    }
                    let generation = Keyring::document_generation(&bytes)?;
                    let sealed = ring.reseal(generation, &bytes, unlock)?;
                    let new = self.replace_backup(&backup, &sealed)?;
                    report.resealed.push(new.name);
                }
                Err(_) if !may_hold_material(&bytes, version) => report.untouched += 1,
                Err(_) => {
                    self.delete_into(&backup, &mut report.unopenable)?;
                    report.deleted.push(backup.name);
                }
            }
        }
        Ok(())
    }

    fn delete_into(&self, backup: &Backup, list: &mut Vec<String>) -> Result<()> {
        self.delete_backup(backup)?;
        list.push(backup.name.clone());
        Ok(())
    }

    /// [`Locked::write`], then [`Locked::purge_version_from_backups`] for every version the
    /// new document destroys that the replaced one still held material for (the backup just
    /// taken included). For callers that hold the keyring's credentials, such as a binding's
    /// `save`.
    pub fn write_purging(
        &self,
        document: &[u8],
        unlock: Unlock<'_>,
        now: u64,
    ) -> Result<(Option<Backup>, Vec<PurgeReport>)> {
        let previous = self.read()?;
        let backup = self.write(document)?;
        let mut reports = Vec::new();
        if let Some(previous) = previous {
            for version in destroyed_since(&previous, document) {
                reports.push(self.purge_version_from_backups(version, unlock, now)?);
            }
        }
        Ok((backup, reports))
    }
}

impl crate::Store {
    /// [`crate::Store::save`] for callers that hold the keyring's credentials: under one lock,
    /// writes `document` and purges from every backup the material of each version it
    /// destroys (see [`Locked::write_purging`]). Returns the backup taken, the generation
    /// saved and what each purge did.
    pub fn save_purging(
        &self,
        document: &[u8],
        unlock: Unlock<'_>,
        now: u64,
    ) -> Result<(Option<Backup>, u64, Vec<PurgeReport>)> {
        let lock = self.lock()?;
        let (backup, reports) = lock.write_purging(document, unlock, now)?;
        Ok((backup, Keyring::document_generation(document)?, reports))
    }
}
