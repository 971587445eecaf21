//! §7's structural checks on a keyring document whose MAC matched.
//!
//! A valid MAC proves the document was written by someone holding the key, not that it is
//! sound: a bug in an older release, or a document edited by hand and re-MACed, could ask
//! keyroll to write envelopes under the Fernet keyring id, to stay writable as a decrypt-only
//! export, or to schedule nonsense. Each such document is refused with `keyring_corrupt`
//! rather than half-used.

use crate::legacy::fernet::FERNET_VERSION_BIT;
use crate::policy::Policy;
use crate::version::lifecycle::Slots;
use crate::version::{KeyKind, KeyState};
use crate::{Error, Result};

/// Checks the keyring built from an authentic document (after every version was read, so the
/// per-version checks made while reading have passed). Encryption and signing keyrings share
/// it: for signing ones (no Fernet kinds) bit 31 is simply never set.
pub(crate) fn check<M>(
    slots: &Slots<M>,
    active: Option<u32>,
    read_only: bool,
    policy: &Policy,
    min_version: u32,
) -> Result<()> {
    let mut versions: Vec<_> = slots.values().map(|s| &s.info).collect();
    versions.sort_by_key(|v| v.version);
    for info in versions {
        let fernet_number = info.version & FERNET_VERSION_BIT != 0;
        if (info.kind == KeyKind::Fernet) != fernet_number {
            // Fernet numbers are hashes with bit 31 set (§5); ordinary ones count up below it.
            // An `aes256_gcm` version up there would, once active, write envelopes that
            // readers take for Fernet-derived ones.
            return Err(Error::KeyringCorrupt(
                "bit 31 of a version number is set exactly for fernet versions",
            ));
        }
        if info.legacy_version_byte.is_some() && info.kind != KeyKind::RawGcm {
            return Err(Error::KeyringCorrupt(
                "legacy_version_byte on a version that is not raw_gcm",
            ));
        }
        if info.state == KeyState::Active && info.activated_at.is_none() {
            // The rotation policy is judged from it.
            return Err(Error::KeyringCorrupt(
                "the active version has no activated_at",
            ));
        }
    }
    if read_only && active.is_some() {
        return Err(Error::KeyringCorrupt(
            "a read-only (decrypt-only) keyring with an active version",
        ));
    }
    if policy.rotate_after_days == 0 || policy.warn_after_days > policy.rotate_after_days {
        return Err(Error::KeyringCorrupt(
            "policy needs 0 < rotate_after_days and warn_after_days <= rotate_after_days",
        ));
    }
    if min_version & FERNET_VERSION_BIT != 0 {
        return Err(Error::KeyringCorrupt("min_version must be below 2^31"));
    }
    // As `set_min_version`: the minimum orders ordinary versions; Fernet ones are exempt.
    if active.is_some_and(|a| a & FERNET_VERSION_BIT == 0 && a < min_version) {
        return Err(Error::KeyringCorrupt(
            "min_version is above the active version",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Each damaged keyring is sealed by `to_document`, so its MAC and sealed keys are valid
    //! and only the structural check can refuse it.
    use crate::keyring::Keyring;
    use crate::legacy::fernet::{FernetKey, FERNET_VERSION_BIT};
    use crate::legacy::raw_gcm::{RawGcmImport, RawGcmKey};
    use crate::policy::Policy;
    use crate::secret::SecretKey;
    use crate::version::KeyState;
    use crate::{Error, Protection, Unlock};
    use zeroize::Zeroizing;

    const NOW: u64 = 1_700_000_000;
    const DAY: u64 = 86_400;

    /// Versions: 1 decrypt_only, 2 active, 3 destroyed, a Fernet one, a raw-GCM one (4, with
    /// a legacy version byte).
    fn base() -> (Keyring, u32, u32) {
        let mut ring = Keyring::generate(NOW).unwrap();
        ring.rotate(NOW + DAY).unwrap();
        let fv = ring
            .import_fernet(&[FernetKey::generate().unwrap()], NOW)
            .unwrap()[0];
        let v3 = ring.add_version(NOW + DAY).unwrap();
        ring.set_state(v3, KeyState::Destroyed, None, NOW + DAY)
            .unwrap();
        let rv = ring
            .import_raw_gcm(
                &RawGcmImport {
                    key: RawGcmKey::Bytes(Zeroizing::new([9u8; 32].to_vec())),
                    version_byte: Some(1),
                },
                NOW,
            )
            .unwrap();
        (ring, fv, rv)
    }

    fn roundtrip(ring: &Keyring) -> crate::Result<Keyring> {
        let key = SecretKey::from_bytes([7u8; 32]);
        let doc = ring.to_document(Protection::MasterKey(&key)).unwrap();
        Keyring::from_document(&doc, Unlock::MasterKey(&key))
    }

    /// Moves version `from` to number `to` (its key re-sealed under the new number on save).
    fn renumber(ring: &mut Keyring, from: u32, to: u32) {
        let mut slot = ring.slots.remove(&from).unwrap();
        slot.info.version = to;
        ring.slots.insert(to, slot);
        if ring.active == Some(from) {
            ring.active = Some(to);
        }
    }

    fn refused(what: &str, edit: impl FnOnce(&mut Keyring, u32, u32)) {
        let (mut ring, fv, rv) = base();
        edit(&mut ring, fv, rv);
        match roundtrip(&ring) {
            Err(Error::KeyringCorrupt(why)) => {
                assert_ne!(why, "authentication failed", "{what}: the MAC must pass");
            }
            Err(other) => panic!("{what}: {other:?}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }

    #[test]
    fn the_undamaged_keyring_opens() {
        let (ring, _, _) = base();
        let opened = roundtrip(&ring).unwrap();
        assert_eq!(opened.versions(), ring.versions());
    }

    #[test]
    fn aes256_gcm_version_with_bit_31_is_refused() {
        refused("active aes256_gcm with bit 31", |r, _, _| {
            renumber(r, 2, FERNET_VERSION_BIT | 2)
        });
        refused("decrypt-only aes256_gcm with bit 31", |r, _, _| {
            renumber(r, 1, FERNET_VERSION_BIT | 1)
        });
    }

    #[test]
    fn fernet_version_without_bit_31_is_refused() {
        // Destroyed, so no key material can tell its number is wrong: only bit 31 does.
        refused("destroyed fernet below 2^31", |r, fv, _| {
            r.purge_material(fv, NOW + DAY).unwrap();
            renumber(r, fv, 77);
        });
    }

    #[test]
    fn raw_gcm_version_with_bit_31_is_refused() {
        refused("raw_gcm with bit 31", |r, _, rv| {
            renumber(r, rv, FERNET_VERSION_BIT | rv)
        });
    }

    #[test]
    fn legacy_version_byte_only_on_raw_gcm() {
        refused("legacy byte on aes256_gcm", |r, _, _| {
            r.slots.get_mut(&1).unwrap().info.legacy_version_byte = Some(1)
        });
        refused("legacy byte on fernet", |r, fv, _| {
            r.slots.get_mut(&fv).unwrap().info.legacy_version_byte = Some(1)
        });
    }

    #[test]
    fn read_only_with_an_active_version_is_refused() {
        refused("read_only + active", |r, _, _| r.read_only = true);
    }

    #[test]
    fn bad_policies_are_refused() {
        refused("rotate_after_days 0", |r, _, _| {
            r.policy = Policy {
                rotate_after_days: 0,
                warn_after_days: 0,
            }
        });
        refused("warn after rotate", |r, _, _| {
            r.policy = Policy {
                rotate_after_days: 10,
                warn_after_days: 11,
            }
        });
    }

    #[test]
    fn min_version_above_the_active_version_is_refused() {
        refused("min_version 3, active 2", |r, _, _| r.min_version = 3);
        refused("min_version with bit 31", |r, _, _| {
            r.min_version = FERNET_VERSION_BIT
        });
        // A minimum equal to the active version is fine.
        let (mut ring, _, _) = base();
        ring.min_version = 2;
        assert_eq!(roundtrip(&ring).unwrap().min_version(), 2);
    }

    #[test]
    fn fernet_active_versions_are_exempt_from_the_minimum() {
        let mut ring = Keyring::from_fernet_keys(&[FernetKey::generate().unwrap()], NOW).unwrap();
        ring.set_min_version(5).unwrap();
        assert_eq!(roundtrip(&ring).unwrap().min_version(), 5);
    }

    #[test]
    fn active_version_without_activated_at_is_refused() {
        refused("no activated_at", |r, _, _| {
            r.slots.get_mut(&2).unwrap().info.activated_at = None
        });
    }

    #[test]
    fn checks_made_while_reading_are_reached_under_a_valid_mac() {
        refused("version 0", |r, _, _| renumber(r, 1, 0));
        refused("two active", |r, _, _| {
            r.slots.get_mut(&1).unwrap().info.state = KeyState::Active
        });
        refused("destroyed with material", |r, _, _| {
            r.slots.get_mut(&1).unwrap().info.state = KeyState::Destroyed
        });
        refused("raw_gcm active", |r, _, rv| {
            r.slots.get_mut(&2).unwrap().info.state = KeyState::DecryptOnly;
            let info = &mut r.slots.get_mut(&rv).unwrap().info;
            info.state = KeyState::Active;
            info.activated_at = Some(NOW);
        });
    }
}
