//! Wycheproof HMAC-SHA256 and Ed25519, every case, through keyroll's signing primitives
//! (`keyroll::signing::{HmacSha256Key, ed25519_verify}`), on whichever backend this build
//! uses: aws-lc-rs by default, RustCrypto `hmac`/`ed25519-dalek` with `--features rustcrypto`
//! (CI runs both, so both must agree with Wycheproof and hence with each other).
#![allow(clippy::unwrap_used)]

use keyroll::signing::{ed25519_verify, HmacSha256Key, BACKEND, HMAC_LEN};

fn print_backend() {
    println!("signing backend: {BACKEND}");
    #[cfg(feature = "rustcrypto")]
    assert_eq!(BACKEND, "rustcrypto");
    #[cfg(not(feature = "rustcrypto"))]
    assert_eq!(BACKEND, "aws-lc-rs");
}

#[derive(Debug, Default, PartialEq, Eq)]
struct MacCount {
    /// Full 256-bit tags: `verify` must accept exactly the valid ones.
    valid: usize,
    invalid: usize,
    /// Truncated tags (tagSize < 256): keyroll never accepts a truncated tag, so `verify`
    /// must refuse every one; the full tag's prefix must equal the valid ones' tag.
    truncated_valid: usize,
    truncated_invalid: usize,
}

#[test]
fn wycheproof_hmac_sha256_every_case() {
    use wycheproof::mac::{TestName, TestSet};
    print_backend();
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let mut count = MacCount::default();
    for group in set.test_groups {
        let tag_len = group.tag_size / 8;
        for t in group.tests {
            let id = format!("hmac_sha256 tcId {}", t.tc_id);
            assert_ne!(
                t.result,
                wycheproof::TestResult::Acceptable,
                "{id}: no acceptable HMAC cases expected"
            );
            let valid = !t.result.must_fail();
            let key = HmacSha256Key::new(&t.key);
            let full = key.sign(&t.msg);
            let prefix_matches = t.tag.len() == tag_len && full[..tag_len] == t.tag[..];
            assert_eq!(prefix_matches, valid, "{id}: computed tag");
            if tag_len == HMAC_LEN {
                assert_eq!(key.verify(&t.msg, &t.tag), valid, "{id}: verify");
                if valid {
                    count.valid += 1;
                } else {
                    count.invalid += 1;
                }
            } else {
                assert!(
                    !key.verify(&t.msg, &t.tag),
                    "{id}: a truncated tag verified"
                );
                if valid {
                    count.truncated_valid += 1;
                } else {
                    count.truncated_invalid += 1;
                }
            }
        }
    }
    println!(
        "wycheproof HMAC-SHA256 on {BACKEND}: {count:?} ({} cases)",
        count.valid + count.invalid + count.truncated_valid + count.truncated_invalid
    );
    assert_eq!(
        count,
        MacCount {
            valid: 33,
            invalid: 54,
            truncated_valid: 33,
            truncated_invalid: 54
        }
    );
}

#[derive(Debug, Default, PartialEq, Eq)]
struct SigCount {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
}

#[test]
fn wycheproof_ed25519_every_case() {
    use wycheproof::eddsa::{TestName, TestSet};
    print_backend();
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut count = SigCount::default();
    for group in set.test_groups {
        let public: [u8; 32] = group.key.pk.as_slice().try_into().unwrap();
        for t in group.tests {
            let id = format!("ed25519 tcId {} ({})", t.tc_id, t.comment);
            let ok = ed25519_verify(&public, &t.msg, &t.sig);
            match t.result {
                wycheproof::TestResult::Valid => {
                    assert!(ok, "{id}: a valid signature was refused");
                    count.valid += 1;
                }
                wycheproof::TestResult::Invalid => {
                    assert!(!ok, "{id}: an invalid signature verified");
                    count.invalid += 1;
                }
                wycheproof::TestResult::Acceptable if ok => count.acceptable_accepted += 1,
                wycheproof::TestResult::Acceptable => count.acceptable_refused += 1,
            }
        }
    }
    println!(
        "wycheproof Ed25519 on {BACKEND}: {count:?} ({} cases)",
        count.valid + count.invalid + count.acceptable_accepted + count.acceptable_refused
    );
    assert_eq!(
        count,
        SigCount {
            valid: 88,
            invalid: 63,
            acceptable_accepted: 0,
            acceptable_refused: 0
        }
    );
}
