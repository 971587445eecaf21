//! The one error type of keyroll.
//!
//! Every binding maps this enum in exactly one place, and every language reports the same
//! [`Error::code`] for the same failure (the table is in `docs/wire-format.md`). Messages carry
//! versions and field names, never key material or plaintext. Authentication failures are one
//! variant ([`Error::DecryptFailed`]) that does not say which check failed.

use crate::keyring::KeyState;

/// Result alias used throughout keyroll.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in keyroll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well formed: truncated, bad base64, a text prefix that disagrees with
    /// the header, a field out of range.
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
    /// The input is not something this version of keyroll reads (unknown magic, format
    /// version, algorithm or flag bits; a legacy token with no legacy key to read it).
    #[error("unsupported format: {0}")]
    UnsupportedFormat(&'static str),
    /// The envelope names a key version this keyring does not hold.
    #[error("unknown key version {0}")]
    UnknownKeyVersion(u32),
    /// The envelope was written under another keyring.
    #[error("envelope belongs to another keyring")]
    WrongKeyring,
    /// The key version is disabled (reversible) and refuses to decrypt.
    #[error("key version {0} is disabled")]
    KeyDisabled(u32),
    /// The key version is marked compromised: only rewrap (migration) may read it.
    #[error("key version {0} is compromised; only rewrap may read it")]
    KeyCompromised(u32),
    /// The key version was destroyed; its material no longer exists.
    #[error("key version {0} was destroyed")]
    KeyDestroyed(u32),
    /// The key version is below the keyring's minimum decryptable version.
    #[error("key version {version} is below the minimum decryptable version {minimum}")]
    BelowMinimumVersion {
        /// Version named by the envelope.
        version: u32,
        /// The keyring's minimum.
        minimum: u32,
    },
    /// Authentication failed: wrong key, wrong context, or tampered bytes.
    #[error("decryption failed")]
    DecryptFailed,
    /// The token is older than the TTL allows, or too far in the future.
    #[error("token expired or not yet valid")]
    Expired,
    /// A TTL was requested but the envelope carries no issued-at timestamp.
    #[error("a TTL was given but the envelope has no issued-at timestamp")]
    MissingTimestamp,
    /// The passphrase or master key does not open this keyring document.
    #[error("wrong passphrase or master key")]
    BadPassphrase,
    /// The keyring document is damaged or was altered.
    #[error("keyring document is corrupt: {0}")]
    KeyringCorrupt(&'static str),
    /// The requested state change is not allowed.
    #[error("key version {version}: cannot go from {from} to {to}")]
    InvalidStateTransition {
        /// The version concerned.
        version: u32,
        /// Its current state.
        from: KeyState,
        /// The refused target state.
        to: KeyState,
    },
    /// Key material given to keyroll is unusable (wrong length, bad encoding).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The keyring has no active version, so it cannot encrypt.
    #[error("the keyring has no active key version")]
    NoActiveKey,
    /// The keyring is a decrypt-only export and refuses this change.
    #[error("the keyring is a decrypt-only export")]
    ReadOnly,
    /// An argument is out of range (e.g. a derived key length).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The system random generator failed.
    #[error("random number generator failure")]
    Rng,
    /// The stored keyring changed since this one was loaded: saving would silently undo that
    /// change (a rotation made in between, and the data written under it). Nothing was
    /// written; load the keyring again and redo the change.
    #[error("the keyring was changed by someone else (loaded at generation {base}, the stored one is at generation {current}): nothing was written; load it again and redo the change")]
    KeyringConflict {
        /// The generation the saved keyring was loaded at.
        base: u64,
        /// The generation of the stored document.
        current: u64,
    },
    /// The document is older than one already seen in this place (a backup or an old copy put
    /// back): loading it could re-activate a compromised or destroyed key, so it is refused.
    /// Restoring an older keyring is done on purpose with `keyroll restore`.
    #[error("the keyring is at generation {found}, older than generation {seen} already seen here: refusing a rollback (restore a backup on purpose with `keyroll restore`)")]
    KeyringRollback {
        /// The highest generation recorded for this keyring.
        seen: u64,
        /// The generation of the document refused.
        found: u64,
    },
    /// A signature (a `krs1` signed message or a JWT) does not verify: wrong key, wrong
    /// context, or altered bytes. Like [`Error::DecryptFailed`], one variant that does not
    /// say which check failed.
    #[error("signature verification failed")]
    SignatureInvalid,
    /// A token's algorithm is not the one of the key version it names (an HS256 JWT naming an
    /// Ed25519 version, `alg: none`, a binary signed message whose algorithm byte disagrees):
    /// refused before any verification, so no key is ever used with another algorithm.
    #[error("the token's algorithm does not match its key version")]
    AlgorithmMismatch,
    /// A JWT's claims do not meet the verifier's options: wrong `aud` or `iss`, a required
    /// claim missing, a time claim that is not a number. (`exp`/`nbf` outside the window is
    /// [`Error::Expired`].) Checked only after the signature verified.
    #[error("JWT claim check failed: {0}")]
    ClaimInvalid(&'static str),
    /// The keyring document holds the other kind of keys: a signing keyring's document given
    /// to an encryption keyring loader, or the reverse, or a public keyset where a document
    /// with private keys is expected.
    #[error("the document is a keyring of another kind (signing vs encryption)")]
    WrongKeyringKind,
}

impl Error {
    /// The stable, machine-readable code of this error, identical in every language.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "malformed",
            Error::UnsupportedFormat(_) => "unsupported_format",
            Error::UnknownKeyVersion(_) => "unknown_key_version",
            Error::WrongKeyring => "wrong_keyring",
            Error::KeyDisabled(_) => "key_disabled",
            Error::KeyCompromised(_) => "key_compromised",
            Error::KeyDestroyed(_) => "key_destroyed",
            Error::BelowMinimumVersion { .. } => "below_minimum_version",
            Error::DecryptFailed => "decrypt_failed",
            Error::Expired => "expired",
            Error::MissingTimestamp => "missing_timestamp",
            Error::BadPassphrase => "bad_passphrase",
            Error::KeyringCorrupt(_) => "keyring_corrupt",
            Error::InvalidStateTransition { .. } => "invalid_state_transition",
            Error::InvalidKey(_) => "invalid_key",
            Error::NoActiveKey => "no_active_key",
            Error::ReadOnly => "read_only",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::Rng => "rng_failure",
            Error::KeyringConflict { .. } => "keyring_conflict",
            Error::KeyringRollback { .. } => "keyring_rollback",
            Error::SignatureInvalid => "signature_invalid",
            Error::AlgorithmMismatch => "algorithm_mismatch",
            Error::ClaimInvalid(_) => "claim_invalid",
            Error::WrongKeyringKind => "wrong_keyring_kind",
        }
    }

    /// Every code keyroll can report, in the order of the spec's table.
    pub const CODES: &'static [&'static str] = &[
        "malformed",
        "unsupported_format",
        "unknown_key_version",
        "wrong_keyring",
        "key_disabled",
        "key_compromised",
        "key_destroyed",
        "below_minimum_version",
        "decrypt_failed",
        "expired",
        "missing_timestamp",
        "bad_passphrase",
        "keyring_corrupt",
        "invalid_state_transition",
        "invalid_key",
        "no_active_key",
        "read_only",
        "invalid_argument",
        "rng_failure",
        "keyring_conflict",
        "keyring_rollback",
        "signature_invalid",
        "algorithm_mismatch",
        "claim_invalid",
        "wrong_keyring_kind",
    ];
}
