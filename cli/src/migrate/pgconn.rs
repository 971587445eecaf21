//! PostgreSQL connections: the one parser the keyring store uses too
//! ([`keyroll_store::pgconn`]: `sslmode` with libpq's meanings over rustls, the password from
//! `PGPASSWORD` or the password file, and its tests against the CI server). Only the error is
//! the CLI's own: the same code, and `--db: ` before a mistake in the URL.

use crate::error::{CliError, Result};

/// Connects (see [`keyroll_store::pgconn::connect`]).
pub fn connect(url: &str) -> Result<postgres::Client> {
    keyroll_store::pgconn::connect(url).map_err(|e| {
        if e.is_input() {
            CliError::input(format!("--db: {}", e.message))
        } else {
            CliError::db(e.code, e.message)
        }
    })
}
