//! `blind_index.json`: blind indexes (`docs/wire-format.md` §11) — every normaliser with
//! Unicode edge cases, bit lengths 8 to 256, names, a rotation (candidates across pending,
//! active, decrypt-only and compromised versions), a Fernet-compat keyring, a decrypt-only
//! export that looks up but does not write, and the `fail_*` cases of bad parameters and input.
//!
//! Expectations are computed by the core and checked here against what the spec says must
//! hold between them (groups of values that must match, candidates that must contain the
//! written index, an export that must agree with its source).

use super::*;
use keyroll::{BlindIndex, KeyState, Normalizer};

/// A value as cases carry it: text (`value_utf8`) or raw bytes (`value_hex`).
#[derive(Clone, Copy)]
enum Val<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl Val<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Val::Text(s) => s.as_bytes(),
            Val::Bytes(b) => b,
        }
    }
    fn put(&self, case: &mut Map<String, Value>) {
        match self {
            Val::Text(s) => case.insert("value_utf8".into(), json!(s)),
            Val::Bytes(b) => case.insert("value_hex".into(), json!(hex::encode(b))),
        };
    }
}

/// The index parameters of a case.
#[derive(Clone, Copy)]
struct Ix<'a> {
    name: &'a str,
    normalizer: &'a str,
    bits: u32,
}

const EMAIL: Ix = Ix {
    name: "users.email",
    normalizer: "trim+casefold",
    bits: 64,
};

fn make(ring: &Keyring, ix: Ix) -> Result<BlindIndex, keyroll::Error> {
    ring.blind_index(ix.name, Normalizer::parse(ix.normalizer)?, ix.bits)
}

fn head(ix: Ix, v: Val) -> Map<String, Value> {
    let mut case = Map::new();
    case.insert("index_name".into(), json!(ix.name));
    case.insert("normalizer".into(), json!(ix.normalizer));
    case.insert("bits".into(), json!(ix.bits));
    v.put(&mut case);
    case
}

impl File {
    /// A `blind_index` case (`compute`): the text form written, or `code`.
    fn bi(&mut self, name: &str, ring: &str, ix: Ix, v: Val, code: Option<&str>) -> String {
        let mut case = head(ix, v);
        let got = make(self.get(ring), ix).and_then(|i| i.compute(v.bytes()));
        let out = match (got, code) {
            (Ok(t), None) => {
                let n = Normalizer::parse(ix.normalizer).unwrap();
                let norm = n.apply(v.bytes()).unwrap();
                assert!(t.starts_with("bi1:v"), "{name}");
                assert_eq!(t.rsplit(':').next().unwrap().len(), (ix.bits / 4) as usize);
                case.insert("normalized_hex".into(), json!(hex::encode(&norm)));
                case.insert("expect".into(), json!(t));
                t
            }
            (Err(e), Some(c)) => {
                assert_eq!(e.code(), c, "{name}: {e}");
                case.insert("error".into(), json!(c));
                String::new()
            }
            (got, want) => panic!("{name}: got {got:?}, wanted {want:?}"),
        };
        assert_eq!(name.starts_with("fail_"), code.is_some(), "{name}");
        self.push(name, "blind_index", Some(ring), case);
        out
    }

    /// A `blind_index_candidates` case: the list for a lookup, or `code`.
    fn bi_candidates(
        &mut self,
        name: &str,
        ring: &str,
        ix: Ix,
        v: Val,
        code: Option<&str>,
    ) -> Vec<String> {
        let mut case = head(ix, v);
        let index = make(self.get(ring), ix);
        let got = index
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|i| i.candidates(v.bytes()));
        let out = match (got, code) {
            (Ok(list), None) => {
                let index = index.unwrap();
                case.insert("expect_versions".into(), json!(index.versions()));
                case.insert("expect".into(), json!(list));
                list
            }
            (Err(e), Some(c)) => {
                assert_eq!(e.code(), c, "{name}: {e}");
                case.insert("error".into(), json!(c));
                Vec::new()
            }
            (got, want) => panic!("{name}: got {got:?}, wanted {want:?}"),
        };
        assert_eq!(name.starts_with("fail_"), code.is_some(), "{name}");
        self.push(name, "blind_index_candidates", Some(ring), case);
        out
    }
}

