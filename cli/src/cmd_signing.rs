//! Signing-keyring commands: `keyroll keys …` (create, import-secret, info, health, stage,
//! promote, rotate, export-public) and `keyroll jwks`.
//!
//! A signing keyring is its own file, stored exactly like an encryption keyring (same store,
//! lock, generations, backups, audit log and credentials, through [`Session::change_as`]);
//! core refuses a document of the other kind (`wrong_keyring_kind`) whichever way round. No
//! command prints or logs key material: `info`, `health` and the audit records carry
//! versions, kinds, states and `kid`s only, and the only keys written out are public ones
//! (`export-public`, `jwks`).

use crate::cmd_keys::{read_stdin_secret, secret_from_env, secret_in_argv};
use crate::error::{exit, CliError, Result};
use crate::out;
use crate::session::{document_protection, now, Session};
use crate::signing_args::{
    AlgorithmArg, CreateArgs, ExportPublicArgs, ImportSecretArgs, JwksArgs, KeysCommand, StageArgs,
};
use keyroll::signing::{kid, SigningAlgorithm, SigningKeyring};
use keyroll::{KeyKind, KeyState, Policy, VersionInfo};
use keyroll_store::AuditRecord;
use serde_json::json;
use std::path::Path;
use zeroize::Zeroizing;

/// The variable `keys import-secret` reads by default (Django's and Flask's name).
const SECRET_KEY_VAR: &str = "SECRET_KEY";

/// Runs one `keyroll keys` command.
pub fn keys(s: &Session, command: &KeysCommand) -> Result<i32> {
    match command {
        KeysCommand::Create(a) => create(s, a),
        KeysCommand::ImportSecret(a) => import_secret(s, a),
        KeysCommand::Info => info(s),
        KeysCommand::Health => health(s),
        KeysCommand::Stage(a) => stage(s, a),
        KeysCommand::Promote(a) => promote(s, a),
        KeysCommand::Rotate(a) => crate::cmd_keyring::rotate::<SigningKeyring>(s, a),
        KeysCommand::ExportPublic(a) => export_public(s, a),
        KeysCommand::State {
            version,
            action,
            note,
        } => crate::cmd_keyring::state::<SigningKeyring>(s, *version, *action, note.as_deref()),
    }
}

fn algorithm(arg: AlgorithmArg) -> SigningAlgorithm {
    match arg {
        AlgorithmArg::Hs256 => SigningAlgorithm::HmacSha256,
        AlgorithmArg::Ed25519 => SigningAlgorithm::Ed25519,
    }
}

/// `HS256` / `EdDSA` and the kind, as operators know them.
fn algorithm_label(algorithm: SigningAlgorithm) -> String {
    format!("{} ({})", algorithm.jwt_alg(), algorithm.as_str())
}

fn open(s: &Session) -> Result<(Vec<u8>, SigningKeyring)> {
    let document = s.store.read()?;
    let ring = s.open_as::<SigningKeyring>(&document)?;
    Ok((document, ring))
}

/// Stores a new keyring (above every generation ever written where the store can tell);
/// audited as `event`.
fn create_file(
    s: &Session,
    mut ring: SigningKeyring,
    iterations: u32,
    event: &str,
    now: u64,
) -> Result<SigningKeyring> {
    let mut record = AuditRecord::new(event, now);
    record.versions = ring.versions().iter().map(|v| v.version).collect();
    record.details = Some(json!({
        "keyring_kind": "signing",
        "algorithm": ring.active_version().and_then(|v| ring.algorithm(v)).map(SigningAlgorithm::as_str),
    }));
    s.create(&mut ring, iterations, &record)?;
    Ok(ring)
}

