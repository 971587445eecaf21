//! Arbitrary bytes as a token: `decrypt`, `verify`, `rewrap`, `needs_rewrap` and `inspect` on a
//! keyring with every state and every legacy kind. Nothing may panic, every error must carry
//! a code from `Error::CODES`, and whatever decrypts must rewrap to the same plaintext.
#![no_main]

mod common;

use keyroll::{inspect, Error, Keyring, Ttl, Unlock};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static RING: LazyLock<Keyring> = LazyLock::new(|| {
    Keyring::from_document(
        include_bytes!("../fixtures/keyring.json"),
        Unlock::MasterKey(&common::master()),
    )
    .expect("the committed fixture opens with its master key")
});

fn coded<T>(result: &Result<T, Error>) {
    if let Err(e) = result {
        assert!(Error::CODES.contains(&e.code()), "uncoded error {e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let ring = &*RING;
    let info = inspect(data);
    coded(&info);
    coded(&ring.needs_rewrap(data));
    for context in [&b""[..], common::CONTEXT] {
        let plaintext = ring.decrypt(data, context, None);
        coded(&plaintext);
        let verified = ring.verify(data, context, None);
        coded(&verified);
        assert_eq!(plaintext.is_ok(), verified.is_ok());
        let ttl = Ttl {
            seconds: 3600,
            now: common::NOW,
        };
        let with_ttl = ring.decrypt(data, context, Some(ttl));
        coded(&with_ttl);
        if let Err(e) = &with_ttl {
            if plaintext.is_ok() {
                assert!(matches!(e.code(), "expired" | "missing_timestamp"), "{e:?}");
            }
        }
        let rewrapped = ring.rewrap_binary(data, context);
        coded(&rewrapped);
        if let Ok(plaintext) = &plaintext {
            if let Ok(info) = &info {
                if info.key_version.is_some() {
                    assert_eq!(info.plaintext_len, Some(plaintext.len()));
                }
            }
            let fresh = rewrapped.as_ref().expect("a readable token rewraps");
            let again = ring
                .decrypt(fresh, context, None)
                .expect("a rewrapped token reads");
            assert_eq!(&again, plaintext);
            assert!(!ring.needs_rewrap(fresh).expect("fresh header parses"));
        }
    }
});
