//! Reading legacy tokens (Fernet, raw AES-GCM), which carry no key id: each imported key is
//! tried, and the GCM tag or Fernet HMAC decides.

use super::*;

impl Keyring {
    /// Legacy tokens carry no key id: each legacy key is tried. A key that authenticates the
    /// token but may not be used in its state gives that state's error. Legacy formats have no
    /// associated data, so a non-empty context is refused rather than silently ignored.
    pub(super) fn open_legacy(
        &self,
        token: &[u8],
        context: &[u8],
        allow_compromised: bool,
    ) -> Result<Opened> {
        let has_fernet = self.has_legacy(KeyKind::Fernet);
        let has_raw = self.has_legacy(KeyKind::RawGcm);
        if !has_fernet && !has_raw {
            return Err(Error::UnsupportedFormat(
                "not a keyroll envelope, and no legacy keys are imported",
            ));
        }
        if !context.is_empty() {
            return Err(Error::InvalidArgument("legacy tokens carry no context"));
        }
        let mut first_error = None;
        if has_fernet {
            match fernet::Token::decode(token) {
                Ok(tok) => {
                    let found = self.try_legacy(KeyKind::Fernet, allow_compromised, |m, _| {
                        tok.open(m.fernet.as_ref()?)
                    })?;
                    if let Some((version, plaintext)) = found {
                        return Ok(Opened {
                            plaintext,
                            version,
                            issued_at: Some(tok.timestamp()),
                        });
                    }
                    first_error = Some(Error::DecryptFailed);
                }
                Err(e) => first_error = Some(e),
            }
        }
        if has_raw {
            match raw_gcm::decode(token) {
                Ok(blob) => {
                    if let Some((version, plaintext)) = self.open_raw(&blob, allow_compromised)? {
                        return Ok(Opened {
                            plaintext,
                            version,
                            issued_at: None,
                        });
                    }
                    return Err(Error::DecryptFailed);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Error::DecryptFailed))
    }

    /// Whether a legacy key of `kind` is imported.
    pub(super) fn has_legacy(&self, kind: KeyKind) -> bool {
        self.legacy
            .iter()
            .any(|v| self.slots.get(v).is_some_and(|s| s.info.kind == kind))
    }

    /// Raw blobs: first the versioned reading (`version byte ‖ nonce ‖ …`) with the key whose
    /// version byte matches, then the plain reading (`nonce ‖ …`) with every raw key. A blob
    /// can look versioned by chance (its first nonce byte equals a version byte); the fallback
    /// keeps such blobs readable, and GCM's tag makes a wrong reading fail, never misdecrypt.
    pub(super) fn open_raw(
        &self,
        blob: &[u8],
        allow_compromised: bool,
    ) -> Result<Option<(u32, Zeroizing<Vec<u8>>)>> {
        use crate::aead::{NONCE_LEN, TAG_LEN};
        let attempt = |b: &[u8], m: &Material| -> Option<Vec<u8>> {
            if b.len() < NONCE_LEN + TAG_LEN {
                return None;
            }
            let nonce: &[u8; NONCE_LEN] = b[..NONCE_LEN].try_into().ok()?;
            m.aead.open(nonce, b"", &b[NONCE_LEN..])
        };
        if let Some((&first, rest)) = blob.split_first() {
            let found = self.try_legacy(KeyKind::RawGcm, allow_compromised, |m, info| {
                (info.legacy_version_byte == Some(first))
                    .then(|| attempt(rest, m))
                    .flatten()
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        self.try_legacy(KeyKind::RawGcm, allow_compromised, |m, _| attempt(blob, m))
    }

    /// Tries `open` with each legacy key of `kind` that has material; checks the state of the
    /// one that succeeds.
    pub(super) fn try_legacy(
        &self,
        kind: KeyKind,
        allow_compromised: bool,
        open: impl Fn(&Material, &VersionInfo) -> Option<Vec<u8>>,
    ) -> Result<Option<(u32, Zeroizing<Vec<u8>>)>> {
        for version in &self.legacy {
            let Some(slot) = self.slots.get(version) else {
                continue;
            };
            if slot.info.kind != kind {
                continue;
            }
            let Some(material) = &slot.material else {
                continue;
            };
            if let Some(plaintext) = open(material, &slot.info) {
                let plaintext = Zeroizing::new(plaintext);
                self.usable(*version, allow_compromised)?;
                return Ok(Some((*version, plaintext)));
            }
        }
        Ok(None)
    }
}
