//! `Keyring.from_env()`: the keyring a service's environment describes.
//!
//! | variable | meaning |
//! |---|---|
//! | `KEYROLL_KEYRING` | path of a keyring file (as `Keyring.save` writes it) |
//! | `KEYROLL_PASSPHRASE` | its passphrase |
//! | `KEYROLL_MASTER_KEY` | or its 32-byte master key, in base64 (standard or URL-safe) |
//! | `ENCRYPTION_KEY` | a Fernet key (the primary) |
//! | `ENCRYPTION_KEY_PREVIOUS` | older Fernet keys, separated by commas or whitespace |
//!
//! With `KEYROLL_KEYRING`, the Fernet keys (if any) are imported into that keyring, in memory,
//! as decrypt-only versions. Without it, the Fernet keys make the deterministic keyring of
//! `Keyring.from_fernet_keys`, as `keyroll.compat.MultiFernet` does.

use crate::error::Result;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use keyroll::{Error, FernetKey, Keyring, SecretKey, Unlock};
use pyo3::Python;
use std::ffi::OsString;
use zeroize::Zeroizing;

fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn text(name: &str, value: OsString) -> Result<Zeroizing<String>> {
    value
        .into_string()
        .map(Zeroizing::new)
        .map_err(|_| Error::InvalidArgument(leak_name(name)).into())
}

/// Core's errors take static strings; the few variable names are known in advance.
fn leak_name(name: &str) -> &'static str {
    match name {
        "KEYROLL_PASSPHRASE" => "KEYROLL_PASSPHRASE is not valid UTF-8",
        "KEYROLL_MASTER_KEY" => "KEYROLL_MASTER_KEY is not valid UTF-8",
        _ => "a Fernet key variable is not valid UTF-8",
    }
}

fn master_key(value: &str) -> Result<SecretKey> {
    let lenient = |alphabet: &base64::alphabet::Alphabet| {
        GeneralPurpose::new(
            alphabet,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        )
    };
    let raw = Zeroizing::new(
        lenient(&base64::alphabet::STANDARD)
            .decode(value.trim())
            .or_else(|_| lenient(&base64::alphabet::URL_SAFE).decode(value.trim()))
            .map_err(|_| Error::InvalidKey("KEYROLL_MASTER_KEY must be 32 bytes in base64"))?,
    );
    Ok(SecretKey::from_slice(&raw)
        .map_err(|_| Error::InvalidKey("KEYROLL_MASTER_KEY must be 32 bytes in base64"))?)
}

fn fernet_keys() -> Result<Vec<FernetKey>> {
    let mut keys = Vec::new();
    for name in ["ENCRYPTION_KEY", "ENCRYPTION_KEY_PREVIOUS"] {
        if let Some(value) = var(name) {
            let value = text(name, value)?;
            for key in value.split(|c: char| c == ',' || c.is_whitespace()) {
                if !key.is_empty() {
                    keys.push(FernetKey::from_base64(key.as_bytes())?);
                }
            }
        }
    }
    Ok(keys)
}

/// Builds the keyring from the variables above.
pub fn from_env(py: Python<'_>, now: u64) -> Result<Keyring> {
    let fernet = fernet_keys()?;
    let Some(path) = var("KEYROLL_KEYRING") else {
        if fernet.is_empty() {
            return Err(Error::InvalidArgument(
                "no keyring configured: set KEYROLL_KEYRING or ENCRYPTION_KEY",
            )
            .into());
        }
        return Ok(Keyring::from_fernet_keys(&fernet, now)?);
    };
    let passphrase = var("KEYROLL_PASSPHRASE")
        .map(|v| text("KEYROLL_PASSPHRASE", v))
        .transpose()?;
    let master = var("KEYROLL_MASTER_KEY")
        .map(|v| text("KEYROLL_MASTER_KEY", v).and_then(|v| master_key(&v)))
        .transpose()?;
    let mut ring = py.detach(|| -> Result<Keyring> {
        let unlock =
            match (&passphrase, &master) {
                (Some(p), None) => Unlock::Passphrase(p.as_bytes()),
                (None, Some(k)) => Unlock::MasterKey(k),
                _ => return Err(Error::InvalidArgument(
                    "KEYROLL_KEYRING needs exactly one of KEYROLL_PASSPHRASE or KEYROLL_MASTER_KEY",
                )
                .into()),
            };
        let document = Zeroizing::new(keyroll_store::Store::new(path).read()?);
        Ok(Keyring::from_document(&document, unlock)?)
    })?;
    if !fernet.is_empty() {
        ring.import_fernet(&fernet, now)?;
    }
    Ok(ring)
}
