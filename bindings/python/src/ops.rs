//! The read operations `Keyring` and `KeyringHandle` share (encrypt, decrypt, verify, rewrap
//! and their batches), written once over [`Ring`]: the two classes differ only in how they
//! reach a keyring. The six both expose with one signature are declared once
//! ([`shared_reads!`]); the rest are one-line calls into the functions here.

use crate::convert::{bytes_arg, context_arg, maybe_detach, now_or_clock, Item};
use crate::error::Result;
use crate::keyring::in_chunks;
use keyroll::{RewrapOptions, Rewrapped};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// How a binding class reaches its keyring: the one thing `Keyring` (a lock around one
/// keyring) and `KeyringHandle` (core's handle, which reloads on a version it lacks) do
/// differently.
pub(crate) trait Ring: Sync {
    /// Runs `op` on the keyring held now (encryption: nothing to retry).
    fn with_current<T>(&self, op: impl FnOnce(&keyroll::Keyring) -> T) -> T;

    /// Runs a read of an input of `len` bytes (GIL released for large inputs); a handle
    /// reloads once and retries on a version it lacks.
    fn read_op<T: Send>(
        &self,
        py: Python<'_>,
        len: usize,
        op: impl FnMut(&keyroll::Keyring) -> keyroll::Result<T> + Send,
    ) -> Result<T>;

    /// `Keyring::decrypt_many` on one chunk (a handle retries the unknown versions after one
    /// reload for the whole chunk).
    fn decrypt_chunk(
        &self,
        chunk: &[Item],
        context: &[u8],
        ttl: Option<keyroll::Ttl>,
    ) -> Vec<keyroll::Result<Vec<u8>>>;
}

impl Ring for crate::keyring::Keyring {
    fn with_current<T>(&self, op: impl FnOnce(&keyroll::Keyring) -> T) -> T {
        op(&self.read())
    }

    fn read_op<T: Send>(
        &self,
        py: Python<'_>,
        len: usize,
        mut op: impl FnMut(&keyroll::Keyring) -> keyroll::Result<T> + Send,
    ) -> Result<T> {
        Ok(maybe_detach(py, len, || op(&self.read()))?)
    }

    fn decrypt_chunk(
        &self,
        chunk: &[Item],
        context: &[u8],
        ttl: Option<keyroll::Ttl>,
    ) -> Vec<keyroll::Result<Vec<u8>>> {
        self.read().decrypt_many(chunk, context, ttl)
    }
}

impl Ring for keyroll::KeyringHandle {
    fn with_current<T>(&self, op: impl FnOnce(&keyroll::Keyring) -> T) -> T {
        op(&self.current())
    }

    fn read_op<T: Send>(
        &self,
        py: Python<'_>,
        len: usize,
        mut op: impl FnMut(&keyroll::Keyring) -> keyroll::Result<T> + Send,
    ) -> Result<T> {
        // The retry reads the store: always without the GIL.
        match maybe_detach(py, len, || {
            let first = op(&self.current());
            (first, op)
        }) {
            (Err(keyroll::Error::UnknownKeyVersion(_)), op) => Ok(py.detach(|| self.read(op))?),
            (first, _) => Ok(first?),
        }
    }

    fn decrypt_chunk(
        &self,
        chunk: &[Item],
        context: &[u8],
        ttl: Option<keyroll::Ttl>,
    ) -> Vec<keyroll::Result<Vec<u8>>> {
        keyroll::KeyringHandle::decrypt_many(self, chunk, context, ttl)
    }
}

