//! Records and enums crossing the boundary. Core types whose fields UniFFI can carry are
//! exposed as they are (`uniffi::remote`); the others get a record and a `From`.

use crate::Bytes;
use keyroll::{KeyKind, KeyState, PolicyState, PolicyStatus, TokenFormat, Verified, VersionInfo};
use zeroize::Zeroizing;

/// The life cycle of a key version (`KeyState` in Kotlin and Swift).
#[uniffi::remote(Enum)]
pub enum KeyState {
    Pending,
    Active,
    DecryptOnly,
    Disabled,
    Compromised,
    Destroyed,
}

/// What a version's key is and which tokens it reads.
#[uniffi::remote(Enum)]
pub enum KeyKind {
    Aes256Gcm,
    Fernet,
    RawGcm,
    HmacSha256,
    HmacSha256Legacy,
    Ed25519,
}

/// The kind of token `inspect` found.
#[uniffi::remote(Enum)]
pub enum TokenFormat {
    KeyrollV1Binary,
    KeyrollV1Text,
    Fernet,
}

/// A version's metadata (never its key).
#[uniffi::remote(Record)]
pub struct VersionInfo {
    pub version: u32,
    pub kind: KeyKind,
    pub state: KeyState,
    pub created_at: u64,
    pub activated_at: Option<u64>,
    pub retired_at: Option<u64>,
    pub compromised_at: Option<u64>,
    pub destroyed_at: Option<u64>,
    pub note: Option<String>,
    pub legacy_version_byte: Option<u8>,
}

/// What `verify` learns from an authentic token.
#[uniffi::remote(Record)]
pub struct Verified {
    pub key_version: u32,
    pub issued_at: Option<u64>,
}

/// A time-to-live check: the token must be at most `seconds` old at `now` (Unix seconds;
/// pass the device clock, e.g. `System.currentTimeMillis() / 1000`).
#[derive(Clone, Copy, Debug, uniffi::Record)]
pub struct Ttl {
    /// Maximum age in seconds.
    pub seconds: u64,
    /// The current time in Unix seconds.
    pub now: u64,
}

impl From<Ttl> for keyroll::Ttl {
    fn from(t: Ttl) -> Self {
        keyroll::Ttl {
            seconds: t.seconds,
            now: t.now,
        }
    }
}

/// What `inspect` learns from a token without a key. Unauthenticated until decrypted.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TokenInfo {
    /// The format.
    pub format: TokenFormat,
    /// `aes-256-gcm` for v1, `fernet` for Fernet tokens.
    pub algorithm: String,
    /// The keyring id, hex (v1 only).
    pub keyring_id: Option<String>,
    /// The key version (v1 only).
    pub key_version: Option<u32>,
    /// The issued-at time in Unix seconds, when the token carries one.
    pub issued_at: Option<u64>,
    /// Length of the token as given.
    pub token_len: u64,
    /// Length of its binary form.
    pub binary_len: u64,
    /// Length of the header.
    pub header_len: u64,
    /// Length of the ciphertext alone (Fernet: with its CBC padding, a multiple of 16).
    pub ciphertext_len: u64,
    /// Length of the plaintext: exact for v1, null for Fernet (known only after decryption).
    pub plaintext_len: Option<u64>,
}

impl From<keyroll::TokenInfo> for TokenInfo {
    fn from(t: keyroll::TokenInfo) -> Self {
        TokenInfo {
            format: t.format,
            algorithm: t.algorithm.to_owned(),
            keyring_id: t.keyring_id,
            key_version: t.key_version,
            issued_at: t.issued_at,
            token_len: t.token_len as u64,
            binary_len: t.binary_len as u64,
            header_len: t.header_len as u64,
            ciphertext_len: t.ciphertext_len as u64,
            plaintext_len: t.plaintext_len.map(|n| n as u64),
        }
    }
}

/// The verdict of a rotation-policy check.
#[uniffi::remote(Enum)]
pub enum PolicyState {
    Ok,
    Warn,
    Due,
    NoActiveKey,
}

/// The result of `checkPolicy`.
#[uniffi::remote(Record)]
pub struct PolicyStatus {
    pub state: PolicyState,
    pub active_version: Option<u32>,
    pub age_seconds: u64,
    pub warn_at: Option<u64>,
    pub due_at: Option<u64>,
}

/// A key derived for another purpose, and the version it was derived from.
#[derive(uniffi::Record)]
pub struct DerivedKey {
    /// The active version it comes from (it changes when the keyring rotates).
    pub version: u32,
    /// The derived bytes.
    pub key: Bytes,
}

impl core::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DerivedKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// How a home-made manager made its raw AES-256-GCM key.
#[derive(uniffi::Enum)]
pub enum RawGcmKey {
    /// The key bytes used directly (e.g. a 32-character ASCII string).
    Bytes {
        /// The 32 key bytes.
        key: Bytes,
    },
    /// PBKDF2-HMAC-SHA256(password, salt, iterations); `{version}` in the salt pattern is
    /// replaced by the decimal version byte.
    Pbkdf2 {
        /// The password.
        password: Bytes,
        /// The salt, possibly containing `{version}`.
        salt_pattern: String,
        /// PBKDF2 iterations.
        iterations: u32,
    },
}

/// One legacy raw AES-256-GCM key to import.
#[derive(uniffi::Record)]
pub struct RawGcmImport {
    /// The key, or how to derive it.
    pub key: RawGcmKey,
    /// The version byte that precedes the nonce in this key's blobs, if they carry one.
    #[uniffi(default = None)]
    pub version_byte: Option<u8>,
}

impl From<RawGcmImport> for keyroll::RawGcmImport {
    fn from(i: RawGcmImport) -> Self {
        let key = match i.key {
            RawGcmKey::Bytes { key } => keyroll::RawGcmKey::Bytes(Zeroizing::new(key.0)),
            RawGcmKey::Pbkdf2 {
                password,
                salt_pattern,
                iterations,
            } => keyroll::RawGcmKey::Pbkdf2 {
                password: Zeroizing::new(password.0),
                salt_pattern,
                iterations,
            },
        };
        keyroll::RawGcmImport {
            key,
            version_byte: i.version_byte,
        }
    }
}

/// One result of `decryptMany`.
#[derive(uniffi::Enum)]
pub enum DecryptOutcome {
    /// The token opened.
    Plaintext {
        /// Its plaintext.
        plaintext: Bytes,
    },
    /// The token did not open; `code` as in `KeyrollException`.
    Failure {
        /// The stable error code.
        code: String,
        /// The message (no secrets).
        reason: String,
    },
}

impl core::fmt::Debug for DecryptOutcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecryptOutcome::Plaintext { plaintext } => {
                write!(f, "Plaintext(<{} bytes>)", plaintext.len())
            }
            DecryptOutcome::Failure { code, .. } => write!(f, "Failure({code})"),
        }
    }
}

impl From<keyroll::Result<Vec<u8>>> for DecryptOutcome {
    fn from(r: keyroll::Result<Vec<u8>>) -> Self {
        match r {
            Ok(plaintext) => DecryptOutcome::Plaintext {
                plaintext: plaintext.into(),
            },
            // Through the one conversion (error.rs), so codes and messages stay identical.
            Err(e) => match crate::KeyrollError::from(e) {
                crate::KeyrollError::Failed { code, reason } => {
                    DecryptOutcome::Failure { code, reason }
                }
            },
        }
    }
}
