//! The `BlindIndex` object: core's blind index, one method per call (spec
//! `docs/wire-format.md` §11). Values are bytes (`ByteArray`/`Data`), with `…Text` twins for
//! strings (UTF-8), the usual case for e-mail addresses and phone numbers.

use crate::error::Result;
use crate::keyring::Keyring;
use crate::Bytes;
use std::sync::Arc;

/// A blind index over one column: `compute` for the row written, `candidates` for
/// `WHERE col IN (…)` (one per live key version, active first). A snapshot of the keyring it
/// was made from: make it again after a rotation. Thread-safe; `toString()`/`description`
/// shows its name, normaliser, bits and versions, never key bytes.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct BlindIndex(keyroll::BlindIndex);

impl core::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.0, f)
    }
}

#[uniffi::export]
impl Keyring {
    /// A blind index named `name` over this keyring: `normalizer` one of `exact`, `trim`,
    /// `casefold`, `trim+casefold`, `digits`; `bits` a multiple of 8 from 8 to 256.
    pub fn blind_index(
        &self,
        name: String,
        normalizer: String,
        bits: u32,
    ) -> Result<Arc<BlindIndex>> {
        let normalizer = keyroll::Normalizer::parse(&normalizer)?;
        Ok(Arc::new(BlindIndex(
            self.read().blind_index(&name, normalizer, bits)?,
        )))
    }
}

#[uniffi::export]
impl BlindIndex {
    /// The index of `value` under the active version (`bi1:v<N>:<hex>`): what a write stores.
    pub fn compute(&self, value: Bytes) -> Result<String> {
        Ok(self.0.compute(&value)?)
    }

    /// `compute` of a string's UTF-8 bytes.
    pub fn compute_text(&self, value: String) -> Result<String> {
        Ok(self.0.compute(value.as_bytes())?)
    }

    /// The index of `value` under every live version, active first: what a lookup asks for.
    pub fn candidates(&self, value: Bytes) -> Result<Vec<String>> {
        Ok(self.0.candidates(&value)?)
    }

    /// `candidates` of a string's UTF-8 bytes.
    pub fn candidates_text(&self, value: String) -> Result<Vec<String>> {
        Ok(self.0.candidates(value.as_bytes())?)
    }

    /// The index name.
    pub fn name(&self) -> String {
        self.0.name().to_owned()
    }

    /// The normaliser's canonical name.
    pub fn normalizer(&self) -> String {
        self.0.normalizer().as_str().to_owned()
    }

    /// The number of bits kept.
    pub fn bits(&self) -> u32 {
        self.0.bits()
    }

    /// The version `compute` writes (none for a decrypt-only export, which only looks up).
    pub fn active_version(&self) -> Option<u32> {
        self.0.active_version()
    }

    /// The versions `candidates` covers, in its order.
    pub fn versions(&self) -> Vec<u32> {
        self.0.versions()
    }
}
