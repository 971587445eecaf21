//! Writes `tests/vectors/v1/*.json` from fixed inputs (seeded keys, nonces and salts).
//!
//! `cargo run -p keyroll --features testing --example gen_vectors -- tests/vectors/v1`
//!
//! Every expectation written is first checked against this crate: the generator states what
//! each case must give (bytes or an error code) and panics if the core disagrees, so a vector
//! file is both a regression record and a checked statement of the spec. The test command
//! regenerates the files and fails on any diff.
#![allow(clippy::unwrap_used, missing_docs)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use keyroll::legacy::fernet;
use keyroll::{
    FernetKey, Keyring, Protection, RawGcmImport, RawGcmKey, SecretKey, Ttl, Unlock, VersionInfo,
};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use zeroize::Zeroizing;

#[path = "gen_vectors/blind_index.rs"]
mod blind_index;
#[path = "gen_vectors/operations.rs"]
mod operations;
#[path = "gen_vectors/signing.rs"]
mod signing;

/// 2023-11-14T22:13:20Z: the fixed "now" of every vector.
const NOW: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
const PASSPHRASE: &str = "correct horse battery staple";
/// Low on purpose: vectors must load fast in every language; the count is in the document.
const ITERATIONS: u32 = 1_000;
const CTX: &[u8] = b"users:42:ssn";

/// Deterministic bytes: SHA-256(label ‖ counter) blocks.
fn det(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        let block = Sha256::new()
            .chain_update(label.as_bytes())
            .chain_update(i.to_be_bytes())
            .finalize();
        out.extend_from_slice(&block[..(len - out.len()).min(32)]);
        i += 1;
    }
    out
}

fn key32(label: &str) -> [u8; 32] {
    det(label, 32).try_into().unwrap()
}

#[derive(Clone)]
enum Cred {
    Pass(&'static str),
    Master([u8; 32]),
}

/// A token as cases carry it: text (`token`) or binary (`token_hex`).
#[derive(Clone)]
enum Tok {
    Text(String),
    Bin(Vec<u8>),
}

impl Tok {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Tok::Text(s) => s.as_bytes().to_vec(),
            Tok::Bin(b) => b.clone(),
        }
    }
    fn put(&self, case: &mut Map<String, Value>) {
        match self {
            Tok::Text(s) => case.insert("token".into(), json!(s)),
            Tok::Bin(b) => case.insert("token_hex".into(), json!(hex::encode(b))),
        };
    }
}

