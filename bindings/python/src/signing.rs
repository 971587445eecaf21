//! `keyroll.SigningKeyring`: core's signing keyring (spec `docs/wire-format.md` §12) behind a
//! read-write lock. Each method converts its arguments and makes one call to core.

use crate::convert::{bytes_arg, context_arg, now_or_clock};
use crate::error::Result;
use crate::keyring::Secret;
use crate::types::{py_opt, Policy, PolicyStatus, VersionInfo};
use keyroll::signing::{JwtOptions, SigningAlgorithm};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Versioned signing keys (HMAC-SHA256 or Ed25519): signed messages `krs1:v<N>:…`, JWTs with
/// a `kid` per version, a public keyset for apps. Prints metadata only, never keys.
#[pyclass(module = "keyroll._native", frozen)]
pub struct SigningKeyring {
    inner: RwLock<keyroll::SigningKeyring>,
}

/// An authentic signed message: the message, the version that signed it and its algorithm.
#[pyclass(module = "keyroll._native", frozen, get_all)]
pub struct VerifiedMessage {
    message: Py<PyBytes>,
    key_version: u32,
    algorithm: &'static str,
}

/// An authentic JWT whose claims passed the checks: `claims` (a dict), the version, the
/// algorithm (`hmac_sha256` or `ed25519`).
#[pyclass(module = "keyroll._native", frozen, get_all)]
pub struct VerifiedJwt {
    claims: Py<PyAny>,
    key_version: u32,
    algorithm: &'static str,
}

fn algorithm_arg(name: &str) -> Result<SigningAlgorithm> {
    Ok(
        SigningAlgorithm::parse(name).ok_or(keyroll::Error::InvalidArgument(
            "algorithm must be 'hmac_sha256' or 'ed25519'",
        ))?,
    )
}

/// Claims as JSON text: a `str` as given, anything else through `json.dumps`.
fn claims_json(claims: &Bound<'_, PyAny>) -> Result<String> {
    if let Ok(s) = claims.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    let json = claims.py().import("json")?;
    Ok(json.call_method1("dumps", (claims,))?.extract()?)
}

impl SigningKeyring {
    fn wrap(ring: keyroll::SigningKeyring) -> Self {
        SigningKeyring {
            inner: RwLock::new(ring),
        }
    }

    /// The read lock; as for `Keyring`, a poisoned lock is still sound.
    fn read(&self) -> RwLockReadGuard<'_, keyroll::SigningKeyring> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, keyroll::SigningKeyring> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl SigningKeyring {
    /// A new keyring, version 1 of `algorithm` (`hmac_sha256` or `ed25519`) active.
    #[staticmethod]
    #[pyo3(signature = (algorithm="hmac_sha256", *, now=None))]
    fn generate(algorithm: &str, now: Option<u64>) -> Result<Self> {
        Ok(Self::wrap(keyroll::SigningKeyring::generate(
            algorithm_arg(algorithm)?,
            now_or_clock(now),
        )?))
    }

    /// A keyring from an old single secret (`SECRET_KEY`, ≥ 32 bytes, used as raw bytes):
    /// version 1, verifying the old system's JWTs; every process given it makes the same one.
    #[staticmethod]
    #[pyo3(signature = (secret, *, now=None))]
    fn from_hmac_secret(secret: &Bound<'_, PyAny>, now: Option<u64>) -> Result<Self> {
        let secret = zeroize::Zeroizing::new(bytes_arg(secret, "secret")?.into_owned());
        Ok(Self::wrap(keyroll::SigningKeyring::from_hmac_secret(
            &secret,
            now_or_clock(now),
        )?))
    }

    /// A verify-only keyring from a public keyset (`public_keyset()`'s JSON).
    #[staticmethod]
    fn from_public_keyset(keyset: &str) -> Result<Self> {
        Ok(Self::wrap(keyroll::SigningKeyring::from_public_keyset(
            keyset,
        )?))
    }

