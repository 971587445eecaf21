//! `signing.json`: signing keyrings (`docs/wire-format.md` §12) — signed messages in text and
//! binary form under HMAC-SHA256 and Ed25519, every key state, JWTs (HS256 and EdDSA, a legacy
//! `SECRET_KEY` before and after rotation, kid-less legacy tokens), a public keyset and JWKS,
//! and the `fail_*` cases: tampering, wrong context or keyring, states, algorithm confusion,
//! `alg: none`, time and audience/issuer claims, documents of the wrong kind.
//!
//! Every expectation is stated here and checked against the core before it is written.

use super::*;
use keyroll::signing::{kid, HmacSha256Key, JwtOptions, SigningAlgorithm, SigningKeyring};
use keyroll::KeyState;

/// The legacy secret of the vectors: a Django-style `SECRET_KEY` (48 bytes).
pub const LEGACY_SECRET: &str = "django-insecure-k3y-r0ll-vectors-0123456789abcdef";
const MASTER: &str = "signing vectors master";

/// Where a case's keyring comes from.
#[derive(Clone, Copy)]
enum Src<'a> {
    Doc(&'a str),
    Keyset(&'a str),
    Secret(&'a str),
}

impl Src<'_> {
    fn put(&self, case: &mut Map<String, Value>) {
        match self {
            Src::Doc(name) => case.insert("keyring".into(), json!(name)),
            Src::Keyset(ks) => case.insert("public_keyset".into(), json!(ks)),
            Src::Secret(s) => case.insert("hmac_secret_utf8".into(), json!(s)),
        };
    }
}

struct Signing {
    f: File,
    rings: std::collections::HashMap<String, SigningKeyring>,
}

impl Signing {
    fn store(&mut self, name: &str, ring: SigningKeyring, cred: Cred) {
        let doc = match &cred {
            Cred::Pass(p) => ring.to_document(Protection::PassphraseForTesting {
                passphrase: p.as_bytes(),
                iterations: ITERATIONS,
            }),
            Cred::Master(k) => ring.to_document(Protection::MasterKey(&SecretKey::from_bytes(*k))),
        }
        .unwrap();
        let unlock_key;
        let unlock = match &cred {
            Cred::Pass(p) => Unlock::Passphrase(p.as_bytes()),
            Cred::Master(k) => {
                unlock_key = SecretKey::from_bytes(*k);
                Unlock::MasterKey(&unlock_key)
            }
        };
        let opened = SigningKeyring::from_document(&doc, unlock).unwrap();
        assert_eq!(opened.versions(), ring.versions());
        self.f
            .raw_ring(name, String::from_utf8(doc).unwrap(), cred.clone());
        self.rings.insert(name.into(), opened);
    }

    fn open(&self, src: Src) -> Result<SigningKeyring, keyroll::Error> {
        match src {
            Src::Doc(name) => {
                let entry = &self.f.keyrings[name];
                let doc = entry["document"].as_str().unwrap().as_bytes();
                match entry["passphrase"].as_str() {
                    Some(p) => SigningKeyring::from_document(doc, Unlock::Passphrase(p.as_bytes())),
                    None => {
                        let key = hex::decode(entry["master_key_hex"].as_str().unwrap()).unwrap();
                        SigningKeyring::from_document(
                            doc,
                            Unlock::MasterKey(&SecretKey::from_slice(&key).unwrap()),
                        )
                    }
                }
            }
            Src::Keyset(ks) => SigningKeyring::from_public_keyset(ks),
            Src::Secret(s) => SigningKeyring::from_hmac_secret(s.as_bytes(), 0),
        }
    }

    fn ring(&self, name: &str) -> &SigningKeyring {
        &self.rings[name]
    }

    /// Records a case; `got` is what the core gave, `want` what the spec says.
    fn case(
        &mut self,
        name: &str,
        op: &str,
        src: Src,
        mut fields: Map<String, Value>,
        got: Result<Map<String, Value>, keyroll::Error>,
        want: Option<&'static str>,
    ) {
        src.put(&mut fields);
        match (want, got) {
            (Some(code), Err(e)) => {
                assert!(name.starts_with("fail_"), "{name}");
                assert_eq!(e.code(), code, "{name}: {e}");
                fields.insert("error".into(), json!(code));
            }
            (Some(code), Ok(v)) => panic!("{name}: wanted {code}, got {v:?}"),
            (None, Err(e)) => panic!("{name}: {e}"),
            (None, Ok(mut v)) => {
                assert!(!name.starts_with("fail_"), "{name}");
                fields.append(&mut v);
            }
        }
        // `push` puts `name`, `op` and `keyring` first; the source is already in `fields`.
        self.f.push(name, op, None, fields);
    }

    fn load(&mut self, name: &str, src: Src, want: Option<&'static str>) {
        let got = self.open(src).map(|r| {
            let mut m = Map::new();
            m.insert("expect".into(), summary(&r));
            m
        });
        self.case(name, "signing_load", src, Map::new(), got, want);
    }

    fn sign(
        &mut self,
        name: &str,
        src: Src,
        message: &[u8],
        ctx: &[u8],
        want: Option<&'static str>,
    ) {
        let mut fields = Map::new();
        fields.insert("message_hex".into(), json!(hex::encode(message)));
        fields.insert("context_hex".into(), json!(hex::encode(ctx)));
        let got = self.open(src).and_then(|r| {
            let text = r.sign(message, ctx)?;
            let binary = r.sign_binary(message, ctx)?;
            assert_eq!(r.verify(text.as_bytes(), ctx)?.message, message);
            assert_eq!(r.verify(&binary, ctx)?.message, message);
            let mut m = Map::new();
            m.insert("expect_signed".into(), json!(text));
            m.insert("expect_signed_hex".into(), json!(hex::encode(binary)));
            Ok(m)
        });
        self.case(name, "sign", src, fields, got, want);
    }

    fn verify(
        &mut self,
        name: &str,
        src: Src,
        signed: &Tok,
        ctx: &[u8],
        want: Result<(&[u8], u32), &'static str>,
    ) {
        let mut fields = Map::new();
        match signed {
            Tok::Text(s) => fields.insert("signed".into(), json!(s)),
            Tok::Bin(b) => fields.insert("signed_hex".into(), json!(hex::encode(b))),
        };
        fields.insert("context_hex".into(), json!(hex::encode(ctx)));
        let got = self
            .open(src)
            .and_then(|r| r.verify(&signed.bytes(), ctx))
            .map(|v| {
                if let Ok((message, version)) = want {
                    assert_eq!(
                        (&v.message[..], v.key_version),
                        (message, version),
                        "{name}"
                    );
                }
                let mut m = Map::new();
                m.insert("expect_message_hex".into(), json!(hex::encode(&v.message)));
                m.insert("expect_version".into(), json!(v.key_version));
                m
            });
        self.case(name, "verify", src, fields, got, want.err());
    }

    fn sign_jwt(
        &mut self,
        name: &str,
        src: Src,
        claims: &str,
        now: u64,
        want: Option<&'static str>,
    ) -> Option<String> {
        let mut fields = Map::new();
        fields.insert("claims".into(), json!(claims));
        fields.insert("now".into(), json!(now));
        // The token is checked exactly; verifying it is the verify_jwt cases' job.
        let got = self.open(src).and_then(|r| r.sign_jwt(claims, now));
        let token = got.as_ref().ok().cloned();
        let got = got.map(|t| {
            let mut m = Map::new();
            m.insert("expect_token".into(), json!(t));
            m
        });
        self.case(name, "sign_jwt", src, fields, got, want);
        token
    }

    fn verify_jwt(
        &mut self,
        name: &str,
        src: Src,
        token: &str,
        options: &JwtOptions,
        now: u64,
        want: Result<u32, &'static str>,
    ) {
        let mut fields = Map::new();
        fields.insert("token".into(), json!(token));
        fields.insert("now".into(), json!(now));
        fields.insert(
            "options".into(),
            json!({
                "leeway": options.leeway,
                "audience": options.audience,
                "issuer": options.issuer,
                "required": options.required,
            }),
        );
        let got = self
            .open(src)
            .and_then(|r| r.verify_jwt(token, options, now))
            .map(|v| {
                if let Ok(version) = want {
                    assert_eq!(v.key_version, version, "{name}");
                }
                let mut m = Map::new();
                let claims: Value = serde_json::from_str(&v.claims).unwrap();
                m.insert("expect_claims".into(), claims);
                m.insert("expect_version".into(), json!(v.key_version));
                m.insert("expect_algorithm".into(), json!(v.algorithm.as_str()));
                m
            });
        self.case(name, "verify_jwt", src, fields, got, want.err());
    }
}

fn summary(r: &SigningKeyring) -> Value {
    let versions: Vec<Value> = r
        .versions()
        .iter()
        .map(|v| json!({"version": v.version, "kind": v.kind, "state": v.state}))
        .collect();
    json!({
        "keyring_id": r.id().to_hex(),
        "active_version": r.active_version(),
        "min_version": r.min_version(),
        "verify_only": r.is_verify_only(),
        "versions": versions,
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with the given header and claims, signed over `b64(header).b64(claims)` by `sign`.
fn forge(header: &str, claims: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// Replaces a token's header, keeping its payload and signature.
fn reheader(token: &str, header: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", b64(header.as_bytes()))
}

pub fn signing(dir: &Path) {
    let master = key32(MASTER);
    let mut s = Signing {
        f: File::default(),
        rings: Default::default(),
    };
    let msg = b"order 1234: ship to Alice".as_slice();
    let ctx = b"orders:1234".as_slice();

    // hmac: v1 decrypt_only, v2 active, v3 pending.
    let mut hmac =
        SigningKeyring::generate_seeded(b"signing hmac", SigningAlgorithm::HmacSha256, NOW)
            .unwrap();
    let hmac_v1 = hmac.sign(msg, ctx).unwrap();
    hmac.rotate(NOW + DAY).unwrap();
    let hmac_v2 = hmac.sign(msg, ctx).unwrap();
    let hmac_v2_bin = hmac.sign_binary(msg, ctx).unwrap();
    hmac.add_version(SigningAlgorithm::HmacSha256, NOW + 2 * DAY)
        .unwrap();
    s.store("hmac", hmac, Cred::Master(master));

    // ed25519: v1 destroyed, v2 compromised, v3 disabled, v4 decrypt_only, v5 active,
    // v6 pending; a message and a JWT signed by each while it was active.
    let mut ed =
        SigningKeyring::generate_seeded(b"signing ed25519", SigningAlgorithm::Ed25519, NOW)
            .unwrap();
    let mut ed_msgs = vec![Tok::Text(String::new())];
    let mut ed_jwts = vec![String::new()];
    let claims = r#"{"sub":"user-42","aud":"app","iss":"https://auth.example","exp":1700864000,"nbf":1700000000}"#;
    for v in 1..=5u64 {
        if v > 1 {
            ed.rotate(NOW + (v - 1) * DAY).unwrap();
        }
        ed_msgs.push(Tok::Text(ed.sign(msg, ctx).unwrap()));
        ed_jwts.push(ed.sign_jwt(claims, NOW).unwrap());
    }
    ed.add_version(SigningAlgorithm::Ed25519, NOW + 5 * DAY)
        .unwrap();
    ed.set_state(1, KeyState::Destroyed, None, NOW + 5 * DAY)
        .unwrap();
    ed.set_state(2, KeyState::Compromised, Some("leaked"), NOW + 5 * DAY)
        .unwrap();
    ed.set_state(3, KeyState::Disabled, None, NOW + 5 * DAY)
        .unwrap();
    let keyset = ed.public_keyset().unwrap();
    let jwks: Value = serde_json::from_str(&ed.jwks().unwrap()).unwrap();
    let mut ed_min = SigningKeyring::from_document(
        &ed.to_document(Protection::MasterKey(&SecretKey::from_bytes(master)))
            .unwrap(),
        Unlock::MasterKey(&SecretKey::from_bytes(master)),
    )
    .unwrap();
    ed_min.set_min_version(5).unwrap();
    ed_min.reseed_for_testing(b"signing ed25519 min");
    ed.reseed_for_testing(b"signing ed25519 store");
    let ed_public: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let ed_id = ed.id();
    s.store("ed25519", ed, Cred::Master(master));
    s.store("ed25519_min_version_5", ed_min, Cred::Master(master));

    // legacy: from a SECRET_KEY (v1, hmac_sha256_legacy), then rotated (v2 hmac_sha256).
    let secret_ring = SigningKeyring::from_hmac_secret(LEGACY_SECRET.as_bytes(), 0).unwrap();
    let legacy_jwt_v1 = secret_ring
        .sign_jwt(r#"{"sub":"42","exp":1700864000}"#, NOW)
        .unwrap();
    // What the old system wrote: HS256 over the raw secret, no kid.
    let old_key = HmacSha256Key::new(LEGACY_SECRET.as_bytes());
    let kidless = forge(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"sub":"42","exp":1700864000}"#,
        |m| old_key.sign(m).to_vec(),
    );
    let mut legacy = SigningKeyring::from_hmac_secret(LEGACY_SECRET.as_bytes(), NOW).unwrap();
    legacy.reseed_for_testing(b"signing legacy");
    legacy
        .add_version(SigningAlgorithm::HmacSha256, NOW + DAY)
        .unwrap();
    legacy.promote(2, NOW + 2 * DAY).unwrap();
    let legacy_jwt_v2 = legacy
        .sign_jwt(r#"{"sub":"42","exp":1700864000}"#, NOW + 2 * DAY)
        .unwrap();
    let legacy_id = legacy.id();
    s.store("legacy", legacy, Cred::Master(master));

    // pending_only: v1 purged, v2 pending: nothing signs.
    let mut pending =
        SigningKeyring::generate_seeded(b"signing pending", SigningAlgorithm::HmacSha256, NOW)
            .unwrap();
    pending
        .add_version(SigningAlgorithm::HmacSha256, NOW)
        .unwrap();
    pending.purge_material(1, NOW).unwrap();
    s.store("pending_only", pending, Cred::Master(master));

    // other: an unrelated Ed25519 keyring, sealed under a passphrase.
    let other =
        SigningKeyring::generate_seeded(b"signing other", SigningAlgorithm::Ed25519, NOW).unwrap();
    let other_msg = other.sign(msg, ctx).unwrap();
    s.store("other_passphrase", other, Cred::Pass(PASSPHRASE));

    // An encryption keyring's document, for the kind checks.
    let enc = Keyring::generate_seeded(b"signing encryption ring", NOW).unwrap();
    s.f.ring("encryption", &enc, Cred::Master(master));

    // --- load
    for name in [
        "hmac",
        "ed25519",
        "ed25519_min_version_5",
        "legacy",
        "pending_only",
        "other_passphrase",
    ] {
        s.load(&format!("load_{name}"), Src::Doc(name), None);
    }
    s.load("load_public_keyset", Src::Keyset(&keyset), None);
    s.load("load_hmac_secret", Src::Secret(LEGACY_SECRET), None);
    assert_eq!(s.open(Src::Secret(LEGACY_SECRET)).unwrap().id(), legacy_id);
    s.load(
        "fail_load_encryption_document",
        Src::Doc("encryption"),
        Some("wrong_keyring_kind"),
    );
    let enc_doc = s.f.keyrings["encryption"]["document"]
        .as_str()
        .unwrap()
        .to_owned();
    s.load(
        "fail_load_keyring_document_as_keyset",
        Src::Keyset(&enc_doc),
        Some("wrong_keyring_kind"),
    );
    s.load(
        "fail_load_keyset_damaged",
        Src::Keyset(&keyset.replacen("\"state\"", "\"sate\"", 1)),
        Some("keyring_corrupt"),
    );
    s.load(
        "fail_load_hmac_secret_short",
        Src::Secret("only-31-bytes-of-secret-here..."),
        Some("invalid_key"),
    );
    // The encryption loader refuses a signing document (the `load` op of every other file).
    s.f.push(
        "fail_load_signing_document_as_encryption",
        "load",
        Some("hmac"),
        {
            let mut m = Map::new();
            assert_eq!(
                s.f.opened["hmac"].as_ref().unwrap_err().code(),
                "wrong_keyring_kind"
            );
            m.insert("error".into(), json!("wrong_keyring_kind"));
            m
        },
    );
    let wrong_key = {
        let entry = &s.f.keyrings["hmac"];
        let err = SigningKeyring::from_document(
            entry["document"].as_str().unwrap().as_bytes(),
            Unlock::MasterKey(&SecretKey::from_bytes(key32("not the master"))),
        )
        .unwrap_err();
        assert_eq!(err.code(), "bad_passphrase");
        entry["document"].as_str().unwrap().to_owned()
    };
    s.f.raw_ring(
        "hmac_wrong_master_key",
        wrong_key,
        Cred::Master(key32("not the master")),
    );
    s.load(
        "fail_load_wrong_master_key",
        Src::Doc("hmac_wrong_master_key"),
        Some("bad_passphrase"),
    );

    // --- sign
    s.sign("sign_hmac", Src::Doc("hmac"), msg, ctx, None);
    s.sign(
        "sign_hmac_empty_message_no_context",
        Src::Doc("hmac"),
        b"",
        b"",
        None,
    );
    s.sign("sign_ed25519", Src::Doc("ed25519"), msg, ctx, None);
    s.sign(
        "sign_ed25519_binary_message",
        Src::Doc("ed25519"),
        &det("signing binary", 300),
        b"",
        None,
    );
    s.sign(
        "sign_legacy_after_rotation",
        Src::Doc("legacy"),
        msg,
        ctx,
        None,
    );
    s.sign(
        "sign_hmac_secret",
        Src::Secret(LEGACY_SECRET),
        msg,
        ctx,
        None,
    );
    s.sign(
        "fail_sign_pending_only",
        Src::Doc("pending_only"),
        msg,
        ctx,
        Some("no_active_key"),
    );
    s.sign(
        "fail_sign_public_keyset",
        Src::Keyset(&keyset),
        msg,
        ctx,
        Some("read_only"),
    );

    // --- verify
    let hmac = Src::Doc("hmac");
    s.verify(
        "verify_hmac_v1_decrypt_only",
        hmac,
        &Tok::Text(hmac_v1.clone()),
        ctx,
        Ok((msg, 1)),
    );
    s.verify(
        "verify_hmac_v2_active",
        hmac,
        &Tok::Text(hmac_v2.clone()),
        ctx,
        Ok((msg, 2)),
    );
    s.verify(
        "verify_hmac_v2_binary",
        hmac,
        &Tok::Bin(hmac_v2_bin.clone()),
        ctx,
        Ok((msg, 2)),
    );
    for v in [4u32, 5] {
        let state = if v == 4 { "decrypt_only" } else { "active" };
        s.verify(
            &format!("verify_ed25519_v{v}_{state}"),
            Src::Doc("ed25519"),
            &ed_msgs[v as usize],
            ctx,
            Ok((msg, v)),
        );
        s.verify(
            &format!("verify_keyset_ed25519_v{v}_{state}"),
            Src::Keyset(&keyset),
            &ed_msgs[v as usize],
            ctx,
            Ok((msg, v)),
        );
    }
    let ed = Src::Doc("ed25519");
    s.verify(
        "fail_verify_destroyed",
        ed,
        &ed_msgs[1],
        ctx,
        Err("key_destroyed"),
    );
    s.verify(
        "fail_verify_compromised",
        ed,
        &ed_msgs[2],
        ctx,
        Err("key_compromised"),
    );
    s.verify(
        "fail_verify_keyset_compromised",
        Src::Keyset(&keyset),
        &ed_msgs[2],
        ctx,
        Err("key_compromised"),
    );
    s.verify(
        "fail_verify_disabled",
        ed,
        &ed_msgs[3],
        ctx,
        Err("key_disabled"),
    );
    s.verify(
        "fail_verify_below_minimum",
        Src::Doc("ed25519_min_version_5"),
        &ed_msgs[4],
        ctx,
        Err("below_minimum_version"),
    );
    s.verify(
        "fail_verify_wrong_context",
        hmac,
        &Tok::Text(hmac_v2.clone()),
        b"orders:1235",
        Err("signature_invalid"),
    );
    s.verify(
        "fail_verify_no_context",
        hmac,
        &Tok::Text(hmac_v2.clone()),
        b"",
        Err("signature_invalid"),
    );
    s.verify(
        "fail_verify_wrong_keyring",
        hmac,
        &Tok::Text(other_msg.clone()),
        ctx,
        Err("wrong_keyring"),
    );
    s.verify(
        "verify_other_passphrase",
        Src::Doc("other_passphrase"),
        &Tok::Text(other_msg.clone()),
        ctx,
        Ok((msg, 1)),
    );
    let n = hmac_v2_bin.len();
    let flip = |i: usize| {
        let mut b = hmac_v2_bin.clone();
        b[i] ^= 1;
        Tok::Bin(b)
    };
    s.verify(
        "fail_verify_tampered_message",
        hmac,
        &flip(20),
        ctx,
        Err("signature_invalid"),
    );
    s.verify(
        "fail_verify_tampered_signature",
        hmac,
        &flip(n - 1),
        ctx,
        Err("signature_invalid"),
    );
    s.verify(
        "fail_verify_tampered_keyring_id",
        hmac,
        &flip(6),
        ctx,
        Err("wrong_keyring"),
    );
    s.verify(
        "fail_verify_tampered_version",
        hmac,
        &flip(17),
        ctx,
        Err("signature_invalid"),
    );
    s.verify(
        "fail_verify_unknown_version",
        hmac,
        &{
            let mut b = hmac_v2_bin.clone();
            b[17] = 9;
            Tok::Bin(b)
        },
        ctx,
        Err("unknown_key_version"),
    );
    // HMAC version with the Ed25519 algorithm byte: refused before any key is used.
    s.verify(
        "fail_verify_algorithm_byte_mismatch",
        hmac,
        &{
            let mut b = hmac_v2_bin.clone();
            b[4] = 2;
            b.extend_from_slice(&[0u8; 32]);
            Tok::Bin(b)
        },
        ctx,
        Err("algorithm_mismatch"),
    );
    s.verify(
        "fail_verify_unknown_algorithm",
        hmac,
        &{
            let mut b = hmac_v2_bin.clone();
            b[4] = 3;
            Tok::Bin(b)
        },
        ctx,
        Err("unsupported_format"),
    );
    s.verify(
        "fail_verify_flags",
        hmac,
        &flip(5),
        ctx,
        Err("unsupported_format"),
    );
    s.verify(
        "fail_verify_format_version",
        hmac,
        &flip(3),
        ctx,
        Err("unsupported_format"),
    );
    s.verify(
        "fail_verify_magic",
        hmac,
        &flip(2),
        ctx,
        Err("unsupported_format"),
    );
    s.verify(
        "fail_verify_truncated_header",
        hmac,
        &Tok::Bin(hmac_v2_bin[..17].to_vec()),
        ctx,
        Err("malformed"),
    );
    s.verify(
        "fail_verify_truncated_signature",
        hmac,
        &Tok::Bin(hmac_v2_bin[..18 + 31].to_vec()),
        ctx,
        Err("malformed"),
    );
    s.verify(
        "fail_verify_version_zero",
        hmac,
        &{
            let mut b = hmac_v2_bin.clone();
            b[17] = 0;
            Tok::Bin(b)
        },
        ctx,
        Err("malformed"),
    );
    let body = hmac_v2.strip_prefix("krs1:v2:").unwrap();
    s.verify(
        "fail_verify_text_prefix_version",
        hmac,
        &Tok::Text(format!("krs1:v1:{body}")),
        ctx,
        Err("malformed"),
    );
    s.verify(
        "fail_verify_text_leading_zero",
        hmac,
        &Tok::Text(format!("krs1:v02:{body}")),
        ctx,
        Err("malformed"),
    );
    s.verify(
        "fail_verify_text_format_2",
        hmac,
        &Tok::Text(format!("krs2:v2:{body}")),
        ctx,
        Err("unsupported_format"),
    );
    s.verify(
        "fail_verify_text_padding",
        hmac,
        &Tok::Text(format!("{hmac_v2}=")),
        ctx,
        Err("malformed"),
    );
    s.verify(
        "fail_verify_text_bad_base64",
        hmac,
        &Tok::Text(format!("krs1:v2:*{body}")),
        ctx,
        Err("malformed"),
    );
    s.verify(
        "fail_verify_encryption_envelope",
        hmac,
        &Tok::Text(enc.encrypt(msg, ctx, None).unwrap()),
        ctx,
        Err("unsupported_format"),
    );

    // --- JWTs
    let default = JwtOptions::default();
    let app = JwtOptions {
        audience: Some("app".into()),
        issuer: Some("https://auth.example".into()),
        required: vec!["exp".into(), "sub".into()],
        ..JwtOptions::default()
    };
    let legacy = Src::Doc("legacy");
    let secret = Src::Secret(LEGACY_SECRET);
    s.sign_jwt(
        "sign_jwt_hmac_secret_v1",
        secret,
        r#"{"sub":"42","exp":1700864000}"#,
        NOW,
        None,
    );
    s.sign_jwt(
        "sign_jwt_legacy_v2",
        legacy,
        r#"{"sub":"42","exp":1700864000}"#,
        NOW + 2 * DAY,
        None,
    );
    s.sign_jwt("sign_jwt_ed25519", ed, claims, NOW, None);
    s.sign_jwt(
        "sign_jwt_keeps_iat",
        hmac,
        r#"{"iat":1600000000,"nested":{"b":1,"a":[true,null]}}"#,
        NOW,
        None,
    );
    s.sign_jwt(
        "fail_sign_jwt_not_an_object",
        hmac,
        r#"["sub"]"#,
        NOW,
        Some("invalid_argument"),
    );
    s.sign_jwt(
        "fail_sign_jwt_public_keyset",
        Src::Keyset(&keyset),
        "{}",
        NOW,
        Some("read_only"),
    );
    s.sign_jwt(
        "fail_sign_jwt_pending_only",
        Src::Doc("pending_only"),
        "{}",
        NOW,
        Some("no_active_key"),
    );
    // After every iat below (legacy v2 was signed at NOW + 2 days), before every exp.
    let t = NOW + 3 * DAY;
    s.verify_jwt(
        "verify_jwt_legacy_v1_before_rotation",
        secret,
        &legacy_jwt_v1,
        &default,
        t,
        Ok(1),
    );
    s.verify_jwt(
        "verify_jwt_legacy_v1_after_rotation",
        legacy,
        &legacy_jwt_v1,
        &default,
        t,
        Ok(1),
    );
    s.verify_jwt(
        "verify_jwt_legacy_v2",
        legacy,
        &legacy_jwt_v2,
        &default,
        t,
        Ok(2),
    );
    s.verify_jwt(
        "verify_jwt_kidless_old_system",
        legacy,
        &kidless,
        &default,
        t,
        Ok(1),
    );
    s.verify_jwt(
        "verify_jwt_kidless_hmac_secret",
        secret,
        &kidless,
        &default,
        t,
        Ok(1),
    );
    s.verify_jwt(
        "fail_verify_jwt_kidless_without_legacy",
        hmac,
        &kidless,
        &default,
        t,
        Err("unsupported_format"),
    );
    s.verify_jwt("verify_jwt_ed25519_v5", ed, &ed_jwts[5], &app, t, Ok(5));
    s.verify_jwt(
        "verify_jwt_ed25519_v4_decrypt_only",
        ed,
        &ed_jwts[4],
        &app,
        t,
        Ok(4),
    );
    s.verify_jwt(
        "verify_jwt_keyset_v5",
        Src::Keyset(&keyset),
        &ed_jwts[5],
        &app,
        t,
        Ok(5),
    );
    s.verify_jwt(
        "fail_verify_jwt_compromised",
        ed,
        &ed_jwts[2],
        &app,
        t,
        Err("key_compromised"),
    );
    s.verify_jwt(
        "fail_verify_jwt_keyset_compromised",
        Src::Keyset(&keyset),
        &ed_jwts[2],
        &app,
        t,
        Err("key_compromised"),
    );
    s.verify_jwt(
        "fail_verify_jwt_disabled",
        ed,
        &ed_jwts[3],
        &app,
        t,
        Err("key_disabled"),
    );
    s.verify_jwt(
        "fail_verify_jwt_destroyed",
        ed,
        &ed_jwts[1],
        &app,
        t,
        Err("key_destroyed"),
    );
    s.verify_jwt(
        "fail_verify_jwt_below_minimum",
        Src::Doc("ed25519_min_version_5"),
        &ed_jwts[4],
        &app,
        t,
        Err("below_minimum_version"),
    );
    s.verify_jwt(
        "fail_verify_jwt_wrong_keyring",
        Src::Doc("other_passphrase"),
        &ed_jwts[5],
        &app,
        t,
        Err("wrong_keyring"),
    );
    s.verify_jwt(
        "fail_verify_jwt_keyset_hmac_token",
        Src::Keyset(&keyset),
        &reheader(
            &legacy_jwt_v2,
            &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, kid(ed_id, 7)),
        ),
        &default,
        t,
        Err("unknown_key_version"),
    );
    // Time claims (exp 1700864000, nbf 1700000000).
    let exp = 1_700_864_000;
    s.verify_jwt(
        "verify_jwt_just_before_exp",
        ed,
        &ed_jwts[5],
        &app,
        exp - 1,
        Ok(5),
    );
    s.verify_jwt(
        "fail_verify_jwt_expired_at_exp",
        ed,
        &ed_jwts[5],
        &app,
        exp,
        Err("expired"),
    );
    s.verify_jwt(
        "verify_jwt_expired_within_leeway",
        ed,
        &ed_jwts[5],
        &JwtOptions {
            leeway: 30,
            ..app.clone()
        },
        exp + 29,
        Ok(5),
    );
    s.verify_jwt(
        "fail_verify_jwt_expired_past_leeway",
        ed,
        &ed_jwts[5],
        &JwtOptions {
            leeway: 30,
            ..app.clone()
        },
        exp + 30,
        Err("expired"),
    );
    s.verify_jwt(
        "fail_verify_jwt_not_yet_valid",
        ed,
        &ed_jwts[5],
        &app,
        NOW - 1,
        Err("expired"),
    );
    s.verify_jwt(
        "verify_jwt_nbf_within_leeway",
        ed,
        &ed_jwts[5],
        &JwtOptions {
            leeway: 10,
            ..app.clone()
        },
        NOW - 10,
        Ok(5),
    );
    // Audience, issuer, required claims.
    s.verify_jwt(
        "fail_verify_jwt_wrong_audience",
        ed,
        &ed_jwts[5],
        &JwtOptions {
            audience: Some("other".into()),
            ..app.clone()
        },
        t,
        Err("claim_invalid"),
    );
    s.verify_jwt(
        "fail_verify_jwt_audience_not_expected",
        ed,
        &ed_jwts[5],
        &default,
        t,
        Err("claim_invalid"),
    );
    s.verify_jwt(
        "fail_verify_jwt_wrong_issuer",
        ed,
        &ed_jwts[5],
        &JwtOptions {
            issuer: Some("https://evil.example".into()),
            ..app.clone()
        },
        t,
        Err("claim_invalid"),
    );
    s.verify_jwt(
        "fail_verify_jwt_missing_audience",
        legacy,
        &legacy_jwt_v2,
        &JwtOptions {
            audience: Some("app".into()),
            ..default.clone()
        },
        t,
        Err("claim_invalid"),
    );
    s.verify_jwt(
        "fail_verify_jwt_missing_required",
        legacy,
        &legacy_jwt_v2,
        &JwtOptions {
            required: vec!["jti".into()],
            ..default.clone()
        },
        t,
        Err("claim_invalid"),
    );
    let aud_list = s
        .ring("hmac")
        .sign_jwt(r#"{"aud":["a","app"],"exp":1700864000}"#, NOW)
        .unwrap();
    s.verify_jwt(
        "verify_jwt_audience_in_list",
        hmac,
        &aud_list,
        &JwtOptions {
            audience: Some("app".into()),
            ..default.clone()
        },
        t,
        Ok(2),
    );
    let str_exp = s
        .ring("hmac")
        .sign_jwt(r#"{"exp":"1700864000"}"#, NOW)
        .unwrap();
    s.verify_jwt(
        "fail_verify_jwt_exp_not_a_number",
        hmac,
        &str_exp,
        &default,
        t,
        Err("claim_invalid"),
    );
    let future_iat = s
        .ring("hmac")
        .sign_jwt(r#"{"iat":1800000000}"#, NOW)
        .unwrap();
    s.verify_jwt(
        "fail_verify_jwt_iat_in_future",
        hmac,
        &future_iat,
        &default,
        t,
        Err("expired"),
    );
    // Algorithm confusion: an HS256 token naming the Ed25519 version, its "secret" the
    // public key (what a verifier that trusts `alg` would accept).
    let ed_kid = kid(ed_id, 5);
    let confused = forge(
        &format!(r#"{{"alg":"HS256","kid":"{ed_kid}","typ":"JWT"}}"#),
        claims,
        |m| HmacSha256Key::new(&ed_public).sign(m).to_vec(),
    );
    s.verify_jwt(
        "fail_verify_jwt_alg_confusion_hs256_with_ed25519_kid",
        ed,
        &confused,
        &app,
        t,
        Err("algorithm_mismatch"),
    );
    s.verify_jwt(
        "fail_verify_jwt_alg_confusion_keyset",
        Src::Keyset(&keyset),
        &confused,
        &app,
        t,
        Err("algorithm_mismatch"),
    );
    let none = format!(
        "{}.{}.",
        b64(format!(r#"{{"alg":"none","kid":"{ed_kid}"}}"#).as_bytes()),
        b64(claims.as_bytes())
    );
    s.verify_jwt(
        "fail_verify_jwt_alg_none",
        ed,
        &none,
        &app,
        t,
        Err("algorithm_mismatch"),
    );
    let none_kidless = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"sub":"42"}"#));
    s.verify_jwt(
        "fail_verify_jwt_alg_none_kidless",
        legacy,
        &none_kidless,
        &default,
        t,
        Err("algorithm_mismatch"),
    );
    let eddsa_on_hmac = reheader(
        &legacy_jwt_v2,
        &format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, kid(legacy_id, 2)),
    );
    s.verify_jwt(
        "fail_verify_jwt_eddsa_with_hmac_kid",
        legacy,
        &eddsa_on_hmac,
        &default,
        t,
        Err("algorithm_mismatch"),
    );
    // Tampering and form.
    let (head, rest) = ed_jwts[5].split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let other_claims = claims.replace("user-42", "user-43");
    s.verify_jwt(
        "fail_verify_jwt_tampered_claims",
        ed,
        &format!("{head}.{}.{sig}", b64(other_claims.as_bytes())),
        &app,
        t,
        Err("signature_invalid"),
    );
    let hs = legacy_jwt_v2.clone();
    let last = hs.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &hs[..hs.len() - 1],
        if last == 'A' { 'Q' } else { 'A' }
    );
    s.verify_jwt(
        "fail_verify_jwt_tampered_signature",
        legacy,
        &flipped,
        &default,
        t,
        Err("signature_invalid"),
    );
    s.verify_jwt(
        "fail_verify_jwt_two_parts",
        legacy,
        &format!("{head}.{}", b64(b"{}")),
        &default,
        t,
        Err("malformed"),
    );
    s.verify_jwt(
        "fail_verify_jwt_padding",
        legacy,
        &format!("{legacy_jwt_v2}="),
        &default,
        t,
        Err("malformed"),
    );
    s.verify_jwt(
        "fail_verify_jwt_crit",
        ed,
        &reheader(
            &ed_jwts[5],
            &format!(r#"{{"alg":"EdDSA","kid":"{ed_kid}","crit":["exp"]}}"#),
        ),
        &app,
        t,
        Err("unsupported_format"),
    );
    s.verify_jwt(
        "fail_verify_jwt_foreign_kid",
        ed,
        &reheader(&ed_jwts[5], r#"{"alg":"EdDSA","kid":"key-2024"}"#),
        &app,
        t,
        Err("wrong_keyring"),
    );
    s.verify_jwt(
        "fail_verify_jwt_unknown_version",
        ed,
        &reheader(
            &ed_jwts[5],
            &format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, kid(ed_id, 9)),
        ),
        &app,
        t,
        Err("unknown_key_version"),
    );

    // --- keyset and JWKS
    let got = s.open(Src::Doc("ed25519")).map(|r| {
        let mut m = Map::new();
        m.insert(
            "expect".into(),
            serde_json::from_str(&r.public_keyset().unwrap()).unwrap(),
        );
        m
    });
    s.case(
        "public_keyset_ed25519",
        "public_keyset",
        Src::Doc("ed25519"),
        Map::new(),
        got,
        None,
    );
    let got = s.open(Src::Doc("ed25519")).map(|r| {
        let mut m = Map::new();
        m.insert(
            "expect".into(),
            serde_json::from_str(&r.jwks().unwrap()).unwrap(),
        );
        m
    });
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        3,
        "v6 pending, v5, v4"
    );
    s.case(
        "jwks_ed25519",
        "jwks",
        Src::Doc("ed25519"),
        Map::new(),
        got,
        None,
    );

    s.f.write(
        dir,
        "signing.json",
        "signing keyrings (§12): signed messages (HMAC-SHA256, Ed25519; text and binary) under \
         every key state, JWTs (HS256, EdDSA; a legacy SECRET_KEY before and after rotation; \
         kid-less legacy tokens; time, audience, issuer and required claims; algorithm \
         confusion and alg none), a public keyset and JWKS, documents of the wrong kind",
    );
}
