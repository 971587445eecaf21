//! The core in five steps: create a keyring, encrypt, rotate, rewrap, decrypt.
//! `cargo run -p keyroll --example demo` (the CLI's `keyroll demo` runs the operator's version).

use keyroll::{inspect, Keyring, Protection, SecretKey, Unlock};
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> Result<(), keyroll::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let context = b"users:42:ssn";

    let mut ring = Keyring::generate(now)?;
    println!(
        "1. created keyring {} with active version {:?}",
        ring.id(),
        ring.active_version()
    );

    let token = ring.encrypt(b"078-05-1120", context, Some(now))?;
    println!("2. encrypted under v1: {token}");

    let v2 = ring.rotate(now)?;
    println!(
        "3. rotated: v{v2} is active, v1 is {}",
        ring.versions()[0].state
    );

    let rewrapped = ring.rewrap(token.as_bytes(), context)?;
    let info = inspect(rewrapped.as_bytes())?;
    println!(
        "4. rewrapped to v{}: {rewrapped}",
        info.key_version.unwrap_or(0)
    );

    let master = SecretKey::from_bytes([7; 32]);
    let document = ring.to_document(Protection::MasterKey(&master))?;
    let reopened = Keyring::from_document(&document, Unlock::MasterKey(&master))?;
    let plaintext = reopened.decrypt(rewrapped.as_bytes(), context, None)?;
    println!(
        "5. sealed the keyring ({} bytes of JSON), reopened it, decrypted: {}",
        document.len(),
        String::from_utf8_lossy(&plaintext)
    );
    let wrong = reopened.decrypt(rewrapped.as_bytes(), b"users:43:ssn", None);
    println!("   with another context: {:?}", wrong.map_err(|e| e.code()));
    Ok(())
}
