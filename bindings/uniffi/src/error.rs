//! The one error of the bindings, and the one place `keyroll::Error` is converted.

/// Every failure of every call: one exception type (`KeyrollException` in Kotlin, `KeyrollError`
/// in Swift) whose `code` is the spec's stable code (`decrypt_failed`, `wrong_keyring`, …, the
/// same in every language; `errorCodes()` lists them) and whose `reason` is the core's message,
/// which never holds key material or plaintext.
///
/// One variant on purpose: callers catch one type and switch on `code`, exactly as in Python
/// and JavaScript; the set of codes grows without changing the type.
#[derive(Debug, PartialEq, Eq, uniffi::Error)]
pub enum KeyrollError {
    /// A keyroll operation failed.
    Failed {
        /// The stable, machine-readable code.
        code: String,
        /// The human-readable message (no secrets, no plaintext).
        reason: String,
    },
}

#[uniffi::export]
impl KeyrollError {
    /// The stable code, readable on the base type (`e.code()` in Kotlin and Swift).
    pub fn code(&self) -> String {
        match self {
            KeyrollError::Failed { code, .. } => code.clone(),
        }
    }
}

impl From<keyroll::Error> for KeyrollError {
    fn from(e: keyroll::Error) -> Self {
        KeyrollError::Failed {
            code: e.code().to_owned(),
            reason: e.to_string(),
        }
    }
}

impl core::fmt::Display for KeyrollError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeyrollError::Failed { code, reason } => write!(f, "{reason} ({code})"),
        }
    }
}

impl std::error::Error for KeyrollError {}

/// The result every fallible export returns; `?` on a core result converts through `From`.
pub(crate) type Result<T> = core::result::Result<T, KeyrollError>;
