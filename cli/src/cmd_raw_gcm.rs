//! `import-raw-gcm`: the keys of a home-made AES-256-GCM manager as decrypt-only legacy
//! versions, so that `migrate` moves its blobs (`base64([version byte] ‖ nonce ‖ ct ‖ tag)`,
//! no associated data) onto the active version like Fernet tokens.
//!
//! Two shapes of manager are covered:
//! - per-version keys derived by PBKDF2-HMAC-SHA256 from one master password, the salt made
//!   from a pattern with `{version}` replaced by the decimal version byte
//!   (`--salt-pattern 'app-{version}' --iterations N --versions 1-20,99`);
//! - keys used directly as bytes, e.g. 32-character ASCII strings (one per line, in the order
//!   of `--versions`).
//!
//! Blobs written before the manager had version bytes (`nonce ‖ ct ‖ tag`) need nothing more:
//! the core reads every raw blob both ways (with and without a leading version byte) and the GCM
//! tag decides, so the key imported for version byte 1 also opens the unversioned blobs it wrote.
//!
//! The secret comes from an environment variable or stdin, never from the command line (it
//! would show in `ps` and shell history), and appears in no output or audit record.

use crate::cmd_keys::{read_stdin_secret, secret_from_env, secret_in_argv};
use crate::error::{exit, CliError, Result};
use crate::out;
use crate::session::Session;
use clap::Args;
use keyroll::{Keyring, RawGcmImport, RawGcmKey, SecretKey};
use serde_json::json;
use std::collections::BTreeSet;
use zeroize::Zeroizing;

/// The variable read for the PBKDF2 master password when `--env` is not given.
pub const PASSWORD_ENV: &str = "RAW_GCM_PASSWORD";
/// The variable read for the key(s) used as bytes when `--env` is not given.
pub const KEY_ENV: &str = "RAW_GCM_KEY";

/// `import-raw-gcm`.
#[derive(Args, Debug)]
pub struct ImportRawGcmArgs {
    /// The version bytes the manager's blobs start with: numbers and ranges, e.g. `1-20,99`
    /// (0-255). Without it the blobs carry no version byte.
    #[arg(long, value_name = "LIST")]
    pub versions: Option<String>,
    /// PBKDF2 shape: the salt, with `{version}` replaced by each version byte in decimal.
    #[arg(long, requires = "iterations", value_name = "PATTERN")]
    pub salt_pattern: Option<String>,
    /// PBKDF2 shape: the iteration count the manager used.
    #[arg(long, requires = "salt_pattern", value_name = "N")]
    pub iterations: Option<u32>,
    /// Read the secret from this variable instead of RAW_GCM_PASSWORD (PBKDF2 shape) or
    /// RAW_GCM_KEY (key bytes: one key per line, in the order of --versions).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// `-`: read the secret from stdin instead. Secrets as arguments are refused: they would
    /// show in `ps` and shell history.
    #[arg(allow_hyphen_values = true, value_name = "-")]
    pub source: Vec<std::ffi::OsString>,
}

/// `import-raw-gcm`.
pub fn import_raw_gcm_cmd(s: &Session, args: &ImportRawGcmArgs) -> Result<i32> {
    let bytes = match &args.versions {
        Some(list) => parse_versions(list)?.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let pbkdf2 = args.salt_pattern.as_deref().zip(args.iterations);
    let default_env = if pbkdf2.is_some() {
        PASSWORD_ENV
    } else {
        KEY_ENV
    };
    let secret = read_secret(args, default_env)?;
    let imports = match pbkdf2 {
        Some((pattern, iterations)) => pbkdf2_imports(&secret, pattern, iterations, &bytes)?,
        None => key_bytes(&secret, &bytes)?,
    };
    drop(secret);
    let shape = if pbkdf2.is_some() { "pbkdf2" } else { "bytes" };
    let outcome = s.change("import_raw_gcm", |ring, now, record| {
        let outcome = import_all(ring, &imports, now)?;
        record.versions = outcome.iter().map(|(_, v, _)| *v).collect();
        record.details = Some(json!({
            "shape": shape,
            "iterations": args.iterations,
            "version_bytes": outcome.iter().map(|(b, _, _)| b).collect::<Vec<_>>(),
            "already_present": outcome.iter().filter(|(_, _, new)| !new).map(|(_, v, _)| v).collect::<Vec<_>>(),
        }));
        Ok(outcome)
    })?;
    if s.global.json {
        let rows: Vec<_> = outcome
            .iter()
            .map(|(b, v, new)| json!({ "version_byte": b, "version": v, "imported": new }))
            .collect();
        let imported: Vec<u32> = outcome
            .iter()
            .filter(|(_, _, new)| *new)
            .map(|(_, v, _)| *v)
            .collect();
        out::json(&json!({ "imported_versions": imported, "keys": rows }));
    } else {
        for (b, v, new) in &outcome {
            let which = match b {
                Some(b) => format!("raw AES-GCM key (version byte {b})"),
                None => "raw AES-GCM key (unversioned blobs)".to_string(),
            };
            if *new {
                println!(
                    "{} {which} as decrypt-only version {v}",
                    out::good("imported")
                );
            } else {
                println!("already imported: {which} is version {v}");
            }
        }
        println!("run `keyroll migrate` to move the raw AES-GCM data onto the active version");
    }
    Ok(exit::OK)
}

/// The secret: `-` reads stdin, otherwise `--env NAME` or the shape's default variable. Any
/// other argument is taken to be a secret typed on the command line and refused.
fn read_secret(args: &ImportRawGcmArgs, default_env: &str) -> Result<Zeroizing<String>> {
    let name = args.env.as_deref().unwrap_or(default_env);
    match args.source.as_slice() {
        [] => secret_from_env(name),
        [dash] if dash == "-" && args.env.is_none() => read_stdin_secret(),
        [dash] if dash == "-" => Err(CliError::input(
            "give either --env NAME or `-` (stdin), not both",
        )),
        _ => Err(secret_in_argv(
            "a raw AES-GCM password or key",
            &format!("set {name} (or name a variable with --env NAME), or run `keyroll import-raw-gcm -` and write it to stdin"),
        )),
    }
}

/// Parses `1-20,99` into distinct version bytes, in the order given.
pub fn parse_versions(list: &str) -> Result<Vec<u8>> {
    let bad = || {
        CliError::input(format!(
            "--versions {list:?}: expected version bytes 0-255 as numbers and ranges, e.g. 1-20,99"
        ))
    };
    let byte = |t: &str| t.trim().parse::<u8>().map_err(|_| bad());
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for part in list.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (byte(lo)?, byte(hi)?),
            None => (byte(part)?, byte(part)?),
        };
        if lo > hi {
            return Err(bad());
        }
        for b in lo..=hi {
            if !seen.insert(b) {
                return Err(CliError::input(format!(
                    "--versions {list:?} names version byte {b} twice"
                )));
            }
            out.push(b);
        }
    }
    Ok(out)
}

