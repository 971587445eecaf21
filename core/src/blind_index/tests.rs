//! Unit tests of the rules around the MAC; the bytes themselves are pinned by
//! `tests/vectors/v1/blind_index.json`.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::KeyState;

const NOW: u64 = 1_700_000_000;

fn ring() -> Keyring {
    Keyring::generate(NOW).unwrap()
}

#[test]
fn bits_and_names_are_checked() {
    let r = ring();
    for bits in [0, 7, 9, 12, 264, 1024] {
        let e = r.blind_index("email", Normalizer::Exact, bits).unwrap_err();
        assert_eq!(e.code(), "invalid_argument", "{bits}");
    }
    for bits in [8, 16, 64, 128, 256] {
        let i = r.blind_index("email", Normalizer::Exact, bits).unwrap();
        let t = i.compute(b"x").unwrap();
        assert_eq!(t.len(), "bi1:v1:".len() + (bits / 4) as usize);
    }
    assert!(r.blind_index("", Normalizer::Exact, 64).is_err());
    assert!(r
        .blind_index(&"n".repeat(256), Normalizer::Exact, 64)
        .is_err());
    assert!(r
        .blind_index(&"n".repeat(255), Normalizer::Exact, 64)
        .is_ok());
}

#[test]
fn normaliser_names() {
    for n in Normalizer::ALL {
        assert_eq!(Normalizer::parse(n.as_str()).unwrap(), n);
    }
    assert_eq!(
        Normalizer::parse("casefold+trim").unwrap(),
        Normalizer::TrimCaseFold
    );
    for bad in [
        "",
        "Exact",
        "lower",
        "digits+trim",
        "trim+digits",
        "trim+trim",
    ] {
        assert_eq!(
            Normalizer::parse(bad).unwrap_err().code(),
            "invalid_argument"
        );
    }
}

#[test]
fn normalisers_behave_as_documented() {
    let n = |n: Normalizer, v: &str| {
        String::from_utf8(n.apply(v.as_bytes()).unwrap().into_owned()).unwrap()
    };
    assert_eq!(n(Normalizer::Trim, "\u{3000} a b \t\n"), "a b");
    assert_eq!(n(Normalizer::Trim, "\u{200b}a"), "\u{200b}a"); // ZWSP is not White_Space
    assert_eq!(n(Normalizer::CaseFold, "Straße"), "strasse");
    assert_eq!(n(Normalizer::CaseFold, "ＳＴＲＡＳＳＥ"), "strasse");
    assert_eq!(
        n(Normalizer::CaseFold, "ΟΔΟΣ"),
        n(Normalizer::CaseFold, "οδος")
    );
    assert_eq!(n(Normalizer::CaseFold, "οδος"), "οδοσ");
    assert_eq!(n(Normalizer::CaseFold, "e\u{301}"), "\u{e9}");
    assert_eq!(n(Normalizer::CaseFold, " A "), " a ");
    assert_eq!(
        n(Normalizer::TrimCaseFold, " Alice@Example.COM\n"),
        "alice@example.com"
    );
    assert_eq!(
        n(Normalizer::Digits, "+1 (555) 010-９９\u{663}"),
        "155501099"
    );
    assert_eq!(n(Normalizer::Digits, "n/a"), "");
    assert_eq!(
        Normalizer::Exact.apply(b"\xff A ").unwrap().as_ref(),
        b"\xff A "
    );
    for other in [Normalizer::Trim, Normalizer::CaseFold, Normalizer::Digits] {
        assert_eq!(other.apply(b"\xff").unwrap_err().code(), "invalid_argument");
    }
}

/// The derivation of §11.1, recomputed with the RustCrypto primitives directly.
#[test]
fn key_derivation_matches_the_spec() {
    use hmac::{Hmac, Mac};
    let r = ring();
    let index = r
        .blind_index("users.email", Normalizer::TrimCaseFold, 96)
        .unwrap();
    let secret = r.slots[&1].material.as_ref().unwrap().secret.expose();
    let mut key = [0u8; 32];
    let info = [
        b"keyroll/v1 blind index\0".as_slice(),
        b"trim+casefold\0",
        &[0, 96],
        b"users.email",
    ]
    .concat();
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&r.id().0), secret)
        .expand(&info, &mut key)
        .unwrap();
    let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(&key).unwrap();
    mac.update(b"a@b.c");
    let tag = mac.finalize().into_bytes();
    let want: String = tag[..12].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(index.compute(b" A@B.C ").unwrap(), format!("bi1:v1:{want}"));
}

#[test]
fn parameters_separate_indexes() {
    let r = ring();
    let a = r
        .blind_index("a", Normalizer::Exact, 64)
        .unwrap()
        .compute(b"x")
        .unwrap();
    let b = r
        .blind_index("b", Normalizer::Exact, 64)
        .unwrap()
        .compute(b"x")
        .unwrap();
    let t = r
        .blind_index("a", Normalizer::Trim, 64)
        .unwrap()
        .compute(b"x")
        .unwrap();
    let long = r
        .blind_index("a", Normalizer::Exact, 128)
        .unwrap()
        .compute(b"x")
        .unwrap();
    assert_ne!(a, b);
    assert_ne!(a, t);
    // Not a prefix of the longer one: bits are in the label.
    assert!(!long.starts_with(&a));
    let other = ring()
        .blind_index("a", Normalizer::Exact, 64)
        .unwrap()
        .compute(b"x")
        .unwrap();
    assert_ne!(a, other);
}

