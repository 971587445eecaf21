//! The life cycle of versions: adding, promoting, rotating, changing state, the policy and
//! the minimum version. Every rule of which state may follow which lives in `version.rs`;
//! this file applies them to a keyring.

use super::*;

impl Keyring {
    /// Replaces the rotation policy.
    pub fn set_policy(&mut self, policy: Policy) -> Result<()> {
        self.writable()?;
        if policy.warn_after_days > policy.rotate_after_days || policy.rotate_after_days == 0 {
            return Err(Error::InvalidArgument(
                "need 0 < warn_after_days ≤ rotate_after_days",
            ));
        }
        self.policy = policy;
        Ok(())
    }

    /// Judges the active key's age against the policy.
    pub fn check_policy(&self, now: u64) -> PolicyStatus {
        let active = self.active.and_then(|v| {
            let info = &self.slots.get(&v)?.info;
            Some((v, info.activated_at.unwrap_or(info.created_at)))
        });
        self.policy.evaluate(active, now)
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
        let top = self
            .slots
            .keys()
            .filter(|v| *v & fernet::FERNET_VERSION_BIT == 0)
            .max()
            .copied()
            .unwrap_or(0);
        let next = top + 1;
        if next & fernet::FERNET_VERSION_BIT != 0 {
            return Err(Error::InvalidArgument("key version space exhausted"));
        }
        Ok(next)
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
        VersionInfo {
            version,
            kind,
            state,
            created_at: now,
            activated_at: None,
            retired_at: None,
            compromised_at: None,
            destroyed_at: None,
            note: None,
            legacy_version_byte: None,
        }
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
        let slot = self
            .slots
            .get(&version)
            .ok_or(Error::UnknownKeyVersion(version))?;
        let from = slot.info.state;
        if !matches!(from, KeyState::Pending | KeyState::DecryptOnly)
            || !slot.info.kind.can_encrypt()
            || version < self.min_version
        {
            return Err(Error::InvalidStateTransition {
                version,
                from,
                to: KeyState::Active,
            });
        }
        if let Some(old) = self.active.take() {
            let info = &mut self.slot_mut(old)?.info;
            info.state = KeyState::DecryptOnly;
            info.retired_at = Some(now);
        }
        let info = &mut self.slot_mut(version)?.info;
        info.state = KeyState::Active;
        info.activated_at = Some(now);
        info.retired_at = None;
        self.active = Some(version);
        Ok(())
    }

    pub(super) fn slot_mut(&mut self, version: u32) -> Result<&mut Slot> {
        self.slots
            .get_mut(&version)
            .ok_or(Error::UnknownKeyVersion(version))
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
            let info = &mut self.slot_mut(old)?.info;
            info.state = KeyState::Compromised;
            info.compromised_at = Some(now);
            info.note = Some(reason.to_owned());
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
        let slot = self.slot_mut(version)?;
        let from = slot.info.state;
        if !from.can_become(to) {
            return Err(Error::InvalidStateTransition { version, from, to });
        }
        slot.info.state = to;
        match to {
            KeyState::Compromised => slot.info.compromised_at = Some(now),
            KeyState::Destroyed => {
                slot.info.destroyed_at = Some(now);
                slot.material = None;
            }
            _ => {}
        }
        if let Some(note) = note {
            slot.info.note = Some(note.to_owned());
        }
        Ok(())
    }
}