    /// Opens a signing keyring document with its passphrase or master key.
    #[staticmethod]
    #[pyo3(signature = (data, *, passphrase=None, master_key=None))]
    fn load(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
    ) -> Result<Self> {
        let secret = Secret::from_args(passphrase, master_key)?;
        let data = bytes_arg(data, "data")?;
        let ring = py.detach(|| keyroll::SigningKeyring::from_document(&data, secret.unlock()))?;
        Ok(Self::wrap(ring))
    }

    /// Reads and opens the signing keyring file at `path`.
    #[staticmethod]
    #[pyo3(signature = (path, *, passphrase=None, master_key=None))]
    fn load_file(
        py: Python<'_>,
        path: PathBuf,
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
    ) -> Result<Self> {
        let secret = Secret::from_args(passphrase, master_key)?;
        let ring = py.detach(|| -> Result<_> {
            let document = zeroize::Zeroizing::new(keyroll_store::Store::new(path).read()?);
            Ok(keyroll::SigningKeyring::from_document(
                &document,
                secret.unlock(),
            )?)
        })?;
        Ok(Self::wrap(ring))
    }

    /// The sealed document (JSON bytes), under a passphrase or a 32-byte master key.
    #[pyo3(signature = (*, passphrase=None, master_key=None, iterations=600_000))]
    fn dump<'py>(
        &self,
        py: Python<'py>,
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
        iterations: u32,
    ) -> Result<Bound<'py, PyBytes>> {
        let secret = Secret::from_args(passphrase, master_key)?;
        let document = py.detach(|| self.read().to_document(secret.protection(iterations)))?;
        Ok(PyBytes::new(py, &document))
    }

    /// Seals and writes the keyring to `path` as `Keyring.save` does (lock, backup, atomic
    /// write, mode 0600; `keyring_conflict` if the file changed since it was loaded; a
    /// version destroyed since the stored document is purged from every backup).
    #[pyo3(signature = (path, *, passphrase=None, master_key=None, iterations=600_000))]
    fn save(
        &self,
        py: Python<'_>,
        path: PathBuf,
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
        iterations: u32,
    ) -> Result<()> {
        let secret = Secret::from_args(passphrase, master_key)?;
        py.detach(|| -> Result<()> {
            let document = self.read().to_document(secret.protection(iterations))?;
            let generation = crate::keyring::save_document(path, &document, &secret)?;
            self.write().mark_saved(generation);
            Ok(())
        })
    }

    /// Signs `message` under the active version, bound to `context`: `krs1:v<N>:…`.
    #[pyo3(signature = (message, *, context=None))]
    fn sign(
        &self,
        message: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> Result<String> {
        Ok(self
            .read()
            .sign(&bytes_arg(message, "message")?, &context_arg(context)?)?)
    }

    /// `sign` in binary form (header ‖ message ‖ signature).
    #[pyo3(signature = (message, *, context=None))]
    fn sign_binary<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> Result<Bound<'py, PyBytes>> {
        let signed = self
            .read()
            .sign_binary(&bytes_arg(message, "message")?, &context_arg(context)?)?;
        Ok(PyBytes::new(py, &signed))
    }

    /// Verifies a signed message (either form) made for `context`; returns the message.
    #[pyo3(signature = (signed, *, context=None))]
    fn verify(
        &self,
        py: Python<'_>,
        signed: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> Result<VerifiedMessage> {
        let v = self
            .read()
            .verify(&bytes_arg(signed, "signed")?, &context_arg(context)?)?;
        Ok(VerifiedMessage {
            message: PyBytes::new(py, &v.message).unbind(),
            key_version: v.key_version,
            algorithm: v.algorithm.as_str(),
        })
    }

    /// A JWT (HS256 or EdDSA per the active version, `kid` naming it) of `claims` (a dict or
    /// JSON text); `iat` is set to `now` (default: the clock) if absent.
    #[pyo3(signature = (claims, *, now=None))]
    fn sign_jwt(&self, claims: &Bound<'_, PyAny>, now: Option<u64>) -> Result<String> {
        Ok(self
            .read()
            .sign_jwt(&claims_json(claims)?, now_or_clock(now))?)
    }

    /// Verifies a JWT at `now` (default: the clock): signature by the version its `kid` names
    /// (or, without `kid`, an imported secret), `alg` matching it, `exp`/`nbf`/`iat` with
    /// `leeway` seconds, `audience`, `issuer`, and the `required` claims.
    #[pyo3(signature = (token, *, leeway=0, audience=None, issuer=None, required=Vec::new(), now=None))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments, one each.
    fn verify_jwt(
        &self,
        py: Python<'_>,
        token: &str,
        leeway: u64,
        audience: Option<String>,
        issuer: Option<String>,
        required: Vec<String>,
        now: Option<u64>,
    ) -> Result<VerifiedJwt> {
        let options = JwtOptions {
            leeway,
            audience,
            issuer,
            required,
        };
        let v = self.read().verify_jwt(token, &options, now_or_clock(now))?;
        let claims = py.import("json")?.call_method1("loads", (v.claims,))?;
        Ok(VerifiedJwt {
            claims: claims.unbind(),
            key_version: v.key_version,
            algorithm: v.algorithm.as_str(),
        })
    }

    /// The `kid` JWTs of `version` carry: `"<keyring id>:v<version>"`.
    fn kid(&self, version: u32) -> String {
        keyroll::signing::kid(self.read().id(), version)
    }

    /// The public keyset (JSON): Ed25519 public keys and states only, safe to ship in apps.
    fn public_keyset(&self) -> Result<String> {
        Ok(self.read().public_keyset()?)
    }

    /// The JWKS (JSON) of the Ed25519 versions that verify, for jose, PyJWT and others.
    fn jwks(&self) -> Result<String> {
        Ok(self.read().jwks()?)
    }

    /// Adds a new random key of `algorithm` as `pending` (verifies, never signs); returns it.
    #[pyo3(signature = (algorithm, *, now=None))]
    fn add_version(&self, algorithm: &str, now: Option<u64>) -> Result<u32> {
        Ok(self
            .write()
            .add_version(algorithm_arg(algorithm)?, now_or_clock(now))?)
    }

    /// Imports an old secret (≥ 32 bytes) as a decrypt-only legacy version; returns it.
    #[pyo3(signature = (secret, *, now=None))]
    fn import_hmac_secret(&self, secret: &Bound<'_, PyAny>, now: Option<u64>) -> Result<u32> {
        let secret = zeroize::Zeroizing::new(bytes_arg(secret, "secret")?.into_owned());
        Ok(self
            .write()
            .import_hmac_secret(&secret, now_or_clock(now))?)
    }

    /// Makes a pending or decrypt-only version the one that signs.
    #[pyo3(signature = (version, *, now=None))]
    fn promote(&self, version: u32, now: Option<u64>) -> Result<()> {
        Ok(self.write().promote(version, now_or_clock(now))?)
    }

    /// A new version of the active one's algorithm, active at once; returns it.
    #[pyo3(signature = (*, now=None))]
    fn rotate(&self, now: Option<u64>) -> Result<u32> {
        Ok(self.write().rotate(now_or_clock(now))?)
    }

    /// A new version of `algorithm`, active at once; returns it.
    #[pyo3(signature = (algorithm, *, now=None))]
    fn rotate_to(&self, algorithm: &str, now: Option<u64>) -> Result<u32> {
        Ok(self
            .write()
            .rotate_to(algorithm_arg(algorithm)?, now_or_clock(now))?)
    }

    /// Rotates and marks the old active version compromised (nothing it signed verifies).
    #[pyo3(signature = (reason, *, now=None))]
    fn emergency_rotate(&self, reason: &str, now: Option<u64>) -> Result<u32> {
        Ok(self.write().emergency_rotate(reason, now_or_clock(now))?)
    }

    /// Moves a version to `state`: `decrypt_only`, `disabled`, `compromised` or `destroyed`.
    #[pyo3(signature = (version, state, *, note=None, now=None))]
    fn set_state(
        &self,
        version: u32,
        state: &str,
        note: Option<&str>,
        now: Option<u64>,
    ) -> Result<()> {
        let state = keyroll::KeyState::parse(state)
            .ok_or(keyroll::Error::InvalidArgument("unknown key state"))?;
        Ok(self
            .write()
            .set_state(version, state, note, now_or_clock(now))?)
    }

    /// Refuses tokens of versions below `minimum`.
    fn set_min_version(&self, minimum: u32) -> Result<()> {
        Ok(self.write().set_min_version(minimum)?)
    }

    /// Replaces the rotation policy.
    #[pyo3(signature = (*, rotate_after_days, warn_after_days))]
    fn set_policy(&self, rotate_after_days: u32, warn_after_days: u32) -> Result<()> {
        Ok(self.write().set_policy(keyroll::Policy {
            rotate_after_days,
            warn_after_days,
        })?)
    }

    /// The rotation policy.
    #[getter]
    fn policy(&self) -> Policy {
        self.read().policy().into()
    }

    /// Judges the active key's age against the policy at `now` (default: the clock).
    #[pyo3(signature = (now=None))]
    fn check_policy(&self, now: Option<u64>) -> PolicyStatus {
        self.read().check_policy(now_or_clock(now)).into()
    }

    /// The keyring id (16 hex digits), in every signed message and `kid`.
    #[getter]
    fn id(&self) -> String {
        self.read().id().to_hex()
    }

    /// Every version, ascending (`kind`: `hmac_sha256`, `hmac_sha256_legacy`, `ed25519`).
    #[getter]
    fn versions(&self) -> Vec<VersionInfo> {
        self.read()
            .versions()
            .iter()
            .map(VersionInfo::from)
            .collect()
    }

    /// One version's metadata, or `None`.
    fn version(&self, version: u32) -> Option<VersionInfo> {
        self.read().version(version).map(VersionInfo::from)
    }

    /// The active version (the one that signs), if any.
    #[getter]
    fn active_version(&self) -> Option<u32> {
        self.read().active_version()
    }

    /// Versions below this refuse to verify (0: none).
    #[getter]
    fn min_version(&self) -> u32 {
        self.read().min_version()
    }

    /// Whether this keyring came from a public keyset (verifies only).
    #[getter]
    fn verify_only(&self) -> bool {
        self.read().is_verify_only()
    }

    /// The generation of the stored document it was loaded from or saved as (0: never).
    #[getter]
    fn generation(&self) -> u64 {
        self.read().generation()
    }

    fn __repr__(&self) -> String {
        let ring = self.read();
        let versions: Vec<String> = ring
            .versions()
            .iter()
            .map(|v| format!("{}:{}:{}", v.version, v.kind.as_str(), v.state))
            .collect();
        format!(
            "SigningKeyring(id='{}', active_version={}, versions=[{}])",
            ring.id().to_hex(),
            py_opt(ring.active_version()),
            versions.join(", ")
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "a SigningKeyring cannot be pickled; store ring.dump(passphrase=…) and load it",
        ))
    }
}

#[pymethods]
impl VerifiedMessage {
    fn __repr__(&self) -> String {
        format!(
            "VerifiedMessage(key_version={}, algorithm='{}')",
            self.key_version, self.algorithm
        )
    }
}

#[pymethods]
impl VerifiedJwt {
    fn __repr__(&self) -> String {
        format!(
            "VerifiedJwt(key_version={}, algorithm='{}')",
            self.key_version, self.algorithm
        )
    }
}

/// Adds the signing classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SigningKeyring>()?;
    m.add_class::<VerifiedMessage>()?;
    m.add_class::<VerifiedJwt>()?;
    m.add("SIGNING_BACKEND", keyroll::signing::BACKEND)?;
    Ok(())
}
