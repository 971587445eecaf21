//! `keyroll`: the operator CLI (keyring files, rotation, audit, backups, database migration).
#![warn(missing_docs)]

mod args;
mod cmd_backup;
mod cmd_keyring;
mod cmd_keys;
mod demo;
mod error;
mod migrate;
mod out;
mod session;

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
        Command::Rotate(a) => cmd_keyring::rotate(&s, a),
        Command::Stage => cmd_keyring::stage(&s),
        Command::Promote { version } => cmd_keyring::promote(&s, *version),
        Command::Policy(a) => cmd_keyring::policy(&s, a),
        Command::State {
            version,
            action,
            note,
        } => cmd_keyring::state(&s, *version, *action, note.as_deref()),
        Command::Report(a) => migrate::report::run(&s, a),
        Command::Migrate(a) => migrate::run(&s, a),
        Command::Backup => cmd_backup::backup(&s),
        Command::Backups => cmd_backup::backups(&s),
        Command::Restore { name } => cmd_backup::restore(&s, name),
        Command::Prune { keep } => cmd_backup::prune(&s, *keep),
        Command::ImportFernet { keys } => cmd_keyring::import_fernet(&s, keys),
        Command::Export(a) => cmd_keyring::export(&s, a),
        Command::Generate(a) => cmd_keys::generate(&s, a),
        Command::Validate(a) => cmd_keys::validate(&s, a),
        Command::Audit { last } => cmd_keyring::audit(&s, *last),
        Command::Demo(a) => demo::run(&cli.global, a.rows, a.dir.as_deref()),
    }
}

fn main() {
    let cli = match Cli::try_parse() {
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
    let code = match dispatch(cli) {
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
