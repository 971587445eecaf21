//! Signing keyring documents: the same JSON, sealing, MAC and generation as encryption
//! keyring documents (`crate::document`, `docs/wire-format.md` §7), with
//! `"purpose": "signing"` in the body so that neither loader ever takes the other's
//! document (`wrong_keyring_kind`).

use super::material::SigningMaterial;
use super::SigningKeyring;
use crate::document::{self, structure, Contents, Purpose};
use crate::rng::Rng;
use crate::version::{KeyKind, KeyState, Slot};
use crate::{Error, Protection, Result, Unlock};

impl SigningKeyring {
    /// Serializes and seals this keyring as generation [`SigningKeyring::generation`]` + 1`,
    /// as [`crate::Keyring::to_document`] does. A verify-only keyring has no private keys to
    /// store (`read_only`): keep its public keyset instead.
    pub fn to_document(&self, protection: Protection<'_>) -> Result<Vec<u8>> {
        if self.verify_only {
            return Err(Error::ReadOnly);
        }
        let versions = self
            .versions()
            .into_iter()
            .map(|info| {
                let key = self.slots[&info.version]
                    .material
                    .as_ref()
                    .and_then(SigningMaterial::stored_bytes);
                (info, key)
            })
            .collect();
        let contents = Contents {
            id: self.id,
            purpose: Purpose::Signing,
            generation: self.generation,
            read_only: false,
            min_version: self.min_version,
            policy: self.policy,
            versions,
        };
        document::seal(contents, protection, &self.rng)
    }

    /// Opens a signing keyring document: `wrong_keyring_kind` for an encryption keyring's,
    /// otherwise the errors of [`crate::Keyring::from_document`]. Each version's kind must be
    /// a signing kind and its key the right length for it (`keyring_corrupt`).
    pub fn from_document(document: &[u8], unlock: Unlock<'_>) -> Result<SigningKeyring> {
        let opened = document::open(document, unlock, Purpose::Signing)?;
        let mut ring = SigningKeyring::empty(opened.id, Rng::System);
        ring.generation = opened.generation;
        ring.min_version = opened.min_version;
        ring.policy = opened.policy;
        for (info, key) in opened.versions {
            if !info.kind.is_signing() {
                return Err(Error::KeyringCorrupt(
                    "an encryption key in a signing keyring",
                ));
            }
            let material = key
                .map(|key| SigningMaterial::new(info.kind, &key))
                .transpose()
                .map_err(|_| Error::KeyringCorrupt("bad sealed key"))?;
            if info.state == KeyState::Active {
                ring.active = Some(info.version);
            }
            if info.kind == KeyKind::HmacSha256Legacy {
                ring.legacy.push(info.version);
            }
            ring.slots.insert(info.version, Slot { info, material });
        }
        ring.legacy.sort_unstable_by(|a, b| b.cmp(a));
        structure::check(
            &ring.slots,
            ring.active,
            opened.read_only,
            &ring.policy,
            ring.min_version,
        )?;
        if opened.read_only {
            return Err(Error::KeyringCorrupt(
                "a read-only signing keyring document",
            ));
        }
        Ok(ring)
    }
}
