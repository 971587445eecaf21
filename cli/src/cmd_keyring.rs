//! Keyring commands: init, info, health, rotate, stage, promote, policy, state, import-fernet,
//! export, audit.

use crate::args::{
    ExportArgs, ImportFernetArgs, InitArgs, PolicyArgs, PromoteArgs, RotateArgs, StateAction,
};
use crate::cmd_keys::{read_stdin_secret, secret_from_env, secret_in_argv};
use crate::error::{exit, CliError, Result};
use crate::out;
use crate::sealed::Sealed;
use crate::session::{document_protection, now, Session};
use keyroll::{
    FernetKey, KeyState, Keyring, Policy, PolicyState, Protection, SecretKey, VersionInfo,
};
use keyroll_store::env;
use keyroll_store::AuditRecord;
use serde_json::json;
use zeroize::Zeroizing;

/// `init`.
pub fn init(s: &Session, args: &InitArgs) -> Result<i32> {
    let now = now()?;
    let mut ring = Keyring::generate(now)?;
    if args.rotate_after_days.is_some() || args.warn_after_days.is_some() {
        let d = Policy::default();
        ring.set_policy(Policy {
            rotate_after_days: args.rotate_after_days.unwrap_or(d.rotate_after_days),
            warn_after_days: args.warn_after_days.unwrap_or(d.warn_after_days),
        })?;
    }
    let mut record = AuditRecord::new("init", now);
    record.versions = vec![1];
    s.create(&mut ring, args.iterations, &record)?;
    if s.global.json {
        out::json(&json!({
            "keyring": s.store.location(),
            "keyring_id": ring.id().to_hex(),
            "active_version": ring.active_version(),
            "policy": ring.policy(),
        }));
    } else {
        println!(
            "{} keyring {} at {} (active version 1)",
            out::good("created"),
            ring.id().to_hex(),
            s.store.location()
        );
        println!(
            "{}",
            out::dim(
                "keep the passphrase or master key safe: without it the keyring cannot be opened"
            )
        );
    }
    Ok(exit::OK)
}

fn version_row(v: &VersionInfo) -> String {
    // Pad before colouring: escape codes would otherwise count as width.
    let padded = format!("{:<12}", v.state.as_str());
    let state = match v.state {
        KeyState::Active => out::good(padded),
        KeyState::Compromised | KeyState::Destroyed => out::bad(padded),
        KeyState::Disabled | KeyState::Pending => out::warn(padded),
        KeyState::DecryptOnly => padded,
    };
    let kind = format!("{:?}", v.kind);
    let note = v.note.clone().unwrap_or_default();
    format!(
        "  {:>10}  {:<10}  {}  {}  {}",
        v.version,
        kind,
        state,
        out::time(v.created_at),
        out::dim(note)
    )
}

/// `info`.
pub fn info(s: &Session) -> Result<i32> {
    let document = s.store.read()?;
    let ring = s.open_document(&document)?;
    let file = s.store.file().ok();
    let backups = match file {
        Some(f) => Some(f.backups()?.len()),
        None => None,
    };
    let status = ring.check_policy(now()?);
    if s.global.json {
        out::json(&json!({
            "keyring": s.store.location(),
            "keyring_id": ring.id().to_hex(),
            "generation": ring.generation(),
            "protection": document_protection(&document),
            "read_only": ring.is_read_only(),
            "active_version": ring.active_version(),
            "min_version": ring.min_version(),
            "policy": ring.policy(),
            "policy_status": status,
            "versions": ring.versions(),
            "backups": backups,
            "backup_dir": file.map(|f| f.backup_dir()),
            "audit_log": file.map(|f| f.audit().path()),
        }));
        return Ok(exit::OK);
    }
    println!("{} {}", out::bold("keyring"), ring.id().to_hex());
    let label = if file.is_some() { "file" } else { "store" };
    println!("  {label:<11} {}", s.store.location());
    println!("  sealed by   {}", document_protection(&document));
    if ring.is_read_only() {
        println!(
            "  {}",
            out::warn("decrypt-only export: cannot encrypt or change")
        );
    }
    match ring.active_version() {
        Some(v) => println!("  active      v{v}"),
        None => println!("  active      {}", out::warn("none")),
    }
    let p = ring.policy();
    println!(
        "  policy      warn after {} days, rotate after {} days ({})",
        p.warn_after_days,
        p.rotate_after_days,
        policy_word(status.state)
    );
    if let (Some(f), Some(backups)) = (file, backups) {
        println!("  backups     {backups} in {}", f.backup_dir().display());
        println!("  audit log   {}", f.audit().path().display());
    }
    println!("{}", out::bold("versions"));
    println!(
        "  {:>10}  {:<10}  {:<12}  {:<23}  note",
        "version", "kind", "state", "created"
    );
    for v in ring.versions() {
        println!("{}", version_row(&v));
    }
    Ok(exit::OK)
}

