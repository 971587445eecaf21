//! Writing envelopes under the active version.

use super::*;

impl Keyring {
    /// The active version and the id its envelopes carry.
    pub(super) fn writer(&self) -> Result<(u32, KeyringId, &Material)> {
        let version = self.active.ok_or(Error::NoActiveKey)?;
        let material = self.material(version)?;
        let id = if version & fernet::FERNET_VERSION_BIT != 0 {
            fernet_keyring_id()
        } else {
            self.id
        };
        Ok((version, id, material))
    }

    /// Encrypts to the binary form. `issued_at` (Unix seconds) enables TTL checks later.
    pub fn encrypt_binary(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<Vec<u8>> {
        let writer = self.writer()?;
        let nonce = self.rng.nonce()?;
        Ok(Self::seal_with(
            writer, &nonce, plaintext, context, issued_at,
        ))
    }

    /// The length of the binary envelope of a `plaintext_len`-byte plaintext, with or without
    /// an issued-at time: the size of the buffer [`Keyring::encrypt_binary_into`] needs.
    pub fn sealed_len(plaintext_len: usize, issued_at: bool) -> usize {
        envelope::sealed_len(plaintext_len, issued_at)
    }

    /// [`Keyring::encrypt_binary`] into the caller's buffer (at least
    /// [`Keyring::sealed_len`] long), returning the envelope's length: the plaintext is copied
    /// once, into its place in the envelope, and sealed there.
    pub fn encrypt_binary_into(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
        out: &mut [u8],
    ) -> Result<usize> {
        let (version, keyring_id, material) = self.writer()?;
        let nonce = self.rng.nonce()?;
        let header = Header {
            keyring_id,
            version,
            issued_at,
        };
        envelope::seal_into(&material.aead, &header, &nonce, context, plaintext, out)
    }

    /// Seals under `writer` with a nonce the caller drew for this one message.
    pub(super) fn seal_with(
        (version, keyring_id, material): (u32, KeyringId, &Material),
        nonce: &[u8; crate::aead::NONCE_LEN],
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Vec<u8> {
        let header = Header {
            keyring_id,
            version,
            issued_at,
        };
        envelope::seal(&material.aead, &header, nonce, context, plaintext)
    }

    /// Encrypts to the text form `kr1:v<version>:<base64url>`.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<String> {
        let binary = self.encrypt_binary(plaintext, context, issued_at)?;
        let version = self.active.ok_or(Error::NoActiveKey)?;
        Ok(envelope::to_text(&binary, version))
    }

    /// Encrypts each item (text form); one issued-at for the batch.
    pub fn encrypt_many<T: AsRef<[u8]>>(
        &self,
        items: &[T],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<Vec<String>> {
        let writer = self.writer()?;
        let mut nonces = self.rng.nonces(items.len())?;
        items
            .iter()
            .map(|item| {
                let nonce = nonces.take()?;
                let binary = Self::seal_with(writer, &nonce, item.as_ref(), context, issued_at);
                Ok(envelope::to_text(&binary, writer.0))
            })
            .collect()
    }
}
