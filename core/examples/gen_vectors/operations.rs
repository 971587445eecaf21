//! `operations.json`: changes to a keyring (add, promote, rotate, state changes, minimum
//! version, policy), each case a sequence of steps on a fresh copy of a stored keyring; and the
//! generation rules of §7.1 on stored documents (`keyring_conflict`, `keyring_rollback`).
//!
//! Each expectation is written here by hand and checked against the core; a positive case
//! ends with a `summary` step recording the keyring the sequence left.

use super::*;
use keyroll::Policy;

/// A step `{"do": what, ...args}`.
fn step(what: &str, args: Value) -> Value {
    let mut out = Map::new();
    out.insert("do".into(), json!(what));
    if let Value::Object(mut m) = args {
        out.append(&mut m);
    }
    Value::Object(out)
}

/// Runs one step on `ring`: the value it gives (`null` for steps that give none).
fn apply(ring: &mut Keyring, s: &Value) -> Result<Value, keyroll::Error> {
    let now = || s["now"].as_u64().unwrap();
    let version = || s["version"].as_u64().unwrap() as u32;
    let ctx = || hex::decode(s["context_hex"].as_str().unwrap_or("")).unwrap();
    Ok(match s["do"].as_str().unwrap() {
        "add_version" => json!(ring.add_version(now())?),
        "rotate" => json!(ring.rotate(now())?),
        "emergency_rotate" => json!(ring.emergency_rotate(s["reason"].as_str().unwrap(), now())?),
        "promote" => {
            ring.promote(version(), now())?;
            Value::Null
        }
        "set_state" => {
            let to = keyroll::KeyState::parse(s["state"].as_str().unwrap()).unwrap();
            ring.set_state(version(), to, s["note"].as_str(), now())?;
            Value::Null
        }
        "set_min_version" => {
            ring.set_min_version(s["minimum"].as_u64().unwrap() as u32)?;
            Value::Null
        }
        "set_policy" => {
            ring.set_policy(Policy {
                rotate_after_days: s["rotate_after_days"].as_u64().unwrap() as u32,
                warn_after_days: s["warn_after_days"].as_u64().unwrap() as u32,
            })?;
            Value::Null
        }
        "check_policy" => serde_json::to_value(ring.check_policy(now())).unwrap(),
        "encrypt" => {
            let pt = hex::decode(s["plaintext_hex"].as_str().unwrap()).unwrap();
            let token = ring.encrypt(&pt, &ctx(), None)?;
            assert_eq!(&*ring.decrypt(token.as_bytes(), &ctx(), None)?, &pt[..]);
            json!(keyroll::inspect(token.as_bytes())?.key_version)
        }
        "decrypt" => {
            let token = s["token"].as_str().unwrap().as_bytes();
            json!(hex::encode(ring.decrypt(token, &ctx(), None)?))
        }
        "summary" => summary(ring),
        other => panic!("unknown step {other}"),
    })
}

/// A fresh copy of stored keyring `name` (steps change it).
fn reopen(f: &File, name: &str) -> Keyring {
    let entry = &f.keyrings[name];
    let doc = entry["document"].as_str().unwrap().as_bytes();
    let key = hex::decode(entry["master_key_hex"].as_str().unwrap()).unwrap();
    Keyring::from_document(
        doc,
        Unlock::MasterKey(&SecretKey::from_slice(&key).unwrap()),
    )
    .unwrap()
}

/// A sequence case: every step must give its `expect` (if it has one); a `fail_*` case's last
/// step must fail with `code` and every earlier step succeed; a positive case gets a final
/// `summary` step.
fn sequence(f: &mut File, name: &str, ring: &str, mut steps: Vec<Value>, code: Option<&str>) {
    let mut r = reopen(f, ring);
    let last = steps.len() - 1;
    for (i, s) in steps.iter().enumerate() {
        let got = apply(&mut r, s);
        match (code, i == last) {
            (Some(c), true) => {
                let e = got.expect_err(name);
                assert_eq!(e.code(), c, "{name}: {e}");
            }
            _ => {
                let got = got.unwrap_or_else(|e| panic!("{name}: step {i}: {e}"));
                assert_eq!(
                    s.get("expect").unwrap_or(&Value::Null),
                    &got,
                    "{name}: step {i}"
                );
            }
        }
    }
    if code.is_none() {
        steps.push(step("summary", json!({"expect": summary(&r)})));
    }
    let mut case = Map::new();
    case.insert("steps".into(), json!(steps));
    if let Some(c) = code {
        assert!(name.starts_with("fail_"), "{name}");
        case.insert("error".into(), json!(c));
    }
    f.push(name, "operations", Some(ring), case);
}

