//! Opening and saving the keyring wherever it lives: credentials, the store (a file, a
//! PostgreSQL row, a Secrets Manager secret: [`keyroll_store::fleet`]), the file store's lock
//! and backups, and the audit record of every change.

use crate::args::Global;
use crate::error::{exit, CliError, Result};
use crate::sealed::Sealed;
use keyroll::{Keyring, Protection, SecretKey, Unlock};
use keyroll_store::fleet::postgres::PgStore;
use keyroll_store::fleet::{FileStore, KeyringStore, StoreUrl};
use keyroll_store::{destroyed_since, AuditLog, AuditRecord, PurgeReport, Store};
use std::cell::{OnceCell, RefCell};
use std::io::IsTerminal;
use std::sync::Arc;
use zeroize::Zeroizing;

/// How the keyring document is sealed.
pub enum Credentials {
    /// A passphrase (PBKDF2).
    Passphrase(Zeroizing<String>),
    /// A raw 256-bit master key.
    MasterKey(SecretKey),
    /// An AWS KMS key that seals new keyrings (`KEYROLL_KMS_KEY`, `KEYROLL_KMS_CONTEXT`).
    Kms {
        /// Key id, ARN or alias.
        key_id: String,
        /// The encryption context bound to the key-encryption key.
        context: std::collections::BTreeMap<String, String>,
    },
}

/// Where the keyring lives: the store its URL names (`--keyring`, `KEYROLL_KEYRING`).
///
/// A file keeps its extras (the lock, backups, restore, the purge of destroyed keys from
/// backups, a local audit log); any other store is reached through
/// [`KeyringStore`] alone, opened on first use so that commands that need no keyring
/// (`generate`, `validate`) never connect, and an invalid URL fails only the commands that
/// use it.
pub struct KeyringAt {
    /// The URL as given: may hold a password, so it is never printed (see [`Self::location`]).
    url: String,
    /// Set for `file:` URLs and plain paths (building it does no I/O).
    file: Option<FileStore>,
    other: OnceCell<Arc<dyn KeyringStore>>,
    /// The same store as `other` when it is a PostgreSQL row, for its audit table.
    pg: OnceCell<Arc<PgStore>>,
    /// Secrets Manager keeps no audit records: its keyring's go to the local log
    /// `--audit-log` / `KEYROLL_AUDIT_LOG` names, and without one it is not changed.
    local_audit: Option<AuditLog>,
    /// Whether the URL names a store that keeps no audit records of its own.
    needs_local_audit: bool,
}

impl KeyringAt {
    fn new(global: &Global) -> Self {
        let file = match StoreUrl::parse(&global.keyring) {
            Ok(StoreUrl::File(path)) => {
                let mut store = Store::new(path);
                if let Some(dir) = &global.backup_dir {
                    store = store.with_backup_dir(dir);
                }
                if let Some(log) = &global.audit_log {
                    store = store.with_audit_log(log);
                }
                Some(FileStore::new(store))
            }
            _ => None,
        };
        let needs_local_audit = matches!(
            StoreUrl::parse(&global.keyring),
            Ok(StoreUrl::AwsSecretsManager { .. })
        );
        let local_audit = match (&global.audit_log, needs_local_audit) {
            (Some(path), true) => Some(AuditLog::new(path)),
            _ => None,
        };
        KeyringAt {
            url: global.keyring.clone(),
            file,
            other: OnceCell::new(),
            pg: OnceCell::new(),
            local_audit,
            needs_local_audit,
        }
    }

    /// A store given directly (tests of the compare-and-swap path).
    #[cfg(test)]
    fn with_store(store: Arc<dyn KeyringStore>) -> Self {
        let other = OnceCell::new();
        let _ = other.set(store);
        KeyringAt {
            url: String::new(),
            file: None,
            other,
            pg: OnceCell::new(),
            local_audit: None,
            needs_local_audit: false,
        }
    }

