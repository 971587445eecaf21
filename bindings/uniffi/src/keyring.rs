//! The `Keyring` object: one method per core operation, each delegating to `keyroll`.

use crate::error::Result;
use crate::types::{DecryptOutcome, DerivedKey, RawGcmImport, Ttl};
use crate::Bytes;
use keyroll::{
    KeyState, Policy, PolicyStatus, Protection, RewrapOptions, SecretKey, Unlock, Verified,
    VersionInfo,
};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use zeroize::Zeroizing;

/// A keyring: usually a decrypt-only export an app ships with, opened from its document.
///
/// Thread-safe: UniFFI holds it in an `Arc`, and the core keyring sits behind a `RwLock`, so
/// one instance serves every thread (reads run in parallel; `rotate` and imports take the
/// write lock). `toString()`/`description` shows the id and version states, never key bytes.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct Keyring(RwLock<keyroll::Keyring>);

impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&*self.read(), f)
    }
}

impl Keyring {
    fn new(ring: keyroll::Keyring) -> Arc<Self> {
        Arc::new(Keyring(RwLock::new(ring)))
    }

    // A panic cannot leave a core keyring half-changed (every change is checked before it is
    // applied), so a poisoned lock is still safe to use.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, keyroll::Keyring> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, keyroll::Keyring> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn master_key(bytes: Bytes) -> Result<SecretKey> {
    Ok(SecretKey::from_slice(&Zeroizing::new(bytes.0))?)
}

#[uniffi::export]
impl Keyring {
    /// Opens a keyring document sealed under a passphrase (UTF-8 bytes; the Rust copy is
    /// wiped after use). Wrong passphrase: `bad_passphrase`; altered file: `keyring_corrupt`.
    #[uniffi::constructor]
    pub fn from_document_with_passphrase(document: Bytes, passphrase: Bytes) -> Result<Arc<Self>> {
        let passphrase = Zeroizing::new(passphrase.0);
        Ok(Self::new(keyroll::Keyring::from_document(
            &document,
            Unlock::Passphrase(&passphrase),
        )?))
    }

    /// Opens a keyring document sealed under a 32-byte master key (e.g. kept by the Android
    /// Keystore or the iOS Keychain). The Rust copy of the key is wiped after use.
    #[uniffi::constructor]
    pub fn from_document_with_master_key(document: Bytes, master_key: Bytes) -> Result<Arc<Self>> {
        let key = self::master_key(master_key)?;
        Ok(Self::new(keyroll::Keyring::from_document(
            &document,
            Unlock::MasterKey(&key),
        )?))
    }

    /// A new keyring with a random id and version 1 active (`now` in Unix seconds).
    #[uniffi::constructor]
    pub fn generate(now: u64) -> Result<Arc<Self>> {
        Ok(Self::new(keyroll::Keyring::generate(now)?))
    }

    /// The deterministic keyring for a Fernet key list (primary first, as `MultiFernet` takes
    /// it): reads those Fernet tokens, and the v1 envelopes every process with the same list
    /// writes. No keyring file needed.
    #[uniffi::constructor]
    pub fn from_fernet_keys(keys: Vec<String>, now: u64) -> Result<Arc<Self>> {
        let keys = keys
            .iter()
            .map(|k| keyroll::FernetKey::from_base64(k.as_bytes()))
            .collect::<keyroll::Result<Vec<_>>>()?;
        Ok(Self::new(keyroll::Keyring::from_fernet_keys(&keys, now)?))
    }

    /// Encrypts under the active version to the text form `kr1:v<N>:…`. `context` is bound to
    /// the envelope and must be given again to decrypt; `issued_at` enables TTL checks.
    #[uniffi::method(default(issued_at = None))]
    pub fn encrypt(
        &self,
        plaintext: Bytes,
        context: Bytes,
        issued_at: Option<u64>,
    ) -> Result<String> {
        Ok(self.read().encrypt(&plaintext, &context, issued_at)?)
    }

    /// Encrypts to the binary form (smaller; for files and blobs).
    #[uniffi::method(default(issued_at = None))]
    pub fn encrypt_binary(
        &self,
        plaintext: Bytes,
        context: Bytes,
        issued_at: Option<u64>,
    ) -> Result<Bytes> {
        Ok(self
            .read()
            .encrypt_binary(&plaintext, &context, issued_at)?
            .into())
    }

