//! `generate` and `validate`: key material for KEYROLL_MASTER_KEY and Fernet.

use crate::args::{GenerateArgs, KeyKindArg, ValidateArgs};
use crate::error::{exit, CliError, Result};
use crate::out;
use crate::session::{parse_key32, Session};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keyroll::{FernetKey, SecretKey};
use serde_json::json;
use std::io::Read;
use zeroize::Zeroizing;

const PASSPHRASE_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";

fn random_passphrase() -> Result<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::new());
    let mut bytes = Zeroizing::new([0u8; 64]);
    getrandom::fill(bytes.as_mut()).map_err(|_| CliError::from(keyroll::Error::Rng))?;
    let mut n = 0;
    for b in bytes.iter() {
        // Rejection sampling keeps every character equally likely.
        if usize::from(*b) >= 256 - 256 % PASSPHRASE_ALPHABET.len() {
            continue;
        }
        if n > 0 && n % 5 == 0 {
            out.push('-');
        }
        out.push(PASSPHRASE_ALPHABET[usize::from(*b) % PASSPHRASE_ALPHABET.len()] as char);
        n += 1;
        if n == 30 {
            return Ok(out);
        }
    }
    random_passphrase()
}

/// `generate`.
pub fn generate(s: &Session, args: &GenerateArgs) -> Result<i32> {
    let text: Zeroizing<String> = match args.kind {
        KeyKindArg::MasterKey => {
            let key = SecretKey::generate()?;
            Zeroizing::new(STANDARD.encode(key.expose()))
        }
        KeyKindArg::Fernet => FernetKey::generate()?.to_base64(),
        KeyKindArg::Passphrase => random_passphrase()?,
    };
    match &args.out {
        Some(path) => {
            if path.exists() {
                return Err(CliError::input(format!(
                    "{} exists; refusing to overwrite key material",
                    path.display()
                )));
            }
            let mut bytes = Zeroizing::new(text.as_bytes().to_vec());
            bytes.push(b'\n');
            keyroll_store::write_atomic(path, &bytes).map_err(|e| {
                CliError::new(
                    "io_error",
                    exit::IO,
                    format!("write {}: {e}", path.display()),
                )
            })?;
            if s.global.json {
                out::json(&json!({ "kind": kind_name(args.kind), "out": path }));
            } else {
                eprintln!(
                    "wrote a new {} to {} (mode 0600)",
                    kind_name(args.kind),
                    path.display()
                );
            }
        }
        None => {
            if s.global.json {
                out::json(&json!({ "kind": kind_name(args.kind), "key": text.as_str() }));
            } else {
                println!("{}", text.as_str());
            }
        }
    }
    Ok(exit::OK)
}

fn kind_name(kind: KeyKindArg) -> &'static str {
    match kind {
        KeyKindArg::MasterKey => "master-key",
        KeyKindArg::Fernet => "fernet",
        KeyKindArg::Passphrase => "passphrase",
    }
}

/// Reads all of stdin as key material (wiped when dropped). The buffer is allocated up front so
/// that no smaller copy is left behind by a reallocation for ordinary key sizes.
pub fn read_stdin_secret() -> Result<Zeroizing<String>> {
    let mut buf = Zeroizing::new(String::with_capacity(8192));
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| CliError::new("io_error", exit::IO, format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

/// The refusal of key material given as a command-line argument (visible in `ps`,
/// `/proc/<pid>/cmdline` and shell history). The value itself is never repeated.
pub fn secret_in_argv(what: &str, instead: &str) -> CliError {
    CliError::new(
        "secret_in_argv",
        exit::USAGE,
        format!(
            "{what} is not taken as a command-line argument (it would show in `ps` and shell history): {instead}"
        ),
    )
}

/// The value of the environment variable `name` under the contract's rules (empty = unset).
pub fn secret_from_env(name: &str) -> Result<Zeroizing<String>> {
    keyroll_store::env::var(&keyroll_store::env::process, name)?
        .ok_or_else(|| CliError::input(format!("{name} is unset or empty")))
}

/// `validate`: says whether the key is well formed, never echoing it.
pub fn validate(s: &Session, args: &ValidateArgs) -> Result<i32> {
    let text = match (&args.env, &args.source) {
        (Some(name), None) => secret_from_env(name)?,
        (None, None) => read_stdin_secret()?,
        (None, Some(dash)) if dash == "-" => read_stdin_secret()?,
        (Some(_), Some(dash)) if dash == "-" => {
            return Err(CliError::input(
                "give either --env NAME or `-` (stdin), not both",
            ))
        }
        (_, Some(_)) => {
            return Err(secret_in_argv(
                "a key",
                "write it to stdin (`keyroll validate -`) or name a variable with --env NAME",
            ))
        }
    };
    let text = text.trim();
    let verdict: Result<Option<u32>> = match args.kind {
        KeyKindArg::MasterKey => parse_key32(text).map(|_| None),
        KeyKindArg::Fernet => FernetKey::from_base64(text.as_bytes())
            .map(|k| Some(k.keyroll_version()))
            .map_err(|_| {
                CliError::new(
                    "invalid_key",
                    exit::INPUT,
                    "not a Fernet key: it must be 32 bytes in url-safe base64 (44 characters)",
                )
            }),
        KeyKindArg::Passphrase => {
            if text.chars().count() >= 12 {
                Ok(None)
            } else {
                Err(CliError::new(
                    "invalid_key",
                    exit::INPUT,
                    "a passphrase needs at least 12 characters",
                ))
            }
        }
    };
    let kind = kind_name(args.kind);
    match verdict {
        Ok(version) => {
            if s.global.json {
                out::json(&json!({ "kind": kind, "valid": true, "keyroll_version": version }));
            } else {
                match version {
                    Some(v) => {
                        println!("{} valid {kind} (imports as version {v})", out::good("ok:"))
                    }
                    None => println!("{} valid {kind}", out::good("ok:")),
                }
            }
            Ok(exit::OK)
        }
        Err(e) => {
            if s.global.json {
                out::json(
                    &json!({ "kind": kind, "valid": false, "code": e.code, "message": e.message }),
                );
                Ok(e.exit)
            } else {
                Err(e)
            }
        }
    }
}
