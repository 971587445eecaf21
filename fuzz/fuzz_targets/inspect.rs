//! Arbitrary bytes through `inspect` (no key): no panic, a coded error, or a description whose
//! sizes add up.
#![no_main]

use keyroll::{inspect, Error, TokenFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| match inspect(data) {
    Err(e) => assert!(Error::CODES.contains(&e.code()), "uncoded error {e:?}"),
    Ok(info) => {
        assert_eq!(info.token_len, data.len());
        match info.format {
            TokenFormat::KeyrollV1Binary | TokenFormat::KeyrollV1Text => {
                assert_eq!(
                    info.binary_len,
                    info.header_len + 12 + info.ciphertext_len + 16
                );
                assert_eq!(info.plaintext_len, Some(info.ciphertext_len));
                assert!(info.header_len == 18 || info.header_len == 26);
                assert_eq!(info.header_len == 26, info.issued_at.is_some());
                let version = info.key_version.expect("v1 has a key version");
                assert!(version >= 1);
                assert_eq!(info.keyring_id.as_ref().map(String::len), Some(16));
                if info.format == TokenFormat::KeyrollV1Binary {
                    assert_eq!(info.binary_len, data.len());
                    assert!(data.starts_with(&keyroll::envelope::MAGIC));
                } else {
                    let prefix = format!("kr1:v{version}:");
                    assert!(data.starts_with(prefix.as_bytes()));
                    assert_eq!(
                        data.len() - prefix.len(),
                        (info.binary_len * 4).div_ceil(3),
                        "strict unpadded base64url"
                    );
                }
            }
            TokenFormat::Fernet => {
                assert_eq!(info.binary_len, 25 + info.ciphertext_len + 32);
                assert!(info.ciphertext_len >= 16 && info.ciphertext_len % 16 == 0);
                assert_eq!(info.plaintext_len, None);
                assert!(info.key_version.is_none() && info.issued_at.is_some());
            }
        }
    }
});
