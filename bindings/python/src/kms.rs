//! Keyrings sealed by a key-management service through the caller's own client:
//! `Keyring.from_document(document, kms=…)` and `ring.to_document(kms=…)`, with
//! `keyroll.KeyWrap` for what the document records (core's [`keyroll::KeyWrap`]).
//!
//! `kms` is any object with two methods (`keyroll.kms.Boto3Kms` is one, over boto3):
//! `unwrap(wrap: KeyWrap) -> bytes` returns the 32-byte key-encryption key the service
//! unwraps (one call per open), and `wrap() -> (bytes, KeyWrap)` returns the KEK to seal
//! under and its wrap (the one last unwrapped, so a save makes no service call, or a new one).
//! The rules stay in core: this file only converts.

use crate::convert::bytes_arg;
use crate::error::Result;
use crate::keyring::Keyring;
use keyroll::{Protection, Sealing, SecretKey, Unlock};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// A key-encryption key wrapped by a key-management service, as a document records it:
/// `provider` (`aws-kms`, `gcp-kms`, `vault-transit`, …), the service's `key_id`, the
/// encryption `context` the wrap is bound to, and the service's ciphertext `wrapped`.
/// Nothing here is secret.
#[pyclass(module = "keyroll._native", frozen, eq, name = "KeyWrap")]
#[derive(Clone, PartialEq)]
pub struct KeyWrap(pub(crate) keyroll::KeyWrap);

#[pymethods]
impl KeyWrap {
    #[new]
    #[pyo3(signature = (provider, key_id, context, wrapped))]
    fn new(
        provider: String,
        key_id: String,
        context: BTreeMap<String, String>,
        wrapped: &Bound<'_, PyAny>,
    ) -> Result<Self> {
        Ok(KeyWrap(keyroll::KeyWrap {
            provider,
            key_id,
            context,
            wrapped: bytes_arg(wrapped, "wrapped")?.into_owned(),
        }))
    }

    /// The service (`aws-kms`, …).
    #[getter]
    fn provider(&self) -> &str {
        &self.0.provider
    }

    /// The service's key id (for AWS KMS, the key's ARN).
    #[getter]
    fn key_id(&self) -> &str {
        &self.0.key_id
    }

    /// The encryption context (a new dict each time).
    #[getter]
    fn context(&self) -> BTreeMap<String, String> {
        self.0.context.clone()
    }

    /// The service's ciphertext of the key-encryption key.
    #[getter]
    fn wrapped<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.wrapped)
    }

    fn __repr__(&self) -> String {
        format!(
            "KeyWrap(provider={:?}, key_id={:?}, context={:?}, wrapped=<{} bytes>)",
            self.0.provider,
            self.0.key_id,
            self.0.context,
            self.0.wrapped.len()
        )
    }

    /// How `document` is sealed, read without any key: its `KeyWrap`, or `None` for a
    /// passphrase or master-key document.
    #[staticmethod]
    fn of_document(document: &Bound<'_, PyAny>) -> Result<Option<KeyWrap>> {
        Ok(
            match keyroll::document_sealing(&bytes_arg(document, "document")?)? {
                Sealing::Wrapped(w) => Some(KeyWrap(w)),
                _ => None,
            },
        )
    }
}

fn kek(value: &Bound<'_, PyAny>, what: &'static str) -> Result<SecretKey> {
    let bytes = Zeroizing::new(bytes_arg(value, what)?.into_owned());
    Ok(SecretKey::from_slice(&bytes)?)
}

#[pymethods]
impl Keyring {
    /// Opens a document sealed by a key-management service: one `kms.unwrap(wrap)` call
    /// with the wrap the document records (which key, which context), then core opens it.
    #[staticmethod]
    #[pyo3(signature = (document, *, kms))]
    fn from_document(
        py: Python<'_>,
        document: &Bound<'_, PyAny>,
        kms: &Bound<'_, PyAny>,
    ) -> Result<Keyring> {
        let document = bytes_arg(document, "document")?;
        let Sealing::Wrapped(wrap) = keyroll::document_sealing(&document)? else {
            return Err(keyroll::Error::InvalidArgument(
                "this document is sealed by a passphrase or master key, not a key-management service: open it with Keyring.load(data, passphrase=… or master_key=…)",
            )
            .into());
        };
        let key = kek(
            &kms.call_method1("unwrap", (KeyWrap(wrap),))?,
            "kms.unwrap()",
        )?;
        let ring =
            py.detach(|| keyroll::Keyring::from_document(&document, Unlock::Unwrapped(&key)))?;
        Ok(Keyring::wrap(ring))
    }

    /// The sealed document under the key-encryption key `kms.wrap()` returns (the one the
    /// keyring was opened with, for `keyroll.kms.Boto3Kms`: no service call on save).
    #[pyo3(signature = (*, kms))]
    fn to_document<'py>(
        &self,
        py: Python<'py>,
        kms: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyBytes>> {
        let (key, wrap): (Bound<'py, PyAny>, Bound<'py, KeyWrap>) =
            kms.call_method0("wrap")?.extract()?;
        let key = kek(&key, "kms.wrap()[0]")?;
        let wrap = wrap.get().0.clone();
        let document = py.detach(|| {
            self.read().to_document(Protection::WrappedKey {
                key: &key,
                wrap: &wrap,
            })
        })?;
        Ok(PyBytes::new(py, &document))
    }
}

/// Adds `KeyWrap` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KeyWrap>()
}
