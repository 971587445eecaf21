//! `keyroll.BlindIndex`: equality search over encrypted columns (core's `BlindIndex`; spec
//! `docs/wire-format.md` §11). Each method is one call to core.

use crate::convert::bytes_arg;
use crate::error::Result;
use crate::keyring::Keyring;
use pyo3::prelude::*;

/// A blind index over one column: `compute(value)` for the row you write, `candidates(value)`
/// for `WHERE col IN (...)` (one per live key version, active first). A snapshot of the
/// keyring: make it again after a rotation. Values are `str` or `bytes`.
#[pyclass(module = "keyroll._native", frozen)]
pub struct BlindIndex {
    inner: keyroll::BlindIndex,
}

impl BlindIndex {
    /// The one constructor, shared by `BlindIndex(...)` and `Keyring.blind_index(...)`.
    pub(crate) fn create(ring: &Keyring, name: &str, normalizer: &str, bits: u32) -> Result<Self> {
        let normalizer = keyroll::Normalizer::parse(normalizer)?;
        Ok(BlindIndex {
            inner: ring.read().blind_index(name, normalizer, bits)?,
        })
    }
}

#[pymethods]
impl BlindIndex {
    /// `BlindIndex(keyring, name, *, bits, normalizer="exact")`: `bits` a multiple of 8 from 8
    /// to 256; `normalizer` one of `exact`, `trim`, `casefold`, `trim+casefold`, `digits`.
    #[new]
    #[pyo3(signature = (keyring, name, *, bits, normalizer="exact"))]
    fn new(keyring: &Keyring, name: &str, bits: u32, normalizer: &str) -> Result<Self> {
        Self::create(keyring, name, normalizer, bits)
    }

    /// The index under the active version (`bi1:v<n>:<hex>`), to store on insert/update.
    fn compute(&self, value: &Bound<'_, PyAny>) -> Result<String> {
        Ok(self.inner.compute(&bytes_arg(value, "value")?)?)
    }

    /// The index under every live version, active first: the list for `WHERE col IN (...)`.
    fn candidates(&self, value: &Bound<'_, PyAny>) -> Result<Vec<String>> {
        Ok(self.inner.candidates(&bytes_arg(value, "value")?)?)
    }

    /// The index name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The normaliser's canonical name.
    #[getter]
    fn normalizer(&self) -> &'static str {
        self.inner.normalizer().as_str()
    }

    /// The number of bits kept.
    #[getter]
    fn bits(&self) -> u32 {
        self.inner.bits()
    }

    /// The version `compute` writes (`None` for a decrypt-only export, which only looks up).
    #[getter]
    fn active_version(&self) -> Option<u32> {
        self.inner.active_version()
    }

    /// The versions `candidates` covers, in its order.
    #[getter]
    fn versions(&self) -> Vec<u32> {
        self.inner.versions()
    }

    fn __repr__(&self) -> String {
        format!(
            "BlindIndex(name={:?}, normalizer='{}', bits={}, versions={:?})",
            self.inner.name(),
            self.inner.normalizer(),
            self.inner.bits(),
            self.inner.versions()
        )
    }
}

/// Adds `BlindIndex` and `BLIND_INDEX_NORMALIZERS` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BlindIndex>()?;
    let names: Vec<&str> = keyroll::Normalizer::ALL
        .iter()
        .map(|n| n.as_str())
        .collect();
    m.add("BLIND_INDEX_NORMALIZERS", names)?;
    Ok(())
}
