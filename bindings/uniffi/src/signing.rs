//! The `SigningKeyring` object: one method per core signing operation, each delegating to
//! `keyroll::signing`. The main mobile use is verify-only: an app ships the public keyset of an
//! Ed25519 keyring ([`SigningKeyring::from_public_keyset`]) and verifies signed messages and
//! JWTs with it, holding no key that could forge them. Full signing keyrings open and work the
//! same way, for apps and services that sign.

use crate::error::Result;
use crate::Bytes;
use keyroll::signing::{SigningAlgorithm, VerifiedJwt, VerifiedMessage};
use keyroll::{KeyState, Policy, PolicyStatus, Protection, SecretKey, Unlock, VersionInfo};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use zeroize::Zeroizing;

/// What a signing version signs with (`SigningAlgorithm.HMAC_SHA256` / `.ED25519` in Kotlin).
#[uniffi::remote(Enum)]
pub enum SigningAlgorithm {
    HmacSha256,
    Ed25519,
}

/// An authentic signed message.
#[uniffi::remote(Record)]
pub struct VerifiedMessage {
    pub message: Vec<u8>,
    pub key_version: u32,
    pub algorithm: SigningAlgorithm,
}

/// An authentic JWT whose claims passed the checks; `claims` is their compact JSON.
#[uniffi::remote(Record)]
pub struct VerifiedJwt {
    pub claims: String,
    pub key_version: u32,
    pub algorithm: SigningAlgorithm,
}

/// What `verifyJwt` checks besides the signature (`JwtOptions()` checks only the times).
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct JwtOptions {
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    #[uniffi(default = 0)]
    pub leeway: u64,
    /// `aud` must contain it; without it a token that has an `aud` is refused (RFC 7519).
    #[uniffi(default = None)]
    pub audience: Option<String>,
    /// `iss` must equal it.
    #[uniffi(default = None)]
    pub issuer: Option<String>,
    /// Claims that must be present (e.g. `exp`).
    #[uniffi(default = [])]
    pub required: Vec<String>,
}

impl From<JwtOptions> for keyroll::signing::JwtOptions {
    fn from(o: JwtOptions) -> Self {
        keyroll::signing::JwtOptions {
            leeway: o.leeway,
            audience: o.audience,
            issuer: o.issuer,
            required: o.required,
        }
    }
}

/// A signing keyring: HMAC-SHA256 and Ed25519 versions, or (from a public keyset) Ed25519
/// public keys only. Thread-safe like `Keyring`; `toString()` shows versions and states only.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct SigningKeyring(RwLock<keyroll::signing::SigningKeyring>);

impl core::fmt::Debug for SigningKeyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&*self.read(), f)
    }
}

impl SigningKeyring {
    fn new(ring: keyroll::signing::SigningKeyring) -> Arc<Self> {
        Arc::new(SigningKeyring(RwLock::new(ring)))
    }

    // As `Keyring`: a poisoned lock still holds a consistent keyring.
    fn read(&self) -> RwLockReadGuard<'_, keyroll::signing::SigningKeyring> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, keyroll::signing::SigningKeyring> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[uniffi::export]
impl SigningKeyring {
    /// A verify-only keyring from a public keyset (JSON, from `publicKeyset()` or
    /// `keyroll keys export-public`): what an app ships. Signing gives `read_only`.
    #[uniffi::constructor]
    pub fn from_public_keyset(keyset: String) -> Result<Arc<Self>> {
        Ok(Self::new(
            keyroll::signing::SigningKeyring::from_public_keyset(&keyset)?,
        ))
    }

    /// Opens a signing keyring document sealed under a passphrase (`wrong_keyring_kind` for
    /// an encryption keyring's).
    #[uniffi::constructor]
    pub fn from_document_with_passphrase(document: Bytes, passphrase: Bytes) -> Result<Arc<Self>> {
        let passphrase = Zeroizing::new(passphrase.0);
        Ok(Self::new(keyroll::signing::SigningKeyring::from_document(
            &document,
            Unlock::Passphrase(&passphrase),
        )?))
    }

    /// Opens a signing keyring document sealed under a 32-byte master key.
    #[uniffi::constructor]
    pub fn from_document_with_master_key(document: Bytes, master_key: Bytes) -> Result<Arc<Self>> {
        let key = SecretKey::from_slice(&Zeroizing::new(master_key.0))?;
        Ok(Self::new(keyroll::signing::SigningKeyring::from_document(
            &document,
            Unlock::MasterKey(&key),
        )?))
    }

    /// A new keyring with version 1 of `algorithm` active.
    #[uniffi::constructor]
    pub fn generate(algorithm: SigningAlgorithm, now: u64) -> Result<Arc<Self>> {
        Ok(Self::new(keyroll::signing::SigningKeyring::generate(
            algorithm, now,
        )?))
    }

    /// The keyring of an old single secret (≥ 32 bytes, used as they are): v1, active,
    /// verifies the old system's JWTs (no `kid`); the same keyring in every process.
    #[uniffi::constructor]
    pub fn from_hmac_secret(secret: Bytes, now: u64) -> Result<Arc<Self>> {
        let secret = Zeroizing::new(secret.0);
        Ok(Self::new(
            keyroll::signing::SigningKeyring::from_hmac_secret(&secret, now)?,
        ))
    }

