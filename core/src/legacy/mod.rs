//! Readers for what users migrate away from: Fernet tokens and home-made raw AES-GCM blobs.
//!
//! Their keys are imported as legacy versions of a keyring; `decrypt` and `rewrap` then accept
//! the old tokens, and everything new is written as v1.

pub mod fernet;
pub mod orm_keys;
pub mod raw_gcm;
