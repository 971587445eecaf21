//! The one place where keyroll's errors become Python exceptions.
//!
//! The exception classes are plain Python classes in `keyroll/errors.py` (one base,
//! `KeyrollError`, with a `.code`); this module only picks the class for each stable code.

use pyo3::{import_exception, PyErr};

import_exception!(keyroll.errors, KeyrollError);
import_exception!(keyroll.errors, DecryptError);
import_exception!(keyroll.errors, ExpiredError);
import_exception!(keyroll.errors, KeyUnavailableError);
import_exception!(keyroll.errors, KeyringError);
import_exception!(keyroll.errors, StoreError);
import_exception!(keyroll.errors, PolicyError);
import_exception!(keyroll.errors, InvalidArgumentError);

/// Any error the binding reports: the core's, the keyring file store's, or one already raised
/// on the Python side (a bad argument type).
#[derive(Debug)]
pub enum Error {
    /// Already a Python exception.
    Py(PyErr),
    /// From `keyroll` (the core).
    Core(keyroll::Error),
    /// From `keyroll-store` (files, locks).
    Store(keyroll_store::Error),
    /// A `KEYROLL_*` / `ENCRYPTION_KEY*` variable that breaks the environment contract.
    Env(keyroll_store::env::EnvError),
}

impl From<keyroll_store::env::EnvError> for Error {
    fn from(e: keyroll_store::env::EnvError) -> Self {
        Error::Env(e)
    }
}

impl From<keyroll::Error> for Error {
    fn from(e: keyroll::Error) -> Self {
        Error::Core(e)
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error::Py(e)
    }
}

impl From<keyroll_store::Error> for Error {
    fn from(e: keyroll_store::Error) -> Self {
        Error::Store(e)
    }
}

/// Result of every binding method that can fail in core.
pub type Result<T> = core::result::Result<T, Error>;

impl From<Error> for PyErr {
    fn from(error: Error) -> PyErr {
        let (code, message) = match error {
            Error::Py(e) => return e,
            Error::Core(ref e) => (e.code(), e.to_string()),
            Error::Store(ref e) => (e.code(), e.to_string()),
            Error::Env(ref e) => (e.code(), e.to_string()),
        };
        let args = (message, code);
        match (&error, code) {
            (Error::Store(_), _) => StoreError::new_err(args),
            (
                _,
                "decrypt_failed" | "malformed" | "unsupported_format" | "signature_invalid"
                | "algorithm_mismatch" | "claim_invalid",
            ) => DecryptError::new_err(args),
            (_, "expired" | "missing_timestamp") => ExpiredError::new_err(args),
            (
                _,
                "unknown_key_version"
                | "wrong_keyring"
                | "key_disabled"
                | "key_compromised"
                | "key_destroyed"
                | "below_minimum_version",
            ) => KeyUnavailableError::new_err(args),
            (
                _,
                "bad_passphrase" | "keyring_corrupt" | "invalid_key" | "read_only"
                | "wrong_keyring_kind",
            ) => KeyringError::new_err(args),
            (_, "invalid_state_transition" | "no_active_key") => PolicyError::new_err(args),
            (_, "invalid_argument") => InvalidArgumentError::new_err(args),
            // rng_failure, and codes a newer core may add.
            _ => KeyrollError::new_err(args),
        }
    }
}
