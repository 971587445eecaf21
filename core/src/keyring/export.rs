//! What leaves a keyring: decrypt-only exports for apps, and keys derived for other purposes.

use super::*;

impl Keyring {
    /// A copy that can only decrypt, for apps that must read but never write: exactly the
    /// `versions` named (at least one), each `active` or `decrypt_only` in this keyring and
    /// exported as `decrypt_only`; every change on the copy is refused.
    ///
    /// Compromised, disabled, destroyed and pending versions are refused
    /// ([`Error::InvalidArgument`]), so a shipped export never carries material this keyring
    /// no longer trusts or does not use yet. Seal the copy under its own credential: whoever
    /// holds it can decrypt, and (the keys being symmetric) also forge envelopes for its
    /// versions.
    pub fn export_decrypt_only(&self, versions: &[u32]) -> Result<Keyring> {
        if versions.is_empty() {
            return Err(Error::InvalidArgument(
                "name the versions to export (the active one and the decrypt-only ones apps read)",
            ));
        }
        let mut out = Keyring::empty(self.id, Rng::System);
        out.min_version = self.min_version;
        out.policy = self.policy;
        for &version in versions {
            let slot = self
                .slots
                .get(&version)
                .ok_or(Error::UnknownKeyVersion(version))?;
            let material = match (slot.info.state, &slot.material) {
                (KeyState::Active | KeyState::DecryptOnly, Some(m)) => m,
                _ => {
                    return Err(Error::InvalidArgument(
                        "only active and decrypt-only versions can be exported",
                    ))
                }
            };
            let mut info = slot.info.clone();
            info.state = KeyState::DecryptOnly;
            out.insert(info, material.secret.clone());
        }
        out.read_only = true;
        Ok(out)
    }

    /// Derives a key for another purpose (e.g. `pii`, `audit`, `backup`) from the active
    /// version: HKDF-SHA256(ikm = that key, salt = keyring id, info = "keyroll/v1 derive" ‖
    /// 0x00 ‖ purpose). It changes when the keyring rotates; the version is returned with it.
    pub fn derive_key(&self, purpose: &[u8], length: usize) -> Result<(u32, Zeroizing<Vec<u8>>)> {
        let version = self.active.ok_or(Error::NoActiveKey)?;
        let material = self.material(version)?;
        if length == 0 || length > 8160 {
            return Err(Error::InvalidArgument("length must be 1..=8160"));
        }
        let mut out = Zeroizing::new(vec![0u8; length]);
        crate::kdf::hkdf_sha256(
            material.secret.expose(),
            &self.id.0,
            &[b"keyroll/v1 derive\0", purpose],
            &mut out,
        )?;
        Ok((version, out))
    }
}
