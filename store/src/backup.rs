//! Backups of the sealed keyring document: one file per change, named by time and SHA-256.
//!
//! A backup holds exactly the sealed document that was replaced, so it is as safe as the
//! keyring itself (every key in it is sealed under the passphrase or master key) and never
//! holds plaintext key material. Its name carries the SHA-256 of its content, so a damaged
//! or altered backup is detected before anyone restores it.

use crate::atomic::{read_no_follow, sync_dir, write_atomic};
use crate::{Error, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const PREFIX: &str = "keyring-";
const SUFFIX: &str = ".json";

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backup {
    /// File name inside the backup directory (what `restore` takes).
    pub name: String,
    /// Full path of the file.
    pub path: PathBuf,
    /// When it was taken, Unix seconds.
    pub created_at: u64,
    /// Nanoseconds within that second (orders backups taken in one second).
    pub created_nanos: u32,
    /// SHA-256 of the content, lowercase hex, as recorded in the name.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl Backup {
    /// Parses a backup file name: `keyring-<seconds>.<nanoseconds>-<sha256>.json`.
    fn parse(dir: &Path, name: &str) -> Option<Backup> {
        let stem = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
        let (time, sha) = stem.split_once('-')?;
        let (secs, nanos) = time.split_once('.')?;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let path = dir.join(name);
        // Not followed: a symlink named like a backup is listed as what it is, and refused
        // when read (`symlink_refused`).
        let size = std::fs::symlink_metadata(&path).ok()?.len();
        Some(Backup {
            name: name.to_string(),
            path,
            created_at: secs.parse().ok()?,
            created_nanos: nanos.parse().ok()?,
            sha256: sha.to_ascii_lowercase(),
            size,
        })
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates the backup directory with mode 0700 (and tightens an existing one).
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        // chmod would follow it and tighten (or expose) whatever directory it points to.
        return Err(Error::Symlink(dir.to_path_buf()));
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("create backup directory", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("chmod backup directory", dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` as a new backup in `dir`.
pub(crate) fn take(dir: &Path, bytes: &[u8]) -> Result<Backup> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    write_named(dir, now.as_secs(), now.subsec_nanos(), bytes)
}

/// Writes `bytes` as the backup taken at `secs`.`nanos`.
fn write_named(dir: &Path, secs: u64, nanos: u32, bytes: &[u8]) -> Result<Backup> {
    ensure_dir(dir)?;
    let sha = sha256_hex(bytes);
    let name = format!("{PREFIX}{secs:012}.{nanos:09}-{sha}{SUFFIX}");
    let path = dir.join(&name);
    write_atomic(&path, bytes).map_err(|e| Error::io("write backup", &path, e))?;
    Backup::parse(dir, &name).ok_or_else(|| {
        Error::io(
            "read back backup",
            &path,
            std::io::Error::other("backup vanished after writing"),
        )
    })
}

/// Every backup in `dir`, oldest first. A missing directory has none.
pub(crate) fn list(dir: &Path) -> Result<Vec<Backup>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list backups", dir, e)),
    };
    let mut backups = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list backups", dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            if let Some(backup) = Backup::parse(dir, name) {
                backups.push(backup);
            }
        }
    }
    backups.sort_by(|a, b| {
        (a.created_at, a.created_nanos, &a.name).cmp(&(b.created_at, b.created_nanos, &b.name))
    });
    Ok(backups)
}

/// Finds a backup by file name (or by a unique prefix of its SHA-256).
pub(crate) fn find(dir: &Path, name: &str) -> Result<Backup> {
    let all = list(dir)?;
    if let Some(b) = all.iter().find(|b| b.name == name) {
        return Ok(b.clone());
    }
    let lower = name.to_ascii_lowercase();
    let mut by_hash = all
        .into_iter()
        .filter(|b| lower.len() >= 8 && b.sha256.starts_with(&lower));
    match (by_hash.next(), by_hash.next()) {
        (Some(b), None) => Ok(b),
        _ => Err(Error::BackupNotFound(name.to_string())),
    }
}

/// Reads a backup and checks it against the SHA-256 in its name.
pub(crate) fn read_verified(backup: &Backup) -> Result<Vec<u8>> {
    let bytes =
        read_no_follow(&backup.path).map_err(|e| Error::io("read backup", &backup.path, e))?;
    if sha256_hex(&bytes) != backup.sha256 {
        return Err(Error::BackupCorrupt(backup.name.clone()));
    }
    Ok(bytes)
}

/// Deletes all but the newest `keep` backups; returns the deleted ones.
pub(crate) fn prune(dir: &Path, keep: usize) -> Result<Vec<Backup>> {
    let all = list(dir)?;
    let excess = all.len().saturating_sub(keep);
    let removed: Vec<Backup> = all.into_iter().take(excess).collect();
    for backup in &removed {
        std::fs::remove_file(&backup.path)
            .map_err(|e| Error::io("delete backup", &backup.path, e))?;
    }
    if !removed.is_empty() {
        sync_dir(dir).map_err(|e| Error::io("sync backup directory", dir, e))?;
    }
    Ok(removed)
}

/// Replaces `backup` with `bytes` (e.g. re-sealed without a destroyed key): the new file keeps
/// the old one's time and takes the new content's hash, then the old file is deleted.
pub(crate) fn replace(dir: &Path, backup: &Backup, bytes: &[u8]) -> Result<Backup> {
    let new = write_named(dir, backup.created_at, backup.created_nanos, bytes)?;
    if new.path != backup.path {
        delete(dir, backup)?;
    }
    Ok(new)
}

/// Deletes one backup.
pub(crate) fn delete(dir: &Path, backup: &Backup) -> Result<()> {
    std::fs::remove_file(&backup.path).map_err(|e| Error::io("delete backup", &backup.path, e))?;
    sync_dir(dir).map_err(|e| Error::io("sync backup directory", dir, e))
}
