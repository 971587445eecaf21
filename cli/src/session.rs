//! Opening and saving the keyring: credentials, the lock, backups and the audit record of
//! every change.

use crate::args::Global;
use crate::error::{exit, CliError, Result};
use crate::sealed::Sealed;
use keyroll::{Keyring, Protection, SecretKey, Unlock};
use keyroll_store::{destroyed_since, AuditRecord, PurgeReport, Store};
use std::cell::{OnceCell, RefCell};
use std::io::IsTerminal;
use zeroize::Zeroizing;

/// How the keyring document is sealed.
pub enum Credentials {
    /// A passphrase (PBKDF2).
    Passphrase(Zeroizing<String>),
    /// A raw 256-bit master key.
    MasterKey(SecretKey),
}

/// Everything a command needs: options, the store, the clock, the credentials (asked once).
pub struct Session {
    /// Global options.
    pub global: Global,
    /// The keyring file and its sidecars.
    pub store: Store,
    credentials: OnceCell<Credentials>,
    /// What each destroy in [`Session::change`] purged from the backups.
    purged: RefCell<Vec<PurgeReport>>,
}

/// A 256-bit key as operators write it (64 hex digits or base64): core's one parser.
pub fn parse_key32(text: &str) -> Result<SecretKey> {
    SecretKey::from_text(text).map_err(|_| {
        CliError::new(
            "invalid_key",
            exit::INPUT,
            "a master key must be 32 bytes, as 64 hex digits or base64",
        )
    })
}

/// The current time in Unix seconds (`KEYROLL_NOW` overrides it, for rehearsals and tests).
pub fn now() -> Result<u64> {
    // Through the one environment parser, so that an empty KEYROLL_NOW means unset here as
    // everywhere else.
    let value = keyroll_store::env::var(&keyroll_store::env::process, "KEYROLL_NOW")
        .map_err(|_| CliError::input("KEYROLL_NOW must be Unix seconds"))?;
    if let Some(v) = value {
        return v
            .trim()
            .parse()
            .map_err(|_| CliError::input("KEYROLL_NOW must be Unix seconds"));
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

fn prompt(question: &str) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "no_credentials",
            exit::UNLOCK,
            "no credentials: set KEYROLL_PASSPHRASE or KEYROLL_MASTER_KEY (no terminal to prompt on)",
        ));
    }
    rpassword::prompt_password(question)
        .map(Zeroizing::new)
        .map_err(|e| {
            CliError::new(
                "no_credentials",
                exit::UNLOCK,
                format!("cannot read passphrase: {e}"),
            )
        })
}

impl Session {
    /// A session for these options.
    pub fn new(global: Global) -> Self {
        let mut store = Store::new(&global.keyring);
        if let Some(dir) = &global.backup_dir {
            store = store.with_backup_dir(dir);
        }
        if let Some(log) = &global.audit_log {
            store = store.with_audit_log(log);
        }
        Session {
            global,
            store,
            credentials: OnceCell::new(),
            purged: RefCell::new(Vec::new()),
        }
    }

    /// A session with credentials already known (the demo).
    pub fn with_credentials(global: Global, credentials: Credentials) -> Self {
        let session = Session::new(global);
        let _ = session.credentials.set(credentials);
        session
    }

