//! The native module of the `keyroll` Python package (`keyroll._native`).
//!
//! A thin layer: each method converts Python values, calls the one core function that does the
//! work, and converts the result back. Errors become Python exceptions in one place
//! (`error.rs`). The package around it, with the stubs and `keyroll.compat`, is in `python/`.

mod blind_index;
mod convert;
mod env;
mod error;
mod handle;
mod keyring;
mod kms;
mod legacy_keys;
mod ops;
mod signing;
mod types;

use pyo3::prelude::*;

/// Describes a token without any key (format, key version, issue time, lengths).
#[pyfunction]
fn inspect(token: &Bound<'_, PyAny>) -> error::Result<types::TokenInfo> {
    let token = convert::bytes_arg(token, "token")?;
    Ok(keyroll::inspect(&token)?.into())
}

/// The `keyroll._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<keyring::Keyring>()?;
    m.add_class::<handle::KeyringHandle>()?;
    m.add_class::<types::FernetKey>()?;
    m.add_class::<types::VersionInfo>()?;
    m.add_class::<types::Policy>()?;
    m.add_class::<types::PolicyStatus>()?;
    m.add_class::<types::TokenInfo>()?;
    m.add_class::<types::Verified>()?;
    m.add_class::<types::RewrapBatch>()?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    blind_index::register(m)?;
    legacy_keys::register(m)?;
    kms::register(m)?;
    signing::register(m)?;
    m.add(
        "DEFAULT_PBKDF2_ITERATIONS",
        keyroll::DEFAULT_PBKDF2_ITERATIONS,
    )?;
    m.add("ERROR_CODES", keyroll::Error::CODES.to_vec())?;
    m.add("AEAD_BACKEND", keyroll::aead::BACKEND)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
