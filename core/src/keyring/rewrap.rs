//! Rewrap: re-encrypting readable tokens under the active version without the plaintext ever
//! leaving core, and the opt-in that reading compromised versions needs.

use super::open::wipe;
use super::*;

/// What a rewrap may read.
///
/// By default a rewrap reads exactly what `decrypt` reads. Data under a **compromised** version
/// is unverified: whoever stole that key can forge envelopes under it, and a rewrap would
/// launder each forgery into an envelope under the new, trusted key. Reading it is therefore an
/// explicit opt-in, and every result says whether it came from a compromised version so that
/// callers count and audit such reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RewrapOptions {
    /// Also read versions in the `compromised` state (to move data off them).
    pub allow_compromised: bool,
}

/// A rewrapped token and the version it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrapped<T> {
    /// The new envelope (text or binary, as asked).
    pub token: T,
    /// The key version that authenticated the input.
    pub from_version: u32,
    /// Whether that version is compromised (its data is unverified; see [`RewrapOptions`]).
    pub from_compromised: bool,
}

/// One item of [`Keyring::rewrap_batch`].
#[derive(Clone, Copy, Debug)]
pub struct RewrapRequest<'a> {
    /// The token to read.
    pub token: &'a [u8],
    /// The context it was written with.
    pub from: &'a [u8],
    /// The context to write the new envelope with.
    pub to: &'a [u8],
    /// Write the binary form (else the text form, as ASCII bytes).
    pub binary: bool,
}

impl Keyring {
    /// Re-encrypts any token `decrypt` could read under the active version, keeping its
    /// issued-at time. The plaintext never leaves this function and is wiped. A token under a
    /// compromised version is refused ([`Error::KeyCompromised`]); see
    /// [`Keyring::rewrap_binary_to_context_with`] to move such data deliberately.
    pub fn rewrap_binary(&self, token: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        self.rewrap_binary_to_context(token, context, context)
    }

    /// [`Keyring::rewrap_binary`] to the text form.
    pub fn rewrap(&self, token: &[u8], context: &[u8]) -> Result<String> {
        self.rewrap_to_context(token, context, context)
    }

    /// Rewraps under a new context: the token is read with `from` and written with `to`, its
    /// issued-at kept, the plaintext never leaving core. This is how legacy tokens (which carry
    /// no context) move to per-row contexts such as `users:42:ssn`.
    pub fn rewrap_to_context(&self, token: &[u8], from: &[u8], to: &[u8]) -> Result<String> {
        Ok(self
            .rewrap_to_context_with(token, from, to, RewrapOptions::default())?
            .token)
    }

    /// [`Keyring::rewrap_to_context`] to the binary form.
    pub fn rewrap_binary_to_context(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<u8>> {
        Ok(self
            .rewrap_binary_to_context_with(token, from, to, RewrapOptions::default())?
            .token)
    }

    /// [`Keyring::rewrap_to_context`] with options; says which version the token came from.
    pub fn rewrap_to_context_with(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
        options: RewrapOptions,
    ) -> Result<Rewrapped<String>> {
        let nonce = self.rng.nonce()?;
        let out = self.rewrap_one(token, from, to, options, &nonce)?;
        let version = self.active.ok_or(Error::NoActiveKey)?;
        Ok(Rewrapped {
            token: envelope::to_text(&out.token, version),
            from_version: out.from_version,
            from_compromised: out.from_compromised,
        })
    }

    /// [`Keyring::rewrap_binary_to_context`] with options; says which version the token came
    /// from.
    pub fn rewrap_binary_to_context_with(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
        options: RewrapOptions,
    ) -> Result<Rewrapped<Vec<u8>>> {
        let nonce = self.rng.nonce()?;
        self.rewrap_one(token, from, to, options, &nonce)
    }

    /// Rewraps a batch (a migration chunk): one result per item, in order, so one bad row does
    /// not hide the others. All nonces of the batch are drawn with one call and used only here.
    /// Text output is the ASCII bytes of the text form.
    pub fn rewrap_batch(
        &self,
        items: &[RewrapRequest<'_>],
        options: RewrapOptions,
    ) -> Vec<Result<Rewrapped<Vec<u8>>>> {
        let drawn = self
            .rng
            .nonces(items.len())
            .and_then(|n| Ok((n, self.active.ok_or(Error::NoActiveKey)?)));
        let (mut nonces, version) = match drawn {
            Ok(ok) => ok,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        items
            .iter()
            .map(|item| {
                let nonce = nonces.take()?;
                let mut out = self.rewrap_one(item.token, item.from, item.to, options, &nonce)?;
                if !item.binary {
                    out.token = envelope::to_text(&out.token, version).into_bytes();
                }
                Ok(out)
            })
            .collect()
    }

    /// Opens `token` (with `from`) and seals its plaintext under the active version (with `to`),
    /// keeping its issued-at; the plaintext is wiped before returning.
    pub(super) fn rewrap_one(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
        options: RewrapOptions,
        nonce: &[u8; crate::aead::NONCE_LEN],
    ) -> Result<Rewrapped<Vec<u8>>> {
        let writer = self.writer()?;
        let opened = self.open(token, from, options.allow_compromised)?;
        let sealed = Self::seal_with(writer, nonce, &opened.plaintext, to, opened.issued_at);
        let from_compromised = self
            .slots
            .get(&opened.version)
            .is_some_and(|s| s.info.state == KeyState::Compromised);
        let from_version = opened.version;
        wipe(opened.plaintext);
        Ok(Rewrapped {
            token: sealed,
            from_version,
            from_compromised,
        })
    }

    /// Whether `token` would change under [`Keyring::rewrap`]: false only for a v1 envelope of
    /// this keyring under the active version. Reads the header only; nothing is decrypted.
    pub fn needs_rewrap(&self, token: &[u8]) -> Result<bool> {
        let (active, keyring_id, _) = self.writer()?;
        let header = if token.starts_with(&envelope::MAGIC) {
            envelope::parse_binary(token)?.header
        } else if envelope::looks_like_text(token) {
            envelope::text_header(token)?
        } else {
            return Ok(true);
        };
        Ok(header.version != active || header.keyring_id != keyring_id)
    }

    /// Rewraps each token (text form); one result per token.
    pub fn rewrap_many<T: AsRef<[u8]>>(&self, tokens: &[T], context: &[u8]) -> Vec<Result<String>> {
        self.rewrap_many_with(tokens, context, RewrapOptions::default())
            .into_iter()
            .map(|r| r.map(|r| r.token))
            .collect()
    }

    /// [`Keyring::rewrap_many`] with options; each result says which version it came from.
    /// All nonces of the batch are drawn with one call.
    pub fn rewrap_many_with<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        context: &[u8],
        options: RewrapOptions,
    ) -> Vec<Result<Rewrapped<String>>> {
        let items: Vec<RewrapRequest<'_>> = tokens
            .iter()
            .map(|t| RewrapRequest {
                token: t.as_ref(),
                from: context,
                to: context,
                binary: false,
            })
            .collect();
        self.rewrap_batch(&items, options)
            .into_iter()
            .map(|r| {
                r.map(|r| Rewrapped {
                    // Text output is ASCII by construction.
                    token: String::from_utf8_lossy(&r.token).into_owned(),
                    from_version: r.from_version,
                    from_compromised: r.from_compromised,
                })
            })
            .collect()
    }
}
