//! Blind indexes: equality search over encrypted columns that survives key rotation.
//!
//! An encrypted column cannot be searched (every envelope has a fresh nonce), so a row also
//! stores `HMAC-SHA256(index key, normalise(value))`, truncated, in a second column: the same
//! value always gives the same index, and a lookup is `WHERE col_bi IN (candidates)`. The index
//! key is derived per index *and per key version* (HKDF-SHA256, label with the index name), and
//! the text form names the version (`bi1:v3:9f0c…`), so after a rotation new rows are written
//! under the new version while a lookup asks for every version still live; rows are rewritten
//! at leisure (the CLI's `migrate`, the ORM backfills) and no match is lost on the way.
//! Spec: `docs/wire-format.md` §11; sizing and leakage: `docs/blind-index.md`.
//!
//! ```
//! use keyroll::{Keyring, Normalizer};
//! let mut ring = Keyring::generate(1_700_000_000)?;
//! let email = ring.blind_index("users.email", Normalizer::TrimCaseFold, 64)?;
//! let stored = email.compute(b"Alice@Example.com ")?;
//! assert!(stored.starts_with("bi1:v1:"));
//! ring.rotate(1_700_000_100)?;
//! // An index is a snapshot of the keyring: make it again after a change.
//! let email = ring.blind_index("users.email", Normalizer::TrimCaseFold, 64)?;
//! let lookup = email.candidates(b"alice@example.com")?; // v2 first, then v1
//! assert_eq!(lookup.len(), 2);
//! assert!(lookup.contains(&stored));
//! assert!(email.compute(b"alice@example.com")?.starts_with("bi1:v2:"));
//! # Ok::<(), keyroll::Error>(())
//! ```

mod normalize;

#[cfg(not(any(target_arch = "wasm32", feature = "rustcrypto")))]
#[path = "mac_awslc.rs"]
mod mac;
#[cfg(any(target_arch = "wasm32", feature = "rustcrypto"))]
#[path = "mac_rustcrypto.rs"]
mod mac;

pub use normalize::Normalizer;

use crate::version::KeyState;
use crate::{Error, Keyring, Result};
use std::borrow::Cow;
use zeroize::Zeroize;

/// The HMAC backend in use, for reports and tests.
pub const BACKEND: &str = mac::NAME;
/// What every blind index in text form starts with (format 1).
pub const TEXT_PREFIX: &str = "bi1:";
/// The fewest bits an index may keep.
pub const MIN_BITS: u32 = 8;
/// The most bits an index may keep (the whole HMAC-SHA256 tag).
pub const MAX_BITS: u32 = 256;
/// The longest index name, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// The first part of every index key's HKDF info (§11.1).
const LABEL: &[u8] = b"keyroll/v1 blind index\0";

/// One version's index key.
struct VersionKey {
    version: u32,
    mac: mac::Mac,
}

/// A blind index over one column: `compute` for writes, `candidates` for lookups.
///
/// It is a snapshot of the keyring it was made from (its live versions and which one is
/// active): after a rotation, promotion or state change, make it again with
/// [`Keyring::blind_index`]. Holding an older one is safe — its `compute` still writes a
/// version the new keyring's `candidates` include, as long as that version stays live — but
/// it goes on writing the old version. `Send + Sync`: one index serves many threads.
pub struct BlindIndex {
    name: String,
    normalizer: Normalizer,
    bits: u32,
    active: Option<u32>,
    /// The active version first, then the others, newest first.
    keys: Vec<VersionKey>,
}

