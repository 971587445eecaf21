//! The audit log: one JSON object per line, appended and fsynced, never key material.

use crate::atomic::{open_append_private, open_read_no_follow};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// One audit event. Callers fill it with versions, counts and reasons; nothing in it may be
/// key material or plaintext.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it happened, Unix seconds.
    pub time: u64,
    /// What happened (`init`, `rotate`, `emergency_rotate`, `migrate`, `restore`, …).
    pub event: String,
    /// Key versions concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<u32>,
    /// Why (e.g. the reason given for an emergency rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who: the OS user that ran the command.
    pub actor: String,
    /// `ok`, or the error code of the failure.
    pub result: String,
    /// Event-specific figures (e.g. a migration's counts), never secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl AuditRecord {
    /// A record of `event` at `time` by the current OS user, with result `ok`.
    pub fn new(event: impl Into<String>, time: u64) -> Self {
        AuditRecord {
            time,
            event: event.into(),
            versions: Vec::new(),
            reason: None,
            actor: default_actor(),
            result: "ok".to_string(),
            details: None,
        }
    }
}

/// The OS user running this process (`$USER`, `$LOGNAME`, or `uid:<n>`).
pub fn default_actor() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return v;
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return format!("uid:{}", meta.uid());
        }
    }
    "unknown".to_string()
}

/// An append-only JSON-lines file (mode 0600).
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The log at `path` (created on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog { path: path.into() }
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as a single line in a single write, then fsyncs.
    pub fn append(&self, record: &AuditRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::io("encode audit record", &self.path, std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut file = open_append_private(&self.path)
            .map_err(|e| Error::io("open audit log", &self.path, e))?;
        file.write_all(&line)
            .map_err(|e| Error::io("append audit log", &self.path, e))?;
        file.sync_all()
            .map_err(|e| Error::io("sync audit log", &self.path, e))
    }

    /// Every record, oldest first. A missing log has none.
    pub fn records(&self) -> Result<Vec<AuditRecord>> {
        let file = match open_read_no_follow(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read audit log", &self.path, e)),
        };
        let mut out = Vec::new();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io("read audit log", &self.path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            out.push(
                serde_json::from_str(&line).map_err(|_| Error::AuditCorrupt {
                    path: self.path.clone(),
                    line: i + 1,
                })?,
            );
        }
        Ok(out)
    }
}
