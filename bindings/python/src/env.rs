//! `Keyring.from_env()`: the keyring a service's environment describes, with the variables the
//! CLI reads (`keyroll --help`), parsed by the same core functions.
//!
//! | variable | meaning |
//! |---|---|
//! | `KEYROLL_KEYRING` | path of a keyring file (as `Keyring.save` and the CLI write it) |
//! | `KEYROLL_MASTER_KEY` | its 32-byte master key: 64 hex digits or base64 (wins over…) |
//! | `KEYROLL_PASSPHRASE` | …its passphrase |
//! | `ENCRYPTION_KEY` | a Fernet key (the primary) |
//! | `ENCRYPTION_KEY_PREVIOUS` | older Fernet keys, separated by commas or whitespace |
//!
//! With `KEYROLL_KEYRING`, the Fernet keys (if any) are imported into that keyring, in memory,
//! as decrypt-only versions. Without it, the Fernet keys make the deterministic keyring of
//! `Keyring.from_fernet_keys`, as `keyroll.compat.MultiFernet` does.

use crate::error::Result;
use keyroll::{Error, FernetKey, Keyring, SecretKey, Unlock};
use pyo3::Python;
use zeroize::Zeroizing;

/// A variable's value; unset, empty and non-UTF-8 values are errors only where they matter.
fn var(name: &str) -> Result<Option<Zeroizing<String>>> {
    match std::env::var(name) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(Zeroizing::new(v))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::InvalidArgument(
            "a KEYROLL_* or ENCRYPTION_KEY* variable is not valid UTF-8",
        )
        .into()),
    }
}

fn fernet_keys() -> Result<Vec<FernetKey>> {
    let mut keys = Vec::new();
    for name in ["ENCRYPTION_KEY", "ENCRYPTION_KEY_PREVIOUS"] {
        if let Some(list) = var(name)? {
            keys.extend(FernetKey::parse_list(&list)?);
        }
    }
    Ok(keys)
}

/// Builds the keyring from the variables above.
pub fn from_env(py: Python<'_>, now: u64) -> Result<Keyring> {
    let fernet = fernet_keys()?;
    let Some(path) = var("KEYROLL_KEYRING")? else {
        if fernet.is_empty() {
            return Err(Error::InvalidArgument(
                "no keyring configured: set KEYROLL_KEYRING or ENCRYPTION_KEY",
            )
            .into());
        }
        return Ok(Keyring::from_fernet_keys(&fernet, now)?);
    };
    let master = var("KEYROLL_MASTER_KEY")?
        .map(|k| SecretKey::from_text(&k))
        .transpose()?;
    let passphrase = var("KEYROLL_PASSPHRASE")?;
    let mut ring = py.detach(|| -> Result<Keyring> {
        let unlock = match (&master, &passphrase) {
            (Some(k), _) => Unlock::MasterKey(k),
            (None, Some(p)) => Unlock::Passphrase(p.as_bytes()),
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "KEYROLL_KEYRING needs KEYROLL_MASTER_KEY or KEYROLL_PASSPHRASE",
                )
                .into())
            }
        };
        let document = Zeroizing::new(keyroll_store::Store::new(path.as_str()).read()?);
        Ok(Keyring::from_document(&document, unlock)?)
    })?;
    if !fernet.is_empty() {
        ring.import_fernet(&fernet, now)?;
    }
    Ok(ring)
}
