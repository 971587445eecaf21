//! Constants of the fixed keyring the targets read: `fixtures/keyring.json`, sealed under a fixed master
//! key and written by `examples/make_seeds.rs` with one version in every state, an imported
//! Fernet key and two imported raw AES-GCM keys (with and without a version byte).
#![allow(dead_code)]

use keyroll::SecretKey;

/// The master key the fixture is sealed under (a test value, nothing else uses it).
pub const MASTER: [u8; 32] = [0x42; 32];
/// The passphrase of the passphrase-sealed seed document.
pub const PASSPHRASE: &[u8] = b"fuzz passphrase";
/// The context the seed envelopes were written with (besides the empty one).
pub const CONTEXT: &[u8] = b"users:42:ssn";
/// "Now" for the fixture and for TTL checks.
pub const NOW: u64 = 1_700_000_000;
/// The Fernet spec's key.
pub const FERNET_KEY: &[u8] = b"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
/// Raw AES-GCM key whose blobs start with version byte 3.
pub const RAW_KEY_VERSIONED: [u8; 32] = [0x11; 32];
/// Raw AES-GCM key whose blobs are `nonce ‖ ct ‖ tag`.
pub const RAW_KEY_PLAIN: [u8; 32] = [0x22; 32];

pub fn master() -> SecretKey {
    SecretKey::from_bytes(MASTER)
}