fn policy_word(state: PolicyState) -> String {
    match state {
        PolicyState::Ok => out::good("ok"),
        PolicyState::Warn => out::warn("rotation coming up"),
        PolicyState::Due => out::bad("rotation due"),
        PolicyState::NoActiveKey => out::warn("no active key"),
    }
}

/// `health`: exit 0 OK, 1 WARNING, 2 CRITICAL.
pub fn health(s: &Session) -> Result<i32> {
    let document = s.store.read()?;
    let ring = s.open_document(&document)?;
    let now = now()?;
    let status = ring.check_policy(now);
    let mut warnings = Vec::new();
    if let Ok(keyroll::Sealing::Passphrase { iterations }) = keyroll::document_sealing(&document) {
        if iterations < keyroll::MIN_ITERATIONS {
            warnings.push(crate::session::below_floor_warning(iterations));
        }
    }
    for v in ring.versions() {
        match v.state {
            KeyState::Compromised => warnings.push(format!(
                "v{} is compromised: migrate data off it, then destroy it",
                v.version
            )),
            KeyState::Pending => warnings.push(format!(
                "v{} is staged but not promoted (`keyroll promote {}` once every reader has it)",
                v.version, v.version
            )),
            _ => {}
        }
    }
    let (reader_warnings, readers) = crate::cmd_fleet::health_readers(s, &ring, now);
    warnings.extend(reader_warnings);
    Ok(print_health(
        s,
        &status,
        &warnings,
        Some(&readers),
        &HealthWords {
            kind: None,
            active: "active",
            keyring: "the keyring",
            due_hint: "rotation is due: run `keyroll rotate`, then `keyroll migrate`",
        },
    ))
}

/// How `health` names things for one kind of keyring.
pub struct HealthWords {
    /// `keyring_kind` in the JSON output, if the kind is not the default.
    pub kind: Option<&'static str>,
    /// What the active version is called ("active", "signing key").
    pub active: &'static str,
    /// What the keyring is called, for "has no active key".
    pub keyring: &'static str,
    /// The line printed when rotation is due.
    pub due_hint: &'static str,
}

/// The verdict of `health` and `keys health` from the policy status and the warnings, printed
/// (or as JSON); returns the exit code: 0 OK, 1 WARNING, 2 CRITICAL.
pub fn print_health(
    s: &Session,
    status: &keyroll::PolicyStatus,
    warnings: &[String],
    readers: Option<&serde_json::Value>,
    words: &HealthWords,
) -> i32 {
    let (level, code) = match status.state {
        PolicyState::Due | PolicyState::NoActiveKey => ("critical", exit::CRITICAL),
        PolicyState::Warn => ("warning", exit::WARNING),
        PolicyState::Ok if !warnings.is_empty() => ("warning", exit::WARNING),
        PolicyState::Ok => ("ok", exit::OK),
    };
    if s.global.json {
        let mut v = json!({ "status": level, "policy": status, "warnings": warnings });
        if let Some(kind) = words.kind {
            v["keyring_kind"] = json!(kind);
        }
        if let Some(readers) = readers {
            v["readers"] = readers.clone();
        }
        out::json(&v);
        return code;
    }
    let head = match code {
        exit::OK => out::good("OK"),
        exit::WARNING => out::warn("WARNING"),
        _ => out::bad("CRITICAL"),
    };
    match status.active_version {
        Some(v) => println!(
            "{head}: {} v{v} is {} old; warn at {}, rotate at {}",
            words.active,
            out::days(status.age_seconds),
            status.warn_at.map(out::time).unwrap_or_default(),
            status.due_at.map(out::time).unwrap_or_default(),
        ),
        None => println!("{head}: {} has no active key", words.keyring),
    }
    if status.state == PolicyState::Due {
        println!("  {}", words.due_hint);
    }
    for w in warnings {
        println!("  {}", out::warn(w));
    }
    code
}

