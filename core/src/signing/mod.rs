//! Signing keyrings: versioned HMAC-SHA256 keys and Ed25519 key pairs with the same states,
//! policy, two-phase rotation and documents as encryption keyrings ([`crate::Keyring`]).
//!
//! Why: a JWT secret that cannot be rotated without logging every user out is rotated never.
//! With versions, a token signed by the previous key keeps verifying (its `kid` names the
//! version) until it expires, while new tokens use the new key; and with Ed25519, apps verify
//! with public keys only ([`SigningKeyring::public_keyset`]) instead of holding a key that
//! can also forge.
//!
//! The API (names stable; bindings follow them):
//!
//! | what | call |
//! |---|---|
//! | make | [`SigningKeyring::generate`]`(algorithm, now)`, [`SigningKeyring::from_hmac_secret`]`(secret, now)` (an old `SECRET_KEY`, ≥ 32 bytes used as they are) |
//! | life cycle | [`add_version`](SigningKeyring::add_version)`(algorithm, now)` (pending), [`promote`](SigningKeyring::promote), [`rotate`](SigningKeyring::rotate)`(now)` and [`emergency_rotate`](SigningKeyring::emergency_rotate)`(reason, now)` (the active version's algorithm), [`rotate_to`](SigningKeyring::rotate_to)`(algorithm, now)`, [`set_state`](SigningKeyring::set_state), [`import_hmac_secret`](SigningKeyring::import_hmac_secret), [`set_policy`](SigningKeyring::set_policy), [`check_policy`](SigningKeyring::check_policy), [`set_min_version`](SigningKeyring::set_min_version) |
//! | read | [`id`](SigningKeyring::id), [`versions`](SigningKeyring::versions), [`version`](SigningKeyring::version), [`active_version`](SigningKeyring::active_version), [`algorithm`](SigningKeyring::algorithm), [`policy`](SigningKeyring::policy), [`min_version`](SigningKeyring::min_version), [`generation`](SigningKeyring::generation), [`is_verify_only`](SigningKeyring::is_verify_only) |
//! | messages | [`sign`](SigningKeyring::sign) → `krs1:v3:…`, [`sign_binary`](SigningKeyring::sign_binary), [`verify`](SigningKeyring::verify) → [`VerifiedMessage`] (`docs/wire-format.md` §12) |
//! | JWT | [`sign_jwt`](SigningKeyring::sign_jwt), [`verify_jwt`](SigningKeyring::verify_jwt) with [`JwtOptions`] → [`VerifiedJwt`]; [`kid`] (`"<keyring id hex>:v<version>"`); [`jwks`](SigningKeyring::jwks) |
//! | apps | [`public_keyset`](SigningKeyring::public_keyset) (Ed25519 public keys only), [`SigningKeyring::from_public_keyset`] (a verify-only keyring) |
//! | storage | [`to_document`](SigningKeyring::to_document) / [`from_document`](SigningKeyring::from_document) (the sealing of §7, with `"purpose": "signing"`), [`mark_saved`](SigningKeyring::mark_saved) |
//!
//! What each state does for signing (the reasons are in `docs/signing.md`):
//!
//! * `active` signs and verifies; only the active version signs.
//! * `pending` and `decrypt_only` verify only: a pending key is published (its public key in
//!   the keyset, its secret to every verifier) before anything is signed with it, and a
//!   retired key keeps verifying the tokens it signed until they expire.
//! * `disabled` refuses to verify (`key_disabled`), reversibly.
//! * `compromised` refuses to verify (`key_compromised`): unlike encrypted data there is
//!   nothing to move off a leaked signing key, and whoever holds it can forge, so nothing it
//!   signed is worth anything.
//! * `destroyed` has no key left (`key_destroyed`).
//!
//! ```
//! use keyroll::signing::{JwtOptions, SigningAlgorithm, SigningKeyring};
//! let now = 1_700_000_000;
//! let mut ring = SigningKeyring::from_hmac_secret(b"the-old-django-SECRET_KEY-0123456789", now)?;
//! let old = ring.sign_jwt(r#"{"sub":"42","exp":1700003600}"#, now)?;
//! let v2 = ring.add_version(SigningAlgorithm::HmacSha256, now)?; // stage: verifiers learn it
//! ring.promote(v2, now + 60)?;                                   // then sign with it
//! let new = ring.sign_jwt(r#"{"sub":"42","exp":1700003600}"#, now + 60)?;
//! let options = JwtOptions::default();
//! assert_eq!(ring.verify_jwt(&old, &options, now + 120)?.key_version, 1);
//! assert_eq!(ring.verify_jwt(&new, &options, now + 120)?.key_version, 2);
//! # Ok::<(), keyroll::Error>(())
//! ```

