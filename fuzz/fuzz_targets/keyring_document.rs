//! Arbitrary bytes as a keyring document, opened with the fixture's master key and with a
//! passphrase. No panic; a failure is `keyring_corrupt` or `bad_passphrase` and nothing else;
//! a document that opens re-seals and reopens to the same keyring.
#![no_main]

mod common;

use keyroll::{Keyring, Protection, Unlock};
use libfuzzer_sys::fuzz_target;

/// Documents may ask for up to `MAX_ITERATIONS` (10^7) PBKDF2 rounds, about a second each;
/// keyroll bounds that on purpose. The fuzzer skips them to keep its speed.
fn too_slow(data: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return false;
    };
    value
        .pointer("/body/kek/iterations")
        .and_then(serde_json::Value::as_u64)
        .is_some_and(|n| n > 2_000)
}

fuzz_target!(|data: &[u8]| {
    if too_slow(data) {
        return;
    }
    let master = common::master();
    for unlock in [
        Unlock::MasterKey(&master),
        Unlock::Passphrase(common::PASSPHRASE),
    ] {
        match Keyring::from_document(data, unlock) {
            Err(e) => assert!(
                matches!(e.code(), "keyring_corrupt" | "bad_passphrase"),
                "unexpected {e:?}"
            ),
            Ok(ring) => {
                let again = ring
                    .to_document(Protection::MasterKey(&master))
                    .expect("an opened keyring re-seals");
                let reopened = Keyring::from_document(&again, Unlock::MasterKey(&master))
                    .expect("a re-sealed keyring reopens");
                assert_eq!(reopened.id(), ring.id());
                assert_eq!(reopened.versions(), ring.versions());
                assert_eq!(reopened.active_version(), ring.active_version());
                assert_eq!(reopened.min_version(), ring.min_version());
                assert_eq!(reopened.is_read_only(), ring.is_read_only());
                assert_eq!(reopened.policy(), ring.policy());
            }
        }
    }
});