pub fn blind_index(dir: &Path) {
    let mut f = File::default();
    let master = key32("blind index master key");

    // "one": a single active version.
    let one = Keyring::generate_seeded(b"blind index ring", NOW).unwrap();
    f.ring("one", &one, Cred::Master(master));
    // "rotated": v1 decrypt_only, v2 active, v3 pending (a two-phase rotation under way).
    let mut rotated = Keyring::generate_seeded(b"blind index rotated", NOW).unwrap();
    rotated.rotate(NOW + DAY).unwrap();
    assert_eq!(rotated.add_version(NOW + 2 * DAY).unwrap(), 3);
    f.ring("rotated", &rotated, Cred::Master(master));
    // "emergency": v1 disabled, v2 compromised, v3 active.
    let mut emergency = Keyring::generate_seeded(b"blind index emergency", NOW).unwrap();
    emergency.rotate(NOW + DAY).unwrap();
    emergency
        .emergency_rotate("key leaked", NOW + 2 * DAY)
        .unwrap();
    emergency
        .set_state(1, KeyState::Disabled, None, NOW + 2 * DAY)
        .unwrap();
    f.ring("emergency", &emergency, Cred::Master(master));
    // "export": the decrypt-only export of rotated's v1 and v2.
    let mut export = rotated.export_decrypt_only(&[1, 2]).unwrap();
    export.reseed_for_testing(b"blind index export");
    f.ring("export", &export, Cred::Master(master));
    // "fernet": a Fernet-compat keyring (the index key comes from the Fernet key itself).
    let fk = |l: &str| FernetKey::from_secret(SecretKey::from_bytes(key32(l)));
    let mut fernet =
        Keyring::from_fernet_keys(&[fk("bi fernet 1"), fk("bi fernet 2")], NOW).unwrap();
    fernet.reseed_for_testing(b"blind index fernet");
    f.ring("fernet", &fernet, Cred::Master(master));

    normalisers(&mut f);
    bit_lengths_and_names(&mut f);
    rotation(&mut f);
    failures(&mut f);

    f.write(
        dir,
        "blind_index.json",
        "Blind indexes (docs/wire-format.md section 11): each normaliser with Unicode edge \
         cases, 8 to 256 bits, index names, candidates across a rotation (pending, active, \
         decrypt-only, compromised; disabled excluded), a Fernet-compat keyring, a decrypt-only \
         export (looks up, does not write), and bad parameters and input",
    );
}

/// A group of values that must share one index: label, normaliser, (case suffix, value)s.
type Group<'a> = (&'a str, &'a str, Vec<(&'a str, Val<'a>)>);