/// `keys create`.
fn create(s: &Session, args: &CreateArgs) -> Result<i32> {
    if s.store.present()? {
        return Err(keyroll_store::Error::AlreadyExists(s.store.location().into()).into());
    }
    let now = now()?;
    let alg = algorithm(args.algorithm);
    let mut ring = SigningKeyring::generate(alg, now)?;
    if args.rotate_after_days.is_some() || args.warn_after_days.is_some() {
        let d = Policy::default();
        ring.set_policy(Policy {
            rotate_after_days: args.rotate_after_days.unwrap_or(d.rotate_after_days),
            warn_after_days: args.warn_after_days.unwrap_or(d.warn_after_days),
        })?;
    }
    let ring = create_file(s, ring, args.iterations, "signing_create", now)?;
    if s.global.json {
        out::json(&json!({
            "keyring": s.store.location(),
            "keyring_kind": "signing",
            "keyring_id": ring.id().to_hex(),
            "algorithm": alg.as_str(),
            "active_version": ring.active_version(),
            "kid": kid(ring.id(), 1),
            "policy": ring.policy(),
        }));
    } else {
        println!(
            "{} {} signing keyring {} at {} (active version 1, kid {})",
            out::good("created"),
            alg.jwt_alg(),
            ring.id().to_hex(),
            s.store.location(),
            kid(ring.id(), 1)
        );
        if alg == SigningAlgorithm::Ed25519 {
            println!(
                "{}",
                out::dim(
                    "publish its public keys with `keyroll jwks` or `keyroll keys export-public`"
                )
            );
        }
    }
    Ok(exit::OK)
}

/// The secret of `keys import-secret`: stdin (`-`, one line) or an environment variable.
fn read_secret(args: &ImportSecretArgs) -> Result<Zeroizing<String>> {
    match (&args.source, &args.env) {
        (Some(dash), None) if dash == "-" => {
            let mut text = read_stdin_secret()?;
            // `echo "$SECRET_KEY" | …` adds a newline that was never part of the secret.
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            if text.contains('\n') {
                return Err(CliError::input(
                    "stdin holds more than one line: write only the secret",
                ));
            }
            Ok(text)
        }
        (Some(dash), Some(_)) if dash == "-" => Err(CliError::input(
            "give either --env NAME or `-` (stdin), not both",
        )),
        (Some(_), _) => Err(secret_in_argv(
            "a signing secret",
            "set SECRET_KEY (or name a variable with --env NAME), or run `keyroll keys import-secret -` and write it to stdin",
        )),
        (None, name) => secret_from_env(name.as_deref().unwrap_or(SECRET_KEY_VAR)),
    }
}

/// `keys import-secret`.
fn import_secret(s: &Session, args: &ImportSecretArgs) -> Result<i32> {
    let secret = read_secret(args)?;
    let now = now()?;
    if !s.store.present()? {
        let ring = SigningKeyring::from_hmac_secret(secret.as_bytes(), now)?;
        drop(secret);
        let ring = create_file(s, ring, args.iterations, "signing_import_secret", now)?;
        if s.global.json {
            out::json(&json!({
                "keyring": s.store.location(),
                "created": true,
                "keyring_id": ring.id().to_hex(),
                "imported_version": 1,
                "active_version": ring.active_version(),
                "kid": kid(ring.id(), 1),
            }));
        } else {
            println!(
                "{} signing keyring {} at {} from the secret: v1 (HS256, hmac_sha256_legacy) is active and verifies the old tokens (no kid)",
                out::good("created"),
                ring.id().to_hex(),
                s.store.location()
            );
            println!(
                "next: `keyroll keys rotate` (or `keys stage`, then `keys promote`) so new tokens use a fresh key; v1 keeps verifying until you disable it"
            );
        }
        return Ok(exit::OK);
    }
    let version = s.change_as(
        "signing_import_secret",
        |ring: &mut SigningKeyring, now, record| {
            let v = ring.import_hmac_secret(secret.as_bytes(), now)?;
            record.versions = vec![v];
            Ok(v)
        },
    )?;
    if s.global.json {
        out::json(&json!({ "created": false, "imported_version": version }));
    } else {
        println!(
            "{} the secret as verify-only version {version} (hmac_sha256_legacy): tokens it signed, with or without kid, keep verifying",
            out::good("imported")
        );
    }
    Ok(exit::OK)
}

