//! Command-line arguments of the signing-keyring commands: `keyroll keys …` and
//! `keyroll jwks`.
//!
//! Signing keyrings are separate files from encryption keyrings (a JWT key must never be
//! usable to decrypt data, nor the reverse), so these commands use the same `--keyring`,
//! backup and audit options but refuse an encryption keyring, and the encryption commands
//! refuse a signing one (`wrong_keyring_kind`).

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `keyroll keys <command>`.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a signing keyring with one active version (HS256 or Ed25519).
    Create(CreateArgs),
    /// Import a legacy SECRET_KEY (>= 32 characters, used as raw bytes) as an HMAC version, so
    /// tokens it signed keep verifying. Read from SECRET_KEY (or --env NAME) or stdin (`-`),
    /// never from an argument. Creates the keyring if there is none (the secret then stays the
    /// active key until `keyroll keys rotate`).
    ImportSecret(ImportSecretArgs),
    /// Show the signing keyring: id, algorithm, versions and states (no key bytes).
    Info,
    /// Check the rotation policy (exit 0 OK, 1 WARNING, 2 CRITICAL).
    Health,
    /// Two-phase rotation, step 1: add a pending version (verifiers learn its public key or
    /// secret; nothing is signed with it yet).
    Stage(StageArgs),
    /// Two-phase rotation, step 2: make VERSION the signing version.
    /// Refused while a live verifier lacks it (`readers_behind`, see `keyroll readers`).
    Promote(crate::args::PromoteArgs),
    /// Rotate: a new signing version (scheduled, `--if-due`, or `--emergency`).
    Rotate(crate::args::RotateArgs),
    /// Write the public keyset (Ed25519 only): public keys, no secret, safe to ship in apps.
    ExportPublic(ExportPublicArgs),
    /// Change a version's state: enable (verify-only), disable (refuse its tokens,
    /// reversibly), compromise, or destroy (wiped from the keyring and every backup; asks
    /// for confirmation unless `--yes`).
    State {
        /// The key version.
        version: u32,
        /// The change.
        action: crate::args::StateAction,
        /// A note kept with the version (e.g. why).
        #[arg(long)]
        note: Option<String>,
    },
}

/// Signing algorithms.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgorithmArg {
    /// HMAC-SHA256 (JWT `HS256`): every verifier holds the secret.
    Hs256,
    /// Ed25519 (JWT `EdDSA`): verifiers hold public keys only.
    Ed25519,
}

/// `keys create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The algorithm of every version.
    #[arg(long, value_enum)]
    pub algorithm: AlgorithmArg,
    /// PBKDF2 iterations when sealing under a passphrase.
    #[arg(long, default_value_t = keyroll::DEFAULT_PBKDF2_ITERATIONS)]
    pub iterations: u32,
    /// Rotation due after this many days.
    #[arg(long)]
    pub rotate_after_days: Option<u32>,
    /// Warning after this many days.
    #[arg(long)]
    pub warn_after_days: Option<u32>,
}

/// `keys stage`.
#[derive(Args, Debug)]
pub struct StageArgs {
    /// The new version's algorithm [default: the active version's; HS256 after an imported
    /// secret]. Staging Ed25519 on an HS256 keyring moves its tokens to EdDSA on promote.
    #[arg(long, value_enum)]
    pub algorithm: Option<AlgorithmArg>,
}

/// `keys import-secret`.
#[derive(Args, Debug)]
pub struct ImportSecretArgs {
    /// Read the secret from this environment variable [default: SECRET_KEY].
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// `-`: read the secret from stdin (one line; a final newline is not part of it). A secret
    /// as an argument is refused: it would show in `ps` and shell history.
    #[arg(allow_hyphen_values = true, value_name = "-")]
    pub source: Option<std::ffi::OsString>,
    /// PBKDF2 iterations when a new keyring is sealed under a passphrase.
    #[arg(long, default_value_t = keyroll::DEFAULT_PBKDF2_ITERATIONS)]
    pub iterations: u32,
}

/// `keys export-public`.
#[derive(Args, Debug)]
pub struct ExportPublicArgs {
    /// Where to write it (stdout if absent; it holds no secret).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `jwks`.
#[derive(Args, Debug)]
pub struct JwksArgs {
    /// Read a public keyset document (from `keyroll keys export-public`) instead of the
    /// keyring: no credentials needed.
    #[arg(long, value_name = "FILE")]
    pub public: Option<PathBuf>,
    /// Where to write it (stdout if absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}
