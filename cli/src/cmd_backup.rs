//! Backup commands: backup, backups, restore, prune.

use crate::error::{exit, Result};
use crate::out;
use crate::sealed::Sealed;
use crate::session::{now, Session};
use keyroll::{KeyState, Keyring, VersionInfo};
use keyroll_store::AuditRecord;
use serde_json::json;

/// `backup`.
pub fn backup(s: &Session) -> Result<i32> {
    let store = s.store.file()?;
    let lock = store.lock()?;
    let taken = lock.backup()?.ok_or_else(|| {
        crate::error::CliError::from(keyroll_store::Error::NotFound(store.path().to_path_buf()))
    })?;
    let mut record = AuditRecord::new("backup", now()?);
    record.details = Some(json!({ "backup": taken.name }));
    s.audit(&record)?;
    drop(lock);
    if s.global.json {
        out::json(&taken);
    } else {
        println!("{} {}", out::good("backed up to"), taken.path.display());
    }
    Ok(exit::OK)
}

/// `backups`: lists every backup and checks it against its checksum.
pub fn backups(s: &Session) -> Result<i32> {
    let store = s.store.file()?;
    let list = store.backups()?;
    let rows: Vec<_> = list
        .iter()
        .map(|b| {
            let status = match store.read_backup(b) {
                Ok(_) => "ok".to_string(),
                Err(e) => e.code().to_string(),
            };
            (b, status)
        })
        .collect();
    let damaged = rows.iter().filter(|(_, st)| st != "ok").count();
    if s.global.json {
        let items: Vec<_> = rows
            .iter()
            .map(|(b, st)| json!({ "name": b.name, "path": b.path, "created_at": b.created_at, "size": b.size, "sha256": b.sha256, "status": st }))
            .collect();
        out::json(
            &json!({ "backup_dir": store.backup_dir(), "backups": items, "damaged": damaged }),
        );
    } else if rows.is_empty() {
        println!("no backups in {}", store.backup_dir().display());
    } else {
        println!(
            "{} in {}",
            out::bold("backups"),
            store.backup_dir().display()
        );
        for (b, st) in &rows {
            let st = if st == "ok" {
                out::good(st)
            } else {
                out::bad(st)
            };
            println!(
                "  {}  {:>6} B  {}  {}",
                out::time(b.created_at),
                b.size,
                st,
                b.name
            );
        }
    }
    Ok(if damaged > 0 { exit::KEYRING } else { exit::OK })
}

/// What a restore would undo: versions the current keyring has retired for a reason
/// (compromised, disabled, destroyed) that the backup can read again (as `active`,
/// `decrypt_only` or `pending`: a pending key decrypts too), destroyed versions whose material
/// the backup still holds, and versions the current keyring does not have at all.
fn restore_changes(current: &[VersionInfo], restored: &[VersionInfo]) -> Vec<serde_json::Value> {
    use KeyState::*;
    let mut changes = Vec::new();
    for v in restored {
        let now = current.iter().find(|c| c.version == v.version);
        let reason = match now {
            None => Some("brought back"),
            Some(cur)
                if matches!(cur.state, Compromised | Disabled | Destroyed)
                    && matches!(v.state, Active | DecryptOnly | Pending) =>
            {
                Some("re-activated")
            }
            Some(cur) if cur.state == Destroyed && v.state != Destroyed => {
                Some("material brought back")
            }
            _ => None,
        };
        if let Some(reason) = reason {
            changes.push(json!({
                "version": v.version,
                "change": reason,
                "current_state": now.map(|c| c.state.as_str()),
                "restored_state": v.state.as_str(),
            }));
        }
    }
    changes
}

/// What a restore would lose: versions whose material the current keyring holds that the
/// backup drops (absent from it), and versions that read data now (`active`, `decrypt_only`)
/// that the backup has destroyed, disabled or compromised. Data written under them becomes
/// unreadable (or readable only with the compromised opt-in) after the restore.
fn restore_losses(current: &[VersionInfo], restored: &[VersionInfo]) -> Vec<serde_json::Value> {
    use KeyState::*;
    let mut losses = Vec::new();
    for cur in current {
        let then = restored.iter().find(|v| v.version == cur.version);
        let loss = match then {
            None if cur.state != Destroyed => Some("dropped"),
            Some(v) if matches!(cur.state, Active | DecryptOnly) => match v.state {
                Destroyed => Some("destroyed"),
                Disabled | Compromised => Some("demoted"),
                _ => None,
            },
            _ => None,
        };
        if let Some(loss) = loss {
            losses.push(json!({
                "version": cur.version,
                "change": loss,
                "current_state": cur.state.as_str(),
                "restored_state": then.map(|v| v.state.as_str()),
            }));
        }
    }
    losses
}

