//! The `*_into` APIs (issue 14): sealing and opening straight into a caller's buffer give the
//! same bytes and errors as the allocating calls, and a failed open leaves no plaintext behind.
#![allow(clippy::unwrap_used, missing_docs)]

use keyroll::{Keyring, Ttl};

const NOW: u64 = 1_700_000_000;
const CTX: &[u8] = b"users:42:ssn";

#[test]
fn sealed_len_is_the_length_encrypt_binary_writes() {
    let ring = Keyring::generate(NOW).unwrap();
    for len in [0usize, 1, 15, 16, 64, 1024, 65_536] {
        for issued_at in [None, Some(NOW)] {
            let pt = vec![0x5Au8; len];
            let token = ring.encrypt_binary(&pt, CTX, issued_at).unwrap();
            assert_eq!(Keyring::sealed_len(len, issued_at.is_some()), token.len());
            let mut out = vec![0u8; token.len()];
            let n = ring
                .encrypt_binary_into(&pt, CTX, issued_at, &mut out)
                .unwrap();
            assert_eq!(n, token.len());
            assert_eq!(ring.decrypt(&out, CTX, None).unwrap(), pt);
            // Same header as the allocating call; a fresh nonce, so different bytes after it.
            let header = if issued_at.is_some() { 26 } else { 18 };
            assert_eq!(out[..header], token[..header]);
            assert_ne!(out[header..header + 12], token[header..header + 12]);
        }
    }
}

#[test]
fn encrypt_into_a_short_buffer_is_refused() {
    let ring = Keyring::generate(NOW).unwrap();
    let mut out = vec![0u8; Keyring::sealed_len(64, true) - 1];
    let err = ring
        .encrypt_binary_into(&[1; 64], CTX, Some(NOW), &mut out)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
}

#[test]
fn plaintext_len_is_exact_for_both_forms_and_none_for_legacy() {
    let ring = Keyring::generate(NOW).unwrap();
    for len in [0usize, 1, 2, 3, 64, 1000, 1001, 1002] {
        let pt = vec![7u8; len];
        let binary = ring.encrypt_binary(&pt, CTX, Some(NOW)).unwrap();
        let text = ring.encrypt(&pt, CTX, None).unwrap();
        assert_eq!(Keyring::plaintext_len(&binary), Some(len));
        assert_eq!(Keyring::plaintext_len(text.as_bytes()), Some(len));
    }
    let fernet = keyroll::FernetKey::generate().unwrap();
    let token = keyroll::legacy::fernet::encrypt(&fernet, b"x", NOW, &[9; 16]);
    assert_eq!(Keyring::plaintext_len(token.as_bytes()), None);
    assert_eq!(Keyring::plaintext_len(b"kr1:v1:"), None);
    assert_eq!(Keyring::plaintext_len(b""), None);
}

#[test]
fn a_failed_decrypt_into_leaves_no_plaintext_in_the_buffer() {
    let ring = Keyring::generate(NOW).unwrap();
    let secret = b"4111 1111 1111 1111 and more secret bytes";
    let binary = ring.encrypt_binary(secret, CTX, Some(NOW)).unwrap();
    let text = ring.encrypt(secret, CTX, Some(NOW)).unwrap();
    for token in [&binary[..], text.as_bytes()] {
        let mut buf = vec![0xEEu8; secret.len()];
        // Wrong context: authentication fails.
        let err = ring
            .decrypt_into(token, b"other", None, &mut buf)
            .unwrap_err();
        assert_eq!(err.code(), "decrypt_failed");
        assert!(buf.iter().all(|&b| b == 0));
        // Authentic but too old: the plaintext was written, then must be wiped.
        buf.fill(0xEE);
        let ttl = Some(Ttl {
            seconds: 10,
            now: NOW + 11,
        });
        let err = ring.decrypt_into(token, CTX, ttl, &mut buf).unwrap_err();
        assert_eq!(err.code(), "expired");
        assert!(buf.iter().all(|&b| b == 0));
        // A buffer one byte short: refused, nothing written.
        let mut short = vec![0xEEu8; secret.len() - 1];
        let err = ring.decrypt_into(token, CTX, None, &mut short).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(short.iter().all(|&b| b == 0));
        // A longer buffer: the plaintext, and the rest untouched.
        let mut long = vec![0xEEu8; secret.len() + 3];
        let n = ring.decrypt_into(token, CTX, None, &mut long).unwrap();
        assert_eq!(&long[..n], secret);
        assert_eq!(&long[n..], &[0xEE; 3]);
    }
}
