//! `keyroll.Keyring`: one core keyring behind a read-write lock, shared safely by threads.

use crate::convert::{bytes_arg, context_arg, next_chunk, now_or_clock, Item, CHUNK};
use crate::error::{Error, Result};
use crate::ops;
use crate::types::{FernetKey, Policy, PolicyStatus, RewrapBatch, VersionInfo};
use keyroll::{Protection, RewrapOptions, Ttl, Unlock};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use zeroize::Zeroizing;

/// A keyring: versioned keys, rotation, and encryption under the active version.
///
/// Reads (`encrypt`, `decrypt`, `rewrap`, …) share a read lock and run in parallel (large
/// payloads and batches release the GIL); changes (`rotate`, …) take the write lock.
#[pyclass(module = "keyroll._native", frozen)]
pub struct Keyring {
    inner: RwLock<keyroll::Keyring>,
}

// The signatures below spell the default out (pyo3 shows literals, not paths, to Python).
const _: () = assert!(keyroll::DEFAULT_PBKDF2_ITERATIONS == 600_000);

/// The secret that seals or opens a keyring document (also `SigningKeyring`'s).
pub(crate) enum Secret {
    Passphrase(Zeroizing<Vec<u8>>),
    MasterKey(keyroll::SecretKey),
}

impl Secret {
    pub(crate) fn from_args(
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
    ) -> Result<Self> {
        match (passphrase, master_key) {
            (Some(p), None) => Ok(Secret::Passphrase(Zeroizing::new(
                bytes_arg(p, "passphrase")?.into_owned(),
            ))),
            (None, Some(k)) => Ok(Secret::MasterKey(keyroll::SecretKey::from_slice(
                &Zeroizing::new(bytes_arg(k, "master_key")?.into_owned()),
            )?)),
            _ => Err(PyTypeError::new_err("give exactly one of passphrase= or master_key=").into()),
        }
    }

    pub(crate) fn unlock(&self) -> Unlock<'_> {
        match self {
            Secret::Passphrase(p) => Unlock::Passphrase(p),
            Secret::MasterKey(k) => Unlock::MasterKey(k),
        }
    }

    pub(crate) fn protection(&self, iterations: u32) -> Protection<'_> {
        match self {
            Secret::Passphrase(p) => Protection::Passphrase {
                passphrase: p,
                iterations,
            },
            Secret::MasterKey(k) => Protection::MasterKey(k),
        }
    }
}

/// Writes a sealed document (either kind of keyring) to the store at `path`, as both
/// classes' `save` does: backups and audit records where the CLI keeps them
/// (KEYROLL_BACKUP_DIR, KEYROLL_AUDIT_LOG, through the one environment parser), and a version
/// this save destroys purged from every backup, as `keyroll state N destroy` does. Returns
/// the generation saved.
pub(crate) fn save_document(path: PathBuf, document: &[u8], secret: &Secret) -> Result<u64> {
    let store = keyroll_store::env::store(path, &keyroll_store::env::process)?;
    let (_, generation, _) = store.save_purging(document, secret.unlock(), now_or_clock(None))?;
    Ok(generation)
}

pub(crate) fn ttl_arg(ttl: Option<u64>, now: Option<u64>) -> Option<Ttl> {
    ttl.map(|seconds| Ttl {
        seconds,
        now: now_or_clock(now),
    })
}

fn fernet_keys(keys: &Bound<'_, PyAny>) -> Result<Vec<keyroll::FernetKey>> {
    let mut out = Vec::new();
    for key in keys.try_iter()? {
        let key = key?;
        if let Ok(k) = key.cast::<FernetKey>() {
            out.push(k.get().inner.clone());
        } else {
            out.push(keyroll::FernetKey::from_base64(&bytes_arg(&key, "keys")?)?);
        }
    }
    Ok(out)
}