/// `rotate` and `keys rotate`: one path for both kinds of keyring (scheduled, `--if-due`
/// from cron, or `--emergency` after confirmation), audited as `[signing_]rotate`,
/// `[signing_]emergency_rotate` or `[signing_]rotate_not_due`.
pub fn rotate<R: Sealed>(s: &Session, args: &RotateArgs) -> Result<i32> {
    let (rotated, previous, active) = rotate_change::<R>(s, args)?;
    if s.global.json {
        out::json(&json!({
            "rotated": rotated,
            "emergency": args.emergency && rotated,
            "previous_version": previous,
            "active_version": active,
        }));
    } else if !rotated {
        println!("{}", R::not_due_message(previous));
    } else {
        let prev = previous.map(|v| format!("v{v}")).unwrap_or("-".into());
        println!(
            "{}",
            R::rotated_message(&prev, active.unwrap_or(0), args.emergency)
        );
    }
    Ok(exit::OK)
}

/// `rotate` without its output (also `full-rotation`'s first step): confirms an emergency,
/// rotates under the store's lock (re-checking `--if-due` there) and audits; returns whether
/// it rotated, the previous and the now active version.
pub fn rotate_change<R: Sealed>(
    s: &Session,
    args: &RotateArgs,
) -> Result<(bool, Option<u32>, Option<u32>)> {
    // The version the operator agreed to mark compromised: the change refuses to compromise
    // any other (another operator may rotate in between, and a store's change may be re-applied
    // to a fresher keyring, see `Session::change_as`).
    let mut confirmed = None;
    if args.emergency {
        let ring = s.open_as::<R>(&s.store.read()?)?;
        confirmed = Some(ring.active());
        let old = ring
            .active()
            .map(|v| format!("v{v}"))
            .unwrap_or("the active version".into());
        s.confirm(&format!(
            "emergency rotation: {old} will be marked compromised and {}",
            R::EMERGENCY_CONSEQUENCE
        ))?;
    }
    let kind = if args.emergency {
        "emergency_rotate"
    } else {
        "rotate"
    };
    let event = format!("{}{kind}", R::EVENT_PREFIX);
    let (rotated, previous, active) = s.change_as(&event, |ring: &mut R, now, record| {
        let previous = ring.active();
        if let Some(confirmed) = confirmed {
            if confirmed != previous {
                return Err(CliError::new(
                    "keyring_conflict",
                    exit::KEYRING,
                    "the active version changed since the emergency rotation was confirmed (another operator changed the keyring): nothing was written; re-run the command to confirm what it now compromises",
                ));
            }
        }
        if args.if_due && !ring.due(now) {
            record.event = format!("{}rotate_not_due", R::EVENT_PREFIX);
            record.versions = previous.into_iter().collect();
            return Ok((false, previous, previous));
        }
        let reason = args.emergency.then(|| args.reason.as_deref().unwrap_or(""));
        if let Some(reason) = reason {
            record.reason = Some(reason.to_string());
        }
        let version = ring.rotate_now(reason, now)?;
        record.versions = previous.into_iter().chain([version]).collect();
        Ok((true, previous, Some(version)))
    })?;
    Ok((rotated, previous, active))
}

/// `stage`.
pub fn stage(s: &Session) -> Result<i32> {
    let version = s.change("stage", |ring, now, record| {
        let v = ring.add_version(now)?;
        record.versions = vec![v];
        Ok(v)
    })?;
    if s.global.json {
        out::json(&json!({ "staged_version": version }));
    } else {
        println!(
            "{} v{version} is pending: readers pick it up on their next poll (see `keyroll readers`); then `keyroll promote {version}`",
            out::good("staged:")
        );
    }
    Ok(exit::OK)
}

/// `promote VERSION`: refused while a live reader lacks VERSION (`readers_behind`), unless
/// `--force` (then audited as `promote_forced`, naming those readers); see
/// [`crate::cmd_fleet::promote_gate`].
pub fn promote(s: &Session, args: &PromoteArgs) -> Result<i32> {
    let version = args.version;
    let (previous, note, forced) = s.change("promote", |ring, now, record| {
        let note = crate::cmd_fleet::promote_gate(s, &ring.versions(), args, now, record)?;
        let previous = ring.active_version();
        ring.promote(version, now)?;
        record.versions = previous.into_iter().chain([version]).collect();
        Ok((previous, note, record.event == "promote_forced"))
    })?;
    if s.global.json {
        out::json(&json!({
            "active_version": version,
            "previous_version": previous,
            "forced": forced,
        }));
    } else {
        if let Some(note) = &note {
            println!("{}", out::warn(note));
        }
        println!("{} v{version} is active", out::good("promoted:"));
    }
    Ok(exit::OK)
}

