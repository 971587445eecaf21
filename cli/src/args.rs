//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Credentials: KEYROLL_MASTER_KEY (32 bytes, base64 or hex) or KEYROLL_PASSPHRASE; with neither,
a no-echo prompt on the terminal. Keys are never printed (except by `generate`, whose job it is)
and never taken as arguments (they would show in `ps`): environment variables or stdin (`-`).

Environment (the same rules as the Python binding's Keyring.from_env): an empty variable is
unset; ENCRYPTION_KEY (primary) and ENCRYPTION_KEY_PREVIOUS hold Fernet keys separated by commas
and/or whitespace; a value that is not UTF-8 is an error; KEYROLL_MASTER_KEY wins over
KEYROLL_PASSPHRASE. Also KEYROLL_KEYRING (a store URL: file:PATH or a path, postgres://…#NAME,
aws-sm://NAME), KEYROLL_BACKUP_DIR, KEYROLL_AUDIT_LOG (for the options).

Exit status: 0 ok | 1 health WARNING | 2 health CRITICAL | 3 migrate finished with failed rows
| 4 wrong passphrase/master key | 5 keyring or backup missing/damaged, changed meanwhile or
rolled back | 6 database or keyring store unreachable | 7 file-system error | 8 invalid input,
refused change (e.g. promote with readers behind) | 10 declined confirmation
| 64 usage error";

/// keyroll: versioned envelope encryption keys for operators.
#[derive(Parser, Debug)]
#[command(name = "keyroll", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
///
/// The path options fall back to their variables through `keyroll_store::env` (the one parser
/// of the environment contract, so an empty variable is unset here as in every binding), not
/// through clap's `env`; [`Global::resolve_env`] fills the public fields.
#[derive(Args, Clone)]
pub struct Global {
    /// Where the keyring is: a store URL, `file:PATH` or a plain path, `postgres://…#NAME` or
    /// `aws-sm://NAME` (docs/fleet.md) [env: KEYROLL_KEYRING] [default: keyroll.json].
    #[arg(long = "keyring", global = true, value_name = "URL")]
    keyring_arg: Option<String>,
    /// The keyring's store URL (resolved). May hold a password: print
    /// `Session::store.location()`, never this.
    #[arg(skip)]
    pub keyring: String,
    /// Backup directory [env: KEYROLL_BACKUP_DIR] [default: `<keyring>.backups/`].
    #[arg(long = "backup-dir", global = true, value_name = "BACKUP_DIR")]
    backup_dir_arg: Option<PathBuf>,
    /// Backup directory (resolved).
    #[arg(skip)]
    pub backup_dir: Option<PathBuf>,
    /// Audit log [env: KEYROLL_AUDIT_LOG] [default: `<keyring>.audit.jsonl`].
    #[arg(long = "audit-log", global = true, value_name = "AUDIT_LOG")]
    audit_log_arg: Option<PathBuf>,
    /// Audit log (resolved).
    #[arg(skip)]
    pub audit_log: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Answer yes to confirmation prompts (needed for destructive commands without a terminal).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
}

/// By hand: the keyring URL may hold a database password, shown here redacted.
impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |url: &str| keyroll_store::fleet::redact_password(url);
        f.debug_struct("Global")
            .field("keyring_arg", &self.keyring_arg.as_deref().map(redact))
            .field("keyring", &redact(&self.keyring))
            .field("backup_dir", &self.backup_dir)
            .field("audit_log", &self.audit_log)
            .field("json", &self.json)
            .field("yes", &self.yes)
            .finish_non_exhaustive()
    }
}