use crate::envelope::KeyringId;
use crate::policy::{Policy, PolicyStatus};
use crate::rng::Rng;
use crate::version::lifecycle::{self as life, Slots};
use crate::version::{KeyKind, KeyState, VersionInfo};
use crate::{Error, Result};

mod document;
mod jwt;
pub(crate) mod keyset;
mod lifecycle;
mod material;
mod wire;

pub use jwt::{kid, JwtOptions, VerifiedJwt};
pub use material::{
    ed25519_verify, Ed25519SigningKey, HmacSha256Key, BACKEND, ED25519_SIGNATURE_LEN, HMAC_LEN,
    MAX_HMAC_SECRET_LEN, MIN_HMAC_SECRET_LEN,
};
pub use wire::{VerifiedMessage, SIGNED_HEADER_LEN, SIGNED_MAGIC, SIGNED_TEXT_PREFIX};

use material::SigningMaterial;

/// What a signing key version signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 (JWT `HS256`): one secret signs and verifies; for services that verify
    /// their own tokens.
    HmacSha256,
    /// Ed25519 (JWT `EdDSA`, RFC 8037): the private key signs, the public key verifies; for
    /// tokens that apps or other parties verify.
    Ed25519,
}

impl SigningAlgorithm {
    /// The name as in every binding: `hmac_sha256` or `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::HmacSha256 => "hmac_sha256",
            SigningAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// Parses [`SigningAlgorithm::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hmac_sha256" => Some(SigningAlgorithm::HmacSha256),
            "ed25519" => Some(SigningAlgorithm::Ed25519),
            _ => None,
        }
    }

    /// The JWT `alg` of this algorithm: `HS256` or `EdDSA`.
    pub fn jwt_alg(self) -> &'static str {
        match self {
            SigningAlgorithm::HmacSha256 => "HS256",
            SigningAlgorithm::Ed25519 => "EdDSA",
        }
    }

    /// The algorithm of a version kind (`None` for encryption kinds).
    pub fn of_kind(kind: KeyKind) -> Option<Self> {
        match kind {
            KeyKind::HmacSha256 | KeyKind::HmacSha256Legacy => Some(SigningAlgorithm::HmacSha256),
            KeyKind::Ed25519 => Some(SigningAlgorithm::Ed25519),
            _ => None,
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            SigningAlgorithm::HmacSha256 => KeyKind::HmacSha256,
            SigningAlgorithm::Ed25519 => KeyKind::Ed25519,
        }
    }
}

/// A set of signing key versions, at most one of them active (the one that signs).
///
/// Like [`crate::Keyring`]: reading (`sign`, `verify`, JWTs) takes `&self` and the type is
/// `Send + Sync`; changes take `&mut self`; `Debug` shows versions and states, never keys.
pub struct SigningKeyring {
    pub(crate) id: KeyringId,
    pub(crate) slots: Slots<SigningMaterial>,
    pub(crate) active: Option<u32>,
    pub(crate) min_version: u32,
    pub(crate) policy: Policy,
    /// A keyring loaded from a public keyset: verifies, never signs or changes.
    pub(crate) verify_only: bool,
    /// `hmac_sha256_legacy` versions, newest first: the keys tried for JWTs without `kid`.
    pub(crate) legacy: Vec<u32>,
    pub(crate) rng: Rng,
    /// As [`crate::Keyring::generation`].
    pub(crate) generation: u64,
}

impl SigningKeyring {
    /// A new keyring with a random id and version 1 of `algorithm` active.
    pub fn generate(algorithm: SigningAlgorithm, now: u64) -> Result<Self> {
        Self::generate_with(Rng::System, algorithm, now)
    }