#[test]
fn rotation_candidates_and_states() {
    let mut r = ring();
    let before = r
        .blind_index("e", Normalizer::Exact, 64)
        .unwrap()
        .compute(b"v")
        .unwrap();
    let v2 = r.add_version(NOW + 1).unwrap();
    let i = r.blind_index("e", Normalizer::Exact, 64).unwrap();
    assert_eq!(i.versions(), vec![1, v2]); // pending after active
    assert_eq!(i.active_version(), Some(1));
    assert_eq!(i.compute(b"v").unwrap(), before);
    r.promote(v2, NOW + 2).unwrap();
    let i = r.blind_index("e", Normalizer::Exact, 64).unwrap();
    assert_eq!(i.versions(), vec![v2, 1]);
    let c = i.candidates(b"v").unwrap();
    assert_eq!(c[1], before);
    assert!(c[0].starts_with("bi1:v2:"));
    assert_eq!(i.compute(b"v").unwrap(), c[0]);
    // Emergency rotation: the compromised version stays a candidate until it is retired.
    let v3 = r.emergency_rotate("leak", NOW + 3).unwrap();
    assert_eq!(r.version(v2).unwrap().state, KeyState::Compromised);
    let i = r.blind_index("e", Normalizer::Exact, 64).unwrap();
    assert_eq!(i.versions(), vec![v3, v2, 1]);
    r.set_state(1, KeyState::Disabled, None, NOW + 4).unwrap();
    r.set_state(v2, KeyState::Destroyed, None, NOW + 4).unwrap();
    let i = r.blind_index("e", Normalizer::Exact, 64).unwrap();
    assert_eq!(i.versions(), vec![v3]);
    assert_eq!(i.candidates(b"v").unwrap().len(), 1);
}

#[test]
fn below_minimum_is_not_a_candidate() {
    let mut r = ring();
    r.rotate(NOW + 1).unwrap();
    r.set_min_version(2).unwrap();
    assert_eq!(
        r.blind_index("e", Normalizer::Exact, 64)
            .unwrap()
            .versions(),
        vec![2]
    );
}

#[test]
fn decrypt_only_export_looks_up_but_does_not_write() {
    let mut r = ring();
    r.rotate(NOW + 1).unwrap();
    let full = r.blind_index("e", Normalizer::Exact, 64).unwrap();
    let export = r.export_decrypt_only(&[1, 2]).unwrap();
    let ro = export.blind_index("e", Normalizer::Exact, 64).unwrap();
    assert_eq!(ro.active_version(), None);
    assert_eq!(ro.compute(b"v").unwrap_err().code(), "no_active_key");
    assert_eq!(ro.candidates(b"v").unwrap(), full.candidates(b"v").unwrap());
}

#[test]
fn debug_shows_no_key_bytes() {
    let i = ring()
        .blind_index("users.email", Normalizer::CaseFold, 64)
        .unwrap();
    let d = format!("{i:?}");
    assert!(
        d.contains("users.email") && d.contains("CaseFold") && d.contains("versions: [1]"),
        "{d}"
    );
    assert!(!d.contains("Mac") && !d.contains("key"), "{d}");
}

#[test]
fn version_numbers_in_text() {
    let mut buf = [0u8; 10];
    assert_eq!(itoa(0, &mut buf), "0");
    assert_eq!(itoa(u32::MAX, &mut [0u8; 10]), "4294967295");
    assert_eq!(itoa(1_000, &mut [0u8; 10]), "1000");
}

#[test]
fn send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<BlindIndex>();
}

/// The ASCII shortcuts of `casefold` and `digits` give what the full Unicode pipeline gives.
#[test]
fn ascii_shortcuts_match_the_unicode_pipeline() {
    let all: String = (0u8..128).map(char::from).collect();
    assert_eq!(
        *super::normalize::fold_unicode(&all),
        all.to_ascii_lowercase()
    );
    for c in (0u8..128).map(char::from) {
        let one = c.to_string();
        assert_eq!(
            *super::normalize::fold_unicode(&one),
            one.to_ascii_lowercase(),
            "{c:?}"
        );
        let nfkc: String = unicode_normalization::UnicodeNormalization::nfkc(one.chars()).collect();
        assert_eq!(nfkc, one, "NFKC of {c:?}");
    }
}

/// Casefolding mixed text run by run gives what the full pipeline gives on the whole text.
#[test]
fn runs_fold_like_the_whole_text() {
    use proptest::prelude::*;
    // ASCII (letters, digits, space, @) and code points that decompose, compose onto ASCII,
    // reorder, fold to several characters or to ASCII, or are Hangul jamo.
    const TRICKY: &[char] = &[
        'a',
        'E',
        'z',
        'S',
        'k',
        'I',
        '1',
        ' ',
        '@',
        '.',
        '\u{301}',
        '\u{308}',
        '\u{323}',
        '\u{345}',
        '\u{327}',
        '\u{df}',
        '\u{1e9e}',
        '\u{130}',
        '\u{131}',
        '\u{3a3}',
        '\u{3c2}',
        '\u{390}',
        '\u{1fc3}',
        '\u{fb01}',
        '\u{212a}',
        '\u{212b}',
        '\u{3392}',
        '\u{ff21}',
        '\u{ff4b}',
        '\u{1100}',
        '\u{1161}',
        '\u{11a8}',
        '\u{ac00}',
        '\u{1c5}',
        '\u{e9}',
        '\u{c5}',
        '\u{1f44d}',
        '\u{3000}',
        '\u{2460}',
        '\u{fdfa}',
    ];
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(
            &proptest::collection::vec(0..TRICKY.len(), 0..24),
            |picks| {
                let s: String = picks.iter().map(|&i| TRICKY[i]).collect();
                prop_assert_eq!(
                    &*super::normalize::fold_unicode(&s),
                    &*super::normalize::fold(&s),
                    "{:?}",
                    s
                );
                Ok(())
            },
        )
        .unwrap();
}