impl Keyring {
    /// A blind index named `name` (e.g. `users.email`; 1 to 255 bytes) keeping `bits` bits of
    /// the MAC (a multiple of 8 from 8 to 256: see `docs/blind-index.md` for choosing).
    ///
    /// It has one key per *live* version: `pending` (another process may already write under
    /// it in a two-phase rotation), `active`, `decrypt_only`, and `compromised` — rows written
    /// under a compromised version must stay findable until they are rewritten, and whoever
    /// holds that key can compute its indexes anyway; disable or destroy the version once the
    /// backfill is done. `disabled`, `destroyed`, versions below the minimum and imported raw
    /// AES-GCM keys (never active, so no index was ever written under them) have none.
    ///
    /// A decrypt-only export makes an index too: it has no active version, so `compute`
    /// refuses ([`Error::NoActiveKey`]) as `encrypt` does, while `candidates` serves lookups.
    ///
    /// Errors: [`Error::InvalidArgument`] for a bad name or bit count, [`Error::NoActiveKey`]
    /// when no version is live.
    pub fn blind_index(&self, name: &str, normalizer: Normalizer, bits: u32) -> Result<BlindIndex> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(Error::InvalidArgument(
                "a blind index name must be 1 to 255 bytes",
            ));
        }
        if !(MIN_BITS..=MAX_BITS).contains(&bits) || bits % 8 != 0 {
            return Err(Error::InvalidArgument(
                "blind index bits must be a multiple of 8 from 8 to 256",
            ));
        }
        let bits_be = (bits as u16).to_be_bytes();
        let info: [&[u8]; 5] = [
            LABEL,
            normalizer.as_str().as_bytes(),
            b"\0",
            &bits_be,
            name.as_bytes(),
        ];
        let mut live: Vec<u32> = self
            .slots
            .iter()
            .filter(|(&v, slot)| {
                let state_live = matches!(
                    slot.info.state,
                    KeyState::Pending
                        | KeyState::Active
                        | KeyState::DecryptOnly
                        | KeyState::Compromised
                );
                state_live
                    && slot.info.kind.can_encrypt()
                    && slot.material.is_some()
                    && v >= self.min_version
            })
            .map(|(&v, _)| v)
            .collect();
        // Active first, then newest first: the likeliest match leads the IN list.
        live.sort_by_key(|&v| (Some(v) != self.active, core::cmp::Reverse(v)));
        let keys = live
            .into_iter()
            .filter_map(|version| {
                let material = self.slots.get(&version)?.material.as_ref()?;
                let key = crate::kdf::hkdf_key(material.secret.expose(), &self.id.0, &info);
                Some(VersionKey {
                    version,
                    mac: mac::Mac::new(&key),
                })
            })
            .collect::<Vec<_>>();
        if keys.is_empty() {
            return Err(Error::NoActiveKey);
        }
        let active = self.active.filter(|a| keys[0].version == *a);
        Ok(BlindIndex {
            name: name.to_owned(),
            normalizer,
            bits,
            active,
            keys,
        })
    }
}

impl BlindIndex {
    /// The index of `value` under the active version, to store on insert and update.
    /// [`Error::NoActiveKey`] for a decrypt-only export; [`Error::InvalidArgument`] for a
    /// value that is not UTF-8 under a normaliser that needs text.
    pub fn compute(&self, value: &[u8]) -> Result<String> {
        if self.active.is_none() {
            return Err(Error::NoActiveKey);
        }
        let normalized = self.normalizer.apply(value)?;
        let out = self.text(&self.keys[0], &normalized);
        wipe(normalized);
        Ok(out)
    }

    /// The index of `value` under every live version, active first then newest first: the
    /// list for `WHERE col IN (…)` during and after a rotation. One entry per version, so no
    /// two are equal; as short as the keyring's live versions (usually one or two).
    pub fn candidates(&self, value: &[u8]) -> Result<Vec<String>> {
        let normalized = self.normalizer.apply(value)?;
        let out = self
            .keys
            .iter()
            .map(|k| self.text(k, &normalized))
            .collect();
        wipe(normalized);
        Ok(out)
    }

    /// The index name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The normaliser.
    pub fn normalizer(&self) -> Normalizer {
        self.normalizer
    }

    /// The number of bits kept.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The version `compute` writes (none for a decrypt-only export).
    pub fn active_version(&self) -> Option<u32> {
        self.active
    }

    /// The versions `candidates` covers, in its order.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.version).collect()
    }

    /// `bi1:v<version>:<lowercase hex of the first bits/8 bytes of the tag>`.
    fn text(&self, key: &VersionKey, normalized: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut tag = key.mac.tag(normalized);
        let kept = &tag[..(self.bits / 8) as usize];
        let mut out = String::with_capacity(TEXT_PREFIX.len() + 12 + 2 * kept.len());
        out.push_str(TEXT_PREFIX);
        out.push('v');
        out.push_str(itoa(key.version, &mut [0u8; 10]));
        out.push(':');
        for byte in kept {
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0x0f)] as char);
        }
        tag.zeroize();
        out
    }
}

/// A version number in decimal, without the formatting machinery (this is the hot path).
fn itoa(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).expect("ASCII digits")
}

/// Wipes a normalised copy of the caller's value (a borrowed one is the caller's to wipe).
fn wipe(normalized: Cow<'_, [u8]>) {
    if let Cow::Owned(mut bytes) = normalized {
        bytes.zeroize();
    }
}

/// Shows the name, normaliser, bits and versions; never key bytes.
impl core::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlindIndex")
            .field("name", &self.name)
            .field("normalizer", &self.normalizer)
            .field("bits", &self.bits)
            .field("active", &self.active)
            .field("versions", &self.versions())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