    /// The credentials: KEYROLL_MASTER_KEY, else KEYROLL_PASSPHRASE, else a prompt
    /// (twice when `confirm`, for a new keyring).
    pub fn credentials(&self, confirm: bool) -> Result<&Credentials> {
        if let Some(c) = self.credentials.get() {
            return Ok(c);
        }
        // The one environment parser (keyroll_store::env): empty = unset, non-UTF-8 refused.
        use keyroll_store::env::{credential, process, Credential};
        let creds = if let Some(c) = credential(&process)? {
            match c {
                Credential::MasterKey(k) => Credentials::MasterKey(k),
                Credential::Passphrase(p) => Credentials::Passphrase(p),
            }
        } else {
            let p = prompt("keyring passphrase: ")?;
            if confirm {
                let again = prompt("repeat passphrase: ")?;
                if *again != *p {
                    return Err(CliError::new(
                        "no_credentials",
                        exit::UNLOCK,
                        "the passphrases differ",
                    ));
                }
            }
            Credentials::Passphrase(p)
        };
        if let Credentials::Passphrase(p) = &creds {
            if p.is_empty() {
                return Err(CliError::new(
                    "no_credentials",
                    exit::UNLOCK,
                    "the passphrase is empty",
                ));
            }
        }
        Ok(self.credentials.get_or_init(|| creds))
    }

    fn unlock(&self) -> Result<Unlock<'_>> {
        Ok(match self.credentials(false)? {
            Credentials::Passphrase(p) => Unlock::Passphrase(p.as_bytes()),
            Credentials::MasterKey(k) => Unlock::MasterKey(k),
        })
    }

    /// Seals `ring` the way `previous` (a document) was sealed, or with `iterations` for a
    /// new passphrase keyring. A document sealed below keyroll's PBKDF2 floor (by an older
    /// release) is re-sealed at the floor: core refuses to write fewer iterations.
    pub fn seal<R: Sealed>(
        &self,
        ring: &R,
        previous: Option<&[u8]>,
        iterations: u32,
    ) -> Result<Vec<u8>> {
        let iterations = match previous.map(keyroll::document_sealing) {
            Some(Ok(keyroll::Sealing::Passphrase { iterations })) => {
                iterations.max(keyroll::MIN_ITERATIONS)
            }
            _ => iterations,
        };
        let protection = match self.credentials(previous.is_none())? {
            Credentials::Passphrase(p) => Protection::Passphrase {
                passphrase: p.as_bytes(),
                iterations,
            },
            Credentials::MasterKey(k) => Protection::MasterKey(k),
        };
        Ok(ring.seal(protection)?)
    }

    /// Opens a keyring document.
    pub fn open_document(&self, document: &[u8]) -> Result<Keyring> {
        self.open_as(document)
    }

    /// Opens a keyring document of either kind (`wrong_keyring_kind` for the other one).
    pub fn open_as<R: Sealed>(&self, document: &[u8]) -> Result<R> {
        let unlock = self.unlock()?;
        R::open(document, unlock).map_err(R::open_error)
    }

    /// Reads and opens the keyring (no lock: writes are atomic).
    pub fn open(&self) -> Result<Keyring> {
        let document = self.store.read()?;
        self.open_document(&document)
    }

    /// Changes the keyring under the exclusive lock: read, open, `change`, seal, back up the
    /// old document, write atomically, and append the audit record `change` fills in (also
    /// when it fails, with the error's code).
    pub fn change<T>(
        &self,
        event: &str,
        change: impl FnOnce(&mut Keyring, u64, &mut AuditRecord) -> Result<T>,
    ) -> Result<T> {
        self.change_as(event, change)
    }

    /// [`Session::change`] for either kind of keyring.
    pub fn change_as<R: Sealed, T>(
        &self,
        event: &str,
        change: impl FnOnce(&mut R, u64, &mut AuditRecord) -> Result<T>,
    ) -> Result<T> {
        let lock = self.store.lock()?;
        let document = lock.read()?.ok_or_else(|| {
            CliError::from(keyroll_store::Error::NotFound(
                self.store.path().to_path_buf(),
            ))
        })?;
        let now = now()?;
        let mut record = AuditRecord::new(event, now);
        let mut ring = match self.open_as::<R>(&document) {
            Ok(ring) => ring,
            Err(e) => {
                // A refused unlock is worth a line in the log too.
                record.result = e.code.clone();
                self.store.audit().append(&record)?;
                return Err(e);
            }
        };
        let outcome = change(&mut ring, now, &mut record).and_then(|value| {
            let sealed = self.seal(&ring, Some(&document), keyroll::DEFAULT_PBKDF2_ITERATIONS)?;
            lock.write(&sealed)?;
            Ok((value, sealed))
        });
        if let Err(e) = &outcome {
            record.result = e.code.clone();
        }
        self.store.audit().append(&record)?;
        let (value, sealed) = outcome?;
        // A destroyed key must not survive in a backup (the one just taken included): purged
        // under the same lock, each purge audited after the change itself.
        for version in destroyed_since(&document, &sealed) {
            let report = lock.purge_version_from_backups(version, self.unlock()?, now)?;
            self.purged.borrow_mut().push(report);
        }
        Ok(value)
    }

    /// What the purge after destroying `version` (in [`Session::change`]) did to the
    /// backups, `None` if no change destroyed it.
    pub fn purged(&self, version: u32) -> Option<PurgeReport> {
        let mut purged = self.purged.borrow_mut();
        let at = purged.iter().position(|p| p.version == version)?;
        Some(purged.remove(at))
    }

    /// Appends an audit record.
    pub fn audit(&self, record: &AuditRecord) -> Result<()> {
        Ok(self.store.audit().append(record)?)
    }

    /// Asks "proceed?" on the terminal unless `--yes`; refuses without a terminal.
    pub fn confirm(&self, what: &str) -> Result<()> {
        if self.global.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::aborted(format!(
                "{what}: pass --yes to confirm (no terminal to ask on)"
            )));
        }
        let ok = dialoguer_like_confirm(what)?;
        if ok {
            Ok(())
        } else {
            Err(CliError::aborted("cancelled; nothing was changed"))
        }
    }
}