/// `policy`.
pub fn policy(s: &Session, args: &PolicyArgs) -> Result<i32> {
    let policy = if args.rotate_after_days.is_none() && args.warn_after_days.is_none() {
        s.open()?.policy()
    } else {
        s.change("policy", |ring, _now, record| {
            let old = ring.policy();
            let new = Policy {
                rotate_after_days: args.rotate_after_days.unwrap_or(old.rotate_after_days),
                warn_after_days: args.warn_after_days.unwrap_or(old.warn_after_days),
            };
            ring.set_policy(new)?;
            record.details = Some(json!({ "from": old, "to": new }));
            Ok(new)
        })?
    };
    if s.global.json {
        out::json(&policy);
    } else {
        println!(
            "warn after {} days, rotate after {} days",
            policy.warn_after_days, policy.rotate_after_days
        );
    }
    Ok(exit::OK)
}

/// `state VERSION ACTION` and `keys state VERSION ACTION`: one path for both kinds of
/// keyring, so a destroy purges backups and is confirmed and reported the same way.
pub fn state<R: Sealed>(
    s: &Session,
    version: u32,
    action: StateAction,
    note: Option<&str>,
) -> Result<i32> {
    let to = match action {
        StateAction::Enable => KeyState::DecryptOnly,
        StateAction::Disable => KeyState::Disabled,
        StateAction::Compromise => KeyState::Compromised,
        StateAction::Destroy => KeyState::Destroyed,
    };
    if action == StateAction::Destroy {
        s.confirm(&format!(
            "destroy v{version}: its key material is wiped from the keyring and from every backup (backups that open with the current credentials are re-sealed without it; backups that fail their checksum, cannot be read, or do not open with the current credentials are deleted), and what depends on it (data still under it, tokens it signed) can never be read or verified again"
        ))?;
    }
    let event = format!("{}state_{}", R::EVENT_PREFIX, to.as_str());
    let from = s.change_as(&event, |ring: &mut R, now, record| {
        record.versions = vec![version];
        record.reason = note.map(str::to_string);
        let from = ring
            .version_infos()
            .iter()
            .find(|v| v.version == version)
            .map(|v| v.state)
            .ok_or(keyroll::Error::UnknownKeyVersion(version))?;
        ring.set_version_state(version, to, note, now)?;
        Ok(from)
    })?;
    let purged = s.purged(version);
    if s.global.json {
        out::json(&json!({ "version": version, "from": from, "to": to, "backups": purged }));
    } else {
        println!(
            "v{version}: {} -> {}",
            R::state_word(from),
            R::state_word(to)
        );
        if let Some(p) = &purged {
            println!("{}", crate::session::describe_purge(p));
        }
    }
    Ok(exit::OK)
}

/// `import-fernet`: the keys come from ENCRYPTION_KEY / ENCRYPTION_KEY_PREVIOUS (the
/// environment contract of `keyroll_store::env`) or from stdin (`-`), never from argv.
pub fn import_fernet_cmd(s: &Session, args: &ImportFernetArgs) -> Result<i32> {
    let keys = match args.source.as_slice() {
        [] => env::fernet_keys(&env::process)?,
        [dash] if dash == "-" => env::fernet_list("stdin", &read_stdin_secret()?)?,
        _ => {
            return Err(secret_in_argv(
                "a Fernet key",
                "set ENCRYPTION_KEY (and ENCRYPTION_KEY_PREVIOUS), or run `keyroll import-fernet -` and write the keys to stdin",
            ))
        }
    };
    if keys.is_empty() {
        return Err(CliError::input(
            "no Fernet keys: set ENCRYPTION_KEY (and ENCRYPTION_KEY_PREVIOUS), or pass `-` and write them to stdin",
        ));
    }
    import_keys(s, &keys)
}

/// Imports Fernet keys given as text (the demo, which made them itself).
pub fn import_fernet(s: &Session, texts: &[String]) -> Result<i32> {
    let texts = Zeroizing::new(texts.join(","));
    import_keys(s, &env::fernet_list("the key list", &texts)?)
}

