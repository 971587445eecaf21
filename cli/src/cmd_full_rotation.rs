//! `keyroll full-rotation`: rotate, then migrate a column onto the new version, in one command
//! an operator can schedule from cron (`--if-due --apply`). A dry run by default: the stored
//! keyring is rotated in memory only (never saved) and the migration runs as a dry run under
//! it, so the report says exactly which version would come and which rows would move, and
//! neither the keyring nor the database changes.
//!
//! Nothing here is new logic: the rotation is `rotate`'s ([`cmd_keyring::rotate_change`]: the
//! store's lock, the `--if-due` check under it, the `rotate` audit record) and the migration is
//! `migrate`'s ([`migrate::execute`]: the engine, its audit record and summary).

use crate::args::{MigrateArgs, RotateArgs};
use crate::cmd_keyring;
use crate::error::{exit, CliError, Result};
use crate::migrate::{self, Summary};
use crate::out;
use crate::sealed::Sealed;
use crate::session::{now, Session};
use clap::Args;
use keyroll::Keyring;
use serde_json::json;

/// `full-rotation`.
#[derive(Args, Debug, Clone)]
pub struct FullRotationArgs {
    /// The database, the column and every `migrate` option (`--apply` rotates and writes;
    /// without it nothing changes).
    #[command(flatten)]
    pub migrate: MigrateArgs,
    /// Only if the rotation policy says the active version is due; otherwise do nothing
    /// (exit 0), so a daily cron job rotates and migrates once per period.
    #[arg(long)]
    pub if_due: bool,
}

/// `full-rotation --help`'s notes.
pub const HELP: &str = "\
Without --apply: a dry run. The keyring is rotated in memory only and the migration runs as a
dry run under it: it says which version would become active and how many rows would move,
and changes neither the keyring nor the database (nor the audit log).

With --apply: the database is checked first (table, columns, id column), then the keyring is
rotated exactly as `keyroll rotate` does (audited as rotate; the old version becomes
decrypt-only, so every row stays readable), then the column is migrated as `keyroll migrate
--apply` does (audited as migrate). If the migration stops, the keyring is already rotated:
finish with `keyroll migrate … --apply` (running full-rotation again would rotate again).

--if-due: nothing happens unless the policy says the active version is due (exit 0 and a line
saying so). For cron: `keyroll full-rotation --if-due --apply --db … --table … --column …`.";

/// What the rotation step did, or would do.
#[derive(Debug, serde::Serialize)]
struct Rotation {
    /// Whether the keyring was rotated (a dry run: false).
    rotated: bool,
    /// Whether the policy said rotation was due.
    due: bool,
    /// The active version before.
    previous_version: Option<u32>,
    /// The version the migration moves rows onto (a dry run: the one that would be created).
    active_version: Option<u32>,
}

/// `full-rotation`.
pub fn run(s: &Session, args: &FullRotationArgs) -> Result<i32> {
    let m = &args.migrate;
    // N shards of an Indexed Job would each rotate the keyring: the rotation is once per
    // fleet, the migration per shard. Refused before anything is read.
    if migrate::shard::ShardSpec::resolve(m.shard.as_deref(), &keyroll_store::env::process)?
        .is_some()
    {
        return Err(CliError::new(
            "invalid_shard",
            exit::INPUT,
            "full-rotation rotates the keyring, once: rotate in one place (`keyroll rotate \
             --if-due`), then run `keyroll migrate --apply --shard I/N` (or the Indexed Job) on \
             each worker",
        ));
    }
    migrate::validate(m)?;
    let mut ring = s.open()?;
    let now = now()?;
    let previous = Sealed::active(&ring);
    let due = ring.due(now);
    if args.if_due && !due {
        let rotation = Rotation {
            rotated: false,
            due,
            previous_version: previous,
            active_version: previous,
        };
        return not_due(s, m, &rotation);
    }
    if !m.apply {
        // The rotation as it would be, in memory only: this copy is never sealed or saved.
        let next = ring.rotate_now(None, now)?;
        migrate::check_target(m, next)?;
        let (summary, code) = migrate::execute(s, m, &ring, false)?;
        let rotation = Rotation {
            rotated: false,
            due,
            previous_version: previous,
            active_version: Some(next),
        };
        report(s, &rotation, &summary);
        return Ok(code);
    }
    // The database first: a wrong table or id column must not leave a rotated keyring with
    // nothing migrated. (The version is a placeholder: the check reads no row.)
    migrate::check_target(m, previous.unwrap_or(0).saturating_add(1))?;
    let rotate = RotateArgs {
        if_due: args.if_due,
        emergency: false,
        reason: None,
    };
    let (rotated, previous, active) = cmd_keyring::rotate_change::<Keyring>(s, &rotate)?;
    let rotation = Rotation {
        rotated,
        due,
        previous_version: previous,
        active_version: active,
    };
    if !rotated {
        // `--if-due`, and another process rotated between the check above and the lock.
        return not_due(s, m, &rotation);
    }
    let ring = s.open()?;
    let (summary, code) = migrate::execute(s, m, &ring, true).map_err(|e| {
        let hint = format!(
            "; the keyring was rotated to v{}: finish with `keyroll migrate … --apply` \
             (running full-rotation again would rotate again)",
            active.unwrap_or(0)
        );
        CliError {
            message: format!("{}{hint}", e.message),
            ..e
        }
    })?;
    report(s, &rotation, &summary);
    Ok(code)
}

/// Nothing was due (`--if-due`): said, and no migration run.
fn not_due(s: &Session, m: &MigrateArgs, rotation: &Rotation) -> Result<i32> {
    if s.global.json {
        out::json(&json!({ "mode": mode(m), "rotation": rotation, "migration": null }));
    } else {
        println!(
            "{}; no migration run",
            <Keyring as Sealed>::not_due_message(rotation.previous_version)
        );
    }
    Ok(exit::OK)
}

fn mode(m: &MigrateArgs) -> &'static str {
    if m.apply {
        "apply"
    } else {
        "dry_run"
    }
}

/// Prints the rotation and the migration's summary (one JSON document with `--json`).
fn report(s: &Session, rotation: &Rotation, summary: &Summary) {
    if s.global.json {
        out::json(&json!({
            "mode": summary.mode,
            "rotation": rotation,
            "migration": summary,
        }));
        return;
    }
    let prev = rotation
        .previous_version
        .map(|v| format!("v{v}"))
        .unwrap_or("-".into());
    let next = rotation.active_version.unwrap_or(0);
    if rotation.rotated {
        println!(
            "{} v{next} is active; {prev} is now decrypt-only",
            out::good("rotated:")
        );
    } else {
        println!(
            "{} would rotate from {prev} to v{next}{}, then migrate {} rows of {}.{} onto it",
            out::bold("dry run:"),
            if rotation.due { " (due)" } else { "" },
            summary.migrated,
            summary.table,
            summary.column,
        );
    }
    migrate::print_summary(summary);
    if !rotation.rotated {
        println!(
            "{}",
            out::dim(
                "dry run: neither the keyring nor the database was changed; add --apply to rotate and migrate"
            )
        );
    }
}
