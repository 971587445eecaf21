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
        let versions = document::stored_versions(&self.slots, SigningMaterial::stored_bytes);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Documents sealed by `to_document` over a damaged keyring: the MAC is valid, so only the
    //! kind and length checks can refuse them.
    use super::*;
    use crate::signing::SigningAlgorithm;
    use crate::{Keyring, SecretKey};

    const NOW: u64 = 1_700_000_000;

    fn key() -> SecretKey {
        SecretKey::from_bytes([3u8; 32])
    }

    fn reopen(ring: &SigningKeyring) -> Result<SigningKeyring> {
        let doc = ring.to_document(Protection::MasterKey(&key())).unwrap();
        SigningKeyring::from_document(&doc, Unlock::MasterKey(&key()))
    }

    #[test]
    fn an_encryption_kind_in_a_signing_document_is_refused() {
        let mut ring = SigningKeyring::generate(SigningAlgorithm::HmacSha256, NOW).unwrap();
        ring.slots.get_mut(&1).unwrap().info.kind = KeyKind::Aes256Gcm;
        assert_eq!(
            reopen(&ring).unwrap_err(),
            Error::KeyringCorrupt("an encryption key in a signing keyring")
        );
    }

    #[test]
    fn a_key_of_the_wrong_length_for_its_kind_is_refused() {
        // A legacy secret (48 bytes) relabelled as a generated HMAC key (32) or an Ed25519 seed.
        for kind in [KeyKind::HmacSha256, KeyKind::Ed25519] {
            let mut ring = SigningKeyring::from_hmac_secret(&[7u8; 48], NOW).unwrap();
            ring.slots.get_mut(&1).unwrap().info.kind = kind;
            assert_eq!(
                reopen(&ring).unwrap_err(),
                Error::KeyringCorrupt("bad sealed key"),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_signing_kind_in_an_encryption_document_is_refused() {
        // An encryption keyring whose version claims a signing kind, sealed with a valid MAC.
        let mut ring = Keyring::generate(NOW).unwrap();
        ring.slots.get_mut(&1).unwrap().info.kind = KeyKind::HmacSha256;
        let doc = ring.to_document(Protection::MasterKey(&key())).unwrap();
        assert_eq!(
            Keyring::from_document(&doc, Unlock::MasterKey(&key())).unwrap_err(),
            Error::KeyringCorrupt("a signing key in an encryption keyring")
        );
    }

    #[test]
    fn removing_the_purpose_breaks_the_mac_not_the_kind_check() {
        let ring = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
        let doc = String::from_utf8(ring.to_document(Protection::MasterKey(&key())).unwrap())
            .unwrap()
            .replace("\"purpose\": \"signing\",", "");
        assert_eq!(
            Keyring::from_document(doc.as_bytes(), Unlock::MasterKey(&key())).unwrap_err(),
            Error::KeyringCorrupt("authentication failed")
        );
    }

    #[test]
    fn a_verify_only_keyring_is_not_stored_as_a_document() {
        let ring = SigningKeyring::generate(SigningAlgorithm::Ed25519, NOW).unwrap();
        let app = SigningKeyring::from_public_keyset(&ring.public_keyset().unwrap()).unwrap();
        assert_eq!(
            app.to_document(Protection::MasterKey(&key())).unwrap_err(),
            Error::ReadOnly
        );
    }
}