impl Global {
    /// Fills `keyring`, `backup_dir` and `audit_log`: the option, else its variable, else the
    /// default.
    pub fn resolve_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<(), keyroll_store::env::EnvError> {
        use keyroll_store::env::{path, var, KEYRING};
        self.keyring = match &self.keyring_arg {
            Some(p) => p.clone(),
            None => var(lookup, KEYRING)?
                .map(|v| v.to_string())
                .unwrap_or_else(|| "keyroll.json".to_string()),
        };
        self.backup_dir = match &self.backup_dir_arg {
            Some(p) => Some(p.clone()),
            None => path(lookup, "KEYROLL_BACKUP_DIR")?,
        };
        self.audit_log = match &self.audit_log_arg {
            Some(p) => Some(p.clone()),
            None => path(lookup, "KEYROLL_AUDIT_LOG")?,
        };
        Ok(())
    }
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new keyring with one active version.
    Init(InitArgs),
    /// Show the keyring: id, versions, states, policy.
    Info,
    /// Check the rotation policy (exit 0 OK, 1 WARNING, 2 CRITICAL): for cron and monitoring.
    Health,
    /// Rotate: a new active version (scheduled, `--if-due`, or `--emergency`).
    Rotate(RotateArgs),
    /// Two-phase rotation, step 1: add a pending version (readers learn it; nobody writes with it).
    Stage,
    /// Two-phase rotation, step 2: make VERSION the active one, once every live reader holds
    /// it (`readers_behind` otherwise; see `keyroll readers`).
    Promote(PromoteArgs),
    /// List the readers that hold the keyring (from their check-ins in the store): generation,
    /// versions, last check, live or stale, last error.
    Readers,
    /// Show or change the rotation policy.
    Policy(PolicyArgs),
    /// Change a version's state: enable (decrypt-only), disable, compromise or destroy.
    State {
        /// The key version.
        version: u32,
        /// The change.
        action: StateAction,
        /// A note kept with the version (e.g. why).
        #[arg(long)]
        note: Option<String>,
    },
    /// Count a column's values per key version straight from their text prefix (no decryption).
    Report(crate::migrate::report::ReportArgs),
    /// Re-encrypt a column under the active version (dry run unless --apply).
    #[command(after_help = crate::migrate::HELP)]
    Migrate(MigrateArgs),
    /// Rotate, then migrate a column onto the new version (dry run unless --apply; --if-due for cron).
    #[command(after_help = crate::cmd_full_rotation::HELP)]
    FullRotation(crate::cmd_full_rotation::FullRotationArgs),
    /// Copy the sealed keyring into the backup directory now.
    Backup,
    /// List backups and check each against its checksum.
    Backups,
    /// Replace the keyring with a backup (checked first; the current one is backed up).
    Restore {
        /// Backup file name (from `keyroll backups`) or a unique SHA-256 prefix.
        name: String,
    },
    /// Delete all but the newest N backups.
    Prune {
        /// How many backups to keep.
        #[arg(long)]
        keep: usize,
    },
    /// Import Fernet keys from ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS, or from stdin (`-`).
    ImportFernet(ImportFernetArgs),
    /// Import the keys of a home-made AES-256-GCM manager (PBKDF2 per version, or keys used as
    /// bytes) from RAW_GCM_PASSWORD / RAW_GCM_KEY, `--env NAME` or stdin (`-`).
    ImportRawGcm(crate::cmd_raw_gcm::ImportRawGcmArgs),
    /// Write a decrypt-only copy of the keyring (for apps that must read but never write).
    Export(ExportArgs),
    /// Generate key material (printed on stdout, or written to a 0600 file with --out).
    Generate(GenerateArgs),
    /// Check key material without printing it (from stdin, or a variable with --env).
    Validate(ValidateArgs),
    /// Show the audit log.
    Audit {
        /// Only the last N records.
        #[arg(long)]
        last: Option<usize>,
    },
    /// Run the end-to-end demo in a temporary directory (100,000 Fernet rows to keyroll).
    Demo(DemoArgs),
    /// Signing keyrings (HS256 / Ed25519 JWT keys): create, import a legacy SECRET_KEY,
    /// rotate, export the public keyset.
    #[command(subcommand)]
    Keys(crate::signing_args::KeysCommand),
    /// Print the JWKS (public keys) of an Ed25519 signing keyring, for JWT verifiers.
    Jwks(crate::signing_args::JwksArgs),
}

/// `init`.
#[derive(Args, Debug)]
pub struct InitArgs {
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

/// `rotate`.
#[derive(Args, Debug)]
pub struct RotateArgs {
    /// Only rotate if the policy says rotation is due (for cron); exit 0 either way.
    #[arg(long, conflicts_with = "emergency")]
    pub if_due: bool,
    /// Emergency: the current active version is marked compromised (only migration reads it).
    #[arg(long, requires = "reason")]
    pub emergency: bool,
    /// Why (required with --emergency; kept in the keyring and the audit log).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `promote`.
#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// The pending (or decrypt-only) version.
    pub version: u32,
    /// Promote even though live readers lack the version (they fail to decrypt what is
    /// written under it until they reload), or though the store keeps no reader check-ins
    /// and the version was staged less than three poll intervals ago. Audited as
    /// `promote_forced`, with the readers concerned.
    #[arg(long)]
    pub force: bool,
    /// The readers' poll interval in seconds, for stores that keep no reader check-ins: a
    /// promote waits three of them after `stage` (docs/fleet.md).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub poll_interval: u64,
}

/// `policy`.
#[derive(Args, Debug)]
pub struct PolicyArgs {
    /// Rotation due after this many days.
    #[arg(long)]
    pub rotate_after_days: Option<u32>,
    /// Warning after this many days.
    #[arg(long)]
    pub warn_after_days: Option<u32>,
}

/// `state VERSION <action>`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateAction {
    /// Back to decrypt-only (from disabled).
    Enable,
    /// Refuse to decrypt, reversibly.
    Disable,
    /// Mark as leaked: only migration may read it.
    Compromise,
    /// Wipe the key material for good (data still under it becomes unreadable).
    Destroy,
}