/// Each version's `kid`, for `info`: what JWT headers and JWKS entries name it by.
fn version_row(ring: &SigningKeyring, v: &VersionInfo) -> String {
    let padded = format!("{:<12}", verb(v.state));
    let state = match v.state {
        KeyState::Active => out::good(padded),
        KeyState::Compromised | KeyState::Destroyed => out::bad(padded),
        KeyState::Disabled | KeyState::Pending => out::warn(padded),
        KeyState::DecryptOnly => padded,
    };
    format!(
        "  {:>7}  {:<18}  {}  {}  {:<21}  {}",
        v.version,
        v.kind.as_str(),
        state,
        out::time(v.created_at),
        kid(ring.id(), v.version),
        out::dim(v.note.clone().unwrap_or_default())
    )
}

/// What a state means for signing, in the words of `info` (`decrypt_only` verifies only).
pub(crate) fn verb(state: KeyState) -> &'static str {
    match state {
        KeyState::Active => "active",
        KeyState::Pending => "pending",
        KeyState::DecryptOnly => "verify-only",
        KeyState::Disabled => "disabled",
        KeyState::Compromised => "compromised",
        KeyState::Destroyed => "destroyed",
    }
}

/// `keys info`.
fn info(s: &Session) -> Result<i32> {
    let (document, ring) = open(s)?;
    let file = s.store.file().ok();
    let backups = match file {
        Some(f) => Some(f.backups()?.len()),
        None => None,
    };
    let status = ring.check_policy(now()?);
    let active_algorithm = ring.active_version().and_then(|v| ring.algorithm(v));
    let versions = ring.versions();
    if s.global.json {
        let kids: Vec<String> = versions.iter().map(|v| kid(ring.id(), v.version)).collect();
        out::json(&json!({
            "keyring": s.store.location(),
            "keyring_kind": "signing",
            "keyring_id": ring.id().to_hex(),
            "protection": document_protection(&document),
            "active_version": ring.active_version(),
            "algorithm": active_algorithm.map(SigningAlgorithm::as_str),
            "jwt_alg": active_algorithm.map(SigningAlgorithm::jwt_alg),
            "min_version": ring.min_version(),
            "policy": ring.policy(),
            "policy_status": status,
            "versions": versions,
            "kids": kids,
            "backups": backups,
            "backup_dir": file.map(|f| f.backup_dir()),
            "audit_log": file.map(|f| f.audit().path()),
        }));
        return Ok(exit::OK);
    }
    println!("{} {}", out::bold("signing keyring"), ring.id().to_hex());
    println!("  store       {}", s.store.location());
    println!("  sealed by   {}", document_protection(&document));
    match (ring.active_version(), active_algorithm) {
        (Some(v), Some(a)) => println!(
            "  signs with  v{v}, {} (kid {})",
            algorithm_label(a),
            kid(ring.id(), v)
        ),
        _ => println!("  signs with  {}", out::warn("nothing (no active version)")),
    }
    let p = ring.policy();
    println!(
        "  policy      warn after {} days, rotate after {} days",
        p.warn_after_days, p.rotate_after_days
    );
    if let (Some(f), Some(backups)) = (file, backups) {
        println!("  backups     {backups} in {}", f.backup_dir().display());
        println!("  audit log   {}", f.audit().path().display());
    }
    println!("{}", out::bold("versions"));
    println!(
        "  {:>7}  {:<18}  {:<12}  {:<23}  {:<21}  note",
        "version", "kind", "state", "created", "kid"
    );
    for v in &versions {
        println!("{}", version_row(&ring, v));
    }
    Ok(exit::OK)
}

