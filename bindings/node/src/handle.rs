//! `WasmKeyringHandle` (the wasm layer's name): core's `KeyringHandle`, one line per method.
//! Besides what the wasm layer has (documents in: `fromDocument…`, `offer`), the addon opens
//! store URLs (`open`): the store crate's reload thread then polls the store and reloads at
//! once on an unknown version, in Rust, never touching JavaScript (`reload`, `close` too).

use crate::convert::secs;
use crate::error::{coded_value, run};
use keyroll::{KeyringHandle as Core, Offered, SecretKey, Unlock};
use keyroll_store::fleet::reload::{Opener, Polled, ReloadOptions, Reloader};
use napi::Env;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

enum Secret {
    Passphrase(Zeroizing<Vec<u8>>),
    MasterKey(SecretKey),
}

impl Secret {
    fn from_args(passphrase: Option<&[u8]>, master_key: Option<&[u8]>) -> keyroll::Result<Self> {
        match (passphrase, master_key) {
            (Some(p), None) => Ok(Secret::Passphrase(Zeroizing::new(p.to_vec()))),
            (None, Some(k)) => Ok(Secret::MasterKey(SecretKey::from_slice(k)?)),
            _ => Err(keyroll::Error::InvalidArgument(
                "give exactly one of passphrase or masterKey",
            )),
        }
    }

    fn unlock(&self) -> Unlock<'_> {
        match self {
            Secret::Passphrase(p) => Unlock::Passphrase(p),
            Secret::MasterKey(k) => Unlock::MasterKey(k),
        }
    }
}

/// A store error thrown as the same `KeyrollError` (its stable code, a message without
/// credentials).
fn store_js(env: &Env, e: &keyroll_store::Error) -> napi::Error {
    napi::Error::from_unknown_without_coercion(coded_value(env, e.code(), e.to_string()))
}

/// A live keyring; `handle` is `None` once freed.
#[napi(js_name = "WasmKeyringHandle")]
pub struct KeyringHandle {
    handle: Option<Arc<Core>>,
    secret: Arc<Secret>,
    reloader: Option<Reloader>,
}

impl KeyringHandle {
    fn new(env: &Env, document: &[u8], secret: Secret) -> napi::Result<KeyringHandle> {
        let ring = run(env, || {
            keyroll::Keyring::from_document(document, secret.unlock())
        })?;
        Ok(KeyringHandle {
            handle: Some(Arc::new(Core::new(ring))),
            secret: Arc::new(secret),
            reloader: None,
        })
    }

    /// The handle, unless freed (the TypeScript layer never calls a freed one).
    fn core(&self) -> keyroll::Result<&Core> {
        self.handle
            .as_deref()
            .ok_or(keyroll::Error::InvalidArgument("this handle was freed"))
    }
}

#[napi]
impl KeyringHandle {
    /// A handle on a passphrase-sealed document.
    #[napi(catch_unwind, factory, js_name = "fromDocumentPassphrase")]
    pub fn from_document_passphrase(
        env: Env,
        document: &[u8],
        passphrase: &[u8],
    ) -> napi::Result<KeyringHandle> {
        let secret = Secret::Passphrase(Zeroizing::new(passphrase.to_vec()));
        KeyringHandle::new(&env, document, secret)
    }

    /// A handle on a master-key-sealed document.
    #[napi(catch_unwind, factory, js_name = "fromDocumentMasterKey")]
    pub fn from_document_master_key(
        env: Env,
        document: &[u8],
        key: &[u8],
    ) -> napi::Result<KeyringHandle> {
        let secret = run(&env, || Ok(Secret::MasterKey(SecretKey::from_slice(key)?)))?;
        KeyringHandle::new(&env, document, secret)
    }

    /// Opens a store URL and keeps it current: polls every `poll_interval` seconds (0: only
    /// on `reload()` and unknown versions) on a Rust thread.
    #[napi(catch_unwind, factory)]
    pub fn open(
        env: Env,
        url: String,
        passphrase: Option<&[u8]>,
        master_key: Option<&[u8]>,
        poll_interval: f64,
        reader: Option<String>,
    ) -> napi::Result<KeyringHandle> {
        let (secret, poll_interval) = run(&env, || {
            let interval = Duration::try_from_secs_f64(poll_interval).map_err(|_| {
                keyroll::Error::InvalidArgument("pollInterval must be a number of seconds >= 0")
            })?;
            Ok((
                Arc::new(Secret::from_args(passphrase, master_key)?),
                interval,
            ))
        })?;
        let unlock = secret.clone();
        let opener: Opener =
            Arc::new(move |doc| keyroll::Keyring::from_document(doc, unlock.unlock()));
        let options = ReloadOptions {
            poll_interval,
            reader,
            ..ReloadOptions::default()
        };
        let reloader = keyroll_store::fleet::open(&url)
            .and_then(|store| Reloader::open(store, opener, options))
            .map_err(|e| store_js(&env, &e))?;
        Ok(KeyringHandle {
            handle: Some(reloader.handle().clone()),
            secret,
            reloader: Some(reloader),
        })
    }

    /// Opens a newer document and swaps it in: `true` if swapped, `false` for the generation
    /// held; a lower generation throws `keyring_rollback` and changes nothing.
    #[napi(catch_unwind)]
    pub fn offer(&self, env: Env, document: &[u8]) -> napi::Result<bool> {
        run(&env, || {
            let ring = keyroll::Keyring::from_document(document, self.secret.unlock())?;
            Ok(matches!(self.core()?.offer(ring)?, Offered::Swapped { .. }))
        })
    }

    /// Checks the store now (`open`ed handles only): `true` if a newer keyring came in.
    #[napi(catch_unwind)]
    pub fn reload(&self, env: Env) -> napi::Result<bool> {
        let reloader = self.reloader.as_ref().ok_or_else(|| {
            store_js(
                &env,
                &keyroll::Error::InvalidArgument("this handle has no store (or was closed)").into(),
            )
        })?;
        let polled = reloader.poll_now().map_err(|e| store_js(&env, &e))?;
        Ok(matches!(polled, Polled::Reloaded { .. }))
    }

    /// Stops reloading at once; the handle keeps the keyring it holds.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.reloader = None;
    }

    /// Records a failed reload (its error code) at `at`, Unix seconds.
    #[napi(catch_unwind, js_name = "recordFailure")]
    pub fn record_failure(&self, env: Env, code: String, at: f64) -> napi::Result<()> {
        run(&env, || {
            self.core()?.record_failure(&code, secs(at)?);
            Ok(())
        })
    }

    /// The generation held.
    #[napi(catch_unwind)]
    pub fn generation(&self, env: Env) -> napi::Result<f64> {
        run(&env, || Ok(self.core()?.generation() as f64))
    }

    /// Generation, versions, last check and last error, as core's JSON.
    #[napi(catch_unwind, js_name = "statusJson")]
    pub fn status_json(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(crate::convert::json(&self.core()?.status())))
    }

    /// Stops reloading and wipes the keys this object holds; safe to call twice.
    #[napi(catch_unwind)]
    pub fn free(&mut self) {
        self.reloader = None;
        self.handle = None;
    }
}

crate::ops::shared_reads! {
    KeyringHandle, core;
    /// Encrypts to the text form with the current keyring.
    encrypt;
    /// Encrypts to the binary form with the current keyring.
    encrypt_binary;
    /// Decrypts; a token under a version not held yet reloads once (opened handles).
    decrypt;
}
