//! The keyring: versioned keys, rotation, and the operations on envelopes.

use crate::envelope::{self, Header, KeyringId, Parsed};
use crate::legacy::fernet::{self, FernetKey};
use crate::legacy::raw_gcm::{self, RawGcmImport};
use crate::policy::{Policy, PolicyStatus};
use crate::rng::Rng;
use crate::secret::SecretKey;
use crate::version::{KeyKind, Material, Slot, VersionInfo};
use crate::{Error, Result, Ttl};
use zeroize::Zeroizing;

pub use crate::version::KeyState;

mod export;
mod import;
mod legacy_read;
mod lifecycle;
mod open;
mod rewrap;
mod seal;

pub use rewrap::{RewrapOptions, RewrapRequest, Rewrapped};

/// The keyring id every keyring uses for v1 envelopes written under a Fernet-derived key:
/// the first 8 bytes of SHA-256("keyroll/v1 fernet keyring"). Any keyring holding the same
/// Fernet key reads them, whichever process wrote them.
pub fn fernet_keyring_id() -> KeyringId {
    static ID: std::sync::OnceLock<KeyringId> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(b"keyroll/v1 fernet keyring");
        KeyringId(digest[..8].try_into().expect("8 bytes"))
    })
}

/// A set of key versions, at most one of them active.
///
/// Reading (`encrypt`, `decrypt`, `rewrap`) takes `&self` and the type is `Send + Sync`, so one
/// keyring serves many threads; changes take `&mut self`. Version lookup is a hash map: cost per
/// operation does not grow with the number of versions (legacy Fernet/raw tokens, which carry
/// no key id, are tried against each legacy key).
pub struct Keyring {
    pub(crate) id: KeyringId,
    pub(crate) slots: crate::version::lifecycle::Slots<Material>,
    pub(crate) active: Option<u32>,
    pub(crate) min_version: u32,
    pub(crate) policy: Policy,
    pub(crate) read_only: bool,
    /// Legacy versions, newest first: the order Fernet and raw blobs are tried in.
    pub(crate) legacy: Vec<u32>,
    pub(crate) rng: Rng,
    /// The generation of the stored document this keyring was loaded from (0 for a new one);
    /// [`Keyring::to_document`] seals `generation + 1`, so a store can refuse a stale save.
    pub(crate) generation: u64,
}

/// A decrypted payload and the timestamp it was issued at, if it carried one.
struct Opened {
    plaintext: Zeroizing<Vec<u8>>,
    version: u32,
    issued_at: Option<u64>,
}

/// What [`Keyring::verify`] learns from an authentic token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The key version that authenticated it.
    pub key_version: u32,
    /// Its issued-at time (for Fernet tokens, the Fernet timestamp), if it has one.
    pub issued_at: Option<u64>,
}

impl Keyring {
    /// A new keyring with a random id and version 1 active.
    pub fn generate(now: u64) -> Result<Self> {
        Self::generate_with(Rng::System, now)
    }

    /// A keyring whose every random byte comes from `seed` (test vectors only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn generate_seeded(seed: &[u8], now: u64) -> Result<Self> {
        Self::generate_with(Rng::seeded(seed), now)
    }

    /// Makes every later random byte of this keyring come from `seed` (test vectors only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn reseed_for_testing(&mut self, seed: &[u8]) {
        self.rng = Rng::seeded(seed);
    }

    fn generate_with(rng: Rng, now: u64) -> Result<Self> {
        let mut ring = Keyring::empty(KeyringId(rng.array()?), rng);
        ring.rotate(now)?;
        Ok(ring)
    }

    pub(crate) fn empty(id: KeyringId, rng: Rng) -> Self {
        Keyring {
            id,
            slots: Default::default(),
            active: None,
            min_version: 0,
            policy: Policy::default(),
            read_only: false,
            legacy: Vec::new(),
            rng,
            generation: 0,
        }
    }

    /// A keyring made from a Fernet key list as services keep it (primary first, as
    /// `MultiFernet` takes it): every key becomes a Fernet version, the first one active.
    /// Its id, version numbers and v1 keys are derived from the keys alone, so every process
    /// given the same list reads what the others write. An operator can later `rotate` it to
    /// ordinary versions.
    pub fn from_fernet_keys(keys: &[FernetKey], now: u64) -> Result<Self> {
        let primary = keys
            .first()
            .ok_or(Error::InvalidArgument("at least one Fernet key is needed"))?;
        let mut ring = Keyring::empty(fernet_keyring_id(), Rng::System);
        ring.import_fernet(keys, now)?;
        ring.promote(primary.keyroll_version(), now)?;
        Ok(ring)
    }

    /// The generation of the stored document this keyring was loaded from or last saved as
    /// (0 for a keyring never stored). Saving seals `generation() + 1`.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The keyring id written into every envelope.
    pub fn id(&self) -> KeyringId {
        self.id
    }

    /// All versions, in ascending order.
    pub fn versions(&self) -> Vec<VersionInfo> {
        crate::version::lifecycle::sorted_infos(&self.slots)
    }

    /// One version's metadata.
    pub fn version(&self, version: u32) -> Option<&VersionInfo> {
        self.slots.get(&version).map(|s| &s.info)
    }

    /// The active version, if any.
    pub fn active_version(&self) -> Option<u32> {
        self.active
    }

    /// Versions below this refuse to decrypt (0: no minimum).
    pub fn min_version(&self) -> u32 {
        self.min_version
    }

    /// Whether this is a decrypt-only export.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The rotation policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn material(&self, version: u32) -> Result<&Material> {
        self.slots
            .get(&version)
            .and_then(|s| s.material.as_ref())
            .ok_or(Error::KeyDestroyed(version))
    }
}

/// Shows the id and each version's number and state; never key bytes.
impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let versions: Vec<(u32, KeyState)> = self
            .versions()
            .iter()
            .map(|v| (v.version, v.state))
            .collect();
        f.debug_struct("Keyring")
            .field("id", &self.id)
            .field("active", &self.active)
            .field("versions", &versions)
            .finish_non_exhaustive()
    }
}