/// `keys health`: exit 0 OK, 1 WARNING, 2 CRITICAL (as `keyroll health`).
fn health(s: &Session) -> Result<i32> {
    let (document, ring) = open(s)?;
    let status = ring.check_policy(now()?);
    let mut warnings = Vec::new();
    if let Ok(keyroll::Sealing::Passphrase { iterations }) = keyroll::document_sealing(&document) {
        if iterations < keyroll::MIN_ITERATIONS {
            warnings.push(crate::session::below_floor_warning(iterations));
        }
    }
    for v in ring.versions() {
        match v.state {
            KeyState::Compromised => warnings.push(format!(
                "v{} is compromised: nothing it signed verifies any more; users holding its tokens must sign in again",
                v.version
            )),
            KeyState::Pending => warnings.push(format!(
                "v{} is staged but not promoted (`keyroll keys promote {}` once every verifier has it)",
                v.version, v.version
            )),
            _ => {}
        }
        if v.kind == KeyKind::HmacSha256Legacy && v.state == KeyState::Active {
            warnings.push(format!(
                "v{} is an imported secret and still signs: `keyroll keys rotate` to sign with a fresh key",
                v.version
            ));
        }
    }
    Ok(crate::cmd_keyring::print_health(
        s,
        &status,
        &warnings,
        None,
        &crate::cmd_keyring::HealthWords {
            kind: Some("signing"),
            active: "signing key",
            keyring: "the signing keyring",
            due_hint:
                "rotation is due: run `keyroll keys rotate` (tokens of the old key keep verifying)",
        },
    ))
}

/// `keys stage`.
fn stage(s: &Session, args: &StageArgs) -> Result<i32> {
    let (version, alg) =
        s.change_as("signing_stage", |ring: &mut SigningKeyring, now, record| {
            let alg = match args.algorithm {
                Some(a) => algorithm(a),
                None => ring
                    .active_version()
                    .and_then(|v| ring.algorithm(v))
                    .ok_or(keyroll::Error::NoActiveKey)?,
            };
            let v = ring.add_version(alg, now)?;
            record.versions = vec![v];
            record.details = Some(json!({ "algorithm": alg.as_str() }));
            Ok((v, alg))
        })?;
    if s.global.json {
        out::json(&json!({ "staged_version": version, "algorithm": alg.as_str() }));
    } else {
        let publish = match alg {
            SigningAlgorithm::Ed25519 => "publish the new JWKS / public keyset to every verifier",
            SigningAlgorithm::HmacSha256 => "distribute this keyring to every verifier",
        };
        println!(
            "{} v{version} ({}) is pending: {publish}, then `keyroll keys promote {version}`",
            out::good("staged:"),
            alg.jwt_alg()
        );
    }
    Ok(exit::OK)
}

/// `keys promote VERSION`: gated on the verifiers' check-ins like `promote`
/// ([`crate::cmd_fleet::promote_gate`]).
fn promote(s: &Session, args: &crate::args::PromoteArgs) -> Result<i32> {
    let version = args.version;
    let (previous, note, forced) = s.change_as(
        "signing_promote",
        |ring: &mut SigningKeyring, now, record| {
            let note = crate::cmd_fleet::promote_gate(s, &ring.versions(), args, now, record)?;
            let previous = ring.active_version();
            ring.promote(version, now)?;
            record.versions = previous.into_iter().chain([version]).collect();
            Ok((previous, note, record.event.ends_with("_forced")))
        },
    )?;
    if s.global.json {
        out::json(
            &json!({ "active_version": version, "previous_version": previous, "forced": forced }),
        );
    } else {
        if let Some(note) = &note {
            println!("{}", out::warn(note));
        }
        let old = previous
            .map(|p| format!("; v{p} verifies only"))
            .unwrap_or_default();
        println!("{} v{version} signs{old}", out::good("promoted:"));
    }
    Ok(exit::OK)
}