/// Where the data is.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// `sqlite:PATH`, a file path, or `postgres://user@host:port/db[?sslmode=verify-full&sslrootcert=CA.pem]`
    /// (password from PGPASSWORD or ~/.pgpass, not the URL).
    #[arg(long, env = "KEYROLL_DB")]
    pub db: String,
    /// Table (PostgreSQL: optionally `schema.table`).
    #[arg(long)]
    pub table: String,
    /// Column holding the tokens (text or bytes).
    #[arg(long)]
    pub column: String,
}

/// How progress is shown.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, nothing otherwise.
    Auto,
    /// Always a bar.
    Bar,
    /// One line per batch on stderr (for logs).
    Plain,
    /// Nothing.
    None,
}

/// `migrate`.
#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The table's key column (integer, text or uuid): the primary key or a unique NOT NULL column;
    /// anything that may name two rows, composite keys included, is refused.
    #[arg(long, default_value = "id")]
    pub id_column: String,
    /// Encryption context (AAD) per row: `{table}`, `{id}` and `{column}` are replaced. Must
    /// match what the application passes; empty means none.
    #[arg(long, default_value = "")]
    pub context_template: String,
    /// Rows per batch (one transaction each).
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Parallel workers in this process (PostgreSQL: one connection each).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Write the changes (without it: a dry run that changes nothing).
    #[arg(long)]
    pub apply: bool,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Also move rows under compromised versions. Their data is unverified: whoever holds the
    /// leaked key could have forged them, and a rewrap makes a forgery look trusted. Without
    /// it such rows are refused (counted, left as they are).
    #[arg(long)]
    pub include_compromised: bool,
    /// Work only shard I of N (0-based) of the table's key range, so N commands on N hosts
    /// share one table; the ranges are cut once per run and kept in keyroll_migrate_progress
    /// (see `keyroll report --progress`) [env: JOB_COMPLETION_INDEX with JOB_COMPLETIONS].
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// At most this many rows per second for the whole command (all its workers).
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_rows_per_second: Option<u64>,
}

/// `import-fernet`.
#[derive(Args, Debug)]
pub struct ImportFernetArgs {
    /// `-`: read the keys from stdin (separated by commas and/or whitespace). Without it, the
    /// keys come from ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS. Keys as arguments are refused:
    /// they would show in `ps` and shell history.
    #[arg(allow_hyphen_values = true, value_name = "-")]
    pub source: Vec<std::ffi::OsString>,
}

/// `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Export a decrypt-only keyring (the only kind of export).
    #[arg(long, required = true)]
    pub decrypt_only: bool,
    /// Where to write it (mode 0600; refuses to overwrite without --force).
    #[arg(long)]
    pub out: PathBuf,
    /// A version to export (repeat for several; required): active or decrypt-only versions
    /// only. Apps get exactly what is named, nothing compromised, disabled or pending.
    #[arg(long = "version", value_name = "N", required = true, num_args = 1)]
    pub versions: Vec<u32>,
    /// Seal the export under its own passphrase, read from this environment variable (so the
    /// app never holds the keyring's credential).
    #[arg(long, value_name = "NAME", group = "export_credential")]
    pub export_passphrase_env: Option<String>,
    /// Seal the export under its own master key (64 hex digits or base64), read from this
    /// environment variable.
    #[arg(long, value_name = "NAME", group = "export_credential")]
    pub export_master_key_env: Option<String>,
    /// Seal the export under its own passphrase, read from stdin (one line).
    #[arg(long, group = "export_credential")]
    pub export_passphrase_stdin: bool,
    /// PBKDF2 iterations when the export is sealed under its own passphrase.
    #[arg(long, default_value_t = keyroll::DEFAULT_PBKDF2_ITERATIONS)]
    pub iterations: u32,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Kinds of key material.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKindArg {
    /// A 256-bit master key for KEYROLL_MASTER_KEY (base64).
    MasterKey,
    /// A Fernet key (url-safe base64).
    Fernet,
    /// A random passphrase (6 groups of 5 characters).
    Passphrase,
}

/// `generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// What to generate.
    #[arg(long, value_enum, default_value_t = KeyKindArg::MasterKey)]
    pub kind: KeyKindArg,
    /// Write to this file (mode 0600) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// What it should be.
    #[arg(long, value_enum, default_value_t = KeyKindArg::MasterKey)]
    pub kind: KeyKindArg,
    /// Read the key from this environment variable instead of stdin.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// `-` (or nothing): read the key from stdin. A key as an argument is refused: it would
    /// show in `ps` and shell history.
    #[arg(allow_hyphen_values = true, value_name = "-")]
    pub source: Option<std::ffi::OsString>,
}

/// `demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Rows in the demo table.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Keep the demo files in this directory instead of a temporary one.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_never_shows_a_password_from_the_keyring_url() {
        let mut cli = Cli::try_parse_from([
            "keyroll",
            "--keyring",
            "postgres://app:hunter2@db/k?password=hunter2#r",
            "info",
        ])
        .unwrap();
        cli.global.resolve_env(&|_| None).unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app:***@db"), "{shown}");
    }
}