    /// The store, opened on first use (`invalid_store_url`, or `store_unsupported` for a
    /// kind of store this build leaves out).
    pub fn fleet(&self) -> Result<&dyn KeyringStore> {
        if let Some(file) = &self.file {
            return Ok(file);
        }
        if let Some(store) = self.other.get() {
            return Ok(store.as_ref());
        }
        let store: Arc<dyn KeyringStore> = match StoreUrl::parse(&self.url)? {
            StoreUrl::Postgres { url, name } => {
                let pg = Arc::new(PgStore::connect(&url, &name)?);
                self.pg.get_or_init(|| pg).clone()
            }
            _ => keyroll_store::fleet::open(&self.url)?,
        };
        Ok(self.other.get_or_init(|| store).as_ref())
    }

    /// The PostgreSQL store, if the keyring is a row of one.
    pub fn postgres(&self) -> Result<Option<&PgStore>> {
        if self.file.is_some() {
            return Ok(None);
        }
        self.fleet()?;
        Ok(self.pg.get().map(|p| p.as_ref()))
    }

    /// The keyring file, for what only files have (backups, restore, prune, the local audit
    /// log); `store_unsupported` for any other store, which keeps its own history.
    pub fn file(&self) -> Result<&Store> {
        match &self.file {
            Some(f) => Ok(f.store()),
            None => {
                // An invalid URL says so rather than "unsupported" (without connecting).
                StoreUrl::parse(&self.url)?;
                Err(keyroll_store::Error::Unsupported {
                    location: self.location(),
                    what: "this needs a keyring file (backups, restore and prune are file-store commands; this store keeps its own history, see docs/fleet.md)",
                }
                .into())
            }
        }
    }

    /// Where the keyring is, for messages, output and audit records: a file's path as it was
    /// given, any other store's URL without its password.
    pub fn location(&self) -> String {
        match &self.file {
            Some(f) => f.store().path().display().to_string(),
            None => match self.other.get() {
                Some(store) => store.location(),
                None => StoreUrl::parse(&self.url)
                    .map(|u| u.location())
                    .unwrap_or_else(|_| "(invalid keyring store URL)".to_string()),
            },
        }
    }

    /// Whether there is a keyring. A store that cannot be asked counts as holding one, so
    /// that opening it reports why.
    pub fn exists(&self) -> bool {
        match &self.file {
            Some(f) => f.store().exists(),
            None => self
                .fleet()
                .and_then(|s| Ok(s.generation()?))
                .map_or(true, |g| g.is_some()),
        }
    }

    /// Appends an audit record: to the store, or to the local log of a store that keeps none.
    pub fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        if let Some(log) = &self.local_audit {
            return Ok(log.append(record)?);
        }
        Ok(self.fleet()?.audit(record)?)
    }

    /// Refuses to change a keyring whose change could not be audited (a Secrets Manager
    /// keyring without a local log): checked before anything is written.
    fn audit_ready(&self) -> Result<()> {
        if self.needs_local_audit && self.local_audit.is_none() {
            return Err(keyroll_store::Error::Unsupported {
                location: self.location(),
                what: "Secrets Manager keeps no audit records: set KEYROLL_AUDIT_LOG (or --audit-log) to a local JSON-lines file before changing this keyring (CloudTrail also records every API call)",
            }
            .into());
        }
        Ok(())
    }

    /// Every audit record of this keyring, oldest first: the file's log, PostgreSQL's audit
    /// table, or the local log of a store that keeps none.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>> {
        if let Some(log) = &self.local_audit {
            return Ok(log.records()?);
        }
        if let Some(pg) = self.postgres()? {
            return Ok(pg.audit_records()?);
        }
        Ok(self.file()?.audit().records()?)
    }

    /// Whether there is a keyring, asking the store (its errors are reported).
    pub fn present(&self) -> Result<bool> {
        match &self.file {
            Some(f) => Ok(f.store().exists()),
            None => Ok(self.fleet()?.generation()?.is_some()),
        }
    }

    fn not_found(&self) -> CliError {
        keyroll_store::Error::NotFound(self.location().into()).into()
    }

    /// The stored document (`keyring_not_found` if there is none), checked against rollback
    /// by the store.
    pub fn read(&self) -> Result<Vec<u8>> {
        if let Some(f) = &self.file {
            return Ok(f.store().read()?);
        }
        Ok(self.load()?.document)
    }

    fn load(&self) -> Result<keyroll_store::fleet::Stored> {
        self.fleet()?.load()?.ok_or_else(|| self.not_found())
    }
}