fn import_keys(s: &Session, keys: &[FernetKey]) -> Result<i32> {
    let versions = s.change("import_fernet", |ring, now, record| {
        let versions = ring.import_fernet(keys, now)?;
        record.versions = versions.clone();
        Ok(versions)
    })?;
    if s.global.json {
        out::json(&json!({ "imported_versions": versions }));
    } else {
        for v in &versions {
            println!(
                "{} Fernet key as decrypt-only version {v}",
                out::good("imported")
            );
        }
        println!("run `keyroll migrate` to move Fernet data onto the active version");
    }
    Ok(exit::OK)
}

/// `export --decrypt-only`.
pub fn export(s: &Session, args: &ExportArgs) -> Result<i32> {
    if args.out.exists() && !args.force {
        return Err(CliError::input(format!(
            "{} exists; pass --force to overwrite",
            args.out.display()
        )));
    }
    let document = s.store.read()?;
    let ring = s.open_document(&document)?;
    let export = ring.export_decrypt_only(&args.versions)?;
    // The export's own credential, if asked for: the app then never holds the operator's.
    let passphrase = match (&args.export_passphrase_env, args.export_passphrase_stdin) {
        (Some(name), _) => Some(secret_from_env(name)?),
        (None, true) => {
            let text = read_stdin_secret()?;
            let line = text.lines().next().unwrap_or_default();
            Some(Zeroizing::new(line.to_string()))
        }
        (None, false) => None,
    };
    if passphrase.as_ref().is_some_and(|p| p.is_empty()) {
        return Err(CliError::input("the export passphrase is empty"));
    }
    let master = match &args.export_master_key_env {
        Some(name) => Some(SecretKey::from_text(&secret_from_env(name)?).map_err(|_| {
            CliError::new(
                "invalid_key",
                exit::INPUT,
                format!("{name} must be 32 bytes, as 64 hex digits or base64"),
            )
        })?),
        None => None,
    };
    let (sealed, sealed_by) = match (&passphrase, &master) {
        (Some(p), _) => (
            export.to_document(Protection::Passphrase {
                passphrase: p.as_bytes(),
                iterations: args.iterations,
            })?,
            "its own passphrase",
        ),
        (None, Some(k)) => (
            export.to_document(Protection::MasterKey(k))?,
            "its own master key",
        ),
        (None, None) => (
            s.seal(&export, Some(&document), keyroll::DEFAULT_PBKDF2_ITERATIONS)?,
            "the keyring's own credential",
        ),
    };
    keyroll_store::write_atomic(&args.out, &sealed).map_err(|e| {
        CliError::new(
            "io_error",
            exit::IO,
            format!("write {}: {e}", args.out.display()),
        )
    })?;
    let versions: Vec<u32> = export.versions().iter().map(|v| v.version).collect();
    let mut record = AuditRecord::new("export_decrypt_only", now()?);
    record.versions = versions.clone();
    record.details = Some(json!({ "out": args.out, "sealed_by": sealed_by }));
    s.audit(&record)?;
    if s.global.json {
        out::json(&json!({
            "out": args.out,
            "versions": versions,
            "read_only": true,
            "sealed_by": sealed_by,
        }));
    } else {
        println!(
            "{} decrypt-only keyring with versions {:?} to {}, sealed under {sealed_by}",
            out::good("exported"),
            versions,
            args.out.display()
        );
        println!(
            "{}",
            out::dim("whoever holds these keys can also forge data under those versions (docs/mobile.md)")
        );
    }
    Ok(exit::OK)
}

/// `audit`.
pub fn audit(s: &Session, last: Option<usize>) -> Result<i32> {
    let mut records = s.store.audit_records()?;
    if let Some(n) = last {
        let skip = records.len().saturating_sub(n);
        records.drain(..skip);
    }
    if s.global.json {
        out::json(&records);
        return Ok(exit::OK);
    }
    for r in &records {
        let result = if r.result == "ok" {
            out::good(&r.result)
        } else {
            out::bad(&r.result)
        };
        let versions: Vec<String> = r.versions.iter().map(|v| format!("v{v}")).collect();
        println!(
            "{}  {:<20} {:<12} {:<6} {}{}",
            out::time(r.time),
            r.event,
            versions.join(","),
            result,
            r.actor,
            r.reason
                .as_ref()
                .map(|x| format!("  reason: {x}"))
                .unwrap_or_default()
        );
    }
    Ok(exit::OK)
}