    /// Verifies a signed message (`krs1:v…` text as UTF-8 bytes, or the binary form) made for
    /// `context`; returns the message and the version that signed it.
    pub fn verify(&self, signed: Bytes, context: Bytes) -> Result<VerifiedMessage> {
        Ok(self.read().verify(&signed, &context)?)
    }

    /// Verifies a JWT and its claims at `now` (Unix seconds).
    pub fn verify_jwt(&self, token: String, options: JwtOptions, now: u64) -> Result<VerifiedJwt> {
        Ok(self.read().verify_jwt(&token, &options.into(), now)?)
    }

    /// Signs `message` for `context` with the active version: `krs1:v<N>:…`.
    pub fn sign(&self, message: Bytes, context: Bytes) -> Result<String> {
        Ok(self.read().sign(&message, &context)?)
    }

    /// `sign` in binary form.
    pub fn sign_binary(&self, message: Bytes, context: Bytes) -> Result<Bytes> {
        Ok(self.read().sign_binary(&message, &context)?.into())
    }

    /// Signs a JWT (`claims_json`: a JSON object; `iat` = `now` if absent).
    pub fn sign_jwt(&self, claims_json: String, now: u64) -> Result<String> {
        Ok(self.read().sign_jwt(&claims_json, now)?)
    }

    /// The public keyset (JSON): Ed25519 public keys and states, nothing secret.
    pub fn public_keyset(&self) -> Result<String> {
        Ok(self.read().public_keyset()?)
    }

    /// The JWKS (JSON) of the Ed25519 versions that verify.
    pub fn jwks(&self) -> Result<String> {
        Ok(self.read().jwks()?)
    }

    /// The keyring id (16 hex digits).
    pub fn id(&self) -> String {
        self.read().id().to_hex()
    }

    /// The `kid` of a version: `"<id>:v<version>"`.
    pub fn kid(&self, version: u32) -> String {
        keyroll::signing::kid(self.read().id(), version)
    }

    /// The version that signs, if any.
    pub fn active_version(&self) -> Option<u32> {
        self.read().active_version()
    }

    /// The algorithm of a version, if it exists.
    pub fn algorithm(&self, version: u32) -> Option<SigningAlgorithm> {
        self.read().algorithm(version)
    }

    /// Versions below this refuse to verify.
    pub fn min_version(&self) -> u32 {
        self.read().min_version()
    }

    /// Whether this keyring came from a public keyset.
    pub fn is_verify_only(&self) -> bool {
        self.read().is_verify_only()
    }

    /// Every version's metadata (never a key).
    pub fn versions(&self) -> Vec<VersionInfo> {
        self.read().versions()
    }

    /// The active key's age against the policy.
    pub fn check_policy(&self, now: u64) -> PolicyStatus {
        self.read().check_policy(now)
    }

    /// Replaces the rotation policy.
    pub fn set_policy(&self, rotate_after_days: u32, warn_after_days: u32) -> Result<()> {
        Ok(self.write().set_policy(Policy {
            rotate_after_days,
            warn_after_days,
        })?)
    }

    /// Refuses tokens of versions below `minimum`.
    pub fn set_min_version(&self, minimum: u32) -> Result<()> {
        Ok(self.write().set_min_version(minimum)?)
    }

    /// Adds a pending version of `algorithm` (verifiers learn it first); returns it.
    pub fn add_version(&self, algorithm: SigningAlgorithm, now: u64) -> Result<u32> {
        Ok(self.write().add_version(algorithm, now)?)
    }

    /// Makes a pending or verify-only version the one that signs.
    pub fn promote(&self, version: u32, now: u64) -> Result<()> {
        Ok(self.write().promote(version, now)?)
    }

    /// A new version of the active one's algorithm, promoted at once.
    pub fn rotate(&self, now: u64) -> Result<u32> {
        Ok(self.write().rotate(now)?)
    }

    /// A new version of `algorithm`, promoted at once.
    pub fn rotate_to(&self, algorithm: SigningAlgorithm, now: u64) -> Result<u32> {
        Ok(self.write().rotate_to(algorithm, now)?)
    }

    /// Rotates and marks the old version compromised (nothing it signed verifies any more).
    pub fn emergency_rotate(&self, reason: String, now: u64) -> Result<u32> {
        Ok(self.write().emergency_rotate(&reason, now)?)
    }

    /// Moves a version along its life cycle.
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

    /// Imports an old secret as a verify-only legacy HMAC version; returns it.
    pub fn import_hmac_secret(&self, secret: Bytes, now: u64) -> Result<u32> {
        let secret = Zeroizing::new(secret.0);
        Ok(self.write().import_hmac_secret(&secret, now)?)
    }

    /// Seals under a passphrase.
    #[uniffi::method(default(iterations = 600000))]
    pub fn to_document_with_passphrase(&self, passphrase: Bytes, iterations: u32) -> Result<Bytes> {
        let passphrase = Zeroizing::new(passphrase.0);
        Ok(self
            .read()
            .to_document(Protection::Passphrase {
                passphrase: &passphrase,
                iterations,
            })?
            .into())
    }

    /// Seals under a 32-byte master key.
    pub fn to_document_with_master_key(&self, master_key: Bytes) -> Result<Bytes> {
        let key = SecretKey::from_slice(&Zeroizing::new(master_key.0))?;
        Ok(self.read().to_document(Protection::MasterKey(&key))?.into())
    }
}
