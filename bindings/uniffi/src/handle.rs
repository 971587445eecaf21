//! The `KeyringHandle` object: core's live keyring for apps, documents in, documents out. The
//! app fetches a newer document however it likes (its API, a push, a bundled update) and
//! `offer`s it; the handle swaps it in atomically, never to a lower generation.

use crate::error::Result;
use crate::types::Ttl;
use crate::Bytes;
use keyroll::{Offered, SecretKey, Unlock};
use std::sync::Arc;
use zeroize::Zeroizing;

enum Secret {
    Passphrase(Zeroizing<Vec<u8>>),
    MasterKey(SecretKey),
}

impl Secret {
    fn unlock(&self) -> Unlock<'_> {
        match self {
            Secret::Passphrase(p) => Unlock::Passphrase(p),
            Secret::MasterKey(k) => Unlock::MasterKey(k),
        }
    }
}

/// What a handle holds and how the app's last reload went (error codes only).
#[derive(Clone, Debug, uniffi::Record)]
pub struct HandleStatus {
    /// The generation held.
    pub generation: u64,
    /// The versions it can decrypt with.
    pub versions: Vec<u32>,
    /// The last reload failure's error code, if the last reload failed.
    pub last_error: Option<String>,
    /// When it failed (Unix seconds, as given to `recordFailure`).
    pub last_error_at: Option<u64>,
}

/// A keyring that moves forward while the app runs: `offer` a newer document and it swaps in
/// (a lower generation is refused with `keyring_rollback`; an unreadable one changes
/// nothing). Thread-safe: reads never wait for an offer. `toString()` shows generation and
/// versions only.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct KeyringHandle {
    handle: keyroll::KeyringHandle,
    secret: Secret,
}

impl core::fmt::Debug for KeyringHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.handle, f)
    }
}

impl KeyringHandle {
    fn new(document: &[u8], secret: Secret) -> Result<Arc<Self>> {
        let ring = keyroll::Keyring::from_document(document, secret.unlock())?;
        Ok(Arc::new(KeyringHandle {
            handle: keyroll::KeyringHandle::new(ring),
            secret,
        }))
    }
}

#[uniffi::export]
impl KeyringHandle {
    /// A handle on a passphrase-sealed document (the passphrase is kept, in wiped memory, to
    /// open the documents offered later).
    #[uniffi::constructor]
    pub fn from_document_with_passphrase(document: Bytes, passphrase: Bytes) -> Result<Arc<Self>> {
        Self::new(&document, Secret::Passphrase(Zeroizing::new(passphrase.0)))
    }

    /// A handle on a master-key-sealed document.
    #[uniffi::constructor]
    pub fn from_document_with_master_key(document: Bytes, master_key: Bytes) -> Result<Arc<Self>> {
        let key = SecretKey::from_slice(&Zeroizing::new(master_key.0))?;
        Self::new(&document, Secret::MasterKey(key))
    }

    /// Opens a newer document and swaps it in: `true` if swapped, `false` for the generation
    /// held. A lower generation throws `keyring_rollback`; nothing changes on any error.
    pub fn offer(&self, document: Bytes) -> Result<bool> {
        let ring = keyroll::Keyring::from_document(&document, self.secret.unlock())?;
        Ok(matches!(self.handle.offer(ring)?, Offered::Swapped { .. }))
    }

    /// Records a failed reload (its error code) at `at`, Unix seconds; kept in `status()`.
    pub fn record_failure(&self, code: String, at: u64) {
        self.handle.record_failure(&code, at);
    }

    /// The generation held.
    pub fn generation(&self) -> u64 {
        self.handle.generation()
    }

    /// Generation, versions and the last reload failure.
    pub fn status(&self) -> HandleStatus {
        let s = self.handle.status();
        HandleStatus {
            generation: s.generation,
            versions: s.versions,
            last_error_at: s.last_error.as_ref().map(|e| e.at),
            last_error: s.last_error.map(|e| e.code),
        }
    }

    /// Encrypts to the text form with the current keyring.
    #[uniffi::method(default(issued_at = None))]
    pub fn encrypt(
        &self,
        plaintext: Bytes,
        context: Bytes,
        issued_at: Option<u64>,
    ) -> Result<String> {
        Ok(self.handle.encrypt(&plaintext, &context, issued_at)?)
    }

    /// Encrypts to the binary form with the current keyring.
    #[uniffi::method(default(issued_at = None))]
    pub fn encrypt_binary(
        &self,
        plaintext: Bytes,
        context: Bytes,
        issued_at: Option<u64>,
    ) -> Result<Bytes> {
        Ok(self
            .handle
            .encrypt_binary(&plaintext, &context, issued_at)?
            .into())
    }

    /// Decrypts with the current keyring.
    #[uniffi::method(default(ttl = None))]
    pub fn decrypt(&self, token: Bytes, context: Bytes, ttl: Option<Ttl>) -> Result<Bytes> {
        Ok(self
            .handle
            .decrypt(&token, &context, ttl.map(Into::into))?
            .into())
    }
}