    /// Decrypts a v1 envelope (text or binary) or a legacy token this keyring holds a key for.
    #[uniffi::method(default(ttl = None))]
    pub fn decrypt(&self, token: Bytes, context: Bytes, ttl: Option<Ttl>) -> Result<Bytes> {
        Ok(self
            .read()
            .decrypt(&token, &context, ttl.map(Into::into))?
            .into())
    }

    /// Decrypts many tokens in one call (one result per token, so one bad row does not hide
    /// the others). Each call through UniFFI/JNA has a fixed cost (see docs/benchmarks.md);
    /// a list pays it once.
    #[uniffi::method(default(ttl = None))]
    pub fn decrypt_many(
        &self,
        tokens: Vec<Bytes>,
        context: Bytes,
        ttl: Option<Ttl>,
    ) -> Vec<DecryptOutcome> {
        let ring = self.read();
        ring.decrypt_many(&tokens, &context, ttl.map(Into::into))
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Authenticates a token without returning its plaintext (wiped in Rust): the key version
    /// that opened it and its issued-at time.
    #[uniffi::method(default(ttl = None))]
    pub fn verify(&self, token: Bytes, context: Bytes, ttl: Option<Ttl>) -> Result<Verified> {
        Ok(self.read().verify(&token, &context, ttl.map(Into::into))?)
    }

    /// Re-encrypts any readable token under the active version (text form), keeping its
    /// issued-at time; the plaintext never leaves Rust.
    pub fn rewrap(&self, token: Bytes, context: Bytes) -> Result<String> {
        Ok(self.read().rewrap(&token, &context)?)
    }

    /// [`Keyring::rewrap`] with the opt-in to read compromised versions (to move data off
    /// them); the result names the version the token was read from and whether it is
    /// compromised (such data is unverified: count and audit it).
    pub fn rewrap_with(
        &self,
        token: Bytes,
        context: Bytes,
        allow_compromised: bool,
    ) -> Result<RewrapResult> {
        let options = RewrapOptions { allow_compromised };
        let out = self
            .read()
            .rewrap_to_context_with(&token, &context, &context, options)?;
        Ok(RewrapResult {
            token: out.token,
            from_version: out.from_version,
            from_compromised: out.from_compromised,
        })
    }

    /// Whether `token` is not under this keyring's active version (header only, no key used).
    pub fn needs_rewrap(&self, token: Bytes) -> Result<bool> {
        Ok(self.read().needs_rewrap(&token)?)
    }

    /// Every version's metadata, ascending.
    pub fn versions(&self) -> Vec<VersionInfo> {
        self.read().versions()
    }

    /// The keyring id (16 hex digits) carried by its envelopes.
    pub fn id(&self) -> String {
        self.read().id().to_hex()
    }

    /// The version new envelopes are written under; none in a decrypt-only export.
    pub fn active_version(&self) -> Option<u32> {
        self.read().active_version()
    }

    /// Whether this is a decrypt-only export.
    pub fn is_read_only(&self) -> bool {
        self.read().is_read_only()
    }

    /// Versions below this refuse to decrypt (0: no minimum).
    pub fn min_version(&self) -> u32 {
        self.read().min_version()
    }

    /// Judges the active key's age against the rotation policy at `now` (Unix seconds).
    pub fn check_policy(&self, now: u64) -> PolicyStatus {
        self.read().check_policy(now)
    }

    /// Derives a key for another purpose from the active version (HKDF-SHA256).
    pub fn derive_key(&self, purpose: Bytes, length: u32) -> Result<DerivedKey> {
        let (version, key) = self.read().derive_key(&purpose, length as usize)?;
        Ok(DerivedKey {
            version,
            key: key.to_vec().into(),
        })
    }

    /// Adds a new version and makes it active (`now` in Unix seconds); returns its number.
    pub fn rotate(&self, now: u64) -> Result<u32> {
        Ok(self.write().rotate(now)?)
    }

    /// Adds a new random version as `pending` (stage it everywhere, then `promote`); returns it.
    pub fn add_version(&self, now: u64) -> Result<u32> {
        Ok(self.write().add_version(now)?)
    }

    /// Makes a pending or decrypt-only version active; the old active one becomes decrypt-only.
    pub fn promote(&self, version: u32, now: u64) -> Result<()> {
        Ok(self.write().promote(version, now)?)
    }

    /// Rotates and marks the old active version compromised (readable only by rewrap opt-in).
    pub fn emergency_rotate(&self, reason: String, now: u64) -> Result<u32> {
        Ok(self.write().emergency_rotate(&reason, now)?)
    }

    /// Moves a version along its life cycle (`invalid_state_transition` if not allowed).
    #[uniffi::method(default(note = None))]
    pub fn set_state(
        &self,
        version: u32,
        state: KeyState,
        note: Option<String>,
        now: u64,
    ) -> Result<()> {
        Ok(self
            .write()
            .set_state(version, state, note.as_deref(), now)?)
    }

    /// Refuses envelopes below `minimum` (at most the active version, below 2^31).
    pub fn set_min_version(&self, minimum: u32) -> Result<()> {
        Ok(self.write().set_min_version(minimum)?)
    }

    /// Replaces the rotation policy (0 < `warn_after_days` ≤ `rotate_after_days`).
    pub fn set_policy(&self, rotate_after_days: u32, warn_after_days: u32) -> Result<()> {
        Ok(self.write().set_policy(Policy {
            rotate_after_days,
            warn_after_days,
        })?)
    }

    /// Imports a raw AES-256-GCM key from a home-made manager as a decrypt-only legacy
    /// version; returns its number.
    pub fn import_raw_gcm(&self, import: RawGcmImport, now: u64) -> Result<u32> {
        Ok(self.write().import_raw_gcm(&import.into(), now)?)
    }

    /// A copy that can only decrypt exactly `versions` (active or decrypt-only ones).
    pub fn export_decrypt_only(&self, versions: Vec<u32>) -> Result<Arc<Keyring>> {
        Ok(Self::new(self.read().export_decrypt_only(&versions)?))
    }

    /// Seals this keyring into a document under a passphrase (PBKDF2-HMAC-SHA256; the default
    /// is the core's `DEFAULT_PBKDF2_ITERATIONS`).
    #[uniffi::method(default(iterations = 600000))]
    pub fn to_document_with_passphrase(&self, passphrase: Bytes, iterations: u32) -> Result<Bytes> {
        let passphrase = Zeroizing::new(passphrase.0);
        let protection = Protection::Passphrase {
            passphrase: &passphrase,
            iterations,
        };
        Ok(self.read().to_document(protection)?.into())
    }

    /// Seals this keyring into a document under a 32-byte master key.
    pub fn to_document_with_master_key(&self, master_key: Bytes) -> Result<Bytes> {
        let key = self::master_key(master_key)?;
        Ok(self.read().to_document(Protection::MasterKey(&key))?.into())
    }
}

/// What [`Keyring::rewrap_with`] gives: the new envelope (text form) and where it came from.
#[derive(Clone, Debug, uniffi::Record)]
pub struct RewrapResult {
    /// The new envelope, under the active version.
    pub token: String,
    /// The key version that authenticated the input.
    pub from_version: u32,
    /// Whether that version is compromised (its data is unverified).
    pub from_compromised: bool,
}

/// The generation a stored keyring document says it is (0 before generations), read without
/// any key.
#[uniffi::export]
pub fn document_generation(document: Bytes) -> Result<u64> {
    Ok(keyroll::Keyring::document_generation(&document)?)
}

/// Whether `next` may replace the stored `current` (none: nothing stored): exactly one
/// generation newer, else `keyring_conflict`. Returns `next`'s generation.
#[uniffi::export]
pub fn check_successor(current: Option<Bytes>, next: Bytes) -> Result<u64> {
    Ok(keyroll::Keyring::check_successor(
        current.as_deref(),
        &next,
    )?)
}

/// Refuses (`keyring_rollback`) a document older than `highest_seen`, the newest generation
/// recorded for this keyring; returns the document's generation.
#[uniffi::export]
pub fn check_not_rolled_back(document: Bytes, highest_seen: u64) -> Result<u64> {
    Ok(keyroll::Keyring::check_not_rolled_back(
        &document,
        highest_seen,
    )?)
}
