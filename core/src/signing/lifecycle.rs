//! The life cycle of signing versions: the rules shared with encryption keyrings
//! (`crate::version::lifecycle`) applied to a signing keyring, plus what is particular to it
//! (an algorithm per version, imported HMAC secrets, verify-only keyrings).

use super::*;

impl SigningKeyring {
    fn writable(&self) -> Result<()> {
        if self.verify_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    pub(super) fn insert(&mut self, info: VersionInfo, material: SigningMaterial) {
        if info.kind == KeyKind::HmacSha256Legacy {
            self.legacy.push(info.version);
            self.legacy.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.slots.insert(
            info.version,
            crate::version::Slot {
                info,
                material: Some(material),
            },
        );
    }

    /// Adds a new random key of `algorithm` as `pending`: every verifier learns it (and an
    /// Ed25519 one appears in the public keyset) before anything is signed with it. Returns
    /// its version.
    pub fn add_version(&mut self, algorithm: SigningAlgorithm, now: u64) -> Result<u32> {
        self.writable()?;
        let version = life::next_version(&self.slots)?;
        // 32 random bytes: an HMAC key, or an Ed25519 seed.
        let bytes = zeroize::Zeroizing::new(self.rng.array::<32>()?);
        let material = SigningMaterial::new(algorithm.kind(), &bytes[..])?;
        self.insert(
            life::new_info(version, algorithm.kind(), KeyState::Pending, now),
            material,
        );
        Ok(version)
    }

    /// Imports an old signing secret (≥ 32 bytes, used as raw bytes) as a `decrypt_only`
    /// `hmac_sha256_legacy` version: it verifies the old system's JWTs (no `kid`) and never
    /// signs unless promoted. Returns its version. See [`SigningKeyring::from_hmac_secret`]
    /// for the keyring made from the secret alone.
    pub fn import_hmac_secret(&mut self, secret: &[u8], now: u64) -> Result<u32> {
        self.writable()?;
        let material = SigningMaterial::new(KeyKind::HmacSha256Legacy, secret)?;
        let version = life::next_version(&self.slots)?;
        let mut info = life::new_info(
            version,
            KeyKind::HmacSha256Legacy,
            KeyState::DecryptOnly,
            now,
        );
        info.note = Some("imported HMAC secret".to_owned());
        self.insert(info, material);
        Ok(version)
    }

    /// Makes `version` (pending or decrypt-only) the one that signs; the old one becomes
    /// decrypt-only (verifies until its tokens expire).
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

    /// Scheduled rotation in one step (single process): a new version of the active
    /// version's algorithm (HMAC-SHA256 for an imported secret), promoted at once. Fleets
    /// verifying tokens elsewhere should `add_version`, publish, then `promote`.
    pub fn rotate(&mut self, now: u64) -> Result<u32> {
        // A verify-only keyring has no active version either: `read_only` says why.
        self.writable()?;
        let algorithm = self
            .active
            .and_then(|v| self.algorithm(v))
            .ok_or(Error::NoActiveKey)?;
        self.rotate_to(algorithm, now)
    }

    /// Rotation to a version of `algorithm` (e.g. from HS256 to EdDSA), promoted at once.
    pub fn rotate_to(&mut self, algorithm: SigningAlgorithm, now: u64) -> Result<u32> {
        let version = self.add_version(algorithm, now)?;
        self.promote(version, now)?;
        Ok(version)
    }

    /// Emergency rotation: a new active version (same algorithm), and the old one marked
    /// compromised, so nothing it signed verifies any more (a leaked signing key can forge).
    pub fn emergency_rotate(&mut self, reason: &str, now: u64) -> Result<u32> {
        let old = self.active;
        let version = self.rotate(now)?;
        if let Some(old) = old {
            life::mark_compromised(&mut self.slots, old, reason, now)?;
        }
        Ok(version)
    }

    /// Moves a version along its life cycle (the same transitions as encryption keyrings).
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

    /// Replaces the rotation policy.
    pub fn set_policy(&mut self, policy: Policy) -> Result<()> {
        self.writable()?;
        life::validate_policy(&policy)?;
        self.policy = policy;
        Ok(())
    }

    /// Refuses tokens of versions below `minimum`; the active version must not be below it.
    pub fn set_min_version(&mut self, minimum: u32) -> Result<()> {
        self.writable()?;
        if self.active.is_some_and(|a| a < minimum) {
            return Err(Error::InvalidArgument(
                "the minimum version cannot exceed the active version",
            ));
        }
        if minimum & crate::legacy::fernet::FERNET_VERSION_BIT != 0 {
            return Err(Error::InvalidArgument(
                "the minimum version must be below 2^31",
            ));
        }
        self.min_version = minimum;
        Ok(())
    }

    /// Removes the key material of `version` whatever its state (see
    /// [`crate::Keyring::purge_material`]: for backups of a keyring whose version was
    /// destroyed). Returns whether there was material to remove.
    pub fn purge_material(&mut self, version: u32, now: u64) -> Result<bool> {
        life::purge(&mut self.slots, &mut self.active, version, now)
    }
}
