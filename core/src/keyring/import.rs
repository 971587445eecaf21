//! Importing legacy keys (Fernet, raw AES-GCM) as decrypt-only versions.

use super::*;

impl Keyring {
    /// Imports Fernet keys (a key or a `MultiFernet` list) as decrypt-only legacy versions.
    /// A key already present is not added twice. Returns the versions, in the given order.
    ///
    /// All or nothing: if two different keys (in the list, or one in the list and one already
    /// here) map to the same 31-bit version, the whole import is refused and nothing changes;
    /// keeping either key silently would make the other's tokens unreadable.
    pub fn import_fernet(&mut self, keys: &[FernetKey], now: u64) -> Result<Vec<u32>> {
        self.writable()?;
        for (i, key) in keys.iter().enumerate() {
            let version = key.keyroll_version();
            let same_key = |other: &FernetKey| other.secret() == key.secret();
            let clash_in_list = keys[..i]
                .iter()
                .any(|k| k.keyroll_version() == version && !same_key(k));
            // A destroyed Fernet version has no material left to compare with: the key given
            // now is taken to be the destroyed one and is not brought back (destroying a key
            // is final; a different key colliding with it has odds of 2^-31 and would stay
            // unimported, with its version reported destroyed on use).
            let clash_here = self.slots.get(&version).is_some_and(|slot| {
                slot.info.kind != KeyKind::Fernet
                    || slot
                        .material
                        .as_ref()
                        .is_some_and(|m| m.secret != *key.secret())
            });
            if clash_in_list || clash_here {
                return Err(Error::InvalidKey(
                    "two different Fernet keys map to the same keyroll version; keep them in separate keyrings",
                ));
            }
        }
        let mut versions = Vec::with_capacity(keys.len());
        for key in keys {
            let version = key.keyroll_version();
            match self.slots.get(&version) {
                Some(_) => {}
                None => {
                    let mut info =
                        Self::new_info(version, KeyKind::Fernet, KeyState::DecryptOnly, now);
                    info.note = Some("imported Fernet key".to_owned());
                    self.insert(info, key.secret().clone());
                }
            }
            versions.push(version);
        }
        Ok(versions)
    }

    /// Imports a raw AES-256-GCM key from a home-made manager as a decrypt-only legacy version
    /// (deriving it once, here, if it comes from PBKDF2).
    pub fn import_raw_gcm(&mut self, import: &RawGcmImport, now: u64) -> Result<u32> {
        self.writable()?;
        let secret = import.derive()?;
        self.insert_raw_gcm(secret, import.version_byte, now)
    }

    fn insert_raw_gcm(
        &mut self,
        secret: SecretKey,
        version_byte: Option<u8>,
        now: u64,
    ) -> Result<u32> {
        let version = self.next_version()?;
        let mut info = Self::new_info(version, KeyKind::RawGcm, KeyState::DecryptOnly, now);
        info.legacy_version_byte = version_byte;
        info.note = Some("imported raw AES-256-GCM key".to_owned());
        self.insert(info, secret);
        Ok(version)
    }

    /// [`Keyring::import_raw_gcm`] for re-runnable imports (an operator's command run twice):
    /// if a raw GCM version with the same version byte already holds this key (compared in
    /// constant time), nothing changes and that version is returned with `false`; otherwise
    /// the key is imported and its new version returned with `true`. A destroyed version with
    /// the same version byte has no key left to compare, so the import is refused
    /// (`key_destroyed`) rather than risk bringing a destroyed key back.
    pub fn import_raw_gcm_once(&mut self, import: &RawGcmImport, now: u64) -> Result<(u32, bool)> {
        self.writable()?;
        let secret = import.derive()?;
        let mut same_byte = self.slots.values().filter(|s| {
            s.info.kind == KeyKind::RawGcm && s.info.legacy_version_byte == import.version_byte
        });
        if let Some(found) = same_byte
            .clone()
            .find(|s| s.material.as_ref().is_some_and(|m| m.secret == secret))
        {
            return Ok((found.info.version, false));
        }
        if let Some(destroyed) = same_byte.find(|s| s.material.is_none()) {
            return Err(Error::KeyDestroyed(destroyed.info.version));
        }
        let version = self.insert_raw_gcm(secret, import.version_byte, now)?;
        Ok((version, true))
    }
}
