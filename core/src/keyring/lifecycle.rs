//! The life cycle of versions: adding, promoting, rotating, changing state, the policy and
//! the minimum version. Every rule of which state may follow which lives in `version.rs`, and
//! its application to a set of versions in `version/lifecycle.rs` (shared with signing
//! keyrings); this file adds what is particular to encryption keyrings (Fernet numbers, the
//! legacy list, AES keys).

use super::*;
use crate::version::lifecycle as life;

impl Keyring {
    /// Replaces the rotation policy.
    pub fn set_policy(&mut self, policy: Policy) -> Result<()> {
        self.writable()?;
        life::validate_policy(&policy)?;
        self.policy = policy;
        Ok(())
    }

    /// Judges the active key's age against the policy.
    pub fn check_policy(&self, now: u64) -> PolicyStatus {
        life::check_policy(&self.policy, &self.slots, self.active, now)
    }

    /// Refuses envelopes of versions below `minimum`; the active version must not be below it.
    ///
    /// The minimum orders ordinary versions only: it must be below 2^31, and it never applies
    /// to Fernet versions (whose numbers are hashes); retire those with states instead.
    pub fn set_min_version(&mut self, minimum: u32) -> Result<()> {
        self.writable()?;
        if minimum & fernet::FERNET_VERSION_BIT != 0 {
            return Err(Error::InvalidArgument(
                "the minimum version applies to ordinary versions (below 2^31) only",
            ));
        }
        if self
            .active
            .is_some_and(|a| a < minimum && a & fernet::FERNET_VERSION_BIT == 0)
        {
            return Err(Error::InvalidArgument(
                "the minimum version cannot exceed the active version",
            ));
        }
        self.min_version = minimum;
        Ok(())
    }

    pub(super) fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    pub(super) fn next_version(&self) -> Result<u32> {
        life::next_version(&self.slots)
    }

    pub(super) fn insert(&mut self, info: VersionInfo, secret: SecretKey) {
        let kind = info.kind;
        let version = info.version;
        if kind != KeyKind::Aes256Gcm {
            self.legacy.push(version);
            self.legacy.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.slots.insert(
            version,
            Slot {
                info,
                material: Some(Material::new(kind, secret)),
            },
        );
    }

    pub(super) fn new_info(version: u32, kind: KeyKind, state: KeyState, now: u64) -> VersionInfo {
        life::new_info(version, kind, state, now)
    }

    /// Adds a new random key as `pending`: readers everywhere learn it before anyone writes
    /// with it. Returns its version.
    pub fn add_version(&mut self, now: u64) -> Result<u32> {
        self.writable()?;
        let version = self.next_version()?;
        let secret = SecretKey::from_bytes(self.rng.array()?);
        self.insert(
            Self::new_info(version, KeyKind::Aes256Gcm, KeyState::Pending, now),
            secret,
        );
        Ok(version)
    }

    /// Makes `version` (pending or decrypt-only) the primary; the old primary becomes
    /// decrypt-only.
    pub fn promote(&mut self, version: u32, now: u64) -> Result<()> {
        self.writable()?;
        life::promote(
            &mut self.slots,
            &mut self.active,
            self.min_version,
            version,
            now,
        )
    }

    /// Scheduled rotation in one step (single process): add a version and promote it.
    pub fn rotate(&mut self, now: u64) -> Result<u32> {
        let version = self.add_version(now)?;
        self.promote(version, now)?;
        Ok(version)
    }

    /// Emergency rotation: a new active version, and the old one marked compromised so that
    /// only rewrap can still read its data.
    pub fn emergency_rotate(&mut self, reason: &str, now: u64) -> Result<u32> {
        let old = self.active;
        let version = self.rotate(now)?;
        if let Some(old) = old {
            life::mark_compromised(&mut self.slots, old, reason, now)?;
        }
        Ok(version)
    }

    /// Moves a version along its life cycle (see [`KeyState::can_become`]). Destroying wipes
    /// the material and keeps the metadata.
    pub fn set_state(
        &mut self,
        version: u32,
        to: KeyState,
        note: Option<&str>,
        now: u64,
    ) -> Result<()> {
        self.writable()?;
        life::set_state(&mut self.slots, version, to, note, now)
    }
}