/// The loop every `*_many` method shares: reads `items` in chunks of [`CHUNK`], runs `work` on
/// each chunk with the GIL released, and hands its results to `emit` with the GIL held. Chunks
/// bound the memory held on the Rust side to one chunk's results, and let other Python threads
/// run between chunks.
pub(crate) fn in_chunks<'py, R: Send>(
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    name: &str,
    work: impl Fn(&[Item]) -> R + Sync,
    mut emit: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let iter = items.try_iter()?;
    loop {
        let chunk = next_chunk(&iter, name)?;
        let results = py.detach(|| work(&chunk));
        emit(results)?;
        if chunk.len() < CHUNK {
            return Ok(());
        }
    }
}

/// Appends one item's outcome: its value, or (with `return_exceptions`) its exception in place;
/// without it the first failure raises.
pub(crate) fn push_outcome<'py, T>(
    out: &Bound<'py, PyList>,
    outcome: keyroll::Result<T>,
    return_exceptions: bool,
    to_py: impl FnOnce(T) -> Bound<'py, PyAny>,
) -> Result<()> {
    match outcome {
        Ok(value) => out.append(to_py(value))?,
        Err(e) if return_exceptions => {
            out.append(PyErr::from(Error::from(e)).into_value(out.py()))?
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

impl Keyring {
    pub(crate) fn wrap(ring: keyroll::Keyring) -> Self {
        Keyring {
            inner: RwLock::new(ring),
        }
    }

    /// The read lock. A panic cannot leave core's keyring half-changed (its changes validate
    /// first), so a poisoned lock is still usable.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, keyroll::Keyring> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, keyroll::Keyring> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl Keyring {
    /// A new keyring with a random id and version 1 active.
    #[staticmethod]
    #[pyo3(signature = (*, now=None))]
    fn generate(now: Option<u64>) -> Result<Self> {
        Ok(Self::wrap(keyroll::Keyring::generate(now_or_clock(now))?))
    }

    /// Opens a keyring document (as `dump` wrote it) with its passphrase or master key.
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
        let ring = py.detach(|| keyroll::Keyring::from_document(&data, secret.unlock()))?;
        Ok(Self::wrap(ring))
    }

    /// Reads and opens the keyring file at `path`.
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
            let document = Zeroizing::new(keyroll_store::Store::new(path).read()?);
            Ok(keyroll::Keyring::from_document(&document, secret.unlock())?)
        })?;
        Ok(Self::wrap(ring))
    }

    /// Loads and opens the keyring a store URL names (`file:PATH` or a path,
    /// `postgres://…#NAME`, `aws-sm://NAME`) with its passphrase or master key (default:
    /// `KEYROLL_MASTER_KEY` / `KEYROLL_PASSPHRASE`). `KeyringHandle.open` keeps one current.
    #[staticmethod]
    #[pyo3(signature = (url, *, passphrase=None, master_key=None))]
    fn open(
        py: Python<'_>,
        url: &str,
        passphrase: Option<&Bound<'_, PyAny>>,
        master_key: Option<&Bound<'_, PyAny>>,
    ) -> Result<Self> {
        Ok(Self::wrap(crate::handle::open_keyring(
            py, url, passphrase, master_key,
        )?))
    }

    /// A keyring made from a Fernet key list, primary first (as `MultiFernet` takes it).
    /// Every process given the same list reads what the others write.
    #[staticmethod]
    #[pyo3(signature = (keys, *, now=None))]
    fn from_fernet_keys(keys: &Bound<'_, PyAny>, now: Option<u64>) -> Result<Self> {
        let keys = fernet_keys(keys)?;
        Ok(Self::wrap(keyroll::Keyring::from_fernet_keys(
            &keys,
            now_or_clock(now),
        )?))
    }

    /// The generation a stored document says it is (0 before generations), read without a key.
    #[staticmethod]
    fn document_generation(document: &Bound<'_, PyAny>) -> Result<u64> {
        Ok(keyroll::Keyring::document_generation(&bytes_arg(
            document, "document",
        )?)?)
    }

    /// Whether `next` may replace the stored `current` (None: nothing stored): exactly one
    /// generation newer, else `keyring_conflict`. Returns `next`'s generation.
    #[staticmethod]
    fn check_successor(current: Option<&Bound<'_, PyAny>>, next: &Bound<'_, PyAny>) -> Result<u64> {
        let current = current.map(|c| bytes_arg(c, "current")).transpose()?;
        Ok(keyroll::Keyring::check_successor(
            current.as_deref(),
            &bytes_arg(next, "next")?,
        )?)
    }

    /// Refuses (`keyring_rollback`) a document older than `highest_seen`; returns its generation.
    #[staticmethod]
    fn check_not_rolled_back(document: &Bound<'_, PyAny>, highest_seen: u64) -> Result<u64> {
        Ok(keyroll::Keyring::check_not_rolled_back(
            &bytes_arg(document, "document")?,
            highest_seen,
        )?)
    }

    /// The keyring the environment describes (see `keyroll.Keyring.from_env` in the docs):
    /// `KEYROLL_KEYRING` (a file, opened with `KEYROLL_PASSPHRASE` or `KEYROLL_MASTER_KEY`),
    /// and/or Fernet keys in `ENCRYPTION_KEY` and `ENCRYPTION_KEY_PREVIOUS`.
    #[staticmethod]
    #[pyo3(signature = (*, now=None))]
    fn from_env(py: Python<'_>, now: Option<u64>) -> Result<Self> {
        Ok(Self::wrap(crate::env::from_env(py, now_or_clock(now))?))
    }

    /// The sealed keyring document (JSON bytes), under a passphrase or a 32-byte master key.
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

    /// Seals the keyring and writes it to `path`: under an exclusive lock, backing up the
    /// previous file (into `KEYROLL_BACKUP_DIR` if set, as the CLI does), atomically
    /// (temporary file, fsync, rename) and with mode 0600. A version destroyed since the
    /// stored document has its material purged from every backup (re-sealed without it, or
    /// deleted if a backup does not open with these credentials or fails its checksum).
    /// Refused with `keyring_conflict` (nothing written) if the file changed since this
    /// keyring was loaded or last saved: saving would undo that change.
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
            let generation = save_document(path, &document, &secret)?;
            self.write().mark_saved(generation);
            Ok(())
        })
    }

    /// Re-encrypts any token `decrypt` reads under the active version (text form), keeping its
    /// issue time. A token under a compromised version raises `KeyUnavailableError`
    /// (`key_compromised`) unless `allow_compromised=True`: whoever stole that key can forge
    /// such tokens, and a rewrap would launder them under the trusted key.
    #[pyo3(signature = (token, *, context=None, allow_compromised=false))]
    fn rewrap(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        allow_compromised: bool,
    ) -> Result<String> {
        ops::rewrap(self, py, token, context, allow_compromised)
    }

    /// `rewrap` to the binary form.
    #[pyo3(signature = (token, *, context=None, allow_compromised=false))]
    fn rewrap_binary<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        allow_compromised: bool,
    ) -> Result<Bound<'py, PyBytes>> {
        ops::rewrap_binary(self, py, token, context, allow_compromised)
    }

    /// Whether `rewrap` would change this token (reads the header only).
    fn needs_rewrap(&self, token: &Bound<'_, PyAny>) -> Result<bool> {
        let token = bytes_arg(token, "token")?;
        Ok(self.read().needs_rewrap(&token)?)
    }

    /// `encrypt_many` to the binary form.
    #[pyo3(signature = (items, *, context=None, now=None, timestamp=true))]
    fn encrypt_many_binary<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        now: Option<u64>,
        timestamp: bool,
    ) -> Result<Bound<'py, PyList>> {
        ops::encrypt_many_binary(self, py, items, context, now, timestamp)
    }

    /// Rewraps every token (text form), with the GIL released; failures as in `decrypt_many`.
    /// Compromised versions are refused (`key_compromised`) unless `allow_compromised=True`;
    /// then the result is a `RewrapBatch`: the tokens, and how many were read from each
    /// compromised version (unverified data, to count and audit).
    #[pyo3(signature = (tokens, *, context=None, return_exceptions=false, allow_compromised=false))]
    fn rewrap_many<'py>(
        &self,
        py: Python<'py>,
        tokens: &Bound<'py, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        return_exceptions: bool,
        allow_compromised: bool,
    ) -> Result<Bound<'py, PyAny>> {
        let context = context_arg(context)?;
        let options = RewrapOptions { allow_compromised };
        let out = PyList::empty(py);
        let mut compromised = std::collections::BTreeMap::<u32, u64>::new();
        in_chunks(
            py,
            tokens,
            "tokens",
            |chunk| self.read().rewrap_many_with(chunk, &context, options),
            |results| {
                for result in results {
                    if let Ok(r) = &result {
                        if r.from_compromised {
                            *compromised.entry(r.from_version).or_default() += 1;
                        }
                    }
                    push_outcome(&out, result, return_exceptions, |r| {
                        PyString::new(py, &r.token).into_any()
                    })?;
                }
                Ok(())
            },
        )?;
        if !allow_compromised {
            return Ok(out.into_any());
        }
        Ok(Bound::new(py, RewrapBatch::new(out.unbind(), compromised))?.into_any())
    }

    /// Adds a new random key as `pending` (decrypts, never encrypts); returns its version.
    #[pyo3(signature = (*, now=None))]
    fn add_version(&self, now: Option<u64>) -> Result<u32> {
        Ok(self.write().add_version(now_or_clock(now))?)
    }

    /// Makes a pending or decrypt-only version the active one.
    #[pyo3(signature = (version, *, now=None))]
    fn promote(&self, version: u32, now: Option<u64>) -> Result<()> {
        Ok(self.write().promote(version, now_or_clock(now))?)
    }

    /// Adds a version and makes it active; the old one becomes decrypt-only. Returns it.
    #[pyo3(signature = (*, now=None))]
    fn rotate(&self, now: Option<u64>) -> Result<u32> {
        Ok(self.write().rotate(now_or_clock(now))?)
    }

    /// Rotates and marks the old active version compromised (only `rewrap` reads it then).
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

    /// Refuses envelopes of versions below `minimum`.
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

    /// The keyring id (16 hex digits), written into every envelope.
    #[getter]
    fn id(&self) -> String {
        self.read().id().to_hex()
    }

    /// Every version, ascending.
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

    /// The active version, if any.
    #[getter]
    fn active_version(&self) -> Option<u32> {
        self.read().active_version()
    }

    /// Versions below this refuse to decrypt (0: none).
    #[getter]
    fn min_version(&self) -> u32 {
        self.read().min_version()
    }

    /// Whether this is a decrypt-only export.
    #[getter]
    fn read_only(&self) -> bool {
        self.read().is_read_only()
    }

    /// Derives a key for another purpose from the active version; returns
    /// `(version, key)`. The key changes when the keyring rotates.
    #[pyo3(signature = (purpose, length=32))]
    fn derive_key<'py>(
        &self,
        py: Python<'py>,
        purpose: &Bound<'_, PyAny>,
        length: usize,
    ) -> Result<(u32, Bound<'py, PyBytes>)> {
        let purpose = bytes_arg(purpose, "purpose")?;
        let (version, key) = self.read().derive_key(&purpose, length)?;
        Ok((version, PyBytes::new(py, &key)))
    }

    /// A blind index over this keyring (see `BlindIndex`): `bits` a multiple of 8 from 8 to
    /// 256, `normalizer` `exact`, `trim`, `casefold`, `trim+casefold` or `digits`.
    #[pyo3(signature = (name, *, bits, normalizer="exact"))]
    fn blind_index(
        &self,
        name: &str,
        bits: u32,
        normalizer: &str,
    ) -> Result<crate::blind_index::BlindIndex> {
        crate::blind_index::BlindIndex::create(self, name, normalizer, bits)
    }

    /// Imports Fernet keys (strings, bytes or `FernetKey`s) as decrypt-only versions; returns
    /// their versions in the given order.
    #[pyo3(signature = (keys, *, now=None))]
    fn import_fernet(&self, keys: &Bound<'_, PyAny>, now: Option<u64>) -> Result<Vec<u32>> {
        let keys = fernet_keys(keys)?;
        Ok(self.write().import_fernet(&keys, now_or_clock(now))?)
    }

    /// Imports a raw AES-256-GCM key of a home-made manager as a decrypt-only version: either
    /// the 32 key bytes, or `password`, `salt` (may contain `{version}`) and `iterations` of
    /// PBKDF2-HMAC-SHA256. `version_byte`: the byte its blobs start with, if any.
    #[pyo3(signature = (key=None, *, password=None, salt=None, iterations=None, version_byte=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn import_raw_gcm(
        &self,
        py: Python<'_>,
        key: Option<&Bound<'_, PyAny>>,
        password: Option<&Bound<'_, PyAny>>,
        salt: Option<String>,
        iterations: Option<u32>,
        version_byte: Option<u8>,
        now: Option<u64>,
    ) -> Result<u32> {
        let key = match (key, password, salt, iterations) {
            (Some(key), None, None, None) => {
                keyroll::RawGcmKey::Bytes(Zeroizing::new(bytes_arg(key, "key")?.into_owned()))
            }
            (None, Some(password), Some(salt_pattern), Some(iterations)) => {
                keyroll::RawGcmKey::Pbkdf2 {
                    password: Zeroizing::new(bytes_arg(password, "password")?.into_owned()),
                    salt_pattern,
                    iterations,
                }
            }
            _ => {
                return Err(PyTypeError::new_err(
                    "give either key=, or password=, salt= and iterations=",
                )
                .into())
            }
        };
        let import = keyroll::RawGcmImport { key, version_byte };
        let now = now_or_clock(now);
        Ok(py.detach(|| self.write().import_raw_gcm(&import, now))?)
    }

    /// A read-only copy that can decrypt exactly `versions` (required, non-empty; active or
    /// decrypt-only ones only, each exported as decrypt-only). Whoever holds it can also forge
    /// envelopes under those versions (docs/mobile.md).
    fn export_decrypt_only(&self, versions: Vec<u32>) -> Result<Self> {
        Ok(Self::wrap(self.read().export_decrypt_only(&versions)?))
    }

    fn __repr__(&self) -> String {
        let ring = self.read();
        let versions: Vec<String> = ring
            .versions()
            .iter()
            .map(|v| format!("{}:{}", v.version, v.state))
            .collect();
        format!(
            "Keyring(id='{}', active_version={}, versions=[{}])",
            ring.id().to_hex(),
            crate::types::py_opt(ring.active_version()),
            versions.join(", ")
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "a Keyring cannot be pickled; store ring.dump(passphrase=…) and Keyring.load it",
        ))
    }
}

crate::ops::shared_reads! {
    Keyring, |s| s;
    /// Encrypts to the text form `kr1:v<N>:…`. The token carries the issue time (`now`, or
    /// the clock) unless `timestamp=False`, so that `decrypt(..., ttl=…)` can check its age.
    encrypt;
    /// Encrypts to the binary form (for large payloads and binary columns).
    encrypt_binary;
    /// Decrypts a token of either form, or a legacy token under an imported key. With `ttl`
    /// (seconds), tokens older than that at `now` (default: the clock) raise `ExpiredError`.
    decrypt;
    /// Authenticates a token without returning its plaintext: which version opened it and
    /// when it was issued.
    verify;
    /// Encrypts every item (text form), with the GIL released; one issue time for the batch.
    encrypt_many;
    /// Decrypts every token, with the GIL released. The first failure raises, unless
    /// `return_exceptions=True`: then failed items hold their exception, in place.
    decrypt_many;
}
