//! Reading envelopes: which version may open what, and the order of checks (docs/wire-format.md §1.3).

use super::*;

impl Keyring {
    /// Decrypts any token this keyring can read: a v1 envelope (binary or text), or a legacy
    /// Fernet token or raw GCM blob under an imported key.
    pub fn decrypt(&self, token: &[u8], context: &[u8], ttl: Option<Ttl>) -> Result<Vec<u8>> {
        if token.starts_with(&envelope::MAGIC) {
            // The common case, straight: parse, one lookup, open into the result.
            let parsed = envelope::parse_binary(token)?;
            let mut out = vec![0u8; parsed.plaintext_len()];
            self.open_v1_into(&parsed, context, ttl, &mut out)?;
            return Ok(out);
        }
        let opened = self.open(token, context, false)?;
        check_ttl(ttl, opened.issued_at)?;
        let mut plaintext = opened.plaintext;
        Ok(core::mem::take(&mut *plaintext))
    }

    /// The exact plaintext length of a v1 envelope (binary or text), read from its framing
    /// without any key, so a caller can allocate the destination of [`Keyring::decrypt_into`]
    /// once; `None` for legacy tokens (Fernet, raw GCM), whose padding is known only after
    /// decryption. The token is not authenticated here.
    pub fn plaintext_len(token: &[u8]) -> Option<usize> {
        envelope::plaintext_len(token)
    }

    /// [`Keyring::decrypt`] into the caller's buffer, returning the plaintext length: the
    /// plaintext is written once, where the caller wants it (a Python `bytes` under
    /// construction, a reused buffer). `out` must hold the plaintext (for a v1 envelope,
    /// exactly [`Keyring::plaintext_len`] is enough); bytes past the plaintext are left as
    /// they were. On any error the first `out.len()` bytes hold no plaintext (they are zeroed).
    pub fn decrypt_into(
        &self,
        token: &[u8],
        context: &[u8],
        ttl: Option<Ttl>,
        out: &mut [u8],
    ) -> Result<usize> {
        let result = self.decrypt_into_inner(token, context, ttl, out);
        if result.is_err() {
            out.fill(0);
        }
        result
    }

