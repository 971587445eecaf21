//! Read-only result objects: what core returns, as typed Python objects.

use crate::error::Result;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyList};
use std::collections::BTreeMap;

/// `None` or the value, as Python prints it.
pub(crate) fn py_opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

/// One key version's metadata (never its key). Times are Unix seconds.
#[pyclass(module = "keyroll._native", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct VersionInfo {
    version: u32,
    kind: String,
    state: String,
    created_at: u64,
    activated_at: Option<u64>,
    retired_at: Option<u64>,
    compromised_at: Option<u64>,
    destroyed_at: Option<u64>,
    note: Option<String>,
    legacy_version_byte: Option<u8>,
}

impl From<&keyroll::VersionInfo> for VersionInfo {
    fn from(v: &keyroll::VersionInfo) -> Self {
        VersionInfo {
            version: v.version,
            kind: v.kind.as_str().to_owned(),
            state: v.state.as_str().to_owned(),
            created_at: v.created_at,
            activated_at: v.activated_at,
            retired_at: v.retired_at,
            compromised_at: v.compromised_at,
            destroyed_at: v.destroyed_at,
            note: v.note.clone(),
            legacy_version_byte: v.legacy_version_byte,
        }
    }
}

#[pymethods]
impl VersionInfo {
    fn __repr__(&self) -> String {
        format!(
            "VersionInfo(version={}, kind='{}', state='{}', created_at={})",
            self.version, self.kind, self.state, self.created_at
        )
    }
}

/// The rotation policy: warn after `warn_after_days`, rotate after `rotate_after_days`.
#[pyclass(module = "keyroll._native", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct Policy {
    rotate_after_days: u32,
    warn_after_days: u32,
}

impl From<keyroll::Policy> for Policy {
    fn from(p: keyroll::Policy) -> Self {
        Policy {
            rotate_after_days: p.rotate_after_days,
            warn_after_days: p.warn_after_days,
        }
    }
}

#[pymethods]
impl Policy {
    fn __repr__(&self) -> String {
        format!(
            "Policy(rotate_after_days={}, warn_after_days={})",
            self.rotate_after_days, self.warn_after_days
        )
    }
}

/// The verdict of `Keyring.check_policy`: `state` is `ok`, `warn`, `due` or `no_active_key`.
#[pyclass(module = "keyroll._native", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct PolicyStatus {
    state: String,
    active_version: Option<u32>,
    age_seconds: u64,
    warn_at: Option<u64>,
    due_at: Option<u64>,
}

impl From<keyroll::PolicyStatus> for PolicyStatus {
    fn from(s: keyroll::PolicyStatus) -> Self {
        PolicyStatus {
            state: s.state.as_str().to_owned(),
            active_version: s.active_version,
            age_seconds: s.age_seconds,
            warn_at: s.warn_at,
            due_at: s.due_at,
        }
    }
}

#[pymethods]
impl PolicyStatus {
    fn __repr__(&self) -> String {
        format!(
            "PolicyStatus(state='{}', active_version={}, age_seconds={})",
            self.state,
            py_opt(self.active_version),
            self.age_seconds
        )
    }
}

/// What `keyroll.inspect` learns from a token without a key (nothing here is authenticated).
#[pyclass(module = "keyroll._native", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct TokenInfo {
    format: String,
    algorithm: String,
    keyring_id: Option<String>,
    key_version: Option<u32>,
    issued_at: Option<u64>,
    token_len: usize,
    binary_len: usize,
    header_len: usize,
    ciphertext_len: usize,
    plaintext_len: Option<usize>,
}

impl From<keyroll::TokenInfo> for TokenInfo {
    fn from(t: keyroll::TokenInfo) -> Self {
        TokenInfo {
            format: t.format.as_str().to_owned(),
            algorithm: t.algorithm.to_owned(),
            keyring_id: t.keyring_id,
            key_version: t.key_version,
            issued_at: t.issued_at,
            token_len: t.token_len,
            binary_len: t.binary_len,
            header_len: t.header_len,
            ciphertext_len: t.ciphertext_len,
            plaintext_len: t.plaintext_len,
        }
    }
}

#[pymethods]
impl TokenInfo {
    fn __repr__(&self) -> String {
        format!(
            "TokenInfo(format='{}', key_version={}, issued_at={}, plaintext_len={})",
            self.format,
            py_opt(self.key_version),
            py_opt(self.issued_at),
            py_opt(self.plaintext_len)
        )
    }
}