/// Everything a command needs: options, the store, the clock, the credentials (asked once).
pub struct Session {
    /// Global options.
    pub global: Global,
    /// Where the keyring lives.
    pub store: KeyringAt,
    credentials: OnceCell<Credentials>,
    /// The key-encryption key of a KMS-sealed keyring and its wrap: unwrapped (or made) once
    /// per command, so an open is one KMS call and a save none.
    kek: OnceCell<(keyroll::KeyWrap, SecretKey)>,
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
        let store = KeyringAt::new(&global);
        Session {
            global,
            store,
            credentials: OnceCell::new(),
            kek: OnceCell::new(),
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
    /// (twice when `confirm`, for a new keyring). The one place credentials are chosen:
    /// [`Session::unlock`] and [`Session::seal`] only translate them for the core.
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
                Credential::Kms { key_id, context } => Credentials::Kms { key_id, context },
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
        // A KMS-sealed keyring opened in this command: its backups open with the same KEK.
        if let Some((_, kek)) = self.kek.get() {
            return Ok(Unlock::Unwrapped(kek));
        }
        Ok(match self.credentials(false)? {
            Credentials::Passphrase(p) => Unlock::Passphrase(p.as_bytes()),
            Credentials::MasterKey(k) => Unlock::MasterKey(k),
            Credentials::Kms { .. } => {
                return Err(CliError::new(
                    "no_credentials",
                    exit::UNLOCK,
                    "KEYROLL_KMS_KEY seals new keyrings; this keyring is sealed under a passphrase or master key: set KEYROLL_PASSPHRASE or KEYROLL_MASTER_KEY instead",
                ))
            }
        })
    }

    /// The KEK of `wrap`: from this command's cache, else one KMS `Decrypt` (the document
    /// names the key and context; only AWS credentials are needed).
    fn unwrapped(&self, wrap: &keyroll::KeyWrap) -> Result<SecretKey> {
        if let Some((w, kek)) = self.kek.get() {
            if w == wrap {
                return Ok(kek.clone());
            }
        }
        let kek = keyroll_store::kms::AwsKms::for_unwrap()?.unwrap(wrap)?;
        let _ = self.kek.set((wrap.clone(), kek.clone()));
        Ok(kek)
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
        // A KMS-sealed keyring is re-sealed under the KEK and wrap it was opened with: no call.
        if let Some(Ok(keyroll::Sealing::Wrapped(wrap))) = previous.map(keyroll::document_sealing) {
            let kek = self.unwrapped(&wrap)?;
            return Ok(ring.seal(Protection::WrappedKey {
                key: &kek,
                wrap: &wrap,
            })?);
        }
        let protection = match self.credentials(previous.is_none())? {
            Credentials::Passphrase(p) => Protection::Passphrase {
                passphrase: p.as_bytes(),
                iterations,
            },
            Credentials::MasterKey(k) => Protection::MasterKey(k),
            Credentials::Kms { key_id, context } => {
                if self.kek.get().is_none() {
                    let kms = keyroll_store::kms::AwsKms::new(key_id.clone(), context.clone())?;
                    let (kek, wrap) = kms.new_kek()?;
                    let _ = self.kek.set((wrap, kek));
                }
                let (wrap, kek) = self.kek.get().ok_or_else(|| {
                    CliError::new("no_credentials", exit::UNLOCK, "no KMS key-encryption key")
                })?;
                Protection::WrappedKey { key: kek, wrap }
            }
        };
        Ok(ring.seal(protection)?)
    }