/// The read methods `Keyring` and `KeyringHandle` both expose, declared once: a
/// `#[pymethods]` block for `$class` (pyo3's `multiple-pymethods`), reaching the keyring
/// through [`Ring`] on `$ring` (`self` bound to `$s`). Each class gives its own doc comments.
macro_rules! shared_reads {
    (
        $class:ty, |$s:ident| $ring:expr;
        $(#[$encrypt:meta])* encrypt;
        $(#[$encrypt_binary:meta])* encrypt_binary;
        $(#[$decrypt:meta])* decrypt;
        $(#[$verify:meta])* verify;
        $(#[$encrypt_many:meta])* encrypt_many;
        $(#[$decrypt_many:meta])* decrypt_many;
    ) => {
        #[pymethods]
        impl $class {
            $(#[$encrypt])*
            #[pyo3(signature = (data, *, context=None, now=None, timestamp=true))]
            fn encrypt(
                &self,
                py: Python<'_>,
                data: &Bound<'_, PyAny>,
                context: Option<&Bound<'_, PyAny>>,
                now: Option<u64>,
                timestamp: bool,
            ) -> $crate::error::Result<String> {
                use $crate::ops::Ring as _;
                let $s = self;
                let ring = $ring;
                let data = $crate::convert::bytes_arg(data, "data")?;
                let context = $crate::convert::context_arg(context)?;
                let issued_at = timestamp.then(|| $crate::convert::now_or_clock(now));
                Ok($crate::convert::maybe_detach(py, data.len(), || {
                    ring.with_current(|k| k.encrypt(&data, &context, issued_at))
                })?)
            }

            $(#[$encrypt_binary])*
            #[pyo3(signature = (data, *, context=None, now=None, timestamp=true))]
            fn encrypt_binary<'py>(
                &self,
                py: Python<'py>,
                data: &Bound<'_, PyAny>,
                context: Option<&Bound<'_, PyAny>>,
                now: Option<u64>,
                timestamp: bool,
            ) -> $crate::error::Result<Bound<'py, pyo3::types::PyBytes>> {
                use $crate::ops::Ring as _;
                let $s = self;
                let ring = $ring;
                let data = $crate::convert::bytes_arg(data, "data")?;
                let context = $crate::convert::context_arg(context)?;
                let issued_at = timestamp.then(|| $crate::convert::now_or_clock(now));
                // Sealed straight into the new `bytes` object: the plaintext is copied once.
                let len = keyroll::Keyring::sealed_len(data.len(), issued_at.is_some());
                Ok(pyo3::types::PyBytes::new_with(py, len, |out| {
                    $crate::convert::maybe_detach(py, len, || {
                        ring.with_current(|k| k.encrypt_binary_into(&data, &context, issued_at, out))
                    })
                    .map_err($crate::error::Error::from)?;
                    Ok(())
                })?)
            }

            $(#[$decrypt])*
            #[pyo3(signature = (token, *, context=None, ttl=None, now=None))]
            fn decrypt<'py>(
                &self,
                py: Python<'py>,
                token: &Bound<'_, PyAny>,
                context: Option<&Bound<'_, PyAny>>,
                ttl: Option<u64>,
                now: Option<u64>,
            ) -> $crate::error::Result<Bound<'py, pyo3::types::PyBytes>> {
                use $crate::ops::Ring as _;
                let $s = self;
                let ring = $ring;
                let token = $crate::convert::bytes_arg(token, "token")?;
                let context = $crate::convert::context_arg(context)?;
                let ttl = $crate::keyring::ttl_arg(ttl, now);
                // The plaintext is handed to Python as `bytes` (which nobody can wipe), so
                // wiping this transient copy would add a byte-by-byte pass (a third of the time
                // at 64 KiB) and protect nothing.
                let Some(len) = keyroll::Keyring::plaintext_len(&token) else {
                    // Legacy tokens: their length is known only once decrypted.
                    let plaintext =
                        ring.read_op(py, token.len(), |k| k.decrypt(&token, &context, ttl))?;
                    return Ok(pyo3::types::PyBytes::new(py, &plaintext));
                };
                // v1 envelopes open straight into the new `bytes` object (wiped if they fail).
                Ok(pyo3::types::PyBytes::new_with(py, len, |out| {
                    ring.read_op(py, token.len(), |k| k.decrypt_into(&token, &context, ttl, out))?;
                    Ok(())
                })?)
            }

            $(#[$verify])*
            #[pyo3(signature = (token, *, context=None, ttl=None, now=None))]
            fn verify(
                &self,
                py: Python<'_>,
                token: &Bound<'_, PyAny>,
                context: Option<&Bound<'_, PyAny>>,
                ttl: Option<u64>,
                now: Option<u64>,
            ) -> $crate::error::Result<$crate::types::Verified> {
                use $crate::ops::Ring as _;
                let $s = self;
                let ring = $ring;
                let token = $crate::convert::bytes_arg(token, "token")?;
                let context = $crate::convert::context_arg(context)?;
                let ttl = $crate::keyring::ttl_arg(ttl, now);
                Ok(ring
                    .read_op(py, token.len(), |k| k.verify(&token, &context, ttl))?
                    .into())
            }

            $(#[$encrypt_many])*
            #[pyo3(signature = (items, *, context=None, now=None, timestamp=true))]
            fn encrypt_many<'py>(
                &self,
                py: Python<'py>,
                items: &Bound<'py, PyAny>,
                context: Option<&Bound<'_, PyAny>>,
                now: Option<u64>,
                timestamp: bool,
            ) -> $crate::error::Result<Bound<'py, pyo3::types::PyList>> {
                let $s = self;
                $crate::ops::seal_many(
                    $ring,
                    py,
                    items,
                    context,
                    timestamp.then(|| $crate::convert::now_or_clock(now)),
                    |k, chunk, c, at| k.encrypt_many(chunk, c, at),
                    |t: &String| pyo3::types::PyString::new(py, t).into_any(),
                )
            }

            $(#[$decrypt_many])*
            #[pyo3(signature = (tokens, *, context=None, ttl=None, now=None, return_exceptions=false))]
            fn decrypt_many<'py>(
                &self,
                py: Python<'py>,
                tokens: &Bound<'py, PyAny>,
                context: Option<&Bound<'_, PyAny>>,
                ttl: Option<u64>,
                now: Option<u64>,
                return_exceptions: bool,
            ) -> $crate::error::Result<Bound<'py, pyo3::types::PyList>> {
                use $crate::ops::Ring as _;
                let $s = self;
                let ring = $ring;
                let context = $crate::convert::context_arg(context)?;
                let ttl = $crate::keyring::ttl_arg(ttl, now);
                let out = pyo3::types::PyList::empty(py);
                $crate::keyring::in_chunks(
                    py,
                    tokens,
                    "tokens",
                    |chunk| ring.decrypt_chunk(chunk, &context, ttl),
                    |results| {
                        for result in results {
                            $crate::keyring::push_outcome(&out, result, return_exceptions, |p| {
                                pyo3::types::PyBytes::new(py, &p).into_any()
                            })?;
                        }
                        Ok(())
                    },
                )?;
                Ok(out)
            }
        }
    };
}
pub(crate) use shared_reads;

/// Re-encrypts a token under the active version (text form); compromised versions refused
/// unless `allow_compromised`.
pub(crate) fn rewrap(
    ring: &impl Ring,
    py: Python<'_>,
    token: &Bound<'_, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
    allow_compromised: bool,
) -> Result<String> {
    rewrap_one(ring, py, token, context, allow_compromised, |k, t, c, o| {
        k.rewrap_to_context_with(t, c, c, o)
    })
}

/// [`rewrap`] to the binary form.
pub(crate) fn rewrap_binary<'py>(
    ring: &impl Ring,
    py: Python<'py>,
    token: &Bound<'_, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
    allow_compromised: bool,
) -> Result<Bound<'py, PyBytes>> {
    let out = rewrap_one(ring, py, token, context, allow_compromised, |k, t, c, o| {
        k.rewrap_binary_to_context_with(t, c, c, o)
    })?;
    Ok(PyBytes::new(py, &out))
}

/// The body of both rewraps: `op` rewraps the token under its own context.
fn rewrap_one<T: Send>(
    ring: &impl Ring,
    py: Python<'_>,
    token: &Bound<'_, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
    allow_compromised: bool,
    op: impl Fn(&keyroll::Keyring, &[u8], &[u8], RewrapOptions) -> keyroll::Result<Rewrapped<T>> + Sync,
) -> Result<T> {
    let (token, context) = (bytes_arg(token, "token")?, context_arg(context)?);
    let options = RewrapOptions { allow_compromised };
    Ok(ring
        .read_op(py, token.len(), |k| op(k, &token, &context, options))?
        .token)
}

/// `encrypt_many` to the binary form.
pub(crate) fn encrypt_many_binary<'py>(
    ring: &impl Ring,
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
    now: Option<u64>,
    timestamp: bool,
) -> Result<Bound<'py, PyList>> {
    let seal = |k: &keyroll::Keyring, chunk: &[Item], c: &[u8], at| {
        chunk
            .iter()
            .map(|item| k.encrypt_binary(item.as_ref(), c, at))
            .collect::<keyroll::Result<Vec<_>>>()
    };
    seal_many(
        ring,
        py,
        items,
        context,
        timestamp.then(|| now_or_clock(now)),
        seal,
        |t: &Vec<u8>| PyBytes::new(py, t).into_any(),
    )
}

/// The body of both `encrypt_many`s: `seal` encrypts one chunk with one keyring, `to_py`
/// hands each token to Python.
pub(crate) fn seal_many<'py, T: Send>(
    ring: &impl Ring,
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
    issued_at: Option<u64>,
    seal: impl Fn(&keyroll::Keyring, &[Item], &[u8], Option<u64>) -> keyroll::Result<Vec<T>> + Sync,
    to_py: impl Fn(&T) -> Bound<'py, PyAny>,
) -> Result<Bound<'py, PyList>> {
    let context = context_arg(context)?;
    let out = PyList::empty(py);
    in_chunks(
        py,
        items,
        "items",
        |chunk| ring.with_current(|k| seal(k, chunk, &context, issued_at)),
        |tokens| {
            for token in &tokens? {
                out.append(to_py(token))?;
            }
            Ok(())
        },
    )?;
    Ok(out)
}
