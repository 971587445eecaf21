//! `keyroll.KeyringHandle`: a live keyring kept current from a store URL by core's handle and
//! the store crate's reload thread (pure Rust: it never takes the GIL). `Keyring.open(url)`
//! is here too: one load from a store URL.

use crate::error::Result;
use crate::keyring::Secret;
use crate::ops;
use keyroll_store::fleet::reload::{Opener, Polled, ReloadOptions, Reloader};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use zeroize::Zeroizing;

/// The credential given, else the environment's (`KEYROLL_MASTER_KEY`, `KEYROLL_PASSPHRASE`,
/// through the one parser the CLI uses).
fn secret(
    passphrase: Option<&Bound<'_, PyAny>>,
    master_key: Option<&Bound<'_, PyAny>>,
) -> Result<Secret> {
    if passphrase.is_some() || master_key.is_some() {
        return Secret::from_args(passphrase, master_key);
    }
    match keyroll_store::env::credential(&keyroll_store::env::process)? {
        Some(keyroll_store::env::Credential::MasterKey(k)) => Ok(Secret::MasterKey(k)),
        Some(keyroll_store::env::Credential::Passphrase(p)) => {
            Ok(Secret::Passphrase(Zeroizing::new(p.as_bytes().to_vec())))
        }
        // The wheel carries no AWS SDK: services bring their boto3 client (keyroll.kms).
        Some(keyroll_store::env::Credential::Kms { .. }) => Err(keyroll::Error::InvalidArgument(
            "KEYROLL_KMS_KEY: open a KMS-sealed keyring with Keyring.from_document(document, kms=keyroll.kms.Boto3Kms(client, key_id))",
        )
        .into()),
        None => Secret::from_args(None, None),
    }
}

/// Loads and opens the keyring a store URL names (`Keyring.open`).
pub(crate) fn open_keyring(
    py: Python<'_>,
    url: &str,
    passphrase: Option<&Bound<'_, PyAny>>,
    master_key: Option<&Bound<'_, PyAny>>,
) -> Result<keyroll::Keyring> {
    let secret = secret(passphrase, master_key)?;
    py.detach(|| -> Result<_> {
        let store = keyroll_store::fleet::open(url)?;
        let stored = store
            .load()?
            .ok_or_else(|| keyroll_store::Error::NotFound(store.location().into()))?;
        let document = Zeroizing::new(stored.document);
        Ok(keyroll::Keyring::from_document(&document, secret.unlock())?)
    })
}

/// A keyring that follows its store: reloads when the store's generation moves (every
/// `poll_interval` seconds, on a background thread) and at once when a token names a version
/// it lacks. Never goes back to a lower generation; a failed reload keeps the last good
/// keyring and shows in `status()`.
#[pyclass(module = "keyroll._native", frozen)]
pub struct KeyringHandle {
    handle: Arc<keyroll::KeyringHandle>,
    reloader: Mutex<Option<Reloader>>,
    location: String,
    reader: String,
}

#[pymethods]
impl KeyringHandle {
    /// Opens the keyring at a store URL (`file:PATH` or a path, `postgres://…#NAME`,
    /// `aws-sm://NAME`) with a passphrase or master key (default: `KEYROLL_MASTER_KEY` /
    /// `KEYROLL_PASSPHRASE`), and keeps it current. `poll_interval=0` polls only on
    /// `reload()` and unknown versions.
    #[staticmethod]
    #[pyo3(signature = (url, *, passphrase=None, master_key=None, poll_interval=30.0, reader=None))]
    fn open(
        py: Python<'_>,
        url: &str,
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
        poll_interval: f64,
        reader: Option<String>,
    ) -> Result<Self> {
        let poll_interval = Duration::try_from_secs_f64(poll_interval)
            .map_err(|_| PyValueError::new_err("poll_interval must be a number of seconds >= 0"))?;
        let secret = secret(passphrase, master_key)?;
        let opener: Opener =
            Arc::new(move |doc| keyroll::Keyring::from_document(doc, secret.unlock()));
        let options = ReloadOptions {
            poll_interval,
            reader,
            ..ReloadOptions::default()
        };
        let reloader = py.detach(|| -> Result<_> {
            let store = keyroll_store::fleet::open(url)?;
            Ok(Reloader::open(store, opener, options)?)
        })?;
        Ok(KeyringHandle {
            handle: reloader.handle().clone(),
            location: keyroll_store::fleet::StoreUrl::parse(url)?.location(),
            reader: reloader.reader().to_owned(),
            reloader: Mutex::new(Some(reloader)),
        })
    }

    /// The generation of the keyring held now.
    #[getter]
    fn generation(&self) -> u64 {
        self.handle.generation()
    }

    /// `{"generation", "versions", "last_check", "last_error", "last_error_at", "reader",
    /// "location"}`: what is held and how the last reload went (error codes only).
    fn status<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let s = self.handle.status();
        let d = PyDict::new(py);
        d.set_item("generation", s.generation)?;
        d.set_item("versions", s.versions)?;
        d.set_item("last_check", s.last_check)?;
        d.set_item("last_error", s.last_error.as_ref().map(|e| e.code.clone()))?;
        d.set_item("last_error_at", s.last_error.map(|e| e.at))?;
        d.set_item("reader", &self.reader)?;
        d.set_item("location", &self.location)?;
        Ok(d)
    }

    /// Checks the store now; returns whether a newer keyring was swapped in. Raises on a
    /// failed reload (the current keyring stays).
    fn reload(&self, py: Python<'_>) -> Result<bool> {
        let guard = self.reloader.lock().unwrap_or_else(PoisonError::into_inner);
        let reloader = guard
            .as_ref()
            .ok_or(keyroll::Error::InvalidArgument("the handle is closed"))?;
        let polled = py.detach(|| reloader.poll_now())?;
        Ok(matches!(polled, Polled::Reloaded { .. }))
    }

    /// Stops reloading (at once). The handle keeps working with the keyring it holds.
    fn close(&self, py: Python<'_>) {
        let reloader = self
            .reloader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        py.detach(|| drop(reloader));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "KeyringHandle(location={:?}, generation={})",
            self.location,
            self.handle.generation()
        )
    }

    /// `Keyring.rewrap` (compromised versions refused); unknown versions reload once first.
    #[pyo3(signature = (token, *, context=None))]
    fn rewrap(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> Result<String> {
        ops::rewrap(&*self.handle, py, token, context, false)
    }
}

crate::ops::shared_reads! {
    KeyringHandle, |s| &*s.handle;
    /// `Keyring.encrypt` with the current keyring.
    encrypt;
    /// `Keyring.encrypt_binary` with the current keyring.
    encrypt_binary;
    /// `Keyring.decrypt`; a token under a version not held yet reloads once first.
    decrypt;
    /// `Keyring.verify`; a token under a version not held yet reloads once first.
    verify;
    /// `Keyring.encrypt_many` with the current keyring.
    encrypt_many;
    /// `Keyring.decrypt_many`; unknown versions reload once per chunk.
    decrypt_many;
}