    /// A keyring whose every random byte comes from `seed` (test vectors only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn generate_seeded(seed: &[u8], algorithm: SigningAlgorithm, now: u64) -> Result<Self> {
        Self::generate_with(Rng::seeded(seed), algorithm, now)
    }

    /// Makes every later random byte of this keyring come from `seed` (test vectors only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn reseed_for_testing(&mut self, seed: &[u8]) {
        self.rng = Rng::seeded(seed);
    }

    fn generate_with(rng: Rng, algorithm: SigningAlgorithm, now: u64) -> Result<Self> {
        let mut ring = SigningKeyring::empty(KeyringId(rng.array()?), rng);
        ring.rotate_to(algorithm, now)?;
        Ok(ring)
    }

    pub(crate) fn empty(id: KeyringId, rng: Rng) -> Self {
        SigningKeyring {
            id,
            slots: Slots::default(),
            active: None,
            min_version: 0,
            policy: Policy::default(),
            verify_only: false,
            legacy: Vec::new(),
            rng,
            generation: 0,
        }
    }

    /// A keyring made from an old single signing secret (a Django/Flask `SECRET_KEY`, a JWT
    /// secret), used as its raw bytes exactly as the old system used it: version 1, kind
    /// `hmac_sha256_legacy`, active. It verifies the old system's JWTs (which carry no `kid`)
    /// and signs new ones with `kid`, which the old system ignores, so both read each other's
    /// tokens during the move. The keyring id is derived from the secret
    /// (HMAC-SHA256(secret, "keyroll/v1 legacy hmac keyring")[..8]), so every process given
    /// the same secret makes the same keyring and the same `kid`s; `rotate` it later.
    ///
    /// `invalid_key` unless the secret is 32..=4096 bytes.
    pub fn from_hmac_secret(secret: &[u8], now: u64) -> Result<Self> {
        let material = SigningMaterial::new(KeyKind::HmacSha256Legacy, secret)?;
        let digest = HmacSha256Key::new(secret).sign(b"keyroll/v1 legacy hmac keyring");
        let id = KeyringId(digest[..8].try_into().expect("8 bytes"));
        let mut ring = SigningKeyring::empty(id, Rng::System);
        ring.insert(
            life::new_info(1, KeyKind::HmacSha256Legacy, KeyState::Pending, now),
            material,
        );
        ring.promote(1, now)?;
        Ok(ring)
    }

    /// The generation of the stored document this keyring was loaded from or last saved as
    /// (0 for a keyring never stored). Saving seals `generation() + 1`.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Records that this keyring is now stored as `generation` (see
    /// [`crate::Keyring::mark_saved`]).
    pub fn mark_saved(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// The keyring id, authenticated in every signed message and named by every `kid`.
    pub fn id(&self) -> KeyringId {
        self.id
    }

    /// All versions, in ascending order (`kind` is `hmac_sha256`, `hmac_sha256_legacy` or
    /// `ed25519`).
    pub fn versions(&self) -> Vec<VersionInfo> {
        life::sorted_infos(&self.slots)
    }

    /// One version's metadata.
    pub fn version(&self, version: u32) -> Option<&VersionInfo> {
        self.slots.get(&version).map(|s| &s.info)
    }

    /// The algorithm of a version.
    pub fn algorithm(&self, version: u32) -> Option<SigningAlgorithm> {
        self.version(version)
            .and_then(|info| SigningAlgorithm::of_kind(info.kind))
    }

    /// The active version (the one that signs), if any.
    pub fn active_version(&self) -> Option<u32> {
        self.active
    }

    /// Versions below this refuse to verify (0: no minimum).
    pub fn min_version(&self) -> u32 {
        self.min_version
    }

    /// The rotation policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Whether this keyring was loaded from a public keyset (verifies only).
    pub fn is_verify_only(&self) -> bool {
        self.verify_only
    }

    /// Judges the active key's age against the policy.
    pub fn check_policy(&self, now: u64) -> PolicyStatus {
        life::check_policy(&self.policy, &self.slots, self.active, now)
    }

    /// The key of `version` if its state lets it verify: pending, active and decrypt-only
    /// do; the other states give their error (module docs say why).
    pub(crate) fn verifier(&self, version: u32) -> Result<&SigningMaterial> {
        let slot = self
            .slots
            .get(&version)
            .ok_or(Error::UnknownKeyVersion(version))?;
        match slot.info.state {
            KeyState::Pending | KeyState::Active | KeyState::DecryptOnly => {}
            KeyState::Disabled => return Err(Error::KeyDisabled(version)),
            KeyState::Compromised => return Err(Error::KeyCompromised(version)),
            KeyState::Destroyed => return Err(Error::KeyDestroyed(version)),
        }
        if version < self.min_version {
            return Err(Error::BelowMinimumVersion {
                version,
                minimum: self.min_version,
            });
        }
        slot.material.as_ref().ok_or(Error::KeyDestroyed(version))
    }

    /// The active version and its key, for signing.
    pub(crate) fn signer(&self) -> Result<(u32, SigningAlgorithm, &SigningMaterial)> {
        if self.verify_only {
            return Err(Error::ReadOnly);
        }
        let version = self.active.ok_or(Error::NoActiveKey)?;
        let slot = self.slots.get(&version).ok_or(Error::NoActiveKey)?;
        let algorithm = SigningAlgorithm::of_kind(slot.info.kind).ok_or(Error::NoActiveKey)?;
        let material = slot.material.as_ref().ok_or(Error::KeyDestroyed(version))?;
        Ok((version, algorithm, material))
    }
}

/// Shows the id and each version's number, kind and state; never key bytes.
impl core::fmt::Debug for SigningKeyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let versions: Vec<(u32, &str, KeyState)> = self
            .versions()
            .iter()
            .map(|v| (v.version, v.kind.as_str(), v.state))
            .collect();
        f.debug_struct("SigningKeyring")
            .field("id", &self.id)
            .field("active", &self.active)
            .field("verify_only", &self.verify_only)
            .field("versions", &versions)
            .finish_non_exhaustive()
    }
}
