//! Key versions: their kinds, states, the allowed transitions, and their material.

use crate::aead::AeadKey;
use crate::legacy::fernet::FernetKey;
use crate::secret::SecretKey;
use core::fmt;
use serde::{Deserialize, Serialize};

pub(crate) mod lifecycle;

/// The life cycle of a key version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Added but not yet primary: decrypts, never encrypts. In a fleet every reader gets the
    /// new key before anyone writes with it (two-phase rotation).
    Pending,
    /// The single primary: encrypts and decrypts.
    Active,
    /// A former primary (or an imported legacy key): decrypts only.
    DecryptOnly,
    /// Switched off, reversibly: refuses to decrypt.
    Disabled,
    /// Known or suspected leaked: refuses ordinary decrypt; rewrap may still move data off it.
    Compromised,
    /// Material wiped; the metadata stays for audit.
    Destroyed,
}

impl KeyState {
    /// The state's name as in documents and every binding.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Active => "active",
            KeyState::DecryptOnly => "decrypt_only",
            KeyState::Disabled => "disabled",
            KeyState::Compromised => "compromised",
            KeyState::Destroyed => "destroyed",
        }
    }

    /// Parses a state name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => KeyState::Pending,
            "active" => KeyState::Active,
            "decrypt_only" => KeyState::DecryptOnly,
            "disabled" => KeyState::Disabled,
            "compromised" => KeyState::Compromised,
            "destroyed" => KeyState::Destroyed,
            _ => return None,
        })
    }

    /// Whether [`crate::Keyring::set_state`] may move a version from `self` to `to`.
    /// Becoming or ceasing to be `active` goes through `promote`/`rotate`/`emergency_rotate`.
    pub fn can_become(self, to: KeyState) -> bool {
        use KeyState::*;
        matches!(
            (self, to),
            (Pending, Disabled | Destroyed)
                | (DecryptOnly, Disabled | Compromised | Destroyed)
                | (Disabled, DecryptOnly | Compromised | Destroyed)
                | (Compromised, Destroyed)
        )
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a version's key is and which tokens it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A keyroll AES-256-GCM key: reads and writes v1 envelopes.
    Aes256Gcm,
    /// An imported Fernet key: reads Fernet tokens, and v1 envelopes under its HKDF-derived
    /// key (so processes that share only a Fernet key list can read each other's output).
    Fernet,
    /// An imported raw AES-256-GCM key from a home-made manager: reads its blobs only.
    RawGcm,
    /// A signing keyring's HMAC-SHA256 key (32 random bytes): signs and verifies `krs1`
    /// messages and HS256 JWTs.
    HmacSha256,
    /// A signing keyring's imported HMAC-SHA256 secret (an old `SECRET_KEY`, 32..=4096 bytes
    /// used as they are): like `hmac_sha256`, and it also verifies JWTs that carry no `kid`,
    /// which is what the system it replaces wrote.
    HmacSha256Legacy,
    /// A signing keyring's Ed25519 key pair (the 32-byte seed is stored): signs and verifies
    /// `krs1` messages and EdDSA JWTs; its public key can be shipped in a public keyset.
    Ed25519,
}

impl KeyKind {
    /// The kind's name as in documents and every binding.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Aes256Gcm => "aes256_gcm",
            KeyKind::Fernet => "fernet",
            KeyKind::RawGcm => "raw_gcm",
            KeyKind::HmacSha256 => "hmac_sha256",
            KeyKind::HmacSha256Legacy => "hmac_sha256_legacy",
            KeyKind::Ed25519 => "ed25519",
        }
    }

    /// Whether this is a signing keyring's kind (the others are encryption keyrings').
    pub fn is_signing(self) -> bool {
        matches!(
            self,
            KeyKind::HmacSha256 | KeyKind::HmacSha256Legacy | KeyKind::Ed25519
        )
    }

    /// Whether a version of this kind may become its keyring's primary: every kind but
    /// `raw_gcm` (whose blobs keyroll only reads).
    pub(crate) fn can_be_primary(self) -> bool {
        self.can_encrypt() || self.is_signing()
    }

    /// Whether this kind can be the primary (write v1 envelopes).
    pub fn can_encrypt(self) -> bool {
        matches!(self, KeyKind::Aes256Gcm | KeyKind::Fernet)
    }

    pub(crate) fn id(self) -> u8 {
        match self {
            KeyKind::Aes256Gcm => 1,
            KeyKind::Fernet => 2,
            KeyKind::RawGcm => 3,
            KeyKind::HmacSha256 => 4,
            KeyKind::HmacSha256Legacy => 5,
            KeyKind::Ed25519 => 6,
        }
    }
}

/// Everything about a version except its key: safe to print, log and serialize.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionInfo {
    /// The version number written into envelopes.
    pub version: u32,
    /// The kind of key.
    pub kind: KeyKind,
    /// The current state.
    pub state: KeyState,
    /// When the version was created (Unix seconds).
    pub created_at: u64,
    /// When it last became active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<u64>,
    /// When it stopped being active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
    /// When it was marked compromised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_at: Option<u64>,
    /// When its material was destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed_at: Option<u64>,
    /// Free text: why it was imported, disabled or compromised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For raw GCM keys: the version byte their blobs start with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_version_byte: Option<u8>,
}

/// A version's key, expanded and ready.
pub(crate) struct Material {
    /// The stored 32 bytes (AES key, Fernet key, or derived raw-GCM key).
    pub secret: SecretKey,
    /// The AES-256-GCM key: the secret itself, or for Fernet its derived v1 key.
    pub aead: AeadKey,
    /// Set for Fernet versions.
    pub fernet: Option<FernetKey>,
}

impl Material {
    pub fn new(kind: KeyKind, secret: SecretKey) -> Self {
        match kind {
            KeyKind::Fernet => {
                let fernet = FernetKey::from_secret(secret.clone());
                Material {
                    aead: AeadKey::new(&fernet.keyroll_key()),
                    fernet: Some(fernet),
                    secret,
                }
            }
            // Signing kinds never get here: an encryption document with one is refused before
            // its keys are expanded (`Keyring::from_document`), and nothing else makes them.
            _ => Material {
                aead: AeadKey::new(&secret),
                fernet: None,
                secret,
            },
        }
    }
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material").finish_non_exhaustive()
    }
}

/// One version: metadata and (unless destroyed) material — an encryption key ([`Material`])
/// or a signing key (`crate::signing`).
#[derive(Debug)]
pub(crate) struct Slot<M = Material> {
    pub info: VersionInfo,
    pub material: Option<M>,
}
