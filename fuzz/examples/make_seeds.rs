//! Writes `fixtures/keyring.json` (the keyring the targets read) and `seeds/<target>/*`
//! (valid and near-valid inputs for each target). Random keys and nonces: run it again only
//! to replace fixture and seeds together.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`

#[path = "../fuzz_targets/common.rs"]
mod common;

use keyroll::aead::AeadKey;
use keyroll::legacy::fernet;
use keyroll::{FernetKey, KeyState, Keyring, Protection, RawGcmImport, RawGcmKey, SecretKey};
use std::fs;
use std::path::Path;
use zeroize::Zeroizing;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let now = common::NOW;
    let ctx = common::CONTEXT;
    let mut decrypt_seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut push = |name: &str, bytes: Vec<u8>| decrypt_seeds.push((name.to_owned(), bytes));

    let mut ring = Keyring::generate(now)?;
    // One envelope per version, then move each version to its final state:
    // v1 disabled, v2 compromised, v3 destroyed, v4 decrypt-only, v5 active; then the legacy
    // imports (Fernet, raw v6 and v7) and a pending v8.
    for v in 1..=5u32 {
        if v > 1 {
            ring.rotate(now + u64::from(v))?;
        }
        push(
            &format!("v{v}_text"),
            ring.encrypt(b"hello", b"", None)?.into_bytes(),
        );
        push(
            &format!("v{v}_text_ctx_time"),
            ring.encrypt(b"078-05-1120", ctx, Some(now))?.into_bytes(),
        );
        push(
            &format!("v{v}_binary"),
            ring.encrypt_binary(b"", b"", None)?,
        );
        push(
            &format!("v{v}_binary_ctx_time"),
            ring.encrypt_binary(&[7u8; 100], ctx, Some(now - 7200))?,
        );
    }
    let fernet_key = FernetKey::from_base64(common::FERNET_KEY)?;
    ring.import_fernet(std::slice::from_ref(&fernet_key), now)?;
    for (key, byte) in [
        (common::RAW_KEY_VERSIONED, Some(3)),
        (common::RAW_KEY_PLAIN, None),
    ] {
        ring.import_raw_gcm(
            &RawGcmImport {
                key: RawGcmKey::Bytes(Zeroizing::new(key.to_vec())),
                version_byte: byte,
            },
            now,
        )?;
    }
    ring.add_version(now + 10)?;
    ring.set_state(1, KeyState::Disabled, Some("seed"), now)?;
    ring.set_state(2, KeyState::Compromised, Some("seed"), now)?;
    ring.set_state(3, KeyState::Destroyed, None, now)?;
    // Legacy tokens: Fernet (with the spec's timestamps) and raw blobs.
    push(
        "fernet",
        fernet::encrypt(&fernet_key, b"hello", now, &[1; 16]).into_bytes(),
    );
    push(
        "fernet_max_time",
        fernet::encrypt(&fernet_key, &[0u8; 33], u64::MAX, &[2; 16]).into_bytes(),
    );
    for (name, key, prefix) in [
        ("raw_versioned", common::RAW_KEY_VERSIONED, Some(3u8)),
        ("raw_plain", common::RAW_KEY_PLAIN, None),
    ] {
        let aead = AeadKey::new(&SecretKey::from_bytes(key));
        let nonce = [9u8; 12];
        let mut blob: Vec<u8> = prefix.into_iter().collect();
        blob.extend_from_slice(&nonce);
        aead.seal_append(&nonce, b"", b"legacy secret", &mut blob);
        use base64::Engine as _;
        push(
            name,
            base64::engine::general_purpose::STANDARD
                .encode(&blob)
                .into_bytes(),
        );
    }

    let master = common::master();
    let fixture = ring.to_document(Protection::MasterKey(&master))?;
    fs::create_dir_all(dir.join("fixtures"))?;
    fs::write(dir.join("fixtures/keyring.json"), &fixture)?;

    let mut documents = vec![("master".to_owned(), fixture.clone())];
    documents.push((
        "passphrase".to_owned(),
        ring.to_document(Protection::PassphraseForTesting {
            passphrase: common::PASSPHRASE,
            iterations: 1,
        })?,
    ));
    documents.push((
        "decrypt_only".to_owned(),
        ring.export_decrypt_only(&[4, 5])?
            .to_document(Protection::MasterKey(&master))?,
    ));

    for (target, seeds) in [
        ("decrypt", &decrypt_seeds),
        ("inspect", &decrypt_seeds),
        ("keyring_document", &documents),
    ] {
        let out = dir.join("seeds").join(target);
        fs::create_dir_all(&out)?;
        for (name, bytes) in seeds {
            fs::write(out.join(name), bytes)?;
        }
        println!("{target}: {} seeds", seeds.len());
    }
    Ok(())
}
