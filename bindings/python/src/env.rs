//! `Keyring.from_env()`: the keyring a service's environment describes. The variables and their
//! rules (empty = unset, Fernet lists split on commas and/or whitespace, non-UTF-8 refused, a
//! master key before a passphrase) are `keyroll_store::env`'s, the one parser the CLI uses too.
//!
//! With `KEYROLL_KEYRING`, the Fernet keys (if any) are imported into that keyring, in memory,
//! as decrypt-only versions. Without it, the Fernet keys make the deterministic keyring of
//! `Keyring.from_fernet_keys`, as `keyroll.compat.MultiFernet` does.

use crate::error::Result;
use keyroll::{Error, Keyring, Unlock};
use keyroll_store::env::{Credential, EnvConfig};
use pyo3::Python;
use zeroize::Zeroizing;

/// Builds the keyring from the process environment.
pub fn from_env(py: Python<'_>, now: u64) -> Result<Keyring> {
    let config = EnvConfig::from_process()?;
    let Some(path) = config.keyring else {
        if config.fernet_keys.is_empty() {
            return Err(Error::InvalidArgument(
                "no keyring configured: set KEYROLL_KEYRING or ENCRYPTION_KEY",
            )
            .into());
        }
        return Ok(Keyring::from_fernet_keys(&config.fernet_keys, now)?);
    };
    let credential = config.credential.ok_or(Error::InvalidArgument(
        "KEYROLL_KEYRING needs KEYROLL_MASTER_KEY or KEYROLL_PASSPHRASE",
    ))?;
    let mut ring = py.detach(|| -> Result<Keyring> {
        let unlock = match &credential {
            Credential::MasterKey(k) => Unlock::MasterKey(k),
            Credential::Passphrase(p) => Unlock::Passphrase(p.as_bytes()),
            // The wheel carries no AWS SDK: services bring their boto3 client instead.
            Credential::Kms { .. } => {
                return Err(Error::InvalidArgument(
                    "KEYROLL_KMS_KEY: open a KMS-sealed keyring with Keyring.from_document(document, kms=keyroll.kms.Boto3Kms(client, key_id))",
                )
                .into())
            }
        };
        let document = Zeroizing::new(keyroll_store::Store::new(path).read()?);
        Ok(Keyring::from_document(&document, unlock)?)
    })?;
    if !config.fernet_keys.is_empty() {
        ring.import_fernet(&config.fernet_keys, now)?;
    }
    Ok(ring)
}