/// What a case must give.
enum Want<'a> {
    Plain(&'a [u8]),
    Code(&'static str),
}

#[derive(Default)]
struct File {
    keyrings: Map<String, Value>,
    /// The same documents, opened, to compute and check expectations.
    opened: std::collections::HashMap<String, Result<Keyring, keyroll::Error>>,
    cases: Vec<Value>,
}

impl File {
    /// Stores `ring` sealed under `cred` as keyring `name`.
    fn ring(&mut self, name: &str, ring: &Keyring, cred: Cred) {
        let doc = match &cred {
            Cred::Pass(p) => ring.to_document(Protection::PassphraseForTesting {
                passphrase: p.as_bytes(),
                iterations: ITERATIONS,
            }),
            Cred::Master(k) => ring.to_document(Protection::MasterKey(&SecretKey::from_bytes(*k))),
        }
        .unwrap();
        self.raw_ring(name, String::from_utf8(doc).unwrap(), cred);
    }

    /// Stores a document string as keyring `name` (possibly damaged on purpose).
    fn raw_ring(&mut self, name: &str, document: String, cred: Cred) {
        let mut entry = Map::new();
        entry.insert("document".into(), json!(document));
        let opened = match &cred {
            Cred::Pass(p) => {
                entry.insert("passphrase".into(), json!(p));
                Keyring::from_document(document.as_bytes(), Unlock::Passphrase(p.as_bytes()))
            }
            Cred::Master(k) => {
                entry.insert("master_key_hex".into(), json!(hex::encode(k)));
                Keyring::from_document(
                    document.as_bytes(),
                    Unlock::MasterKey(&SecretKey::from_bytes(*k)),
                )
            }
        };
        self.keyrings.insert(name.into(), Value::Object(entry));
        self.opened.insert(name.into(), opened);
    }

    fn get(&self, name: &str) -> &Keyring {
        self.opened[name].as_ref().unwrap()
    }

    fn push(&mut self, name: &str, op: &str, ring: Option<&str>, mut case: Map<String, Value>) {
        assert!(
            !self.cases.iter().any(|c| c["name"] == name),
            "duplicate case {name}"
        );
        let mut head = Map::new();
        head.insert("name".into(), json!(name));
        head.insert("op".into(), json!(op));
        if let Some(r) = ring {
            head.insert("keyring".into(), json!(r));
        }
        head.append(&mut case);
        self.cases.push(Value::Object(head));
    }

    /// A decrypt case; the core must agree with `want`.
    fn decrypt(
        &mut self,
        name: &str,
        ring: &str,
        tok: &Tok,
        ctx: &[u8],
        ttl: Option<Ttl>,
        want: Want,
    ) {
        let got = self.get(ring).decrypt(&tok.bytes(), ctx, ttl);
        let mut case = Map::new();
        tok.put(&mut case);
        case.insert("context_hex".into(), json!(hex::encode(ctx)));
        if let Some(t) = ttl {
            case.insert("ttl".into(), json!({"seconds": t.seconds, "now": t.now}));
        }
        expect(name, &mut case, got, want);
        self.push(name, "decrypt", Some(ring), case);
    }

    /// A rewrap case: the result must decrypt to `want` under `version`, keeping issued-at.
    /// Also recorded: the output's form (`rewrap` always writes the text form, whatever the
    /// input), its issued-at (the input's authenticated one: v1's, Fernet's timestamp, none for
    /// raw GCM), and that it differs from the input (a token already under the active version
    /// is re-encrypted with a fresh nonce, not returned as is).
    fn rewrap(&mut self, name: &str, ring: &str, tok: &Tok, ctx: &[u8], want: Want, version: u32) {
        let r = self.get(ring);
        let mut fields = Map::new();
        let got = r.rewrap(&tok.bytes(), ctx).and_then(|fresh| {
            let info = keyroll::inspect(fresh.as_bytes())?;
            assert_eq!(info.key_version, Some(version), "{name}: rewrap version");
            let before = r.verify(&tok.bytes(), ctx, None).unwrap().issued_at;
            assert_eq!(info.issued_at, before, "{name}: rewrap keeps issued-at");
            assert_ne!(fresh.as_bytes(), &tok.bytes()[..], "{name}: a new envelope");
            fields.insert("expect_format".into(), json!(info.format.as_str()));
            fields.insert("expect_issued_at".into(), json!(info.issued_at));
            r.decrypt(fresh.as_bytes(), ctx, None)
        });
        let mut case = Map::new();
        tok.put(&mut case);
        case.insert("context_hex".into(), json!(hex::encode(ctx)));
        if matches!(want, Want::Plain(_)) {
            case.insert("expect_version".into(), json!(version));
            case.append(&mut fields);
        }
        expect(name, &mut case, got, want);
        self.push(name, "rewrap", Some(ring), case);
    }

    /// A rewrap case with `allow_compromised: true` (the opt-in that moves data off a
    /// compromised version): as [`File::rewrap`], and the result also names the version the
    /// input was read from and whether it is compromised.
    fn rewrap_opt_in(
        &mut self,
        name: &str,
        ring: &str,
        tok: &Tok,
        ctx: &[u8],
        want: Want,
        from: (u32, bool),
    ) {
        let r = self.get(ring);
        let options = keyroll::RewrapOptions {
            allow_compromised: true,
        };
        let mut fields = Map::new();
        let got = r
            .rewrap_to_context_with(&tok.bytes(), ctx, ctx, options)
            .and_then(|out| {
                let info = keyroll::inspect(out.token.as_bytes())?;
                assert_eq!(info.key_version, r.active_version(), "{name}: version");
                assert_ne!(
                    out.token.as_bytes(),
                    &tok.bytes()[..],
                    "{name}: a new envelope"
                );
                assert_eq!(
                    (out.from_version, out.from_compromised),
                    from,
                    "{name}: from"
                );
                fields.insert("expect_version".into(), json!(info.key_version));
                fields.insert("expect_format".into(), json!(info.format.as_str()));
                fields.insert("expect_issued_at".into(), json!(info.issued_at));
                fields.insert("expect_from_version".into(), json!(out.from_version));
                fields.insert(
                    "expect_from_compromised".into(),
                    json!(out.from_compromised),
                );
                r.decrypt(out.token.as_bytes(), ctx, None)
            });
        let mut case = Map::new();
        tok.put(&mut case);
        case.insert("context_hex".into(), json!(hex::encode(ctx)));
        case.insert("allow_compromised".into(), json!(true));
        case.append(&mut fields);
        expect(name, &mut case, got, want);
        self.push(name, "rewrap", Some(ring), case);
    }

    /// An inspect case: the fields must equal what core reports (and `want` when given).
    fn inspect(&mut self, name: &str, tok: &Tok, want_code: Option<&'static str>) {
        let mut case = Map::new();
        tok.put(&mut case);
        match (keyroll::inspect(&tok.bytes()), want_code) {
            (Ok(info), None) => {
                case.insert("expect".into(), serde_json::to_value(&info).unwrap());
            }
            (Err(e), Some(code)) => {
                assert_eq!(e.code(), code, "{name}");
                case.insert("error".into(), json!(code));
            }
            (got, want) => panic!("{name}: got {got:?}, wanted {want:?}"),
        }
        self.push(name, "inspect", None, case);
    }

    /// A load case: the keyring opens and shows these versions, or fails with `code`.
    fn load(&mut self, name: &str, ring: &str, want_code: Option<&'static str>) {
        let mut case = Map::new();
        match (&self.opened[ring], want_code) {
            (Ok(r), None) => {
                case.insert("expect".into(), summary(r));
            }
            (Err(e), Some(code)) => {
                assert_eq!(e.code(), code, "{name}");
                case.insert("error".into(), json!(code));
            }
            (got, want) => panic!("{name}: got {got:?}, wanted {want:?}"),
        }
        self.push(name, "load", Some(ring), case);
    }

    fn write(self, dir: &Path, file: &str, description: &str) {
        let value = json!({
            "description": description,
            "keyrings": self.keyrings,
            "cases": self.cases,
        });
        let mut text = serde_json::to_string_pretty(&value).unwrap();
        text.push('\n');
        std::fs::write(dir.join(file), text).unwrap();
    }
}

fn expect(
    name: &str,
    case: &mut Map<String, Value>,
    got: Result<Vec<u8>, keyroll::Error>,
    want: Want,
) {
    match (got, want) {
        (Ok(p), Want::Plain(w)) => {
            assert_eq!(p, w, "{name}: plaintext");
            case.insert("plaintext_hex".into(), json!(hex::encode(w)));
        }
        (Err(e), Want::Code(c)) => {
            assert_eq!(e.code(), c, "{name}: {e}");
            case.insert("error".into(), json!(c));
        }
        (Ok(_), Want::Code(c)) => panic!("{name}: decrypted, wanted {c}"),
        (Err(e), Want::Plain(_)) => panic!("{name}: {e} ({}), wanted plaintext", e.code()),
    }
}

/// What a `load` case checks: id, active version, flags and each version's kind and state.
fn summary(r: &Keyring) -> Value {
    let versions: Vec<Value> = r
        .versions()
        .iter()
        .map(|v: &VersionInfo| json!({"version": v.version, "kind": v.kind, "state": v.state}))
        .collect();
    json!({
        "keyring_id": r.id().to_hex(),
        "active_version": r.active_version(),
        "min_version": r.min_version(),
        "read_only": r.is_read_only(),
        "versions": versions,
    })
}

fn text(ring: &Keyring, pt: &[u8], ctx: &[u8], issued_at: Option<u64>) -> Tok {
    Tok::Text(ring.encrypt(pt, ctx, issued_at).unwrap())
}

/// The text form of `binary` with the prefix version `v` (which may disagree with the header).
fn text_with_prefix(binary: &[u8], v: u32) -> Tok {
    Tok::Text(format!("kr1:v{v}:{}", URL_SAFE_NO_PAD.encode(binary)))
}

/// The binary form inside a text token.
fn binary_of(tok: &Tok) -> Vec<u8> {
    match tok {
        Tok::Text(s) => URL_SAFE_NO_PAD
            .decode(s.splitn(3, ':').nth(2).unwrap())
            .unwrap(),
        Tok::Bin(b) => b.clone(),
    }
}

/// A forgery: `binary` with the last tag bit flipped (every header byte left as it was).
fn forged(binary: &[u8]) -> Vec<u8> {
    let mut b = binary.to_vec();
    *b.last_mut().unwrap() ^= 1;
    b
}

/// `binary` with byte `i` xored with `x`.
fn altered(binary: &[u8], i: usize, x: u8) -> Vec<u8> {
    let mut b = binary.to_vec();
    b[i] ^= x;
    b
}

/// Which check decides, when several would fail (§1.3, §2): header parsing (steps 1–5), then
/// the text prefix against the header, then keyring, version, minimum and state (6–9), then
/// authentication (10), and only then the TTL (11). A forged envelope whose TTL has passed or
/// that carries no issued-at is `decrypt_failed`, never `expired`/`missing_timestamp`.
fn order_of_checks(f: &mut File, base: &[u8], ring: &Keyring) {
    let ttl = |seconds, now| Some(Ttl { seconds, now });
    let expired = ttl(60, NOW + 61);
    let fake = forged(base);
    f.decrypt(
        "fail_order_forged_binary_ttl_expired",
        "ring",
        &Tok::Bin(fake.clone()),
        CTX,
        expired,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_order_forged_text_ttl_expired",
        "ring",
        &text_with_prefix(&fake, 1),
        CTX,
        expired,
        Want::Code("decrypt_failed"),
    );
    let untimed = ring.encrypt_binary(b"no time", CTX, None).unwrap();
    f.decrypt(
        "fail_order_forged_untimed_with_ttl",
        "ring",
        &Tok::Bin(forged(&untimed)),
        CTX,
        ttl(60, NOW),
        Want::Code("decrypt_failed"),
    );
    // Wrong context and an expired TTL: authentication decides.
    f.decrypt(
        "fail_order_wrong_context_ttl_expired",
        "ring",
        &Tok::Bin(base.to_vec()),
        b"users:43:ssn",
        expired,
        Want::Code("decrypt_failed"),
    );
    // The text prefix is compared after steps 1-5 and before steps 6-10.
    let cases: Vec<(&str, Vec<u8>, u32, &str, &str)> = vec![
        // a prefix mismatch beats the keyring check: read by another keyring
        (
            "prefix_mismatch_other_keyring",
            base.to_vec(),
            2,
            "other",
            "malformed",
        ),
        // ... and the version lookup (header v5 is unknown; the prefix says v1)
        (
            "prefix_mismatch_unknown_version",
            altered(base, 17, 0x04),
            1,
            "ring",
            "malformed",
        ),
        // ... and authentication (a forgery whose prefix also disagrees)
        (
            "prefix_mismatch_forged",
            fake.clone(),
            3,
            "ring",
            "malformed",
        ),
        // ... and the TTL is never reached
        (
            "prefix_mismatch_max_version",
            base.to_vec(),
            u32::MAX,
            "ring",
            "malformed",
        ),
        // steps 1-5 come first: a bad algorithm byte with a disagreeing prefix
        (
            "prefix_mismatch_bad_algorithm",
            altered(base, 4, 0x02),
            2,
            "ring",
            "unsupported_format",
        ),
        (
            "prefix_mismatch_bad_flags",
            altered(base, 5, 0x80),
            2,
            "ring",
            "unsupported_format",
        ),
        (
            "prefix_mismatch_format_byte",
            altered(base, 3, 0x03),
            2,
            "ring",
            "unsupported_format",
        ),
        (
            "prefix_mismatch_version_zero",
            altered(base, 17, 0x01),
            1,
            "ring",
            "malformed",
        ),
        (
            "prefix_mismatch_truncated",
            base[..30].to_vec(),
            2,
            "ring",
            "malformed",
        ),
        // a consistent prefix: steps 6-10 decide as for the binary form
        (
            "prefix_agrees_unknown_version",
            altered(base, 17, 0x04),
            5,
            "ring",
            "unknown_key_version",
        ),
        (
            "prefix_agrees_other_keyring_id",
            altered(base, 6, 0x01),
            1,
            "ring",
            "wrong_keyring",
        ),
        (
            "prefix_agrees_forged",
            fake.clone(),
            1,
            "ring",
            "decrypt_failed",
        ),
    ];
    for (what, binary, prefix, keyring, code) in cases {
        f.decrypt(
            &format!("fail_order_{what}"),
            keyring,
            &text_with_prefix(&binary, prefix),
            CTX,
            expired,
            Want::Code(code),
        );
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: gen_vectors <dir>");
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    envelope(dir);
    keyring(dir);
    rotation(dir);
    legacy_fernet(dir);
    legacy_raw_gcm(dir);
    operations::operations(dir);
    blind_index::blind_index(dir);
    signing::signing(dir);
    readme_counts(dir);
    println!("wrote vectors to {}", dir.display());
}

fn envelope(dir: &Path) {
    let mut f = File::default();
    let master = key32("envelope master key");
    let ring = Keyring::generate_seeded(b"envelope ring", NOW).unwrap();
    let other = Keyring::generate_seeded(b"envelope other ring", NOW).unwrap();
    f.ring("ring", &ring, Cred::Master(master));
    f.ring("other", &other, Cred::Master(master));

    for size in [0usize, 1, 16, 64, 1024, 65536] {
        let pt = det(&format!("plaintext {size}"), size);
        let combos: &[(&[u8], Option<u64>)] = if size == 65536 {
            &[(CTX, Some(NOW))]
        } else {
            &[(b"", None), (b"", Some(NOW)), (CTX, None), (CTX, Some(NOW))]
        };
        for &(ctx, at) in combos {
            let tag = format!(
                "{size}b{}{}",
                if ctx.is_empty() { "" } else { "_ctx" },
                if at.is_some() { "_time" } else { "" }
            );
            let tok = text(&ring, &pt, ctx, at);
            f.decrypt(
                &format!("text_{tag}"),
                "ring",
                &tok,
                ctx,
                None,
                Want::Plain(&pt),
            );
            if ctx == CTX && (at.is_some() || size <= 64) {
                let bin = Tok::Bin(ring.encrypt_binary(&pt, ctx, at).unwrap());
                f.decrypt(
                    &format!("binary_{tag}"),
                    "ring",
                    &bin,
                    ctx,
                    None,
                    Want::Plain(&pt),
                );
            }
        }
    }
    let unicode = "Grüße, 世界 🔑".as_bytes();
    let tok = text(&ring, unicode, "ctx:ü".as_bytes(), Some(NOW));
    f.decrypt(
        "text_unicode",
        "ring",
        &tok,
        "ctx:ü".as_bytes(),
        None,
        Want::Plain(unicode),
    );

    // The base cases that every failure below alters.
    let pt = det("plaintext 64", 64);
    let base = ring.encrypt_binary(&pt, CTX, Some(NOW)).unwrap();
    let base_text = ring.encrypt(&pt, CTX, Some(NOW)).unwrap();
    let untimed = text(&ring, &pt, CTX, None);
    f.inspect("inspect_binary", &Tok::Bin(base.clone()), None);
    f.inspect("inspect_text", &Tok::Text(base_text.clone()), None);
    f.inspect("inspect_text_untimed", &untimed, None);

    // TTL: Fernet's rules (issued_at + ttl >= now, issued_at <= now + 60).
    let timed = Tok::Text(base_text.clone());
    let ttl = |seconds, now| Some(Ttl { seconds, now });
    f.decrypt(
        "ttl_fresh",
        "ring",
        &timed,
        CTX,
        ttl(60, NOW + 60),
        Want::Plain(&pt),
    );
    f.decrypt(
        "ttl_skew_ok",
        "ring",
        &timed,
        CTX,
        ttl(60, NOW - 60),
        Want::Plain(&pt),
    );
    f.decrypt(
        "fail_ttl_expired",
        "ring",
        &timed,
        CTX,
        ttl(60, NOW + 61),
        Want::Code("expired"),
    );
    f.decrypt(
        "fail_ttl_future",
        "ring",
        &timed,
        CTX,
        ttl(60, NOW - 61),
        Want::Code("expired"),
    );
    f.decrypt(
        "fail_ttl_no_timestamp",
        "ring",
        &untimed,
        CTX,
        ttl(60, NOW),
        Want::Code("missing_timestamp"),
    );

    // Truncation at every field (binary), and of the text form.
    let cuts: &[(usize, &str)] = &[
        (0, "unsupported_format"),
        (2, "unsupported_format"),
        (3, "unsupported_format"),
        (4, "malformed"),
        (5, "malformed"),
        (6, "malformed"),
        (13, "malformed"),
        (17, "malformed"),
        (18, "malformed"),
        (25, "malformed"),
        (26, "malformed"),
        (37, "malformed"),
        (38, "malformed"),
        (53, "malformed"),
        (base.len() - 1, "decrypt_failed"),
    ];
    for &(len, code) in cuts {
        let t = Tok::Bin(base[..len].to_vec());
        f.decrypt(
            &format!("fail_truncated_binary_{len}"),
            "ring",
            &t,
            CTX,
            None,
            Want::Code(code),
        );
    }
    for len in [0usize, 5, 8, 20, base_text.len() - 1, base_text.len() - 2] {
        let code = match len {
            0 => "unsupported_format",
            5 | 8 | 20 => "malformed",
            _ if len == base_text.len() - 1 => "malformed",
            _ => "decrypt_failed",
        };
        let t = Tok::Text(base_text[..len].to_string());
        f.decrypt(
            &format!("fail_truncated_text_{len}"),
            "ring",
            &t,
            CTX,
            None,
            Want::Code(code),
        );
    }

    // Each header field altered (binary form; the text form's prefix would disagree first).
    let alter = |i: usize, x: u8| {
        let mut b = base.clone();
        b[i] ^= x;
        Tok::Bin(b)
    };
    let fields: &[(&str, usize, u8, &str)] = &[
        ("magic0", 0, 0x01, "unsupported_format"),
        ("magic2", 2, 0x01, "unsupported_format"),
        ("format_version", 3, 0x03, "unsupported_format"),
        ("algorithm", 4, 0x02, "unsupported_format"),
        ("flags_unknown_bit", 5, 0x02, "unsupported_format"),
        ("flags_issued_at_cleared", 5, 0x01, "decrypt_failed"),
        ("keyring_id", 6, 0x01, "wrong_keyring"),
        ("keyring_id_last", 13, 0x80, "wrong_keyring"),
        ("key_version", 17, 0x04, "unknown_key_version"),
        ("key_version_zero", 17, 0x01, "malformed"),
        ("issued_at", 25, 0x01, "decrypt_failed"),
        ("nonce", 26, 0x01, "decrypt_failed"),
        ("ciphertext", 40, 0x01, "decrypt_failed"),
        ("tag", base.len() - 1, 0x01, "decrypt_failed"),
    ];
    for &(field, i, x, code) in fields {
        f.decrypt(
            &format!("fail_altered_{field}"),
            "ring",
            &alter(i, x),
            CTX,
            None,
            Want::Code(code),
        );
    }
    let t = Tok::Text(base_text.clone());
    f.decrypt(
        "fail_wrong_context",
        "ring",
        &t,
        b"users:43:ssn",
        None,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_missing_context",
        "ring",
        &t,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_wrong_keyring",
        "other",
        &t,
        CTX,
        None,
        Want::Code("wrong_keyring"),
    );

    // Text-form strictness.
    let body = base_text.strip_prefix("kr1:v1:").unwrap();
    let mutate: Vec<(&str, String, &str)> = vec![
        (
            "prefix_version_mismatch",
            format!("kr1:v2:{body}"),
            "malformed",
        ),
        (
            "prefix_leading_zero",
            format!("kr1:v01:{body}"),
            "malformed",
        ),
        ("prefix_no_version", format!("kr1:v:{body}"), "malformed"),
        (
            "prefix_bad_separator",
            format!("kr1;v1:{body}"),
            "malformed",
        ),
        (
            "prefix_format_2",
            format!("kr2:v1:{body}"),
            "unsupported_format",
        ),
        (
            "prefix_uppercase",
            format!("KR1:v1:{body}"),
            "unsupported_format",
        ),
        ("base64_padding", format!("{base_text}=="), "malformed"),
        (
            "base64_trailing_newline",
            format!("{base_text}\n"),
            "malformed",
        ),
        (
            "base64_inner_space",
            format!("kr1:v1:{} {}", &body[..10], &body[10..]),
            "malformed",
        ),
        (
            "base64_standard_alphabet",
            base_text.replace('-', "+").replace('_', "/"),
            "malformed",
        ),
        (
            "base64_bad_char",
            format!("kr1:v1:!{}", &body[1..]),
            "malformed",
        ),
        ("not_a_token", "hello world".into(), "unsupported_format"),
    ];
    for (what, s, code) in mutate {
        if what == "base64_standard_alphabet" && !base_text.contains(['-', '_']) {
            continue;
        }
        f.decrypt(
            &format!("fail_{what}"),
            "ring",
            &Tok::Text(s),
            CTX,
            None,
            Want::Code(code),
        );
    }
    // A final character whose unused low bits are not zero (non-canonical base64).
    let mut bytes = base_text.clone().into_bytes();
    let last = *bytes.last().unwrap();
    let decoded = URL_SAFE_NO_PAD.decode(body).unwrap();
    assert_eq!(
        decoded.len() % 3,
        1,
        "64-byte plaintext with issued-at leaves 1 byte over"
    );
    bytes.pop();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.iter().position(|&c| c == last).unwrap();
    bytes.push(alphabet[idx | 1]);
    let t = Tok::Text(String::from_utf8(bytes).unwrap());
    f.decrypt(
        "fail_base64_noncanonical_bits",
        "ring",
        &t,
        CTX,
        None,
        Want::Code("malformed"),
    );
    order_of_checks(&mut f, &base, &ring);
    f.inspect(
        "fail_inspect_garbage",
        &Tok::Text("hello world".into()),
        Some("unsupported_format"),
    );
    f.inspect(
        "fail_inspect_truncated",
        &Tok::Bin(base[..20].to_vec()),
        Some("malformed"),
    );

    f.write(
        dir,
        "envelope.json",
        "v1 envelopes, text and binary, 0 B to 64 KiB, with and without context and issued-at; \
         TTL; truncation at every field; every header field altered; text-form strictness",
    );
}

fn keyring(dir: &Path) {
    let mut f = File::default();
    let master = key32("keyring master key");
    let mut ring = Keyring::generate_seeded(b"keyring ring", NOW).unwrap();
    let tok1 = text(&ring, b"sealed under v1", CTX, Some(NOW));
    ring.rotate(NOW + DAY).unwrap();
    let tok2 = text(&ring, b"sealed under v2", CTX, Some(NOW + DAY));
    ring.set_policy(keyroll::Policy {
        rotate_after_days: 30,
        warn_after_days: 25,
    })
    .unwrap();
    f.ring("by_passphrase", &ring, Cred::Pass(PASSPHRASE));
    f.ring("by_master_key", &ring, Cred::Master(master));
    f.load("load_passphrase", "by_passphrase", None);
    f.load("load_master_key", "by_master_key", None);
    for r in ["by_passphrase", "by_master_key"] {
        f.decrypt(
            &format!("{r}_v1"),
            r,
            &tok1,
            CTX,
            None,
            Want::Plain(b"sealed under v1"),
        );
        f.decrypt(
            &format!("{r}_v2"),
            r,
            &tok2,
            CTX,
            None,
            Want::Plain(b"sealed under v2"),
        );
    }

    let pass_doc: Value =
        serde_json::from_str(f.keyrings["by_passphrase"]["document"].as_str().unwrap()).unwrap();
    let master_doc: Value =
        serde_json::from_str(f.keyrings["by_master_key"]["document"].as_str().unwrap()).unwrap();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    let edited = |doc: &Value, edit: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        pretty(&d)
    };
    let pass = Cred::Pass(PASSPHRASE);
    let damaged: Vec<(&str, String, Cred, &str)> = vec![
        (
            "wrong_passphrase",
            pretty(&pass_doc),
            Cred::Pass("wrong horse"),
            "bad_passphrase",
        ),
        (
            "wrong_master_key",
            pretty(&master_doc),
            Cred::Master(key32("other")),
            "bad_passphrase",
        ),
        (
            "passphrase_for_master_key",
            pretty(&master_doc),
            pass.clone(),
            "bad_passphrase",
        ),
        (
            "state_flipped",
            edited(&pass_doc, &|d| {
                d["body"]["versions"][0]["state"] = json!("active")
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "date_changed",
            edited(&pass_doc, &|d| {
                d["body"]["versions"][1]["created_at"] = json!(NOW)
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "version_renumbered",
            edited(&pass_doc, &|d| {
                d["body"]["versions"][1]["version"] = json!(3)
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "policy_changed",
            edited(&pass_doc, &|d| {
                d["body"]["policy"]["rotate_after_days"] = json!(3650)
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "min_version_changed",
            edited(&pass_doc, &|d| d["body"]["min_version"] = json!(2)),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "sealed_key_swapped",
            edited(&pass_doc, &|d| {
                let a = d["body"]["versions"][0]["sealed"].clone();
                d["body"]["versions"][0]["sealed"] = d["body"]["versions"][1]["sealed"].clone();
                d["body"]["versions"][1]["sealed"] = a;
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "mac_changed",
            edited(&pass_doc, &|d| {
                let mac = d["mac"].as_str().unwrap();
                let flipped = if mac.starts_with('A') { "B" } else { "A" };
                d["mac"] = json!(format!("{flipped}{}", &mac[1..]));
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "unknown_field",
            edited(&pass_doc, &|d| d["body"]["extra"] = json!(true)),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "schema_2",
            edited(&pass_doc, &|d| d["keyroll_keyring"] = json!(2)),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "salt_changed",
            edited(&pass_doc, &|d| {
                d["body"]["kek"]["salt"] = json!("AAAAAAAAAAAAAAAAAAAAAA")
            }),
            pass.clone(),
            "bad_passphrase",
        ),
        (
            "iterations_changed",
            edited(&pass_doc, &|d| {
                d["body"]["kek"]["iterations"] = json!(ITERATIONS + 1)
            }),
            pass.clone(),
            "bad_passphrase",
        ),
        (
            "iterations_absurd",
            edited(&pass_doc, &|d| {
                d["body"]["kek"]["iterations"] = json!(4_000_000_000u32)
            }),
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "truncated",
            {
                let s = pretty(&pass_doc);
                s[..s.len() / 2].to_string()
            },
            pass.clone(),
            "keyring_corrupt",
        ),
        (
            "not_json",
            "keyroll".into(),
            pass.clone(),
            "keyring_corrupt",
        ),
        ("empty", String::new(), pass.clone(), "keyring_corrupt"),
    ];
    for (what, doc, cred, code) in damaged {
        let name = format!("damaged_{what}");
        f.raw_ring(&name, doc, cred);
        f.load(&format!("fail_load_{what}"), &name, Some(code));
    }
    json_input(&mut f, master);
    structure(&mut f, master);
    f.write(
        dir,
        "keyring.json",
        "keyring documents sealed by passphrase (PBKDF2, 1,000 iterations as written in the file) \
         and by master key; wrong credentials; every kind of damage",
    );
}

fn rotation(dir: &Path) {
    let mut f = File::default();
    let master = key32("rotation master key");
    let pt = |v: u32| format!("written under v{v}").into_bytes();
    let mut ring = Keyring::generate_seeded(b"rotation ring", NOW).unwrap();
    let mut toks = vec![text(&ring, &pt(1), CTX, Some(NOW))];
    for v in 2..=3 {
        ring.rotate(NOW + u64::from(v) * DAY).unwrap();
        toks.push(text(&ring, &pt(v), CTX, Some(NOW + u64::from(v) * DAY)));
    }
    ring.emergency_rotate("laptop stolen", NOW + 4 * DAY)
        .unwrap();
    toks.push(text(&ring, &pt(4), CTX, Some(NOW + 4 * DAY)));
    ring.set_state(
        1,
        keyroll::KeyState::Disabled,
        Some("retired"),
        NOW + 5 * DAY,
    )
    .unwrap();
    ring.set_state(2, keyroll::KeyState::Destroyed, None, NOW + 5 * DAY)
        .unwrap();
    let v5 = ring.add_version(NOW + 6 * DAY).unwrap();
    assert_eq!(v5, 5);
    // Another process of the fleet already promoted v5 and wrote with it.
    let doc = ring
        .to_document(Protection::MasterKey(&SecretKey::from_bytes(master)))
        .unwrap();
    let mut fleet =
        Keyring::from_document(&doc, Unlock::MasterKey(&SecretKey::from_bytes(master))).unwrap();
    fleet.reseed_for_testing(b"rotation fleet");
    fleet.promote(5, NOW + 7 * DAY).unwrap();
    toks.push(text(&fleet, &pt(5), CTX, Some(NOW + 7 * DAY)));
    f.ring("ring", &ring, Cred::Master(master));
    f.load("load_states", "ring", None);

    let codes = [
        Want::Code("key_disabled"),
        Want::Code("key_destroyed"),
        Want::Code("key_compromised"),
    ];
    for (i, want) in codes.into_iter().enumerate() {
        let v = i + 1;
        let name = format!(
            "fail_decrypt_v{v}_{}",
            ["disabled", "destroyed", "compromised"][i]
        );
        f.decrypt(&name, "ring", &toks[i], CTX, None, want);
    }
    // For v1 envelopes the version's state is checked before authentication (§1.3 steps 9
    // and 10): a forgery under a disabled, destroyed or compromised version gets that state's
    // code, as the real envelope does (a destroyed key could not authenticate anything).
    // Expired TTLs are asked for too: the TTL is the last check.
    let expired = Some(Ttl {
        seconds: 60,
        now: NOW + 30 * DAY,
    });
    for (v, state, code) in [
        (1u32, "disabled", "key_disabled"),
        (2, "destroyed", "key_destroyed"),
        (3, "compromised", "key_compromised"),
    ] {
        let binary = binary_of(&toks[v as usize - 1]);
        let fake = text_with_prefix(&forged(&binary), v);
        f.decrypt(
            &format!("fail_order_forged_v{v}_{state}"),
            "ring",
            &fake,
            CTX,
            expired,
            Want::Code(code),
        );
        f.decrypt(
            &format!("fail_order_v{v}_{state}_ttl_expired"),
            "ring",
            &toks[v as usize - 1],
            CTX,
            expired,
            Want::Code(code),
        );
    }
    let v4 = binary_of(&toks[3]);
    f.decrypt(
        "fail_order_forged_v4_active_ttl_expired",
        "ring",
        &text_with_prefix(&forged(&v4), 4),
        CTX,
        expired,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_order_v4_active_ttl_expired",
        "ring",
        &toks[3],
        CTX,
        expired,
        Want::Code("expired"),
    );
    f.decrypt(
        "decrypt_v4_active",
        "ring",
        &toks[3],
        CTX,
        None,
        Want::Plain(&pt(4)),
    );
    f.decrypt(
        "decrypt_v5_pending",
        "ring",
        &toks[4],
        CTX,
        None,
        Want::Plain(&pt(5)),
    );
    // Rewrap reads a compromised version only on explicit opt-in (`allow_compromised`).
    f.rewrap(
        "fail_rewrap_v3_compromised_by_default",
        "ring",
        &toks[2],
        CTX,
        Want::Code("key_compromised"),
        4,
    );
    f.rewrap_opt_in(
        "rewrap_v3_compromised_opt_in",
        "ring",
        &toks[2],
        CTX,
        Want::Plain(&pt(3)),
        (3, true),
    );
    // The opt-in changes nothing for other versions: they are read as without it, and the
    // result says they are not compromised; disabled and destroyed stay refused.
    f.rewrap_opt_in(
        "rewrap_v4_active_opt_in",
        "ring",
        &toks[3],
        CTX,
        Want::Plain(&pt(4)),
        (4, false),
    );
    f.rewrap_opt_in(
        "rewrap_v5_pending_opt_in",
        "ring",
        &toks[4],
        CTX,
        Want::Plain(&pt(5)),
        (5, false),
    );
    f.rewrap_opt_in(
        "fail_rewrap_v1_disabled_opt_in",
        "ring",
        &toks[0],
        CTX,
        Want::Code("key_disabled"),
        (0, false),
    );
    f.rewrap_opt_in(
        "fail_rewrap_v2_destroyed_opt_in",
        "ring",
        &toks[1],
        CTX,
        Want::Code("key_destroyed"),
        (0, false),
    );
    // A forgery under the compromised version is still refused: the opt-in reads only what
    // the compromised key authenticates.
    f.rewrap_opt_in(
        "fail_rewrap_forged_v3_compromised_opt_in",
        "ring",
        &text_with_prefix(&forged(&binary_of(&toks[2])), 3),
        CTX,
        Want::Code("decrypt_failed"),
        (0, false),
    );
    f.rewrap_opt_in(
        "fail_rewrap_v3_compromised_opt_in_wrong_context",
        "ring",
        &toks[2],
        b"users:43:ssn",
        Want::Code("decrypt_failed"),
        (0, false),
    );
    f.rewrap(
        "rewrap_v4_active",
        "ring",
        &toks[3],
        CTX,
        Want::Plain(&pt(4)),
        4,
    );
    f.rewrap(
        "rewrap_v5_pending",
        "ring",
        &toks[4],
        CTX,
        Want::Plain(&pt(5)),
        4,
    );
    f.rewrap(
        "rewrap_binary_input_gives_text",
        "ring",
        &Tok::Bin(binary_of(&toks[4])),
        CTX,
        Want::Plain(&pt(5)),
        4,
    );
    f.rewrap(
        "fail_rewrap_forged_v5_pending",
        "ring",
        &text_with_prefix(&forged(&binary_of(&toks[4])), 5),
        CTX,
        Want::Code("decrypt_failed"),
        4,
    );
    f.rewrap(
        "fail_rewrap_v1_disabled",
        "ring",
        &toks[0],
        CTX,
        Want::Code("key_disabled"),
        4,
    );
    f.rewrap(
        "fail_rewrap_v2_destroyed",
        "ring",
        &toks[1],
        CTX,
        Want::Code("key_destroyed"),
        4,
    );
    f.rewrap(
        "fail_rewrap_wrong_context",
        "ring",
        &toks[4],
        b"x",
        Want::Code("decrypt_failed"),
        4,
    );

    // A minimum decryptable version.
    let mut min = Keyring::generate_seeded(b"rotation min ring", NOW).unwrap();
    let old = text(&min, b"old", b"", None);
    min.rotate(NOW + DAY).unwrap();
    min.rotate(NOW + 2 * DAY).unwrap();
    let new = text(&min, b"new", b"", None);
    min.set_min_version(3).unwrap();
    f.ring("min_version", &min, Cred::Master(master));
    f.load("load_min_version", "min_version", None);
    f.decrypt(
        "fail_below_min_version",
        "min_version",
        &old,
        b"",
        None,
        Want::Code("below_minimum_version"),
    );
    let old_binary = binary_of(&old);
    f.decrypt(
        "fail_order_forged_below_min_version",
        "min_version",
        &text_with_prefix(&forged(&old_binary), 1),
        b"",
        None,
        Want::Code("below_minimum_version"),
    );
    f.decrypt(
        "decrypt_at_min_version",
        "min_version",
        &new,
        b"",
        None,
        Want::Plain(b"new"),
    );

    // A decrypt-only export holding v4 (pending versions are not exported): reads it, and nothing else.
    let mut export = ring.export_decrypt_only(&[4]).unwrap();
    export.reseed_for_testing(b"rotation export");
    f.ring("export", &export, Cred::Master(master));
    f.load("load_export", "export", None);
    f.decrypt(
        "export_decrypt_v4",
        "export",
        &toks[3],
        CTX,
        None,
        Want::Plain(&pt(4)),
    );
    f.rewrap(
        "fail_rewrap_export_no_active_key",
        "export",
        &toks[3],
        CTX,
        Want::Code("no_active_key"),
        4,
    );
    f.decrypt(
        "fail_export_v3_absent",
        "export",
        &toks[2],
        CTX,
        None,
        Want::Code("unknown_key_version"),
    );

    // Policy, judged at given times against v4's activation.
    let activated = NOW + 4 * DAY;
    for (label, age_days, state) in [("ok", 79, "ok"), ("warn", 80, "warn"), ("due", 90, "due")] {
        let now = activated + age_days * DAY;
        let status = f.get("ring").check_policy(now);
        assert_eq!(serde_json::to_value(status.state).unwrap(), json!(state));
        let mut case = Map::new();
        case.insert("now".into(), json!(now));
        case.insert("expect".into(), serde_json::to_value(status).unwrap());
        f.push(&format!("policy_{label}"), "policy", Some("ring"), case);
    }
    let status = f.get("export").check_policy(NOW);
    let mut case = Map::new();
    case.insert("now".into(), json!(NOW));
    case.insert("expect".into(), serde_json::to_value(status).unwrap());
    f.push("policy_no_active_key", "policy", Some("export"), case);

    // Per-purpose keys.
    for (purpose, len) in [("pii", 32usize), ("audit", 64), ("backup", 16)] {
        let (version, key) = f.get("ring").derive_key(purpose.as_bytes(), len).unwrap();
        let mut case = Map::new();
        case.insert("purpose".into(), json!(purpose));
        case.insert("length".into(), json!(len));
        case.insert("expect_version".into(), json!(version));
        case.insert("expect_hex".into(), json!(hex::encode(&*key)));
        f.push(
            &format!("derive_{purpose}_{len}"),
            "derive",
            Some("ring"),
            case,
        );
    }
    f.write(
        dir,
        "rotation.json",
        "rotation, emergency rotation, every key state, rewrap, minimum version, decrypt-only \
         export, rotation policy, derived keys",
    );
}

fn legacy_fernet(dir: &Path) {
    let mut f = File::default();
    let master = key32("fernet master key");
    let k1 = FernetKey::from_secret(SecretKey::from_bytes(key32("fernet key 1")));
    let k2 = FernetKey::from_secret(SecretKey::from_bytes(key32("fernet key 2")));
    let k3 = FernetKey::from_secret(SecretKey::from_bytes(key32("fernet key 3 (not imported)")));
    let mut ring = Keyring::generate_seeded(b"fernet ring", NOW).unwrap();
    let imported = ring.import_fernet(&[k1.clone(), k2.clone()], NOW).unwrap();
    f.ring("ring", &ring, Cred::Master(master));
    f.load("load_imported", "ring", None);

    let fernet = |key: &FernetKey, pt: &[u8], ts: u64, label: &str| {
        let iv: [u8; 16] = det(label, 16).try_into().unwrap();
        Tok::Text(fernet::encrypt(key, pt, ts, &iv))
    };
    let plaintexts: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("1b", b"x".to_vec()),
        ("15b", det("f15", 15)),
        ("16b", det("f16", 16)),
        ("17b", det("f17", 17)),
        ("unicode", "Grüße, 世界".as_bytes().to_vec()),
        ("1k", det("f1k", 1024)),
    ];
    for (label, pt) in &plaintexts {
        let t1 = fernet(&k1, pt, NOW, label);
        f.decrypt(
            &format!("fernet_key1_{label}"),
            "ring",
            &t1,
            b"",
            None,
            Want::Plain(pt),
        );
        let t2 = fernet(&k2, pt, NOW - DAY, &format!("{label} k2"));
        f.decrypt(
            &format!("fernet_key2_{label}"),
            "ring",
            &t2,
            b"",
            None,
            Want::Plain(pt),
        );
    }
    let pt = b"secret".to_vec();
    for (label, ts) in [
        ("ts_zero", 0u64),
        ("ts_2pow40", 1 << 40),
        ("ts_max", u64::MAX),
    ] {
        let t = fernet(&k1, &pt, ts, label);
        f.decrypt(
            &format!("fernet_{label}"),
            "ring",
            &t,
            b"",
            None,
            Want::Plain(&pt),
        );
    }
    let t = fernet(&k1, &pt, NOW, "ttl");
    let ttl = |seconds, now| Some(Ttl { seconds, now });
    f.decrypt(
        "fernet_ttl_fresh",
        "ring",
        &t,
        b"",
        ttl(60, NOW + 60),
        Want::Plain(&pt),
    );
    f.decrypt(
        "fail_fernet_ttl_expired",
        "ring",
        &t,
        b"",
        ttl(60, NOW + 61),
        Want::Code("expired"),
    );
    f.decrypt(
        "fail_fernet_ttl_future",
        "ring",
        &t,
        b"",
        ttl(60, NOW - 61),
        Want::Code("expired"),
    );
    let tmax = fernet(&k1, &pt, u64::MAX, "ts_max");
    f.decrypt(
        "fail_fernet_ts_max_with_ttl",
        "ring",
        &tmax,
        b"",
        ttl(60, NOW),
        Want::Code("expired"),
    );
    f.inspect("inspect_fernet", &t, None);
    // Fernet's ciphertext carries 1-16 bytes of PKCS#7 padding: inspect reports the
    // ciphertext length and no plaintext length (15 B -> 16, 16 B -> 32, 17 B -> 32).
    for (label, len, ct) in [("15b", 15usize, 16usize), ("16b", 16, 32), ("17b", 17, 32)] {
        let tok = fernet(&k1, &det(label, len), NOW, label);
        let info = keyroll::inspect(&tok.bytes()).unwrap();
        assert_eq!(
            (info.ciphertext_len, info.plaintext_len),
            (ct, None),
            "{label}"
        );
        f.inspect(&format!("inspect_fernet_{label}"), &tok, None);
    }

    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(match &t {
            Tok::Text(s) => s,
            Tok::Bin(_) => unreachable!(),
        })
        .unwrap();
    let reencode = |b: &[u8]| Tok::Text(base64::engine::general_purpose::URL_SAFE.encode(b));
    let mut tampered = raw.clone();
    *tampered.last_mut().unwrap() ^= 1;
    f.decrypt(
        "fail_fernet_bad_mac",
        "ring",
        &reencode(&tampered),
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    let mut tampered = raw.clone();
    tampered[30] ^= 1;
    f.decrypt(
        "fail_fernet_bad_ciphertext",
        "ring",
        &reencode(&tampered),
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_fernet_truncated",
        "ring",
        &reencode(&raw[..raw.len() - 33]),
        b"",
        None,
        Want::Code("malformed"),
    );
    f.decrypt(
        "fail_fernet_short",
        "ring",
        &reencode(&raw[..40]),
        b"",
        None,
        Want::Code("malformed"),
    );
    let mut unpadded = match &t {
        Tok::Text(s) => s.clone(),
        Tok::Bin(_) => unreachable!(),
    };
    unpadded.retain(|c| c != '=');
    if unpadded.len() % 4 != 0 {
        f.decrypt(
            "fail_fernet_unpadded",
            "ring",
            &Tok::Text(unpadded),
            b"",
            None,
            Want::Code("malformed"),
        );
    }
    f.decrypt(
        "fail_fernet_bad_base64",
        "ring",
        &Tok::Text("gAAAAA!!".into()),
        b"",
        None,
        Want::Code("malformed"),
    );
    let other = fernet(&k3, &pt, NOW, "k3");
    f.decrypt(
        "fail_fernet_unknown_key",
        "ring",
        &other,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_fernet_with_context",
        "ring",
        &t,
        CTX,
        None,
        Want::Code("invalid_argument"),
    );
    // Legacy tokens name no version: authentication comes first, then the state of the key
    // that authenticated, then the TTL. A forgery is decrypt_failed whatever the keys' states.
    let mut disabled = Keyring::generate_seeded(b"fernet disabled ring", NOW).unwrap();
    let v1 = disabled
        .import_fernet(std::slice::from_ref(&k1), NOW)
        .unwrap()[0];
    disabled
        .set_state(v1, keyroll::KeyState::Disabled, None, NOW)
        .unwrap();
    f.ring("fernet_disabled", &disabled, Cred::Master(master));
    let mut forged_fernet = raw.clone();
    *forged_fernet.last_mut().unwrap() ^= 1;
    let expired = ttl(60, NOW + 61);
    for (name, tok, ttl, code) in [
        (
            "fail_order_fernet_disabled",
            t.clone(),
            None,
            "key_disabled",
        ),
        (
            "fail_order_fernet_disabled_ttl_expired",
            t.clone(),
            expired,
            "key_disabled",
        ),
        (
            "fail_order_fernet_forged_disabled",
            reencode(&forged_fernet),
            None,
            "decrypt_failed",
        ),
        (
            "fail_order_fernet_forged_ttl_expired",
            reencode(&forged_fernet),
            expired,
            "decrypt_failed",
        ),
    ] {
        f.decrypt(name, "fernet_disabled", &tok, b"", ttl, Want::Code(code));
    }
    f.decrypt(
        "fail_order_fernet_forged_ttl_expired_enabled",
        "ring",
        &reencode(&forged_fernet),
        b"",
        expired,
        Want::Code("decrypt_failed"),
    );
    f.rewrap(
        "rewrap_fernet_key2",
        "ring",
        &fernet(&k2, &pt, NOW, "rw"),
        b"",
        Want::Plain(&pt),
        1,
    );

    // Fernet-compat keyrings: derived from the key list alone.
    let mut compat = Keyring::from_fernet_keys(&[k1.clone(), k2.clone()], NOW).unwrap();
    compat.reseed_for_testing(b"fernet compat");
    assert_eq!(compat.active_version(), Some(imported[0]));
    let written = text(&compat, b"written by a compat process", b"", Some(NOW));
    f.ring("compat", &compat, Cred::Master(master));
    f.load("load_compat", "compat", None);
    let mut case = Map::new();
    case.insert(
        "fernet_keys".into(),
        json!([k1.to_base64().as_str(), k2.to_base64().as_str()]),
    );
    case.insert("expect".into(), summary(&compat));
    f.push("fernet_compat_derivation", "fernet_compat", None, case);
    // A Fernet key must be 32 bytes of padded base64url.
    for (what, key) in [
        ("short", URL_SAFE_NO_PAD.encode([1u8; 16])),
        ("not_base64", "not a key!".to_string()),
    ] {
        let got = FernetKey::from_base64(key.as_bytes()).map(|_| ());
        assert_eq!(got.unwrap_err().code(), "invalid_key", "{what}");
        let mut case = Map::new();
        case.insert("fernet_keys".into(), json!([key]));
        case.insert("error".into(), json!("invalid_key"));
        f.push(
            &format!("fail_fernet_compat_key_{what}"),
            "fernet_compat",
            None,
            case,
        );
    }
    let plain = b"written by a compat process";
    f.decrypt(
        "compat_envelope_by_compat",
        "compat",
        &written,
        b"",
        None,
        Want::Plain(plain),
    );
    f.decrypt(
        "compat_envelope_by_importer",
        "ring",
        &written,
        b"",
        None,
        Want::Plain(plain),
    );
    f.inspect("inspect_compat_envelope", &written, None);
    f.decrypt(
        "compat_reads_fernet",
        "compat",
        &t,
        b"",
        None,
        Want::Plain(&pt),
    );
    f.write(
        dir,
        "legacy_fernet.json",
        "Fernet tokens under imported keys (a MultiFernet list), timestamps up to 2^64-1, TTL \
         with 60 s skew, strict base64url, rewrap to v1, and Fernet-compat keyrings derived from \
         the key list alone (fernet_keys, padded base64url, primary first)",
    );
}

fn legacy_raw_gcm(dir: &Path) {
    let mut f = File::default();
    let master = key32("raw master key");
    let ascii_key = b"0123456789abcdef0123456789abcdef";
    let unversioned_key = key32("raw unversioned key");
    let mut ring = Keyring::generate_seeded(b"raw ring", NOW).unwrap();
    let imports = [
        RawGcmImport {
            key: RawGcmKey::Bytes(Zeroizing::new(ascii_key.to_vec())),
            version_byte: Some(1),
        },
        RawGcmImport {
            key: RawGcmKey::Pbkdf2 {
                password: Zeroizing::new(b"hunter2".to_vec()),
                salt_pattern: "app-salt-v{version}".into(),
                iterations: 1000,
            },
            version_byte: Some(2),
        },
        RawGcmImport {
            key: RawGcmKey::Bytes(Zeroizing::new(unversioned_key.to_vec())),
            version_byte: None,
        },
    ];
    for import in &imports {
        ring.import_raw_gcm(import, NOW).unwrap();
    }
    f.ring("ring", &ring, Cred::Master(master));
    f.load("load_raw", "ring", None);

    let pbkdf2_key = keyroll::kdf::pbkdf2_sha256(b"hunter2", b"app-salt-v2", 1000);
    let seal = |key: &[u8; 32], prefix: Option<u8>, nonce: &[u8], pt: &[u8]| {
        let aead = keyroll::aead::AeadKey::new(&SecretKey::from_bytes(*key));
        let mut out: Vec<u8> = prefix.into_iter().collect();
        out.extend_from_slice(nonce);
        aead.seal_append(nonce.try_into().unwrap(), b"", pt, &mut out);
        out
    };
    let pt = b"card 4111-1111-1111-1111".to_vec();
    let n = |label: &str| det(label, 12);
    let mut ambiguous_nonce = n("ambiguous");
    ambiguous_nonce[0] = 1;
    let blobs = [
        (
            "versioned_ascii_key",
            seal(ascii_key, Some(1), &n("a"), &pt),
            STANDARD.encode(seal(ascii_key, Some(1), &n("a"), &pt)),
        ),
        (
            "versioned_pbkdf2",
            vec![],
            STANDARD.encode(seal(pbkdf2_key.expose(), Some(2), &n("b"), &pt)),
        ),
        (
            "unversioned",
            vec![],
            STANDARD.encode(seal(&unversioned_key, None, &n("c"), &pt)),
        ),
        (
            "unversioned_looks_versioned",
            vec![],
            STANDARD.encode(seal(&unversioned_key, None, &ambiguous_nonce, &pt)),
        ),
        (
            "urlsafe_unpadded",
            vec![],
            URL_SAFE_NO_PAD.encode(seal(ascii_key, Some(1), &n("d"), &pt)),
        ),
    ];
    for (label, _, b64) in &blobs {
        let tok = Tok::Text(b64.clone());
        f.decrypt(
            &format!("raw_{label}"),
            "ring",
            &tok,
            b"",
            None,
            Want::Plain(&pt),
        );
    }
    // Base64 of a raw blob can start with `kr` + digit (nonce bytes 92 BD..BF): the text
    // reading fails, and with raw keys imported and no context the raw reading decides (§2).
    for (i, second) in [0xBDu8, 0xBE, 0xBF].into_iter().enumerate() {
        let mut nonce = n(&format!("looks like text {i}"));
        nonce[..3].copy_from_slice(&[0x92, second, 0x00]);
        let b64 = STANDARD.encode(seal(&unversioned_key, None, &nonce, &pt));
        assert!(b64.starts_with("kr") && b64.as_bytes()[2].is_ascii_digit());
        let tok = Tok::Text(b64.clone());
        f.decrypt(
            &format!("raw_gcm_looks_like_text_{i}"),
            "ring",
            &tok,
            b"",
            None,
            Want::Plain(&pt),
        );
        if i == 0 {
            f.rewrap(
                "rewrap_raw_gcm_looks_like_text",
                "ring",
                &tok,
                b"",
                Want::Plain(&pt),
                1,
            );
            let mut bytes = seal(&unversioned_key, None, &nonce, &pt);
            *bytes.last_mut().unwrap() ^= 1;
            f.decrypt(
                "fail_raw_gcm_looks_like_text_tampered",
                "ring",
                &Tok::Text(STANDARD.encode(&bytes)),
                b"",
                None,
                Want::Code("unsupported_format"),
            );
        }
    }
    let versioned = &blobs[0].1;
    let mut tampered = versioned.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let t = Tok::Text(STANDARD.encode(&tampered));
    f.decrypt(
        "fail_raw_tampered",
        "ring",
        &t,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    let t = Tok::Text(STANDARD.encode(&versioned[..20]));
    f.decrypt(
        "fail_raw_truncated",
        "ring",
        &t,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    let t = Tok::Text("not*base64".into());
    f.decrypt(
        "fail_raw_bad_base64",
        "ring",
        &t,
        b"",
        None,
        Want::Code("malformed"),
    );
    let t = Tok::Text(STANDARD.encode(seal(&key32("unknown"), Some(1), &n("e"), &pt)));
    f.decrypt(
        "fail_raw_unknown_key",
        "ring",
        &t,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    f.rewrap(
        "rewrap_raw",
        "ring",
        &Tok::Text(blobs[1].2.clone()),
        b"",
        Want::Plain(&pt),
        1,
    );

    mixed_legacy(&mut f, master, &seal);
    // Importing from the old manager's parameters gives the same keys in every language.
    let cases = [
        (
            "import_raw_ascii",
            json!({"key_utf8": std::str::from_utf8(ascii_key).unwrap(), "version_byte": 1}),
            &blobs[0].2,
        ),
        (
            "import_raw_pbkdf2",
            json!({"password_utf8": "hunter2", "salt_pattern": "app-salt-v{version}", "iterations": 1000, "version_byte": 2}),
            &blobs[1].2,
        ),
        (
            "import_raw_hex_key_unversioned",
            json!({"key_hex": hex::encode(unversioned_key), "version_byte": null}),
            &blobs[3].2,
        ),
    ];
    for (name, import, token) in cases {
        let mut case = Map::new();
        case.insert("import".into(), import);
        case.insert("token".into(), json!(token));
        case.insert("plaintext_hex".into(), json!(hex::encode(&pt)));
        f.push(name, "import_raw_gcm", None, case);
    }
    f.write(
        dir,
        "legacy_raw_gcm.json",
        "raw AES-256-GCM blobs of home-made managers (base64 of [version byte] nonce ct tag): \
         ASCII and PBKDF2 keys, versioned and unversioned readings, the ambiguous case",
    );
}

/// Seals a raw-GCM blob: key, optional version byte, nonce, plaintext.
type SealRaw<'a> = dyn Fn(&[u8; 32], Option<u8>, &[u8], &[u8]) -> Vec<u8> + 'a;

/// A keyring holding both Fernet and raw-GCM keys (§6): a valid Fernet token authenticated
/// by a Fernet key is read as Fernet; anything else that decodes as base64 goes on to the raw
/// reading, so a blob that is also a well-formed Fernet token (first byte 80, 73 bytes, padded
/// base64url) is still opened by its raw key.
fn mixed_legacy(f: &mut File, master: [u8; 32], seal: &SealRaw<'_>) {
    use base64::engine::general_purpose::URL_SAFE;
    let fk = FernetKey::from_secret(SecretKey::from_bytes(key32("mixed fernet key")));
    let raw_key = key32("mixed raw key (version byte 0x80)");
    let plain_key = key32("mixed raw key (unversioned)");
    let mut ring = Keyring::generate_seeded(b"mixed ring", NOW).unwrap();
    ring.import_fernet(std::slice::from_ref(&fk), NOW).unwrap();
    for (key, version_byte) in [(raw_key, Some(0x80)), (plain_key, None)] {
        let import = RawGcmImport {
            key: RawGcmKey::Bytes(Zeroizing::new(key.to_vec())),
            version_byte,
        };
        ring.import_raw_gcm(&import, NOW).unwrap();
    }
    f.ring("mixed", &ring, Cred::Master(master));
    f.load("load_mixed", "mixed", None);

    let pt = b"mixed keyring plaintext".to_vec();
    let iv: [u8; 16] = det("mixed iv", 16).try_into().unwrap();
    let fernet_tok = Tok::Text(fernet::encrypt(&fk, &pt, NOW, &iv));
    f.decrypt(
        "mixed_fernet_token",
        "mixed",
        &fernet_tok,
        b"",
        None,
        Want::Plain(&pt),
    );
    let raw_std = Tok::Text(STANDARD.encode(seal(&raw_key, Some(0x80), &det("m1", 12), &pt)));
    f.decrypt(
        "mixed_raw_versioned",
        "mixed",
        &raw_std,
        b"",
        None,
        Want::Plain(&pt),
    );
    let raw_plain = Tok::Text(STANDARD.encode(seal(&plain_key, None, &det("m2", 12), &pt)));
    f.decrypt(
        "mixed_raw_unversioned",
        "mixed",
        &raw_plain,
        b"",
        None,
        Want::Plain(&pt),
    );

    // 0x80 ‖ nonce(12) ‖ 44-byte ciphertext ‖ tag(16) = 73 bytes: exactly the shape of a
    // Fernet token with one ciphertext block, in padded base64url.
    let dual_pt = det("dual plaintext", 44);
    let dual = seal(&raw_key, Some(0x80), &det("dual nonce", 12), &dual_pt);
    assert_eq!((dual.len(), dual[0]), (73, 0x80));
    let dual_tok = Tok::Text(URL_SAFE.encode(&dual));
    f.decrypt(
        "mixed_dual_blob_read_as_raw",
        "mixed",
        &dual_tok,
        b"",
        None,
        Want::Plain(&dual_pt),
    );
    // inspect has no key: it reports the Fernet structure it sees (nothing is authenticated).
    f.inspect("inspect_dual_blob_as_fernet", &dual_tok, None);

    let other = FernetKey::from_secret(SecretKey::from_bytes(key32("mixed other fernet key")));
    let foreign = Tok::Text(fernet::encrypt(&other, &pt, NOW, &iv));
    f.decrypt(
        "fail_mixed_foreign_fernet_token",
        "mixed",
        &foreign,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    // Too short for Fernet (malformed there) but valid base64: the raw reading decides.
    let short = Tok::Text(URL_SAFE.encode([0x80u8; 20]));
    f.decrypt(
        "fail_mixed_short_fernet_like",
        "mixed",
        &short,
        b"",
        None,
        Want::Code("decrypt_failed"),
    );
    f.decrypt(
        "fail_mixed_not_base64",
        "mixed",
        &Tok::Text("gAAAAA!!".into()),
        b"",
        None,
        Want::Code("malformed"),
    );
    // Rewrap follows the reading that authenticated: raw GCM, so no issued-at (the bytes
    // that would be a Fernet timestamp are not one).
    f.rewrap(
        "rewrap_mixed_dual_blob_no_issued_at",
        "mixed",
        &dual_tok,
        b"",
        Want::Plain(&dual_pt),
        1,
    );
    f.rewrap(
        "rewrap_mixed_fernet_keeps_timestamp",
        "mixed",
        &fernet_tok,
        b"",
        Want::Plain(&pt),
        1,
    );
    // A Fernet token whose key is disabled stops at that state; raw keys are not tried.
    let mut disabled = Keyring::generate_seeded(b"mixed disabled ring", NOW).unwrap();
    let fv = disabled
        .import_fernet(std::slice::from_ref(&fk), NOW)
        .unwrap()[0];
    disabled
        .import_raw_gcm(
            &RawGcmImport {
                key: RawGcmKey::Bytes(Zeroizing::new(raw_key.to_vec())),
                version_byte: Some(0x80),
            },
            NOW,
        )
        .unwrap();
    disabled
        .set_state(fv, keyroll::KeyState::Disabled, None, NOW)
        .unwrap();
    f.ring("mixed_fernet_disabled", &disabled, Cred::Master(master));
    f.decrypt(
        "fail_mixed_fernet_key_disabled",
        "mixed_fernet_disabled",
        &fernet_tok,
        b"",
        None,
        Want::Code("key_disabled"),
    );
    f.decrypt(
        "mixed_fernet_disabled_still_reads_raw",
        "mixed_fernet_disabled",
        &dual_tok,
        b"",
        None,
        Want::Plain(&dual_pt),
    );
}

/// How keyring documents are read as JSON (§7 "Reading the JSON"): RFC 8259 text, parsed
/// strictly, then the MAC is checked over the canonical form of what was parsed. Each
/// rejected spelling below stands for a value equal to the original, so a lenient reader
/// would load it (its MAC still matches): only the parser can refuse it.
fn json_input(f: &mut File, master: [u8; 32]) {
    let mut ring = Keyring::generate_seeded(b"keyring json ring", NOW).unwrap();
    // A note with every kind of character the canonical form treats specially.
    let note = "a/b \"q\" \\ \t\n\r\u{8}\u{c}\u{1}\u{1f}\u{7f} é \u{2028} 🔑";
    ring.emergency_rotate(note, NOW + DAY).unwrap();
    ring.reseed_for_testing(b"keyring json ring sealing");
    f.ring("json", &ring, Cred::Master(master));
    f.load("load_json_canonical_escapes", "json", None);
    let doc = f.keyrings["json"]["document"].as_str().unwrap().to_string();
    // The canonical form escapes exactly these: \" \\ \n \r \t \b \f and \u00XX (lower-case
    // hex) for the other controls; '/', DEL, U+2028 and non-ASCII stay raw.
    for piece in [
        "a/b \\\"q\\\" \\\\ \\t\\n\\r\\b\\f\\u0001\\u001f\u{7f} é \u{2028} 🔑",
        "\"generation\": ",
    ] {
        assert!(doc.contains(piece), "canonical note spelling: {piece}");
    }
    let rep = |from: &str, to: &str| {
        assert!(doc.contains(from), "{from}");
        doc.replacen(from, to, 1)
    };
    let value: Value = serde_json::from_str(&doc).unwrap();
    let accepted: Vec<(&str, String)> = vec![
        // member order and whitespace are free: the MAC is over the canonical form
        (
            "compact_sorted_members",
            serde_json::to_string(&value).unwrap(),
        ),
        ("surrounding_whitespace", format!(" \r\n\t{doc}\n \t\r\n")),
        // escapes decode to the same string (values and member names alike)
        (
            "escaped_letter",
            rep("\"kind\": \"aes256_gcm\"", "\"kind\": \"\\u0061es256_gcm\""),
        ),
        (
            "escaped_member_name",
            rep("\"kind\": \"aes256_gcm\"", "\"\\u006bind\": \"aes256_gcm\""),
        ),
        ("escaped_solidus", rep("a/b", "a\\/b")),
        ("escaped_non_ascii_lower", rep("é", "\\u00e9")),
        ("escaped_non_ascii_upper", rep("é", "\\u00E9")),
        ("escaped_surrogate_pair", rep("🔑", "\\ud83d\\udd11")),
        ("escaped_del", rep("\u{7f}", "\\u007f")),
        ("escaped_u2028", rep("\u{2028}", "\\u2028")),
        ("escaped_control_as_u00", rep("\\t", "\\u0009")),
        // an explicit null is an absent optional member
        (
            "null_optional_member",
            rep(
                "\"state\": \"active\",",
                "\"state\": \"active\", \"note\": null,",
            ),
        ),
    ];
    for (what, d) in accepted {
        let name = format!("json_{what}");
        f.raw_ring(&name, d, Cred::Master(master));
        f.load(&format!("load_json_{what}"), &name, None);
        assert_eq!(
            summary(f.get(&name)),
            summary(f.get("json")),
            "{what}: same keyring"
        );
    }
    let sealed_line = {
        let i = doc.find("\"sealed\": ").unwrap();
        doc[i..i + doc[i..].find('\n').unwrap()].to_string()
    };
    let mut rejected: Vec<(String, String)> = Vec::new();
    for (field, from) in [
        ("min_version", "\"min_version\": 0"),
        ("version", "\"version\": 1,"),
        ("schema", "\"keyroll_keyring\": 1,"),
    ] {
        let (key, n) = from.trim_end_matches(',').split_once(": ").unwrap();
        let comma = if from.ends_with(',') { "," } else { "" };
        let spellings: &[(&str, String)] = &[
            ("fraction", format!("{n}.0")),
            ("exponent", format!("{n}e0")),
            ("exponent_upper", format!("{n}E0")),
            ("leading_zero", format!("0{n}")),
            ("plus_sign", format!("+{n}")),
            ("string", format!("\"{n}\"")),
        ];
        for (how, spelled) in spellings {
            rejected.push((
                format!("{field}_{how}"),
                rep(from, &format!("{key}: {spelled}{comma}")),
            ));
        }
    }
    rejected.push((
        "min_version_negative_zero".into(),
        rep("\"min_version\": 0", "\"min_version\": -0"),
    ));
    rejected.push((
        "min_version_over_u32".into(),
        rep("\"min_version\": 0", "\"min_version\": 4294967296"),
    ));
    rejected.push((
        "created_at_exponent".into(),
        rep(&format!("\"created_at\": {NOW}"), "\"created_at\": 1.7e9"),
    ));
    rejected.push((
        "read_only_as_number".into(),
        rep("\"read_only\": false", "\"read_only\": 0"),
    ));
    for (what, from) in [
        ("top", "\"keyroll_keyring\": 1,"),
        ("body", "\"read_only\": false,"),
        ("version", "\"state\": \"active\","),
        ("kek", "\"method\": \"master-key\""),
        ("policy", "\"warn_after_days\": 80"),
    ] {
        let sep = if from.ends_with(',') { " " } else { ", " };
        rejected.push((
            format!("duplicate_member_{what}"),
            rep(from, &format!("{from}{sep}{from}")),
        ));
    }
    rejected.push((
        "duplicate_member_sealed".into(),
        rep(
            &sealed_line,
            &format!("\"sealed\": \"AAAA\", {sealed_line}"),
        ),
    ));
    rejected.push((
        "unknown_member_version".into(),
        rep(
            "\"state\": \"active\",",
            "\"state\": \"active\", \"extra\": 1,",
        ),
    ));
    rejected.push((
        "unknown_member_kek".into(),
        rep(
            "\"method\": \"master-key\"",
            "\"method\": \"master-key\", \"extra\": 1",
        ),
    ));
    rejected.push((
        "unknown_member_policy".into(),
        rep(
            "\"warn_after_days\": 80",
            "\"warn_after_days\": 80, \"extra\": 1",
        ),
    ));
    rejected.push(("raw_tab_in_string".into(), rep("\\t", "\t")));
    rejected.push(("raw_newline_in_string".into(), rep("\\n", "\n")));
    rejected.push(("raw_control_in_string".into(), rep("\\u001f", "\u{1f}")));
    rejected.push(("lone_surrogate".into(), rep("🔑", "\\ud83d")));
    rejected.push(("bad_escape".into(), rep("a/b", "a\\qb")));
    rejected.push(("trailing_garbage".into(), format!("{doc}x")));
    rejected.push(("trailing_second_value".into(), format!("{doc}{{}}")));
    rejected.push(("trailing_nul".into(), format!("{doc}\u{0}")));
    rejected.push(("byte_order_mark".into(), format!("\u{feff}{doc}")));
    for (what, d) in rejected {
        let name = format!("damaged_json_{what}");
        f.raw_ring(&name, d, Cred::Master(master));
        f.load(
            &format!("fail_load_json_{what}"),
            &name,
            Some("keyring_corrupt"),
        );
    }
}

/// The members of a keyring document in canonical order (§7); unknown ones sort last.
const CANONICAL_ORDER: &[&str] = &[
    "keyring_id",
    "generation",
    "kek",
    "method",
    "salt",
    "iterations",
    "check",
    "read_only",
    "min_version",
    "policy",
    "rotate_after_days",
    "warn_after_days",
    "versions",
    "version",
    "kind",
    "state",
    "created_at",
    "activated_at",
    "retired_at",
    "compromised_at",
    "destroyed_at",
    "note",
    "legacy_version_byte",
    "sealed",
];

/// `canonical(body)` of §7, written from the spec (not by the core's serializer).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| {
                let rank = CANONICAL_ORDER.iter().position(|o| o == k);
                (rank.unwrap_or(usize::MAX), k.to_string())
            });
            let members: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String(k.to_string()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => serde_json::to_string(other).unwrap(),
    }
}

/// HKDF-SHA256(master key, salt = keyring id, info) as §7 derives `wrap` and `mac`.
fn document_key(master: &[u8; 32], id_hex: &str, info: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    keyroll::kdf::hkdf_sha256(
        master,
        &hex::decode(id_hex).unwrap(),
        &[info.as_bytes()],
        &mut out,
    )
    .unwrap();
    out
}

/// Re-MACs an edited master-key document, so that what is checked after the MAC is reached.
fn remac(doc: &mut Value, master: &[u8; 32]) {
    use hmac::{Hmac, Mac};
    let id = doc["body"]["keyring_id"].as_str().unwrap().to_string();
    let key = document_key(master, &id, "keyroll/v1 keyring mac");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(b"keyroll/v1 keyring body");
    mac.update(canonical(&doc["body"]).as_bytes());
    doc["mac"] = json!(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
}

/// Seals `key` for `version` of `kind` (id 1 aes256_gcm, 2 fernet, 3 raw_gcm) as §7 does.
fn seal_key(master: &[u8; 32], id_hex: &str, version: u32, kind: u8, key: &[u8; 32]) -> String {
    let wrap = keyroll::aead::AeadKey::new(&SecretKey::from_bytes(document_key(
        master,
        id_hex,
        "keyroll/v1 keyring wrap",
    )));
    let nonce: [u8; 12] = det(&format!("reseal {version}"), 12).try_into().unwrap();
    let mut aad = b"keyroll/v1 keyring key".to_vec();
    aad.extend_from_slice(&hex::decode(id_hex).unwrap());
    aad.extend_from_slice(&version.to_be_bytes());
    aad.push(kind);
    let mut out = nonce.to_vec();
    wrap.seal_append(&nonce, &aad, key, &mut out);
    URL_SAFE_NO_PAD.encode(out)
}

/// §7's checks after the MAC: documents damaged in structure but carrying a valid MAC (the
/// generator holds the master key and re-MACs them), so each check is reached and refuses
/// the document with `keyring_corrupt`. Also the value checks made before the MAC.
fn structure(f: &mut File, master: [u8; 32]) {
    let fk = key32("structure fernet key");
    let mut ring = Keyring::generate_seeded(b"keyring structure ring", NOW).unwrap();
    ring.rotate(NOW + DAY).unwrap();
    let fv = ring
        .import_fernet(&[FernetKey::from_secret(SecretKey::from_bytes(fk))], NOW)
        .unwrap()[0];
    let raw_import = RawGcmImport {
        key: RawGcmKey::Bytes(Zeroizing::new(key32("structure raw key").to_vec())),
        version_byte: Some(1),
    };
    let rv = ring.import_raw_gcm(&raw_import, NOW).unwrap();
    ring.add_version(NOW + 2 * DAY).unwrap();
    ring.set_state(1, keyroll::KeyState::Destroyed, None, NOW + 2 * DAY)
        .unwrap();
    ring.reseed_for_testing(b"keyring structure sealing");
    f.ring("structure", &ring, Cred::Master(master));
    f.load("load_structure", "structure", None);
    let doc: Value =
        serde_json::from_str(f.keyrings["structure"]["document"].as_str().unwrap()).unwrap();
    // The spec's canonical form, computed here independently, gives the core's MAC.
    let mut check = doc.clone();
    remac(&mut check, &master);
    assert_eq!(
        check["mac"], doc["mac"],
        "canonical(body) as §7 describes it"
    );
    let id = doc["body"]["keyring_id"].as_str().unwrap().to_string();
    let index = |v: u32| {
        doc["body"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .position(|x| x["version"] == json!(v))
            .unwrap()
    };
    let (i1, i2, ir, ifv) = (index(1), index(2), index(rv), index(fv));
    let i4 = index(4);
    assert_eq!(doc["body"]["versions"][i2]["state"], json!("active"));
    type Edit<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let id2 = id.clone();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "version_zero",
            Box::new(move |d| d["body"]["versions"][i2]["version"] = json!(0)),
        ),
        (
            "version_repeated",
            Box::new(move |d| {
                let copy = d["body"]["versions"][i2].clone();
                d["body"]["versions"][i4] = copy;
            }),
        ),
        (
            "sealed_bad_base64",
            Box::new(move |d| d["body"]["versions"][i2]["sealed"] = json!("not base64!")),
        ),
        (
            "sealed_wrong_length",
            Box::new(move |d| {
                d["body"]["versions"][i2]["sealed"] = json!(URL_SAFE_NO_PAD.encode([7u8; 59]))
            }),
        ),
        (
            "sealed_key_swapped",
            Box::new(move |d| {
                let a = d["body"]["versions"][i2]["sealed"].clone();
                d["body"]["versions"][i2]["sealed"] = d["body"]["versions"][i4]["sealed"].clone();
                d["body"]["versions"][i4]["sealed"] = a;
            }),
        ),
        (
            "version_renumbered",
            Box::new(move |d| d["body"]["versions"][i4]["version"] = json!(9)),
        ),
        (
            "kind_changed",
            Box::new(move |d| d["body"]["versions"][i4]["kind"] = json!("raw_gcm")),
        ),
        (
            "sealed_missing",
            Box::new(move |d| {
                d["body"]["versions"][i4]
                    .as_object_mut()
                    .unwrap()
                    .remove("sealed");
            }),
        ),
        (
            "destroyed_with_sealed",
            Box::new(move |d| {
                let sealed = d["body"]["versions"][i4]["sealed"].clone();
                d["body"]["versions"][i1]["sealed"] = sealed;
            }),
        ),
        (
            "destroyed_state_set_sealed_kept",
            Box::new(move |d| d["body"]["versions"][i4]["state"] = json!("destroyed")),
        ),
        (
            "two_active",
            Box::new(move |d| d["body"]["versions"][i4]["state"] = json!("active")),
        ),
        (
            "raw_gcm_active",
            Box::new(move |d| {
                d["body"]["versions"][i2]["state"] = json!("decrypt_only");
                d["body"]["versions"][ir]["state"] = json!("active");
            }),
        ),
        (
            "fernet_version_not_its_key",
            Box::new(move |d| {
                // Re-sealed under the new number, so the sealed key opens: only the Fernet check
                // (version = the key's derived number, §5) refuses it.
                let wrong = fv ^ 1;
                d["body"]["versions"][ifv]["version"] = json!(wrong);
                d["body"]["versions"][ifv]["sealed"] =
                    json!(seal_key(&master, &id2, wrong, 2, &fk));
            }),
        ),
    ];
    // The checks made once every version was read (§7, after the list above): each edit is
    // named with the check that must refuse it, so every check is reached by one vector.
    let checks: Vec<(&str, &str, Edit)> = vec![
        (
            "aes256_gcm_version_bit_31",
            "bit 31 of a version number is set exactly for fernet versions",
            // v1 is destroyed (no sealed key to re-seal under the new number).
            Box::new(move |d| d["body"]["versions"][i1]["version"] = json!(0x8000_0001u32)),
        ),
        (
            "fernet_version_without_bit_31",
            "bit 31 of a version number is set exactly for fernet versions",
            Box::new(move |d| d["body"]["versions"][i1]["kind"] = json!("fernet")),
        ),
        (
            "legacy_version_byte_on_aes256_gcm",
            "legacy_version_byte on a version that is not raw_gcm",
            Box::new(move |d| d["body"]["versions"][i2]["legacy_version_byte"] = json!(1)),
        ),
        (
            "legacy_version_byte_on_fernet",
            "legacy_version_byte on a version that is not raw_gcm",
            Box::new(move |d| d["body"]["versions"][ifv]["legacy_version_byte"] = json!(2)),
        ),
        (
            "active_without_activated_at",
            "the active version has no activated_at",
            Box::new(move |d| {
                d["body"]["versions"][i2]
                    .as_object_mut()
                    .unwrap()
                    .remove("activated_at");
            }),
        ),
        (
            "read_only_with_active",
            "a read-only (decrypt-only) keyring with an active version",
            Box::new(|d| d["body"]["read_only"] = json!(true)),
        ),
        (
            "policy_rotate_after_days_zero",
            "policy needs 0 < rotate_after_days and warn_after_days <= rotate_after_days",
            Box::new(|d| {
                d["body"]["policy"] = json!({"rotate_after_days": 0, "warn_after_days": 0})
            }),
        ),
        (
            "policy_warn_after_rotate",
            "policy needs 0 < rotate_after_days and warn_after_days <= rotate_after_days",
            Box::new(|d| {
                d["body"]["policy"] = json!({"rotate_after_days": 30, "warn_after_days": 31})
            }),
        ),
        (
            "min_version_bit_31",
            "min_version must be below 2^31",
            Box::new(|d| d["body"]["min_version"] = json!(0x8000_0000u32)),
        ),
        (
            "min_version_above_active",
            "min_version is above the active version",
            Box::new(|d| d["body"]["min_version"] = json!(3)),
        ),
    ];
    // The same edits within the rules load: the minimum at the active version, a policy with
    // warn = rotate, a read-only keyring without an active version.
    let within: Vec<(&str, Edit)> = vec![
        (
            "min_version_at_active",
            Box::new(|d| d["body"]["min_version"] = json!(2)),
        ),
        (
            "policy_warn_at_rotate",
            Box::new(|d| {
                d["body"]["policy"] = json!({"rotate_after_days": 30, "warn_after_days": 30})
            }),
        ),
        (
            "read_only_without_active",
            Box::new(move |d| {
                d["body"]["read_only"] = json!(true);
                d["body"]["versions"][i2]["state"] = json!("decrypt_only");
            }),
        ),
    ];
    for (what, reason, edit) in checks {
        let mut d = doc.clone();
        edit(&mut d);
        remac(&mut d, &master);
        let name = format!("damaged_valid_mac_{what}");
        f.raw_ring(
            &name,
            serde_json::to_string_pretty(&d).unwrap(),
            Cred::Master(master),
        );
        match &f.opened[&name] {
            Err(keyroll::Error::KeyringCorrupt(why)) => assert_eq!(*why, reason, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
        f.load(
            &format!("fail_load_valid_mac_{what}"),
            &name,
            Some("keyring_corrupt"),
        );
    }
    for (what, edit) in within {
        let mut d = doc.clone();
        edit(&mut d);
        remac(&mut d, &master);
        let name = format!("edited_valid_mac_{what}");
        f.raw_ring(
            &name,
            serde_json::to_string_pretty(&d).unwrap(),
            Cred::Master(master),
        );
        f.load(&format!("load_valid_mac_{what}"), &name, None);
    }
    for (what, edit) in cases {
        let mut d = doc.clone();
        edit(&mut d);
        remac(&mut d, &master);
        let name = format!("damaged_valid_mac_{what}");
        f.raw_ring(
            &name,
            serde_json::to_string_pretty(&d).unwrap(),
            Cred::Master(master),
        );
        match &f.opened[&name] {
            Err(keyroll::Error::KeyringCorrupt(why)) => {
                assert_ne!(*why, "authentication failed", "{what}: the MAC must pass");
            }
            other => panic!("{what}: {other:?}"),
        }
        f.load(
            &format!("fail_load_valid_mac_{what}"),
            &name,
            Some("keyring_corrupt"),
        );
    }
    // Values checked before the key is known (no MAC can vouch for them).
    let before: Vec<(&str, Edit)> = vec![
        (
            "keyring_id_not_hex",
            Box::new(|d| d["body"]["keyring_id"] = json!("zz18a1eed6275c00")),
        ),
        (
            "keyring_id_short",
            Box::new(|d| d["body"]["keyring_id"] = json!("616018a1")),
        ),
        (
            "check_bad_base64",
            Box::new(|d| d["body"]["check"] = json!("***")),
        ),
        ("mac_bad_base64", Box::new(|d| d["mac"] = json!("***"))),
    ];
    for (what, edit) in before {
        let mut d = doc.clone();
        edit(&mut d);
        let name = format!("damaged_{what}");
        f.raw_ring(
            &name,
            serde_json::to_string_pretty(&d).unwrap(),
            Cred::Master(master),
        );
        f.load(&format!("fail_load_{what}"), &name, Some("keyring_corrupt"));
    }
}

/// The rows of `tests/vectors/README.md`'s count table: per file and op, the cases and how
/// many of them are `fail_*`, then the totals. `core/tests/vectors.rs` recomputes them.
fn count_rows(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    let (mut all, mut all_fail) = (0, 0);
    for path in files {
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut ops = std::collections::BTreeMap::<String, (usize, usize)>::new();
        for case in doc["cases"].as_array().unwrap() {
            let entry = ops.entry(case["op"].as_str().unwrap().into()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(case["name"].as_str().unwrap().starts_with("fail_"));
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        for (op, (n, fail)) in ops {
            rows.push(format!("| `{name}` | `{op}` | {n} | {fail} |"));
            all += n;
            all_fail += fail;
        }
    }
    rows.push(format!("| all | | {all} | {all_fail} |"));
    rows
}

/// Rewrites the count table of `README.md` beside `dir` (between its markers).
fn readme_counts(dir: &Path) {
    let path = dir.join("../README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- counts:begin -->\n", "<!-- counts:end -->");
    let start = text.find(begin).expect("README count markers") + begin.len();
    let stop = text.find(end).expect("README count markers");
    let mut table = String::from("| file | op | cases | of which `fail_*` |\n|---|---|---|---|\n");
    for row in count_rows(dir) {
        table.push_str(&row);
        table.push('\n');
    }
    let out = format!("{}{table}{}", &text[..start], &text[stop..]);
    std::fs::write(path, out).unwrap();
}