/// A document of `generation` (0: written before generations, the member absent).
fn at_generation(ring: &Keyring, generation: u64, master: &[u8; 32]) -> String {
    let mut copy = Keyring::from_document(
        &ring
            .to_document(Protection::MasterKey(&SecretKey::from_bytes(*master)))
            .unwrap(),
        Unlock::MasterKey(&SecretKey::from_bytes(*master)),
    )
    .unwrap();
    copy.reseed_for_testing(format!("operations generation {generation}").as_bytes());
    copy.mark_saved(generation.saturating_sub(1));
    let doc = copy
        .to_document(Protection::MasterKey(&SecretKey::from_bytes(*master)))
        .unwrap();
    if generation > 0 {
        assert_eq!(Keyring::document_generation(&doc).unwrap(), generation);
        return String::from_utf8(doc).unwrap();
    }
    // As a keyring from before generations was stored: no `generation` member, MAC over
    // the body without it (§7).
    let mut v: Value = serde_json::from_slice(&doc).unwrap();
    v["body"].as_object_mut().unwrap().remove("generation");
    remac(&mut v, master);
    serde_json::to_string_pretty(&v).unwrap()
}

pub fn operations(dir: &Path) {
    let mut f = File::default();
    let master = key32("operations master key");
    let mut ring = Keyring::generate_seeded(b"operations ring", NOW).unwrap();
    let tok1 = ring.encrypt(b"under v1", CTX, None).unwrap();
    ring.rotate(NOW + DAY).unwrap();
    let tok2 = ring.encrypt(b"under v2", CTX, None).unwrap();
    assert_eq!(ring.add_version(NOW + 2 * DAY).unwrap(), 3);
    f.ring("ring", &ring, Cred::Master(master));
    f.load("load_ring", "ring", None);
    let mut export = ring.export_decrypt_only(&[1, 2]).unwrap();
    export.reseed_for_testing(b"operations export");
    f.ring("export", &export, Cred::Master(master));
    f.load("load_export", "export", None);

    let t = NOW + 3 * DAY;
    let ctx = hex::encode(CTX);
    let decrypt = |tok: &str, pt: Option<&[u8]>| {
        let mut a = json!({"token": tok, "context_hex": ctx});
        if let Some(p) = pt {
            a["expect"] = json!(hex::encode(p));
        }
        step("decrypt", a)
    };
    let encrypt = |v: u32| {
        step(
            "encrypt",
            json!({"plaintext_hex": hex::encode(b"fresh"), "context_hex": ctx, "expect": v}),
        )
    };
    let promote = |v: u32| step("promote", json!({"version": v, "now": t}));
    let set_state = |v: u32, state: &str| {
        step(
            "set_state",
            json!({"version": v, "state": state, "note": null, "now": t}),
        )
    };
    let set_min = |m: u64| step("set_min_version", json!({"minimum": m}));
    let set_policy = |r: u32, w: u32| {
        step(
            "set_policy",
            json!({"rotate_after_days": r, "warn_after_days": w}),
        )
    };
    let add = |v: u32| step("add_version", json!({"now": t, "expect": v}));
    let rotate = |v: u32| step("rotate", json!({"now": t, "expect": v}));
    let emergency = |v: u32| {
        step(
            "emergency_rotate",
            json!({"reason": "laptop stolen", "now": t, "expect": v}),
        )
    };

    // What succeeds.
    let ok: Vec<(&str, &str, Vec<Value>)> = vec![
        ("ops_add_version_is_pending", "ring", vec![add(4)]),
        (
            "ops_promote_pending",
            "ring",
            vec![promote(3), encrypt(3), decrypt(&tok2, Some(b"under v2"))],
        ),
        (
            "ops_promote_decrypt_only",
            "ring",
            vec![promote(1), encrypt(1), decrypt(&tok2, Some(b"under v2"))],
        ),
        (
            "ops_add_then_promote",
            "ring",
            vec![add(4), promote(4), encrypt(4)],
        ),
        ("ops_rotate", "ring", vec![rotate(4), encrypt(4)]),
        (
            "ops_emergency_rotate",
            "ring",
            vec![emergency(4), encrypt(4), decrypt(&tok1, Some(b"under v1"))],
        ),
        (
            "ops_set_state_decrypt_only_chain",
            "ring",
            vec![
                set_state(1, "disabled"),
                set_state(1, "decrypt_only"),
                decrypt(&tok1, Some(b"under v1")),
                set_state(1, "compromised"),
                set_state(1, "destroyed"),
            ],
        ),
        (
            "ops_set_state_pending",
            "ring",
            vec![set_state(3, "disabled"), set_state(3, "destroyed")],
        ),
        (
            "ops_set_state_with_note",
            "ring",
            vec![step(
                "set_state",
                json!({"version": 1, "state": "disabled", "note": "retired", "now": t}),
            )],
        ),
        (
            "ops_set_min_version",
            "ring",
            vec![set_min(2), decrypt(&tok2, Some(b"under v2"))],
        ),
        (
            "ops_set_policy",
            "ring",
            vec![
                set_policy(30, 20),
                step(
                    "check_policy",
                    json!({"now": NOW + DAY + 25 * DAY, "expect": serde_json::to_value({
                        let mut r = reopen(&f, "ring");
                        r.set_policy(Policy { rotate_after_days: 30, warn_after_days: 20 }).unwrap();
                        r.check_policy(NOW + DAY + 25 * DAY)
                    }).unwrap()}),
                ),
            ],
        ),
        (
            "ops_export_decrypts",
            "export",
            vec![
                decrypt(&tok1, Some(b"under v1")),
                decrypt(&tok2, Some(b"under v2")),
            ],
        ),
    ];
    for (name, ring, steps) in ok {
        sequence(&mut f, name, ring, steps, None);
    }

    // What is refused: the last step, with this code.
    let ist = "invalid_state_transition";
    let fail: Vec<(&str, &str, Vec<Value>, &str)> = vec![
        ("promote_active", "ring", vec![promote(2)], ist),
        (
            "promote_compromised",
            "ring",
            vec![emergency(4), promote(2)],
            ist,
        ),
        (
            "promote_destroyed",
            "ring",
            vec![set_state(3, "destroyed"), promote(3)],
            ist,
        ),
        (
            "promote_disabled",
            "ring",
            vec![set_state(1, "disabled"), promote(1)],
            ist,
        ),
        (
            "promote_below_min_version",
            "ring",
            vec![set_min(2), promote(1)],
            ist,
        ),
        (
            "promote_unknown_version",
            "ring",
            vec![promote(9)],
            "unknown_key_version",
        ),
        (
            "set_state_of_active",
            "ring",
            vec![set_state(2, "disabled")],
            ist,
        ),
        (
            "set_state_to_active",
            "ring",
            vec![set_state(3, "active")],
            ist,
        ),
        (
            "set_state_pending_to_decrypt_only",
            "ring",
            vec![set_state(3, "decrypt_only")],
            ist,
        ),
        (
            "set_state_compromised_to_decrypt_only",
            "ring",
            vec![set_state(1, "compromised"), set_state(1, "decrypt_only")],
            ist,
        ),
        (
            "set_state_destroyed_revived",
            "ring",
            vec![set_state(1, "destroyed"), set_state(1, "decrypt_only")],
            ist,
        ),
        (
            "set_state_unknown_version",
            "ring",
            vec![set_state(9, "disabled")],
            "unknown_key_version",
        ),
        (
            "disabled_refuses_decrypt",
            "ring",
            vec![set_state(1, "disabled"), decrypt(&tok1, None)],
            "key_disabled",
        ),
        (
            "destroyed_refuses_decrypt",
            "ring",
            vec![set_state(1, "destroyed"), decrypt(&tok1, None)],
            "key_destroyed",
        ),
        (
            "emergency_rotate_old_refuses_decrypt",
            "ring",
            vec![emergency(4), decrypt(&tok2, None)],
            "key_compromised",
        ),
        (
            "min_version_refuses_decrypt",
            "ring",
            vec![set_min(2), decrypt(&tok1, None)],
            "below_minimum_version",
        ),
        (
            "min_version_above_active",
            "ring",
            vec![set_min(3)],
            "invalid_argument",
        ),
        (
            "min_version_fernet_bit",
            "ring",
            vec![set_min(1 << 31)],
            "invalid_argument",
        ),
        (
            "set_policy_rotate_zero",
            "ring",
            vec![set_policy(0, 0)],
            "invalid_argument",
        ),
        (
            "set_policy_warn_after_rotate",
            "ring",
            vec![set_policy(30, 31)],
            "invalid_argument",
        ),
        ("export_add_version", "export", vec![add(3)], "read_only"),
        ("export_rotate", "export", vec![rotate(3)], "read_only"),
        (
            "export_emergency_rotate",
            "export",
            vec![emergency(3)],
            "read_only",
        ),
        ("export_promote", "export", vec![promote(2)], "read_only"),
        (
            "export_set_state",
            "export",
            vec![set_state(1, "disabled")],
            "read_only",
        ),
        (
            "export_set_min_version",
            "export",
            vec![set_min(2)],
            "read_only",
        ),
        (
            "export_set_policy",
            "export",
            vec![set_policy(30, 20)],
            "read_only",
        ),
        // An export has no active version: encrypting is refused before anything else.
        (
            "export_encrypt",
            "export",
            vec![encrypt(2)],
            "no_active_key",
        ),
    ];
    for (what, ring, steps, code) in fail {
        sequence(&mut f, &format!("fail_ops_{what}"), ring, steps, Some(code));
    }

    generations(&mut f, &ring, master);
    f.write(
        dir,
        "operations.json",
        "changes to a keyring as sequences of steps (add, promote, rotate, emergency rotation, \
         state changes, minimum version, policy; a decrypt-only export refusing them all), and \
         the generation rules for saving and loading stored documents",
    );
}