/// One PBKDF2 import per version byte; core derives each key (its rule: `{version}` in the
/// pattern becomes the decimal version byte). The password is the first line of the secret (a
/// trailing newline from `echo` is not part of it).
fn pbkdf2_imports(
    secret: &str,
    pattern: &str,
    iterations: u32,
    bytes: &[Option<u8>],
) -> Result<Vec<RawGcmImport>> {
    if iterations == 0 {
        return Err(CliError::input("--iterations must be at least 1"));
    }
    let password = secret.lines().next().unwrap_or_default();
    if password.is_empty() {
        return Err(CliError::input("the raw AES-GCM password is empty"));
    }
    if pattern.contains("{version}") && bytes == [None] {
        return Err(CliError::input(
            "--salt-pattern uses {version}: name the version bytes with --versions (e.g. 1-20,99)",
        ));
    }
    Ok(bytes
        .iter()
        .map(|b| RawGcmImport {
            key: RawGcmKey::Pbkdf2 {
                password: Zeroizing::new(password.as_bytes().to_vec()),
                salt_pattern: pattern.to_string(),
                iterations,
            },
            version_byte: *b,
        })
        .collect())
}

/// Keys used directly as bytes: one per non-empty line (a trailing `\r` dropped, nothing else
/// trimmed: spaces may be part of an ASCII key), one per version byte, in order. Without
/// `--versions` every key reads unversioned blobs.
fn key_bytes(secret: &str, bytes: &[Option<u8>]) -> Result<Vec<RawGcmImport>> {
    let keys: Vec<&str> = secret
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(CliError::input("no raw AES-GCM key given"));
    }
    let versioned = bytes != [None];
    if versioned && keys.len() != bytes.len() {
        return Err(CliError::input(format!(
            "{} keys given for {} version bytes: write one key per line, in the order of --versions",
            keys.len(),
            bytes.len()
        )));
    }
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            SecretKey::from_slice(k.as_bytes()).map_err(|_| {
                CliError::new(
                    "invalid_key",
                    exit::INPUT,
                    format!(
                        "raw AES-GCM key {} is {} bytes; a key used as bytes must be exactly 32 (e.g. 32 ASCII characters)",
                        i + 1,
                        k.len()
                    ),
                )
            })?;
            Ok(RawGcmImport {
                key: RawGcmKey::Bytes(Zeroizing::new(k.as_bytes().to_vec())),
                version_byte: if versioned { bytes[i] } else { None },
            })
        })
        .collect()
}

/// Imports each key unless the keyring already holds it (core's `import_raw_gcm_once`: a
/// constant-time comparison, and a destroyed version with the same byte refuses the import).
/// All or nothing: an error leaves the keyring as it was (the session writes only on success).
/// Returns (version byte, keyroll version, newly imported).
fn import_all(
    ring: &mut Keyring,
    imports: &[RawGcmImport],
    now: u64,
) -> Result<Vec<(Option<u8>, u32, bool)>> {
    imports
        .iter()
        .map(|import| {
            let (version, new) = ring.import_raw_gcm_once(import, now)?;
            Ok((import.version_byte, version, new))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse_versions;

    #[test]
    fn version_lists() {
        let mut want: Vec<u8> = (1..=20).collect();
        want.push(99);
        assert_eq!(parse_versions("1-20,99").unwrap(), want);
        assert_eq!(parse_versions(" 7 ").unwrap(), vec![7]);
        for bad in ["", "1-", "x", "256", "5-3", "1,1", "1-3,2", "-1"] {
            assert!(parse_versions(bad).is_err(), "{bad:?}");
        }
    }
}
