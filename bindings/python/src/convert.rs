//! Python values to the bytes, times and options core takes.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyByteArray, PyBytes, PyString};
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

/// Payloads at least this long are processed with the GIL released; below it, releasing and
/// retaking the GIL costs more than the work.
pub const DETACH_AT: usize = 16 * 1024;

/// How many items of a batch are processed per GIL release: bounds the memory held on the Rust
/// side to one chunk's results.
pub const CHUNK: usize = 1024;

/// `bytes` (borrowed, no copy), `bytearray` (copied) or `str` (UTF-8).
pub fn bytes_arg<'a>(obj: &'a Bound<'_, PyAny>, name: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(match s.to_cow()? {
            Cow::Borrowed(s) => Cow::Owned(s.as_bytes().to_vec()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        });
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be bytes, bytearray or str"
    )))
}

/// An optional context (`None` is the empty context).
pub fn context_arg<'a>(obj: Option<&'a Bound<'_, PyAny>>) -> PyResult<Cow<'a, [u8]>> {
    match obj {
        None => Ok(Cow::Borrowed(b"")),
        Some(o) if o.is_none() => Ok(Cow::Borrowed(b"")),
        Some(o) => bytes_arg(o, "context"),
    }
}

/// One item of a batch, usable without the GIL.
pub enum Item {
    /// `bytes` (shared with Python, no copy) or `bytearray` (copied).
    Bytes(PyBackedBytes),
    /// `str`, as UTF-8.
    Str(PyBackedStr),
}

impl AsRef<[u8]> for Item {
    fn as_ref(&self) -> &[u8] {
        match self {
            Item::Bytes(b) => b,
            Item::Str(s) => s.as_bytes(),
        }
    }
}

impl Item {
    /// Converts one element of a batch.
    pub fn extract(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Item::Str(PyBackedStr::try_from(s.clone())?));
        }
        obj.extract::<PyBackedBytes>()
            .map(Item::Bytes)
            .map_err(|_| PyTypeError::new_err(format!("{name} must hold bytes, bytearray or str")))
    }
}

/// Reads up to [`CHUNK`] items from `iter`.
pub fn next_chunk(iter: &Bound<'_, pyo3::types::PyIterator>, name: &str) -> PyResult<Vec<Item>> {
    let mut chunk = Vec::with_capacity(CHUNK);
    for obj in iter.clone() {
        chunk.push(Item::extract(&obj?, name)?);
        if chunk.len() == CHUNK {
            break;
        }
    }
    Ok(chunk)
}

/// `now` if given, else the system clock (the clock `time.time()` reads), in Unix seconds.
pub fn now_or_clock(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// Runs `f` with the GIL released when `len` is large enough to be worth it.
pub fn maybe_detach<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_AT {
        py.detach(f)
    } else {
        f()
    }
}