fn describe(change: &serde_json::Value) -> String {
    let v = &change["version"];
    let to = change["restored_state"].as_str().unwrap_or("");
    match change["current_state"].as_str() {
        Some(from) => format!(
            "v{v} {} ({from} -> {to})",
            change["change"].as_str().unwrap_or("")
        ),
        None => format!("v{v} {} ({to})", change["change"].as_str().unwrap_or("")),
    }
}

fn describe_loss(loss: &serde_json::Value) -> String {
    let v = &loss["version"];
    let from = loss["current_state"].as_str().unwrap_or("");
    match loss["restored_state"].as_str() {
        None => format!(
            "v{v} dropped ({from} now, not in the backup): data written under it becomes unreadable"
        ),
        Some("compromised") => format!(
            "v{v} demoted ({from} -> compromised): data written under it reads only with the compromised opt-in"
        ),
        Some("disabled") => format!(
            "v{v} demoted ({from} -> disabled): data written under it cannot be read until it is enabled again"
        ),
        Some(to) => format!(
            "v{v} {} ({from} -> {to}): data written under it becomes unreadable",
            loss["change"].as_str().unwrap_or("")
        ),
    }
}

/// `restore NAME`: checks the backup's checksum and that it opens with the current
/// credentials, lists every version it would re-activate or bring back, asks, then makes the
/// backup's keyring current (the replaced one is backed up first).
///
/// This is the one deliberate way back to older content: the restored keyring is sealed at a
/// generation above every one seen, so the rollback guard still refuses old copies put in
/// place by other means, and processes holding the replaced keyring get `keyring_conflict`.
pub fn restore(s: &Session, name: &str) -> Result<i32> {
    let store = s.store.file()?;
    let backup = store.find_backup(name)?;
    let bytes = store.read_backup(&backup)?;
    // Encryption and signing keyrings share the store; the backup says which it is.
    if crate::sealed::is_signing_document(&bytes) {
        restore_as::<keyroll::signing::SigningKeyring>(s, backup, bytes)
    } else {
        restore_as::<Keyring>(s, backup, bytes)
    }
}