/// What `Keyring.verify` learns from an authentic token.
#[pyclass(module = "keyroll._native", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct Verified {
    key_version: u32,
    issued_at: Option<u64>,
}

impl From<keyroll::Verified> for Verified {
    fn from(v: keyroll::Verified) -> Self {
        Verified {
            key_version: v.key_version,
            issued_at: v.issued_at,
        }
    }
}

#[pymethods]
impl Verified {
    fn __repr__(&self) -> String {
        format!(
            "Verified(key_version={}, issued_at={})",
            self.key_version,
            py_opt(self.issued_at)
        )
    }
}

/// What `Keyring.rewrap_many(..., allow_compromised=True)` returns: the new tokens in order
/// (a sequence: `len`, indexing, iteration), and per source version how many were read from a
/// compromised version. Such data is unverified (whoever stole the key could have forged it);
/// the counts are for the caller's audit trail.
#[pyclass(module = "keyroll._native", frozen, sequence)]
pub struct RewrapBatch {
    tokens: Py<PyList>,
    compromised: BTreeMap<u32, u64>,
}

impl RewrapBatch {
    pub(crate) fn new(tokens: Py<PyList>, compromised: BTreeMap<u32, u64>) -> Self {
        RewrapBatch {
            tokens,
            compromised,
        }
    }
}

#[pymethods]
impl RewrapBatch {
    /// The new tokens (or, with `return_exceptions=True`, exceptions in place), as a new list.
    #[getter]
    fn tokens<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.tokens.bind(py).iter())
    }

    /// `{source version: tokens read from it while compromised}`.
    #[getter]
    fn compromised(&self) -> BTreeMap<u32, u64> {
        self.compromised.clone()
    }

    /// How many tokens in all were read from compromised versions.
    #[getter]
    fn compromised_total(&self) -> u64 {
        self.compromised.values().sum()
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.tokens.bind(py).len()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyAny>> {
        let list = self.tokens.bind(py);
        let len = list.len() as isize;
        let i = if index < 0 { index + len } else { index };
        if i < 0 || i >= len {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "RewrapBatch index out of range",
            ));
        }
        list.get_item(i as usize)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.tokens.bind(py).try_iter()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let counts: Vec<String> = self
            .compromised
            .iter()
            .map(|(v, n)| format!("{v}: {n}"))
            .collect();
        format!(
            "RewrapBatch(len={}, compromised={{{}}})",
            self.tokens.bind(py).len(),
            counts.join(", ")
        )
    }
}

/// A Fernet key, opaque: its bytes leave only through `to_base64()`.
#[pyclass(module = "keyroll._native", frozen)]
pub struct FernetKey {
    pub(crate) inner: keyroll::FernetKey,
}

#[pymethods]
impl FernetKey {
    /// Parses a key as Fernet writes it (44 characters of padded base64url).
    #[new]
    fn new(key: &Bound<'_, PyAny>) -> Result<Self> {
        let text = crate::convert::bytes_arg(key, "key")?;
        Self::from_core(keyroll::FernetKey::from_base64(&text))
    }

    /// Wraps 32 raw key bytes (16 signing, 16 encryption), as `base64.urlsafe_b64decode` gives.
    #[staticmethod]
    fn from_bytes(raw: &[u8]) -> Result<Self> {
        let secret = keyroll::SecretKey::from_slice(raw)?;
        Ok(FernetKey {
            inner: keyroll::FernetKey::from_secret(secret),
        })
    }

    /// A fresh random key.
    #[staticmethod]
    fn generate() -> Result<Self> {
        Self::from_core(keyroll::FernetKey::generate())
    }

    /// The key as Fernet writes it (padded base64url), as `bytes`.
    fn to_base64<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.to_base64().as_bytes())
    }

    /// The key version keyroll gives this key in every process.
    #[getter]
    fn keyroll_version(&self) -> u32 {
        self.inner.keyroll_version()
    }

    fn __repr__(&self) -> String {
        format!(
            "FernetKey(keyroll_version={})",
            self.inner.keyroll_version()
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "a FernetKey cannot be pickled (it would write the key in clear)",
        ))
    }
}

impl FernetKey {
    fn from_core(key: keyroll::Result<keyroll::FernetKey>) -> Result<Self> {
        Ok(FernetKey { inner: key? })
    }
}