/// §7.1: which document may replace the stored one (`keyring_conflict`) and which may be
/// loaded where a newer one was seen (`keyring_rollback`). Both read the generation without
/// any key; the documents are keyrings of the file, referred to by name.
fn generations(f: &mut File, ring: &Keyring, master: [u8; 32]) {
    for g in [0u64, 1, 2, 5] {
        let name = format!("gen{g}");
        f.raw_ring(&name, at_generation(ring, g, &master), Cred::Master(master));
        f.load(&format!("load_{name}"), &name, None);
    }
    f.raw_ring(
        "damaged_not_a_document",
        "{\"keyroll_keyring\": 1}".into(),
        Cred::Master(master),
    );
    f.load(
        "fail_load_not_a_document",
        "damaged_not_a_document",
        Some("keyring_corrupt"),
    );
    let doc = |f: &File, name: &str| f.keyrings[name]["document"].as_str().unwrap().to_string();

    let successors: Vec<(&str, Option<&str>, &str, Option<&str>)> = vec![
        ("generation_first_save", None, "gen1", None),
        ("generation_successor", Some("gen1"), "gen2", None),
        ("generation_successor_of_legacy", Some("gen0"), "gen1", None),
        // Two processes loaded generation 1; the second to save is refused.
        (
            "fail_generation_stale_save",
            Some("gen2"),
            "gen2",
            Some("keyring_conflict"),
        ),
        (
            "fail_generation_older_save",
            Some("gen5"),
            "gen2",
            Some("keyring_conflict"),
        ),
        // Built on generation 4, which was never stored here.
        (
            "fail_generation_skipped",
            Some("gen2"),
            "gen5",
            Some("keyring_conflict"),
        ),
        (
            "fail_generation_legacy_over_current",
            Some("gen1"),
            "gen0",
            Some("keyring_conflict"),
        ),
        (
            "fail_generation_successor_not_a_document",
            Some("damaged_not_a_document"),
            "gen1",
            Some("keyring_corrupt"),
        ),
    ];
    for (name, current, next, code) in successors {
        let got = Keyring::check_successor(
            current.map(|c| doc(f, c)).as_deref().map(str::as_bytes),
            doc(f, next).as_bytes(),
        );
        let mut case = Map::new();
        case.insert("current".into(), json!(current));
        case.insert("next".into(), json!(next));
        match (got, code) {
            (Ok(g), None) => {
                case.insert("expect_generation".into(), json!(g));
            }
            (Err(e), Some(c)) => {
                assert_eq!(e.code(), c, "{name}: {e}");
                case.insert("error".into(), json!(c));
            }
            (got, want) => panic!("{name}: {got:?}, wanted {want:?}"),
        }
        f.push(name, "check_successor", None, case);
    }

    let loads: Vec<(&str, &str, u64, Option<&str>)> = vec![
        ("generation_as_seen", "gen2", 2, None),
        ("generation_newer_than_seen", "gen5", 2, None),
        ("generation_legacy_nothing_seen", "gen0", 0, None),
        (
            "fail_generation_rollback",
            "gen2",
            5,
            Some("keyring_rollback"),
        ),
        (
            "fail_generation_rollback_to_legacy",
            "gen0",
            1,
            Some("keyring_rollback"),
        ),
        (
            "fail_generation_rollback_not_a_document",
            "damaged_not_a_document",
            0,
            Some("keyring_corrupt"),
        ),
    ];
    for (name, ring, seen, code) in loads {
        let got = Keyring::check_not_rolled_back(doc(f, ring).as_bytes(), seen);
        let mut case = Map::new();
        case.insert("highest_seen".into(), json!(seen));
        match (got, code) {
            (Ok(g), None) => {
                case.insert("expect_generation".into(), json!(g));
            }
            (Err(e), Some(c)) => {
                assert_eq!(e.code(), c, "{name}: {e}");
                case.insert("error".into(), json!(c));
            }
            (got, want) => panic!("{name}: {got:?}, wanted {want:?}"),
        }
        f.push(name, "check_not_rolled_back", Some(ring), case);
    }
}
