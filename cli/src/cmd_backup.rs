//! Backup commands: backup, backups, restore, prune.

use crate::error::{exit, Result};
use crate::out;
use crate::session::{now, Session};
use keyroll_store::AuditRecord;
use serde_json::json;

/// `backup`.
pub fn backup(s: &Session) -> Result<i32> {
    let lock = s.store.lock()?;
    let taken = lock.backup()?.ok_or_else(|| {
        crate::error::CliError::from(keyroll_store::Error::NotFound(s.store.path().to_path_buf()))
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
    let list = s.store.backups()?;
    let rows: Vec<_> = list
        .iter()
        .map(|b| {
            let status = match s.store.read_backup(b) {
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
            &json!({ "backup_dir": s.store.backup_dir(), "backups": items, "damaged": damaged }),
        );
    } else if rows.is_empty() {
        println!("no backups in {}", s.store.backup_dir().display());
    } else {
        println!(
            "{} in {}",
            out::bold("backups"),
            s.store.backup_dir().display()
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

/// `restore NAME`: checks the backup's checksum and that it opens with the current
/// credentials, then replaces the keyring (which is backed up first).
pub fn restore(s: &Session, name: &str) -> Result<i32> {
    let backup = s.store.find_backup(name)?;
    let bytes = s.store.read_backup(&backup)?;
    let ring = s.open_document(&bytes)?;
    let versions: Vec<u32> = ring.versions().iter().map(|v| v.version).collect();
    s.confirm(&format!(
        "restore {} (keyring {}, versions {:?}) over the current keyring",
        backup.name,
        ring.id().to_hex(),
        versions
    ))?;
    let lock = s.store.lock()?;
    lock.restore(&backup)?;
    let mut record = AuditRecord::new("restore", now()?);
    record.versions = versions.clone();
    record.details = Some(json!({ "backup": backup.name }));
    s.audit(&record)?;
    drop(lock);
    if s.global.json {
        out::json(
            &json!({ "restored": backup.name, "keyring_id": ring.id().to_hex(), "versions": versions }),
        );
    } else {
        println!(
            "{} {} (the replaced keyring was backed up)",
            out::good("restored"),
            backup.name
        );
    }
    Ok(exit::OK)
}

/// `prune --keep N`.
pub fn prune(s: &Session, keep: usize) -> Result<i32> {
    let count = s.store.backups()?.len();
    if count > keep {
        s.confirm(&format!(
            "delete {} of {count} backups, keeping the newest {keep}",
            count - keep
        ))?;
    }
    let lock = s.store.lock()?;
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