/// What a destroy did to the backups, in words that match exactly what happened to each.
pub fn describe_purge(p: &PurgeReport) -> String {
    let v = p.version;
    let mut text = format!(
        "v{v}'s key material removed from the keyring; backups: {} re-sealed without it, {} deleted",
        p.resealed.len(),
        p.deleted.len()
    );
    if !p.deleted.is_empty() {
        text.push_str(&format!(
            " ({} failing their checksum or unreadable, {} not opening with the current credentials)",
            p.damaged.len(),
            p.unopenable.len()
        ));
    }
    text.push_str(&format!(
        ", {} left as they were (no material of v{v} in them)",
        p.untouched
    ));
    for name in &p.damaged {
        text.push_str(&format!(
            "\n  deleted {name}: it failed its checksum or could not be read"
        ));
    }
    for name in &p.unopenable {
        text.push_str(&format!(
            "\n  deleted {name}: it does not open with the current credentials"
        ));
    }
    text
}

fn dialoguer_like_confirm(what: &str) -> Result<bool> {
    use std::io::Write;
    eprint!("{what}. Proceed? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}

/// How a document is sealed, for `info` ("passphrase (600000 iterations)" / "master key").
pub fn document_protection(document: &[u8]) -> String {
    match keyroll::document_sealing(document) {
        Ok(sealing @ keyroll::Sealing::Passphrase { iterations }) => {
            let mut text = format!("passphrase (PBKDF2-HMAC-SHA256, {iterations} iterations)");
            if sealing.below_floor() {
                text = format!("{text}; {}", below_floor_warning(iterations));
            }
            text
        }
        _ => "master key".to_string(),
    }
}

/// Why a passphrase document sealed below keyroll's PBKDF2 floor (by an older release) should
/// be re-sealed, for `info` and `health`. It still opens, so any change re-seals it at the floor.
pub fn below_floor_warning(iterations: u32) -> String {
    let floor = keyroll::MIN_ITERATIONS;
    format!(
        "sealed with {iterations} PBKDF2 iterations, below the floor of {floor}: the passphrase is cheap to guess from a copy of the file; the next change (e.g. `keyroll rotate`) re-seals it at {floor}"
    )
}