/// Every normaliser; each group of values must give one index, and distinct groups differ.
fn normalisers(f: &mut File) {
    let ix = |normalizer| Ix {
        name: "users.field",
        normalizer,
        bits: 128,
    };
    let groups: Vec<Group> = vec![
        ("exact", "exact", vec![("ascii", Val::Text("alice@example.com"))]),
        ("exact", "exact", vec![("upper", Val::Text("Alice@Example.com"))]),
        ("exact", "exact", vec![("spaces_kept", Val::Text(" alice@example.com "))]),
        ("exact", "exact", vec![("empty", Val::Text(""))]),
        ("exact", "exact", vec![("not_utf8", Val::Bytes(b"\xff\x00\xfe"))]),
        ("exact", "exact", vec![("composed", Val::Text("caf\u{e9}"))]),
        ("exact", "exact", vec![("decomposed", Val::Text("cafe\u{301}"))]),
        (
            "trim",
            "trim",
            vec![
                ("plain", Val::Text("alice")),
                ("spaces", Val::Text("  alice  ")),
                ("tab_newline", Val::Text("\talice\r\n")),
                ("ideographic_space", Val::Text("\u{3000}alice\u{3000}")),
                ("nbsp_and_separators", Val::Text("\u{a0}\u{2028}alice\u{2029}\u{85}")),
            ],
        ),
        ("trim", "trim", vec![("zwsp_kept", Val::Text("\u{200b}alice"))]),
        ("trim", "trim", vec![("bom_kept", Val::Text("\u{feff}alice"))]),
        ("trim", "trim", vec![("inner_space_kept", Val::Text("al ice"))]),
        ("trim", "trim", vec![("all_space", Val::Text(" \t\u{3000}"))]),
        (
            "casefold",
            "casefold",
            vec![
                ("strasse_sharp_s", Val::Text("Stra\u{df}e")),
                ("strasse_upper", Val::Text("STRASSE")),
                ("strasse_fullwidth", Val::Text("\u{ff33}\u{ff34}\u{ff32}\u{ff21}\u{ff33}\u{ff33}\u{ff25}")),
                ("strasse_capital_sharp_s", Val::Text("STRA\u{1e9e}E")),
            ],
        ),
        (
            "casefold",
            "casefold",
            vec![
                ("greek_upper", Val::Text("\u{39f}\u{394}\u{39f}\u{3a3}")),
                ("greek_final_sigma", Val::Text("\u{3bf}\u{3b4}\u{3bf}\u{3c2}")),
                ("greek_medial_sigma", Val::Text("\u{3bf}\u{3b4}\u{3bf}\u{3c3}")),
            ],
        ),
        (
            "casefold",
            "casefold",
            vec![
                ("composed_e_acute", Val::Text("CAF\u{c9}")),
                ("decomposed_e_acute", Val::Text("cafe\u{301}")),
            ],
        ),
        (
            "casefold",
            "casefold",
            vec![
                ("ligature_fi", Val::Text("\u{fb01}le")),
                ("plain_file", Val::Text("FILE")),
            ],
        ),
        (
            "casefold",
            "casefold",
            vec![
                ("kelvin_sign", Val::Text("\u{212a}")),
                ("ascii_k", Val::Text("k")),
            ],
        ),
        (
            "casefold",
            "casefold",
            vec![
                ("square_mhz", Val::Text("\u{3392}")),
                ("ascii_mhz", Val::Text("MHz")),
            ],
        ),
        ("casefold", "casefold", vec![("dotted_capital_i", Val::Text("\u{130}stanbul"))]),
        ("casefold", "casefold", vec![("dotless_i", Val::Text("\u{131}stanbul"))]),
        ("casefold", "casefold", vec![("emoji_skin_tone", Val::Text("\u{1f44d}\u{1f3fd}"))]),
        ("casefold", "casefold", vec![("spaces_kept", Val::Text(" a "))]),
        (
            "trim_casefold",
            "trim+casefold",
            vec![
                ("email", Val::Text("alice@example.com")),
                ("email_typed", Val::Text(" Alice@Example.COM\n")),
                ("email_fullwidth_at", Val::Text("ALICE\u{ff20}EXAMPLE.COM\u{3000}")),
            ],
        ),
        (
            "digits",
            "digits",
            vec![
                ("phone_plain", Val::Text("15550109999")),
                ("phone_formatted", Val::Text("+1 (555) 010-9999")),
                ("phone_dots", Val::Text("1.555.010.9999")),
                ("phone_fullwidth", Val::Text("\u{ff11}\u{ff15}\u{ff15}\u{ff15}\u{ff10}\u{ff11}\u{ff10}\u{ff19}\u{ff19}\u{ff19}\u{ff19}")),
            ],
        ),
        (
            "digits",
            "digits",
            vec![
                ("none_left", Val::Text("n/a")),
                ("arabic_indic_dropped", Val::Text("\u{663}\u{664}")),
                ("empty", Val::Text("")),
            ],
        ),
    ];
    let mut seen: Vec<(String, String)> = Vec::new();
    for (label, normalizer, group) in groups {
        let mut first: Option<String> = None;
        for (what, v) in group {
            let t = f.bi(&format!("{label}_{what}"), "one", ix(normalizer), v, None);
            match &first {
                Some(x) => assert_eq!(x, &t, "{label}_{what}: same group, same index"),
                None => first = Some(t),
            }
        }
        let t = first.unwrap();
        assert!(
            !seen.iter().any(|(n, x)| n == normalizer && x == &t),
            "{label}: distinct groups must differ"
        );
        seen.push((normalizer.into(), t));
    }
    // The accepted alias names the same index as the canonical name.
    let canonical = f.bi(
        "trim_casefold_canonical_name",
        "one",
        EMAIL,
        Val::Text("Bob@x.org"),
        None,
    );
    let alias = f.bi(
        "trim_casefold_alias_name",
        "one",
        Ix {
            normalizer: "casefold+trim",
            ..EMAIL
        },
        Val::Text("bob@X.ORG "),
        None,
    );
    assert_eq!(canonical, alias);
}

