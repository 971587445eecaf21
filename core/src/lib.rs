//! # keyroll
//!
//! Versioned envelope encryption and key rotation. One crate holds every rule: the wire
//! format (`docs/wire-format.md`), the keyring and its life cycle, the legacy readers (Fernet,
//! raw AES-GCM), and the keyring document. It does no I/O, reads no clock (every time is
//! handed in as Unix seconds) and reads no environment; the CLI and the language bindings own
//! files, time and configuration.
//!
//! ```
//! use keyroll::Keyring;
//! let now = 1_700_000_000;
//! let mut ring = Keyring::generate(now)?;
//! let token = ring.encrypt(b"4111 1111 1111 1111", b"users:42:card", Some(now))?;
//! assert!(token.starts_with("kr1:v1:"));
//! ring.rotate(now + 90 * 86_400)?;
//! let fresh = ring.rewrap(token.as_bytes(), b"users:42:card")?;
//! assert!(fresh.starts_with("kr1:v2:"));
//! assert_eq!(ring.decrypt(fresh.as_bytes(), b"users:42:card", None)?, b"4111 1111 1111 1111");
//! # Ok::<(), keyroll::Error>(())
//! ```
#![warn(missing_docs)]

pub mod aead;
pub mod blind_index;
mod document;
pub mod envelope;
mod error;
pub mod handle;
mod inspect;
pub mod kdf;
mod keyring;
pub mod legacy;
mod policy;
mod rng;
mod secret;
pub mod signing;
mod ttl;
mod version;

pub use blind_index::{BlindIndex, Normalizer};
pub use document::{
    document_sealing, KeyWrap, Protection, Sealing, Unlock, MAX_ITERATIONS, MIN_ITERATIONS, SCHEMA,
};
pub use envelope::KeyringId;
pub use error::{Error, Result};
pub use handle::{HandleStatus, KeyringHandle, Offered};
pub use inspect::{inspect, TokenFormat, TokenInfo};
pub use kdf::DEFAULT_PBKDF2_ITERATIONS;
pub use keyring::{fernet_keyring_id, Keyring, RewrapOptions, RewrapRequest, Rewrapped, Verified};
pub use legacy::fernet::FernetKey;
pub use legacy::raw_gcm::{RawGcmImport, RawGcmKey};
pub use policy::{Policy, PolicyState, PolicyStatus};
pub use secret::{SecretKey, KEY_LEN};
pub use signing::{SigningAlgorithm, SigningKeyring};
pub use ttl::{Ttl, MAX_CLOCK_SKEW};
pub use version::{KeyKind, KeyState, VersionInfo};
