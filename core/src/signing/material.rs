//! Signing key material: HMAC-SHA256 keys and Ed25519 key pairs over the backend in use, and
//! the public keys of a verify-only keyring.
//!
//! Native builds use aws-lc-rs; wasm32 builds, and native builds with the `rustcrypto`
//! feature (so the test suite checks both give the same bytes), use RustCrypto `hmac` and
//! `ed25519-dalek` — the same split as `crate::aead`.

use crate::version::KeyKind;
use crate::{Error, Result};
use core::fmt;
use zeroize::Zeroizing;

#[cfg(not(any(target_arch = "wasm32", feature = "rustcrypto")))]
#[path = "backend/awslc.rs"]
mod backend;
#[cfg(any(target_arch = "wasm32", feature = "rustcrypto"))]
#[path = "backend/rustcrypto.rs"]
mod backend;

/// The signing backend in use (`aws-lc-rs` or `rustcrypto`), for reports and tests.
pub const BACKEND: &str = backend::NAME;

/// Length of an HMAC-SHA256 tag and of a generated HMAC key.
pub const HMAC_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;
/// Shortest imported HMAC secret (RFC 7518 §3.2: an HS256 key is at least 256 bits).
pub const MIN_HMAC_SECRET_LEN: usize = 32;
/// Longest imported HMAC secret (bounds what a document may make keyroll allocate).
pub const MAX_HMAC_SECRET_LEN: usize = 4096;

/// An HMAC-SHA256 key, for the known-answer suites and for callers that need the bare
/// primitive. The keyring uses it through versions.
pub struct HmacSha256Key(backend::HmacKey);

impl HmacSha256Key {
    /// A key of any length (HMAC hashes longer keys, pads shorter ones).
    pub fn new(key: &[u8]) -> Self {
        HmacSha256Key(backend::HmacKey::new(key))
    }

    /// The 32-byte tag of `data`.
    pub fn sign(&self, data: &[u8]) -> [u8; HMAC_LEN] {
        self.0.sign(data)
    }

    /// Whether `tag` is `data`'s full 32-byte tag, compared in constant time.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        self.0.verify(data, tag)
    }
}

impl fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacSha256Key").finish_non_exhaustive()
    }
}

/// An Ed25519 key pair from its 32-byte seed (RFC 8032 §5.1.5).
pub struct Ed25519SigningKey(backend::Ed25519Pair);

impl Ed25519SigningKey {
    /// The key pair of `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519SigningKey(backend::Ed25519Pair::from_seed(seed))
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.public_key()
    }

    /// The 64-byte signature of `data` (deterministic: the same bytes on every backend).
    pub fn sign(&self, data: &[u8]) -> [u8; ED25519_SIGNATURE_LEN] {
        self.0.sign(data)
    }
}

impl fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519SigningKey")
            .field(
                "public_key",
                &crate::signing::keyset::b64(&self.public_key()),
            )
            .finish_non_exhaustive()
    }
}

/// Verifies an Ed25519 signature of `data` under `public_key`.
pub fn ed25519_verify(public_key: &[u8; 32], data: &[u8], signature: &[u8]) -> bool {
    backend::ed25519_verify(public_key, data, signature)
}

/// A version's key: the stored bytes (wiped on drop) and the expanded key.
pub(crate) enum SigningMaterial {
    /// `hmac_sha256` and `hmac_sha256_legacy`.
    Hmac {
        secret: Zeroizing<Vec<u8>>,
        key: Box<HmacSha256Key>,
    },
    /// `ed25519` with its private key.
    Ed25519 {
        seed: Zeroizing<[u8; 32]>,
        pair: Box<Ed25519SigningKey>,
        public: [u8; 32],
    },
    /// `ed25519` in a verify-only keyring loaded from a public keyset.
    Ed25519Public([u8; 32]),
}

impl SigningMaterial {
    /// Expands stored key bytes of `kind` (`invalid_key` if their length is wrong for it).
    pub fn new(kind: KeyKind, bytes: &[u8]) -> Result<Self> {
        match kind {
            KeyKind::HmacSha256 if bytes.len() == HMAC_LEN => Ok(Self::hmac(bytes)),
            KeyKind::HmacSha256Legacy
                if (MIN_HMAC_SECRET_LEN..=MAX_HMAC_SECRET_LEN).contains(&bytes.len()) =>
            {
                Ok(Self::hmac(bytes))
            }
            KeyKind::Ed25519 => {
                let seed: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| Error::InvalidKey("an Ed25519 seed is 32 bytes"))?;
                let seed = Zeroizing::new(seed);
                let pair = Box::new(Ed25519SigningKey::from_seed(&seed));
                let public = pair.public_key();
                Ok(SigningMaterial::Ed25519 { seed, pair, public })
            }
            KeyKind::HmacSha256 | KeyKind::HmacSha256Legacy => Err(Error::InvalidKey(
                "HMAC keys are 32 bytes (imported secrets 32..=4096)",
            )),
            _ => Err(Error::InvalidKey("not a signing key kind")),
        }
    }

    fn hmac(bytes: &[u8]) -> Self {
        SigningMaterial::Hmac {
            secret: Zeroizing::new(bytes.to_vec()),
            key: Box::new(HmacSha256Key::new(bytes)),
        }
    }

    /// The bytes a keyring document seals (`None` for a public key: never stored that way).
    pub fn stored_bytes(&self) -> Option<&[u8]> {
        match self {
            SigningMaterial::Hmac { secret, .. } => Some(secret),
            SigningMaterial::Ed25519 { seed, .. } => Some(&seed[..]),
            SigningMaterial::Ed25519Public(_) => None,
        }
    }

    /// The Ed25519 public key, if this is an Ed25519 version.
    pub fn public_key(&self) -> Option<&[u8; 32]> {
        match self {
            SigningMaterial::Ed25519 { public, .. } | SigningMaterial::Ed25519Public(public) => {
                Some(public)
            }
            SigningMaterial::Hmac { .. } => None,
        }
    }

    /// Signs `data`; `read_only` for a public key.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            SigningMaterial::Hmac { key, .. } => Ok(key.sign(data).to_vec()),
            SigningMaterial::Ed25519 { pair, .. } => Ok(pair.sign(data).to_vec()),
            SigningMaterial::Ed25519Public(_) => Err(Error::ReadOnly),
        }
    }

    /// Whether `signature` is valid for `data` (constant-time for HMAC).
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> bool {
        match self {
            SigningMaterial::Hmac { key, .. } => key.verify(data, signature),
            SigningMaterial::Ed25519 { public, .. } | SigningMaterial::Ed25519Public(public) => {
                ed25519_verify(public, data, signature)
            }
        }
    }
}

impl fmt::Debug for SigningMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningMaterial").finish_non_exhaustive()
    }
}