/// Whether the keyring has any Ed25519 version (an HS256-only keyring has no public keys).
fn has_public_keys(ring: &SigningKeyring) -> Result<()> {
    if ring.versions().iter().any(|v| v.kind == KeyKind::Ed25519) {
        return Ok(());
    }
    Err(CliError::new(
        "no_public_keys",
        exit::INPUT,
        "this signing keyring has no Ed25519 version, so it has no public keys: HS256 verifiers need the secret itself (share the keyring), or stage an Ed25519 version (`keyroll keys stage --algorithm ed25519`)",
    ))
}

/// Writes `text` to `out` (refusing to overwrite without `force`) or stdout.
fn emit(out_path: Option<&Path>, force: bool, text: &str) -> Result<()> {
    match out_path {
        Some(path) => {
            if path.exists() && !force {
                return Err(CliError::input(format!(
                    "{} exists; pass --force to overwrite",
                    path.display()
                )));
            }
            let mut bytes = text.as_bytes().to_vec();
            bytes.push(b'\n');
            keyroll_store::write_atomic(path, &bytes).map_err(|e| {
                CliError::new(
                    "io_error",
                    exit::IO,
                    format!("write {}: {e}", path.display()),
                )
            })
        }
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

/// `keys export-public`: the public keyset (Ed25519 public keys and states, nothing secret).
fn export_public(s: &Session, args: &ExportPublicArgs) -> Result<i32> {
    let (_, ring) = open(s)?;
    has_public_keys(&ring)?;
    let keyset = ring.public_keyset()?;
    emit(args.out.as_deref(), args.force, &keyset)?;
    let versions: Vec<u32> = ring
        .versions()
        .iter()
        .filter(|v| v.kind == KeyKind::Ed25519)
        .map(|v| v.version)
        .collect();
    let mut record = AuditRecord::new("signing_export_public", now()?);
    record.versions = versions.clone();
    record.details = Some(json!({ "out": args.out }));
    s.audit(&record)?;
    if let Some(path) = &args.out {
        if s.global.json {
            out::json(&json!({ "out": path, "versions": versions }));
        } else {
            println!(
                "{} the public keyset (versions {versions:?}, public keys only) to {}",
                out::good("exported"),
                path.display()
            );
        }
    }
    Ok(exit::OK)
}

/// `jwks`: the JSON Web Key Set of the Ed25519 versions that verify, from the keyring or from
/// a public keyset (`--public`, no credentials).
pub fn jwks(s: &Session, args: &JwksArgs) -> Result<i32> {
    let ring = match &args.public {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::new(
                    "io_error",
                    exit::IO,
                    format!("read {}: {e}", path.display()),
                )
            })?;
            SigningKeyring::from_public_keyset(&text).map_err(|e| match e {
                keyroll::Error::WrongKeyringKind => CliError::new(
                    e.code(),
                    exit::KEYRING,
                    format!(
                        "{} is a keyring document, not a public keyset: make one with `keyroll keys export-public`, or drop --public to read the keyring",
                        path.display()
                    ),
                ),
                e => CliError::from(e),
            })?
        }
        None => open(s)?.1,
    };
    has_public_keys(&ring)?;
    let jwks: serde_json::Value = serde_json::from_str(&ring.jwks()?)
        .map_err(|_| CliError::input("core returned a JWKS that is not JSON"))?;
    let text = serde_json::to_string_pretty(&jwks)
        .map_err(|_| CliError::input("cannot encode the JWKS"))?;
    emit(args.out.as_deref(), args.force, &text)?;
    if let Some(path) = &args.out {
        let count = jwks["keys"].as_array().map_or(0, Vec::len);
        if s.global.json {
            out::json(&json!({ "out": path, "keys": count }));
        } else {
            println!(
                "{} a JWKS of {count} keys to {}",
                out::good("wrote"),
                path.display()
            );
        }
    }
    Ok(exit::OK)
}
