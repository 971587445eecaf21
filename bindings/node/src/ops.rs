//! The reads `WasmKeyring` and `WasmKeyringHandle` share (encrypt, encrypt to binary,
//! decrypt), written once over [`Ring`]: the two classes differ only in how they reach a
//! keyring, so their methods are declared once ([`shared_reads!`]) and call in here.

use crate::bytes::{ascii, copied, filled, Bytes, Text};
use crate::convert::{opt_secs, ttl};
use crate::error::run;
use crate::keyring::into_js;
use napi::Env;
use zeroize::Zeroizing;

/// How a class reaches its keyring: a core keyring directly, or core's handle (which reloads
/// once when a token names a version it lacks).
pub(crate) trait Ring {
    /// Runs `op` on the keyring held now (encryption: nothing to retry).
    fn with_current<T>(&self, op: impl FnOnce(&keyroll::Keyring) -> T) -> T;

    /// Runs a read; a handle reloads once and retries on a version it lacks.
    fn read_op<T>(
        &self,
        op: impl FnMut(&keyroll::Keyring) -> keyroll::Result<T>,
    ) -> keyroll::Result<T>;
}

impl Ring for keyroll::Keyring {
    fn with_current<T>(&self, op: impl FnOnce(&keyroll::Keyring) -> T) -> T {
        op(self)
    }

    fn read_op<T>(
        &self,
        mut op: impl FnMut(&keyroll::Keyring) -> keyroll::Result<T>,
    ) -> keyroll::Result<T> {
        op(self)
    }
}

impl Ring for keyroll::KeyringHandle {
    fn with_current<T>(&self, op: impl FnOnce(&keyroll::Keyring) -> T) -> T {
        op(&self.current())
    }

    fn read_op<T>(
        &self,
        op: impl FnMut(&keyroll::Keyring) -> keyroll::Result<T>,
    ) -> keyroll::Result<T> {
        self.read(op)
    }
}

/// The reads both classes expose, declared once: a `#[napi]` block for `$class` (napi-rs
/// takes several per class) whose methods reach the keyring through `self.$get()` (its
/// "unless freed" accessor). Each class gives its own doc comments.
macro_rules! shared_reads {
    (
        $class:ident, $get:ident;
        $(#[$encrypt:meta])* encrypt;
        $(#[$encrypt_binary:meta])* encrypt_binary;
        $(#[$decrypt:meta])* decrypt;
    ) => {
        #[napi_derive::napi]
        impl $class {
            $(#[$encrypt])*
            #[napi(catch_unwind)]
            pub fn encrypt(
                &self,
                env: napi::Env,
                plaintext: &[u8],
                context: &[u8],
                issued_at: Option<f64>,
            ) -> napi::Result<$crate::bytes::Text> {
                $crate::ops::encrypt(&env, || self.$get(), plaintext, context, issued_at)
            }

            $(#[$encrypt_binary])*
            #[napi(catch_unwind, js_name = "encryptBinary")]
            pub fn encrypt_binary(
                &self,
                env: napi::Env,
                plaintext: &[u8],
                context: &[u8],
                issued_at: Option<f64>,
            ) -> napi::Result<$crate::bytes::Bytes> {
                $crate::ops::encrypt_binary(&env, || self.$get(), plaintext, context, issued_at)
            }

            $(#[$decrypt])*
            #[napi(catch_unwind)]
            pub fn decrypt(
                &self,
                env: napi::Env,
                token: &[u8],
                context: &[u8],
                ttl_seconds: Option<f64>,
                now: f64,
            ) -> napi::Result<$crate::bytes::Bytes> {
                $crate::ops::decrypt(&env, || self.$get(), token, context, ttl_seconds, now)
            }
        }
    };
}
pub(crate) use shared_reads;

/// Encrypts to the text form `kr1:v<N>:…` with the keyring `ring` gives (unless freed).
pub(crate) fn encrypt<'a, R: Ring + 'a>(
    env: &Env,
    ring: impl FnOnce() -> keyroll::Result<&'a R>,
    plaintext: &[u8],
    context: &[u8],
    issued_at: Option<f64>,
) -> napi::Result<Text> {
    let token = run(env, || {
        let (ring, issued_at) = (ring()?, opt_secs(issued_at)?);
        ring.with_current(|k| k.encrypt(plaintext, context, issued_at))
    })?;
    ascii(env, &token)
}

/// Encrypts to the binary form, sealed in place in the returned `Uint8Array`.
pub(crate) fn encrypt_binary<'a, R: Ring + 'a>(
    env: &Env,
    ring: impl FnOnce() -> keyroll::Result<&'a R>,
    plaintext: &[u8],
    context: &[u8],
    issued_at: Option<f64>,
) -> napi::Result<Bytes> {
    let (ring, issued_at) = run(env, || Ok((ring()?, opt_secs(issued_at)?)))?;
    let len = keyroll::Keyring::sealed_len(plaintext.len(), issued_at.is_some());
    into_js(
        env,
        filled(env, len, |out| {
            ring.with_current(|k| k.encrypt_binary_into(plaintext, context, issued_at, out))
        }),
    )
}

/// Decrypts any token the keyring reads into a new `Uint8Array`.
pub(crate) fn decrypt<'a, R: Ring + 'a>(
    env: &Env,
    ring: impl FnOnce() -> keyroll::Result<&'a R>,
    token: &[u8],
    context: &[u8],
    ttl_seconds: Option<f64>,
    now: f64,
) -> napi::Result<Bytes> {
    let (ring, ttl) = run(env, || Ok((ring()?, ttl(ttl_seconds, now)?)))?;
    open(env, ring, token, context, ttl)
}

/// Decrypts into a new `Uint8Array`: a v1 envelope opens straight into it (its length is in
/// its framing); a legacy token, whose length is known only once decrypted, is copied.
pub(crate) fn open(
    env: &Env,
    ring: &impl Ring,
    token: &[u8],
    context: &[u8],
    ttl: Option<keyroll::Ttl>,
) -> napi::Result<Bytes> {
    match keyroll::Keyring::plaintext_len(token) {
        Some(len) => into_js(
            env,
            filled(env, len, |out| {
                ring.read_op(|k| k.decrypt_into(token, context, ttl, out))
            }),
        ),
        None => {
            let plaintext = Zeroizing::new(run(env, || {
                ring.read_op(|k| k.decrypt(token, context, ttl))
            })?);
            copied(env, &plaintext)
        }
    }
}