    fn decrypt_into_inner(
        &self,
        token: &[u8],
        context: &[u8],
        ttl: Option<Ttl>,
        out: &mut [u8],
    ) -> Result<usize> {
        let too_short = Error::InvalidArgument("output buffer shorter than the plaintext");
        let into = |parsed: &Parsed<'_>, out: &mut [u8]| {
            let len = parsed.plaintext_len();
            let dest = out.get_mut(..len).ok_or(too_short.clone())?;
            self.open_v1_into(parsed, context, ttl, dest).map(|()| len)
        };
        if token.starts_with(&envelope::MAGIC) {
            return into(&envelope::parse_binary(token)?, out);
        }
        // A text envelope opens straight into `out`, unless it may be a raw-GCM blob that
        // looks like one (`open` decides those).
        if envelope::looks_like_text(token)
            && !(self.has_legacy(KeyKind::RawGcm) && context.is_empty())
        {
            let (version, binary) = envelope::decode_text(token)?;
            return into(&envelope::parse_decoded(version, &binary)?, out);
        }
        let plaintext = Zeroizing::new(self.decrypt(token, context, ttl)?);
        let dest = out.get_mut(..plaintext.len()).ok_or(too_short)?;
        dest.copy_from_slice(&plaintext);
        Ok(plaintext.len())
    }

    /// Authenticates `token` without returning its plaintext (which is wiped): which version
    /// opened it and when it was issued. `extract_timestamp`-style callers use this.
    pub fn verify(&self, token: &[u8], context: &[u8], ttl: Option<Ttl>) -> Result<Verified> {
        let opened = self.open(token, context, false)?;
        wipe(opened.plaintext);
        check_ttl(ttl, opened.issued_at)?;
        Ok(Verified {
            key_version: opened.version,
            issued_at: opened.issued_at,
        })
    }

    /// Decrypts each token; one result per token, so one bad row does not hide the others.
    pub fn decrypt_many<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        context: &[u8],
        ttl: Option<Ttl>,
    ) -> Vec<Result<Vec<u8>>> {
        tokens
            .iter()
            .map(|t| self.decrypt(t.as_ref(), context, ttl))
            .collect()
    }

    /// The material of `version`, if this operation may use it in its state.
    #[inline]
    pub(super) fn usable(&self, version: u32, allow_compromised: bool) -> Result<&Material> {
        let slot = self
            .slots
            .get(&version)
            .ok_or(Error::UnknownKeyVersion(version))?;
        // The minimum orders the ordinary sequence 1, 2, 3…; Fernet version numbers are hashes
        // (bit 31 set) with no order, so the minimum never applies to them (states do).
        if version & fernet::FERNET_VERSION_BIT == 0 && version < self.min_version {
            return Err(Error::BelowMinimumVersion {
                version,
                minimum: self.min_version,
            });
        }
        match slot.info.state {
            KeyState::Disabled => Err(Error::KeyDisabled(version)),
            KeyState::Compromised if !allow_compromised => Err(Error::KeyCompromised(version)),
            KeyState::Destroyed => Err(Error::KeyDestroyed(version)),
            _ => slot.material.as_ref().ok_or(Error::KeyDestroyed(version)),
        }
    }

    pub(super) fn open(
        &self,
        token: &[u8],
        context: &[u8],
        allow_compromised: bool,
    ) -> Result<Opened> {
        if token.starts_with(&envelope::MAGIC) {
            self.open_v1(&envelope::parse_binary(token)?, context, allow_compromised)
        } else if envelope::looks_like_text(token) {
            let text = envelope::decode_text(token).and_then(|(version, binary)| {
                let parsed = envelope::parse_decoded(version, &binary)?;
                self.open_v1(&parsed, context, allow_compromised)
            });
            match text {
                // About one raw-GCM blob in 26,000 has base64 starting with `kr` and a digit.
                // When imported raw keys open it (the GCM tag decides), it is one of those;
                // otherwise the text reading's error stands.
                Err(text_error) if self.has_legacy(KeyKind::RawGcm) && context.is_empty() => {
                    let Ok(blob) = raw_gcm::decode(token) else {
                        return Err(text_error);
                    };
                    match self.open_raw(&blob, allow_compromised)? {
                        Some((version, plaintext)) => Ok(Opened {
                            plaintext,
                            version,
                            issued_at: None,
                        }),
                        None => Err(text_error),
                    }
                }
                other => other,
            }
        } else {
            self.open_legacy(token, context, allow_compromised)
        }
    }

    pub(super) fn open_v1(
        &self,
        parsed: &Parsed<'_>,
        context: &[u8],
        allow_compromised: bool,
    ) -> Result<Opened> {
        let header = parsed.header;
        let material = self.reader(&header, allow_compromised)?;
        let plaintext = Zeroizing::new(parsed.open(&material.aead, context)?);
        Ok(Opened {
            plaintext,
            version: header.version,
            issued_at: header.issued_at,
        })
    }

    /// Opens a v1 envelope for ordinary reading into `out` (exactly its plaintext length),
    /// then checks the TTL; on failure `out` is zeroed.
    #[inline]
    fn open_v1_into(
        &self,
        parsed: &Parsed<'_>,
        context: &[u8],
        ttl: Option<Ttl>,
        out: &mut [u8],
    ) -> Result<()> {
        let material = self.reader(&parsed.header, false)?;
        parsed.open_into(&material.aead, context, out)?;
        check_ttl(ttl, parsed.header.issued_at).inspect_err(|_| out.fill(0))
    }

    /// The material that may open an envelope with `header`: this keyring's (or, for a
    /// Fernet-derived version, the shared Fernet keyring id's) version in a readable state.
    #[inline]
    fn reader(&self, header: &Header, allow_compromised: bool) -> Result<&Material> {
        let fernet_derived = header.version & fernet::FERNET_VERSION_BIT != 0
            && header.keyring_id == fernet_keyring_id();
        if header.keyring_id != self.id && !fernet_derived {
            return Err(Error::WrongKeyring);
        }
        self.usable(header.version, allow_compromised)
    }
}

/// Wipes a plaintext in bulk. Dropping a `Zeroizing<Vec<u8>>` wipes its elements one volatile
/// byte at a time (zeroize 1.9: about a byte per cycle, 20 µs for 64 KiB, a fifth of a rewrap) but its spare
/// capacity with one `write_bytes` and a compiler barrier; after `clear` the whole allocation is
/// spare capacity, so the same bytes are wiped, in bulk.
pub(super) fn wipe(mut plaintext: Zeroizing<Vec<u8>>) {
    plaintext.clear();
}

pub(super) fn check_ttl(ttl: Option<Ttl>, issued_at: Option<u64>) -> Result<()> {
    match (ttl, issued_at) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Error::MissingTimestamp),
        (Some(ttl), Some(t)) => ttl.check(t),
    }
}