fn restore_as<R: Sealed>(
    s: &Session,
    backup: keyroll_store::Backup,
    bytes: Vec<u8>,
) -> Result<i32> {
    let mut ring = s.open_as::<R>(&bytes)?;
    // What is there now, even if it is itself an old copy (then it is exactly what to undo).
    let current_doc = read_current(s)?;
    // A missing, truncated or otherwise unopenable current keyring is exactly when an operator
    // needs a restore: it must not block one. Then nothing can be compared version by
    // version, and the operator is told so and shown everything the backup brings back.
    let (current, unreadable) = match &current_doc {
        Current::Missing => (
            None,
            Some(format!("there is no file at {}", s.store.location())),
        ),
        Current::Unreadable(reason) => (None, Some(reason.clone())),
        Current::Document(doc) => match s.open_as::<R>(doc) {
            Ok(ring) => (Some(ring), None),
            Err(e) => (None, Some(format!("{}: {}", e.code, e.message))),
        },
    };
    let restored = ring.version_infos();
    let (changes, losses) = match &current {
        Some(current) => (
            restore_changes(&current.version_infos(), &restored),
            restore_losses(&current.version_infos(), &restored),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let versions: Vec<u32> = restored.iter().map(|v| v.version).collect();
    let listed = match &unreadable {
        Some(reason) => {
            let all: Vec<String> = restored
                .iter()
                .map(|v| format!("v{} ({})", v.version, v.state.as_str()))
                .collect();
            format!(
                "the current keyring cannot be read ({reason}); every version of the backup will be brought back: {}",
                all.join(", ")
            )
        }
        None if changes.is_empty() => "it re-activates and brings back no version".to_string(),
        None => {
            let items: Vec<String> = changes.iter().map(describe).collect();
            format!("it {}", items.join(", "))
        }
    };
    let warning = if losses.is_empty() {
        String::new()
    } else {
        let items: Vec<String> = losses.iter().map(describe_loss).collect();
        format!("; WARNING: {}", items.join("; "))
    };
    s.confirm(&format!(
        "restore {} (keyring {}, versions {:?}) over the current keyring: {listed}{warning}",
        backup.name,
        ring.id_hex(),
        versions
    ))?;
    let lock = s.store.file()?.lock()?;
    // What was confirmed must still be what is replaced.
    let now_doc = read_current(s)?;
    if now_doc != current_doc {
        return Err(keyroll::Error::KeyringConflict {
            base: current_doc.generation(),
            current: now_doc.generation(),
        }
        .into());
    }
    ring.mark_saved(lock.restore_base()?);
    let sealed = s.seal(&ring, Some(&bytes), keyroll::DEFAULT_PBKDF2_ITERATIONS)?;
    let mut record = AuditRecord::new("restore", now()?);
    record.versions = versions.clone();
    let generation = Keyring::document_generation(&sealed)?;
    record.details = Some(
        json!({ "backup": backup.name, "changes": changes, "losses": losses, "current_unreadable": unreadable, "generation": generation }),
    );
    if let Err(e) = lock.restore(&sealed) {
        record.result = e.code().to_string();
        s.audit(&record)?;
        return Err(e.into());
    }
    s.audit(&record)?;
    drop(lock);
    if s.global.json {
        out::json(&json!({
            "restored": backup.name,
            "keyring_id": ring.id_hex(),
            "versions": versions,
            "changes": changes,
            "losses": losses,
            "current_unreadable": unreadable,
            "generation": generation,
        }));
    } else {
        if let Some(reason) = &unreadable {
            println!(
                "  {}",
                out::warn(format!(
                    "the current keyring could not be read ({reason}); every version of the backup was brought back"
                ))
            );
        }
        for c in &changes {
            println!("  {}", out::warn(describe(c)));
        }
        for l in &losses {
            println!("  {}", out::bad(format!("WARNING: {}", describe_loss(l))));
        }
        println!(
            "{} {} as generation {generation} (the replaced keyring was backed up)",
            out::good("restored"),
            backup.name
        );
    }
    Ok(exit::OK)
}

/// The keyring file as it is now, for `restore`, which must work whatever state it is in.
#[derive(PartialEq, Eq)]
enum Current {
    /// No file.
    Missing,
    /// The file exists but cannot be read (why, without any content).
    Unreadable(String),
    /// Its bytes, not yet opened (it may be damaged or rolled back).
    Document(Vec<u8>),
}

impl Current {
    fn generation(&self) -> u64 {
        match self {
            Current::Document(d) => Keyring::document_generation(d).unwrap_or(0),
            _ => 0,
        }
    }
}

fn read_current(s: &Session) -> Result<Current> {
    match s.store.file()?.read_unchecked() {
        Ok(doc) => Ok(Current::Document(doc)),
        Err(keyroll_store::Error::NotFound(_)) => Ok(Current::Missing),
        Err(e @ keyroll_store::Error::Io { .. }) => Ok(Current::Unreadable(e.to_string())),
        // An unsafe directory or a symlink: refused as everywhere else.
        Err(e) => Err(e.into()),
    }
}

/// `prune --keep N`.
pub fn prune(s: &Session, keep: usize) -> Result<i32> {
    let store = s.store.file()?;
    let count = store.backups()?.len();
    if count > keep {
        s.confirm(&format!(
            "delete {} of {count} backups, keeping the newest {keep}",
            count - keep
        ))?;
    }
    let lock = store.lock()?;
    let removed = lock.prune(keep)?;
    if !removed.is_empty() {
        let mut record = AuditRecord::new("prune", now()?);
        record.details = Some(json!({ "removed": removed.len(), "kept": keep }));
        s.audit(&record)?;
    }
    drop(lock);
    if s.global.json {
        let names: Vec<_> = removed.iter().map(|b| &b.name).collect();
        out::json(&json!({ "removed": names, "kept": keep }));
    } else {
        println!(
            "removed {} backups, kept {}",
            removed.len(),
            count - removed.len()
        );
    }
    Ok(exit::OK)
}
