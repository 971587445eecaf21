//! The Fernet keys that other ORM libraries derive from their settings (sqlalchemy-utils,
//! django-fernet-fields, django-fernet-encrypted-fields), so `keyroll.sqlalchemy` and
//! `keyroll.django` can import them as legacy versions. The derivations are core's
//! (`keyroll::legacy::orm_keys`); each function here is one call to it.

use crate::convert::{bytes_arg, context_arg, maybe_detach};
use crate::error::Result;
use crate::keyring::Keyring;
use crate::types::FernetKey;
use pyo3::prelude::*;

/// The Fernet key sqlalchemy-utils' `FernetEngine` uses for `key` (SHA-256 of it).
#[pyfunction]
fn fernet_key_sqlalchemy_utils(key: &Bound<'_, PyAny>) -> Result<FernetKey> {
    let key = bytes_arg(key, "key")?;
    Ok(FernetKey {
        inner: keyroll::FernetKey::from_sqlalchemy_utils_key(&key),
    })
}

/// The Fernet key django-fernet-fields derives from a `FERNET_KEYS` entry or `SECRET_KEY`.
#[pyfunction]
fn fernet_key_django_fernet_fields(secret: &Bound<'_, PyAny>) -> Result<FernetKey> {
    let secret = bytes_arg(secret, "secret")?;
    Ok(FernetKey {
        inner: keyroll::FernetKey::from_django_fernet_fields_key(&secret),
    })
}

/// The Fernet key django-fernet-encrypted-fields derives from `SECRET_KEY` and a `SALT_KEY`.
#[pyfunction]
fn fernet_key_fernet_encrypted_fields(
    py: Python<'_>,
    secret: &Bound<'_, PyAny>,
    salt: &Bound<'_, PyAny>,
) -> Result<FernetKey> {
    let secret = bytes_arg(secret, "secret")?;
    let salt = bytes_arg(salt, "salt")?;
    let inner = py.detach(|| keyroll::FernetKey::from_fernet_encrypted_fields_key(&secret, &salt));
    Ok(FernetKey { inner })
}

/// Rewraps a token read under one context into the active version under another, the
/// plaintext staying in core: the ORM migration moves rows written by the old libraries
/// (Fernet tokens, which carry no context) to envelopes bound to `table:column`.
#[pyfunction]
#[pyo3(signature = (ring, token, *, from_context=None, to_context=None, binary=false))]
fn rewrap_to_context(
    py: Python<'_>,
    ring: &Keyring,
    token: &Bound<'_, PyAny>,
    from_context: Option<&Bound<'_, PyAny>>,
    to_context: Option<&Bound<'_, PyAny>>,
    binary: bool,
) -> Result<Py<PyAny>> {
    let token = bytes_arg(token, "token")?;
    let from = context_arg(from_context)?;
    let to = context_arg(to_context)?;
    let ring = ring.read();
    if binary {
        let out = maybe_detach(py, token.len(), || {
            ring.rewrap_binary_to_context(&token, &from, &to)
        })?;
        Ok(pyo3::types::PyBytes::new(py, &out).into_any().unbind())
    } else {
        let out = maybe_detach(py, token.len(), || {
            ring.rewrap_to_context(&token, &from, &to)
        })?;
        Ok(pyo3::types::PyString::new(py, &out).into_any().unbind())
    }
}

/// Adds the functions to `keyroll._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fernet_key_sqlalchemy_utils, m)?)?;
    m.add_function(wrap_pyfunction!(fernet_key_django_fernet_fields, m)?)?;
    m.add_function(wrap_pyfunction!(fernet_key_fernet_encrypted_fields, m)?)?;
    m.add_function(wrap_pyfunction!(rewrap_to_context, m)?)?;
    Ok(())
}