    /// Opens a keyring document.
    pub fn open_document(&self, document: &[u8]) -> Result<Keyring> {
        self.open_as(document)
    }

    /// Opens a keyring document of either kind (`wrong_keyring_kind` for the other one).
    pub fn open_as<R: Sealed>(&self, document: &[u8]) -> Result<R> {
        if let Ok(keyroll::Sealing::Wrapped(wrap)) = keyroll::document_sealing(document) {
            let kek = self.unwrapped(&wrap)?;
            return R::open(document, Unlock::Unwrapped(&kek)).map_err(R::open_error);
        }
        let unlock = self.unlock()?;
        R::open(document, unlock).map_err(R::open_error)
    }

    /// Reads and opens the keyring (no lock: writes are atomic).
    pub fn open(&self) -> Result<Keyring> {
        let document = self.store.read()?;
        self.open_document(&document)
    }

    /// Stores a new keyring (`keyring_exists` if there is one) and audits `record`. A file
    /// seals it above every generation ever written at its path (a deleted keyring's
    /// included); another store starts at generation 1 and refuses it itself if it ever held
    /// a higher one (`keyring_rollback`).
    pub fn create<R: Sealed>(
        &self,
        ring: &mut R,
        iterations: u32,
        record: &AuditRecord,
    ) -> Result<()> {
        self.store.audit_ready()?;
        if self.store.present()? {
            return Err(keyroll_store::Error::AlreadyExists(self.store.location().into()).into());
        }
        if let Some(file) = &self.store.file {
            let lock = file.store().lock()?;
            ring.mark_saved(lock.create_base()?);
            let sealed = self.seal(ring, None, iterations)?;
            lock.create(&sealed)?;
            return self.audit(record);
        }
        let store = self.store.fleet()?;
        ring.mark_saved(0);
        let sealed = self.seal(ring, None, iterations)?;
        match store.compare_and_swap(None, &sealed) {
            Ok(()) => {}
            // Someone created it meanwhile.
            Err(keyroll_store::Error::Keyring(keyroll::Error::KeyringConflict { .. })) => {
                return Err(
                    keyroll_store::Error::AlreadyExists(self.store.location().into()).into(),
                )
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(record)
    }

    /// Changes the keyring: read, open, `change`, seal, store it as the next generation, and
    /// append the audit record `change` fills in (also when it fails, with the error's code).
    pub fn change<T>(
        &self,
        event: &str,
        change: impl FnMut(&mut Keyring, u64, &mut AuditRecord) -> Result<T>,
    ) -> Result<T> {
        self.change_as(event, change)
    }

    /// [`Session::change`] for either kind of keyring.
    ///
    /// A file is changed under its exclusive lock (so two CLIs on it never conflict), the old
    /// document backed up, and a destroyed key purged from every backup under the same lock.
    /// Any other store is changed by `compare_and_swap` on the generation read: if another
    /// writer got in between (`keyring_conflict`), nothing was written, and the change is
    /// applied once more to a fresh read. That retry is safe because `change` decides
    /// everything from the keyring it is handed (core re-checks every transition, `--if-due`
    /// is re-evaluated, a promote or state change names its version): it is exactly the
    /// operator re-running the command a moment later, which is what the conflict message
    /// would tell them to do, and nothing of the lost attempt was stored or audited. A change
    /// that depends on what the operator confirmed (an emergency rotation's old version)
    /// checks it inside `change`. A second conflict is reported.
    pub fn change_as<R: Sealed, T>(
        &self,
        event: &str,
        mut change: impl FnMut(&mut R, u64, &mut AuditRecord) -> Result<T>,
    ) -> Result<T> {
        if let Some(file) = &self.store.file {
            return self.change_file(file.store(), event, change);
        }
        self.store.audit_ready()?;
        let store = self.store.fleet()?;
        let mut retried = false;
        loop {
            let stored = self.store.load()?;
            let now = now()?;
            let mut record = AuditRecord::new(event, now);
            let mut ring = match self.open_as::<R>(&stored.document) {
                Ok(ring) => ring,
                Err(e) => {
                    record.result = e.code.clone();
                    self.store.append_audit(&record)?;
                    return Err(e);
                }
            };
            let outcome = change(&mut ring, now, &mut record).and_then(|value| {
                let sealed = self.seal(
                    &ring,
                    Some(&stored.document),
                    keyroll::DEFAULT_PBKDF2_ITERATIONS,
                )?;
                Ok((value, sealed))
            });
            let mut stored_next = None;
            let outcome = match outcome {
                Ok((value, sealed)) => {
                    match store.compare_and_swap(Some(stored.generation), &sealed) {
                        Ok(()) => {
                            stored_next = Some(sealed);
                            Ok(value)
                        }
                        Err(keyroll_store::Error::Keyring(keyroll::Error::KeyringConflict {
                            ..
                        })) if !retried => {
                            retried = true;
                            continue;
                        }
                        Err(e) => Err(CliError::from(e)),
                    }
                }
                Err(e) => Err(e),
            };
            if let Err(e) = &outcome {
                record.result = e.code.clone();
            }
            self.store.append_audit(&record)?;
            let value = outcome?;
            // A destroyed key must not survive in the store's own backups either (PostgreSQL:
            // the history rows holding it are re-sealed or deleted, audited there).
            if let Some(sealed) = &stored_next {
                for version in destroyed_since(&stored.document, sealed) {
                    if let Some(report) = store.purge_version(version, self.unlock()?, now)? {
                        self.purged.borrow_mut().push(report);
                    }
                }
            }
            return Ok(value);
        }
    }

    fn change_file<R: Sealed, T>(
        &self,
        store: &Store,
        event: &str,
        change: impl FnOnce(&mut R, u64, &mut AuditRecord) -> Result<T>,
    ) -> Result<T> {
        let lock = store.lock()?;
        let document = lock.read()?.ok_or_else(|| self.store.not_found())?;
        let now = now()?;
        let mut record = AuditRecord::new(event, now);
        let mut ring = match self.open_as::<R>(&document) {
            Ok(ring) => ring,
            Err(e) => {
                // A refused unlock is worth a line in the log too.
                record.result = e.code.clone();
                store.audit().append(&record)?;
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
        store.audit().append(&record)?;
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
    /// backups, `None` if no change destroyed it (or the store keeps no backup files).
    pub fn purged(&self, version: u32) -> Option<PurgeReport> {
        let mut purged = self.purged.borrow_mut();
        let at = purged.iter().position(|p| p.version == version)?;
        Some(purged.remove(at))
    }

    /// Appends an audit record where the store keeps them.
    pub fn audit(&self, record: &AuditRecord) -> Result<()> {
        self.store.append_audit(record)
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
        Ok(keyroll::Sealing::Wrapped(wrap)) => {
            let context: Vec<String> = wrap
                .context
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(
                "key-encryption key wrapped by {} {} (context {})",
                wrap.provider,
                wrap.key_id,
                if context.is_empty() {
                    "none".to_string()
                } else {
                    context.join(",")
                }
            )
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;
    use keyroll_store::fleet::{ReaderCheckIn, Stored};
    use std::sync::Mutex;

    /// A store in memory whose next compare-and-swaps are preceded by other writers' saves
    /// (`interfere`), to make a conflict happen at exactly that point.
    #[derive(Debug, Default)]
    struct Memory {
        document: Mutex<Option<Vec<u8>>>,
        interfere: Mutex<Vec<Vec<u8>>>,
        audit: Mutex<Vec<AuditRecord>>,
        /// Like Secrets Manager: no place for reader check-ins.
        no_readers: bool,
    }

    impl KeyringStore for Memory {
        fn location(&self) -> String {
            "memory:test".into()
        }
        fn load(&self) -> keyroll_store::Result<Option<Stored>> {
            Ok(self
                .document
                .lock()
                .unwrap()
                .clone()
                .map(|document| Stored {
                    generation: Keyring::document_generation(&document).unwrap(),
                    document,
                }))
        }
        fn generation(&self) -> keyroll_store::Result<Option<u64>> {
            Ok(self.load()?.map(|s| s.generation))
        }
        fn compare_and_swap(
            &self,
            expected: Option<u64>,
            next: &[u8],
        ) -> keyroll_store::Result<()> {
            let mut current = self.document.lock().unwrap();
            let other = self.interfere.lock().unwrap().pop();
            if let Some(other) = other {
                *current = Some(other);
            }
            let generation = current
                .as_deref()
                .map(|d| Keyring::document_generation(d).unwrap());
            if generation != expected {
                return Err(keyroll::Error::KeyringConflict {
                    base: expected.unwrap_or(0),
                    current: generation.unwrap_or(0),
                }
                .into());
            }
            Keyring::check_successor(current.as_deref(), next)?;
            *current = Some(next.to_vec());
            Ok(())
        }
        fn audit(&self, record: &AuditRecord) -> keyroll_store::Result<()> {
            self.audit.lock().unwrap().push(record.clone());
            Ok(())
        }
        fn check_in(&self, _: &ReaderCheckIn) -> keyroll_store::Result<()> {
            Ok(())
        }
        fn readers(&self) -> keyroll_store::Result<Vec<ReaderCheckIn>> {
            if self.no_readers {
                return Err(keyroll_store::Error::Unsupported {
                    location: self.location(),
                    what: "no reader check-ins",
                });
            }
            Ok(Vec::new())
        }
    }

    /// A session on a `Memory` store holding a new keyring, and what another writer saves
    /// meanwhile: a rotation of that same keyring.
    fn setup() -> (Session, Arc<Memory>, SecretKey, Vec<u8>) {
        let key = SecretKey::generate().unwrap();
        let ring = Keyring::generate(1_700_000_000).unwrap();
        let first = ring.to_document(Protection::MasterKey(&key)).unwrap();
        let mut other = Keyring::from_document(&first, Unlock::MasterKey(&key)).unwrap();
        other.rotate(1_700_000_100).unwrap();
        let other = other.to_document(Protection::MasterKey(&key)).unwrap();
        let memory = Arc::new(Memory::default());
        *memory.document.lock().unwrap() = Some(first);
        let global = crate::args::Cli::try_parse_from(["keyroll", "info"])
            .unwrap()
            .global;
        let mut session = Session::with_credentials(
            global,
            Credentials::MasterKey(SecretKey::from_bytes(*key.expose())),
        );
        session.store = KeyringAt::with_store(memory.clone());
        (session, memory, key, other)
    }

    #[test]
    fn a_conflicting_change_is_applied_again_to_the_fresh_keyring_and_loses_nothing() {
        let (session, memory, key, other) = setup();
        memory.interfere.lock().unwrap().push(other);
        let staged = session
            .change("stage", |ring, now, record| {
                let v = ring.add_version(now)?;
                record.versions = vec![v];
                Ok(v)
            })
            .unwrap();
        // The other writer's rotation (v2 active) is kept, and the stage went on top of it.
        assert_eq!(staged, 3);
        let doc = memory.document.lock().unwrap().clone().unwrap();
        assert_eq!(Keyring::document_generation(&doc).unwrap(), 3);
        let ring = Keyring::from_document(&doc, Unlock::MasterKey(&key)).unwrap();
        assert_eq!(ring.active_version(), Some(2));
        assert_eq!(ring.versions().len(), 3);
        // One record, of what was stored.
        let audit = memory.audit.lock().unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(
            (audit[0].result.as_str(), &audit[0].versions),
            ("ok", &vec![3])
        );
    }

    #[test]
    fn a_second_conflict_is_reported_and_writes_nothing() {
        let (session, memory, key, other) = setup();
        // Two other writers in a row: generation 2, then 3 on top of it.
        let mut third = Keyring::from_document(&other, Unlock::MasterKey(&key)).unwrap();
        third.rotate(1_700_000_200).unwrap();
        let third = third.to_document(Protection::MasterKey(&key)).unwrap();
        memory
            .interfere
            .lock()
            .unwrap()
            .extend([third.clone(), other]);
        let e = session
            .change("stage", |ring, now, _| Ok(ring.add_version(now)?))
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.exit),
            ("keyring_conflict", exit::KEYRING)
        );
        assert_eq!(memory.document.lock().unwrap().as_deref(), Some(&third[..]));
        let audit = memory.audit.lock().unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].result, "keyring_conflict");
    }

    /// A session on a store without reader check-ins holding a keyring whose v2 was staged
    /// `ago` seconds ago.
    fn staged_without_check_ins(ago: u64) -> (Session, Arc<Memory>, SecretKey) {
        let key = SecretKey::generate().unwrap();
        let now = now().unwrap();
        let mut ring = Keyring::generate(now - 1000).unwrap();
        ring.add_version(now - ago).unwrap();
        let memory = Arc::new(Memory {
            no_readers: true,
            ..Memory::default()
        });
        *memory.document.lock().unwrap() =
            Some(ring.to_document(Protection::MasterKey(&key)).unwrap());
        let global = crate::args::Cli::try_parse_from(["keyroll", "info"])
            .unwrap()
            .global;
        let mut session = Session::with_credentials(
            global,
            Credentials::MasterKey(SecretKey::from_bytes(*key.expose())),
        );
        session.store = KeyringAt::with_store(memory.clone());
        (session, memory, key)
    }

    fn promote_args(force: bool) -> crate::args::PromoteArgs {
        crate::args::PromoteArgs {
            version: 2,
            force,
            poll_interval: 30,
        }
    }

    fn active(memory: &Memory, key: &SecretKey) -> Option<u32> {
        let doc = memory.document.lock().unwrap().clone().unwrap();
        Keyring::from_document(&doc, Unlock::MasterKey(key))
            .unwrap()
            .active_version()
    }

    #[test]
    fn without_check_ins_promote_waits_three_poll_intervals_after_stage() {
        // Staged 60 s ago at a 30 s interval: refused, typed, nothing changed, audited.
        let (session, memory, key) = staged_without_check_ins(60);
        let e = crate::cmd_keyring::promote(&session, &promote_args(false)).unwrap_err();
        assert_eq!((e.code.as_str(), e.exit), ("readers_unknown", exit::INPUT));
        assert!(e.message.contains("--force"), "{}", e.message);
        assert_eq!(active(&memory, &key), Some(1));
        assert_eq!(memory.audit.lock().unwrap()[0].result, "readers_unknown");

        // Staged 91 s ago: every reader polling every 30 s has loaded it.
        let (session, memory, key) = staged_without_check_ins(91);
        crate::cmd_keyring::promote(&session, &promote_args(false)).unwrap();
        assert_eq!(active(&memory, &key), Some(2));
        assert_eq!(memory.audit.lock().unwrap()[0].event, "promote");
    }

    #[test]
    fn without_check_ins_force_promotes_and_is_audited() {
        let (session, memory, key) = staged_without_check_ins(5);
        crate::cmd_keyring::promote(&session, &promote_args(true)).unwrap();
        assert_eq!(active(&memory, &key), Some(2));
        let audit = memory.audit.lock().unwrap();
        assert_eq!(
            (audit[0].event.as_str(), audit[0].result.as_str()),
            ("promote_forced", "ok")
        );
        let details = audit[0].details.clone().unwrap();
        assert_eq!(details["poll_interval"], 30);
        assert!(details["readers"].as_str().unwrap().contains("unknown"));
    }
}