fn bit_lengths_and_names(f: &mut File) {
    let v = Val::Text("4111 1111 1111 1111");
    let mut full = String::new();
    for bits in [8, 16, 24, 32, 64, 96, 128, 256] {
        let ix = Ix {
            name: "cards.number",
            normalizer: "digits",
            bits,
        };
        let t = f.bi(&format!("bits_{bits}"), "one", ix, v, None);
        if bits == 256 {
            full = t;
        }
    }
    assert_eq!(full.len(), "bi1:v1:".len() + 64);
    let names = [
        ("name_other", "users.email2"),
        ("name_unicode", "benutzer.stra\u{df}e"),
        ("name_one_byte", "e"),
    ];
    let base = f.bi(
        "name_base",
        "one",
        EMAIL,
        Val::Text("alice@example.com"),
        None,
    );
    for (case, name) in names {
        let t = f.bi(
            case,
            "one",
            Ix { name, ..EMAIL },
            Val::Text("alice@example.com"),
            None,
        );
        assert_ne!(t, base, "{case}");
    }
    let long = "n".repeat(255);
    f.bi(
        "name_255_bytes",
        "one",
        Ix {
            name: &long,
            ..EMAIL
        },
        Val::Text("alice@example.com"),
        None,
    );
    // Same name, other normaliser or bits: another key, not a prefix.
    let other_bits = f.bi(
        "name_base_128_bits",
        "one",
        Ix { bits: 128, ..EMAIL },
        Val::Text("alice@example.com"),
        None,
    );
    assert!(!other_bits.starts_with(&base));
    f.bi(
        "fernet_compat_ring",
        "fernet",
        EMAIL,
        Val::Text("alice@example.com"),
        None,
    );
    f.bi_candidates(
        "fernet_compat_ring_candidates",
        "fernet",
        EMAIL,
        Val::Text("alice@example.com"),
        None,
    );
}

fn rotation(f: &mut File) {
    let v = Val::Text("Alice@Example.com");
    // Two-phase rotation under way: writes use v2; lookups cover v2, then v3 (pending), v1.
    let written = f.bi("rotated_compute_active", "rotated", EMAIL, v, None);
    assert!(written.starts_with("bi1:v2:"));
    let list = f.bi_candidates("rotated_candidates", "rotated", EMAIL, v, None);
    assert_eq!(list.len(), 3);
    assert_eq!(list[0], written);
    assert!(list[1].starts_with("bi1:v3:") && list[2].starts_with("bi1:v1:"));
    // Emergency rotation: v3 written, v2 (compromised) still found, v1 (disabled) not.
    let written = f.bi("emergency_compute_active", "emergency", EMAIL, v, None);
    assert!(written.starts_with("bi1:v3:"));
    let list = f.bi_candidates(
        "emergency_candidates_keep_compromised",
        "emergency",
        EMAIL,
        v,
        None,
    );
    assert_eq!(list.len(), 2);
    assert!(list[1].starts_with("bi1:v2:"));
    // A decrypt-only export looks up (same values as its source) but does not write.
    let from_export = f.bi_candidates("export_candidates", "export", EMAIL, v, None);
    let source = make(f.get("rotated"), EMAIL)
        .unwrap()
        .candidates(v.bytes())
        .unwrap();
    assert_eq!(from_export, vec![source[0].clone(), source[2].clone()]);
    f.bi(
        "fail_export_compute",
        "export",
        EMAIL,
        v,
        Some("no_active_key"),
    );
    f.bi_candidates("one_candidates", "one", EMAIL, v, None);
}

fn failures(f: &mut File) {
    let v = Val::Text("alice@example.com");
    for bits in [0, 7, 12, 260, 264, 512] {
        f.bi(
            &format!("fail_bits_{bits}"),
            "one",
            Ix { bits, ..EMAIL },
            v,
            Some("invalid_argument"),
        );
    }
    for (case, n) in [
        ("unknown", "lowercase"),
        ("empty", ""),
        ("wrong_case", "Exact"),
        ("digits_combined", "digits+trim"),
        ("trim_twice", "trim+trim"),
    ] {
        f.bi(
            &format!("fail_normalizer_{case}"),
            "one",
            Ix {
                normalizer: n,
                ..EMAIL
            },
            v,
            Some("invalid_argument"),
        );
    }
    f.bi(
        "fail_name_empty",
        "one",
        Ix { name: "", ..EMAIL },
        v,
        Some("invalid_argument"),
    );
    let long = "n".repeat(256);
    f.bi(
        "fail_name_256_bytes",
        "one",
        Ix {
            name: &long,
            ..EMAIL
        },
        v,
        Some("invalid_argument"),
    );
    for n in ["trim", "casefold", "trim+casefold", "digits"] {
        let ix = Ix {
            normalizer: n,
            ..EMAIL
        };
        let case = n.replace('+', "_");
        f.bi(
            &format!("fail_not_utf8_{case}"),
            "one",
            ix,
            Val::Bytes(b"alice\xff"),
            Some("invalid_argument"),
        );
    }
    f.bi_candidates(
        "fail_candidates_not_utf8",
        "rotated",
        EMAIL,
        Val::Bytes(b"\xc3"),
        Some("invalid_argument"),
    );
    f.bi_candidates(
        "fail_candidates_bad_bits",
        "rotated",
        Ix { bits: 4, ..EMAIL },
        v,
        Some("invalid_argument"),
    );
}
