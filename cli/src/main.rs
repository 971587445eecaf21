//! `keyroll`: the operator CLI (keyring files, rotation, audit, backups, database migration).
#![warn(missing_docs)]

mod args;
mod cmd_backup;
mod cmd_fleet;
mod cmd_full_rotation;
mod cmd_keyring;
mod cmd_keys;
mod cmd_raw_gcm;
mod cmd_signing;
mod demo;
mod error;
mod migrate;
mod out;
mod sealed;
mod session;
mod signing_args;

use args::{Cli, Command};
use clap::Parser;
use error::{exit, CliError};
use session::Session;

fn dispatch(cli: Cli) -> Result<i32, CliError> {
    let s = Session::new(cli.global.clone());
    match &cli.command {
        Command::Init(a) => cmd_keyring::init(&s, a),
        Command::Info => cmd_keyring::info(&s),
        Command::Health => cmd_keyring::health(&s),
        Command::Rotate(a) => cmd_keyring::rotate::<keyroll::Keyring>(&s, a),
        Command::Stage => cmd_keyring::stage(&s),
        Command::Promote(a) => cmd_keyring::promote(&s, a),
        Command::Readers => cmd_fleet::readers(&s),
        Command::Policy(a) => cmd_keyring::policy(&s, a),
        Command::State {
            version,
            action,
            note,
        } => cmd_keyring::state::<keyroll::Keyring>(&s, *version, *action, note.as_deref()),
        Command::Report(a) => migrate::report::command(&s, a),
        Command::Migrate(a) => migrate::run(&s, a),
        Command::FullRotation(a) => cmd_full_rotation::run(&s, a),
        Command::Backup => cmd_backup::backup(&s),
        Command::Backups => cmd_backup::backups(&s),
        Command::Restore { name } => cmd_backup::restore(&s, name),
        Command::Prune { keep } => cmd_backup::prune(&s, *keep),
        Command::ImportFernet(a) => cmd_keyring::import_fernet_cmd(&s, a),
        Command::ImportRawGcm(a) => cmd_raw_gcm::import_raw_gcm_cmd(&s, a),
        Command::Export(a) => cmd_keyring::export(&s, a),
        Command::Generate(a) => cmd_keys::generate(&s, a),
        Command::Validate(a) => cmd_keys::validate(&s, a),
        Command::Audit { last } => cmd_keyring::audit(&s, *last),
        Command::Demo(a) => demo::run(&cli.global, a.rows, a.dir.as_deref()),
        Command::Keys(c) => cmd_signing::keys(&s, c),
        Command::Jwks(a) => cmd_signing::jwks(&s, a),
    }
}

/// No core dump of a process that holds keys: the soft and hard `RLIMIT_CORE` become 0 (so
/// no child can raise it back either) and, on Linux, the process is marked non-dumpable
/// (`PR_SET_DUMPABLE` 0: no core even under a `core_pattern` pipe, and no ptrace or
/// `/proc/<pid>/mem` access by other processes of the same user). Runs before anything is
/// parsed or read. Failures are reported but not fatal: a sandbox may forbid the calls, and the
/// CLI is still correct without them.
fn disable_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let zero = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if let Err(e) = setrlimit(Resource::Core, zero) {
            eprintln!("keyroll: warning: cannot disable core dumps (setrlimit: {e})");
        }
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{set_dumpable_behavior, DumpableBehavior};
        if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            eprintln!("keyroll: warning: cannot mark the process non-dumpable (prctl: {e})");
        }
    }
}

fn main() {
    disable_core_dumps();
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let json = cli.global.json;
    let resolved = cli
        .global
        .resolve_env(&keyroll_store::env::process)
        .map_err(CliError::from);
    let code = match resolved.and_then(|()| dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            if json {
                out::json(&serde_json::json!({
                    "error": { "code": e.code, "message": e.message, "exit": e.exit }
                }));
            }
            eprintln!("keyroll: {} [{}]", e.message, e.code);
            e.exit
        }
    };
    std::process::exit(code);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn core_dumps_are_disabled() {
        use rustix::process::{dumpable_behavior, getrlimit, DumpableBehavior, Resource};
        super::disable_core_dumps();
        let limit = getrlimit(Resource::Core);
        assert_eq!((limit.current, limit.maximum), (Some(0), Some(0)));
        assert_eq!(
            dumpable_behavior().ok(),
            Some(DumpableBehavior::NotDumpable)
        );
    }
}
