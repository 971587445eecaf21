//! How the ORM libraries people leave turn their configured secret into a Fernet key.
//!
//! Each library stores ordinary Fernet tokens, but under a key it derives from a setting; to
//! read those rows keyroll imports the derived key as a legacy Fernet version. The derivations
//! are rules about other people's formats, so they live here once and every binding calls them
//! (the Python ORM fields, and any other language that ever needs to read the same rows).
//!
//! - sqlalchemy-utils `StringEncryptedType(..., key, FernetEngine)`
//!   (`sqlalchemy_utils/types/encrypted/encrypted_type.py`, 0.41–0.43): the Fernet key is the
//!   SHA-256 of the key (a `str` is UTF-8 encoded first); the 32 digest bytes are used as the
//!   raw Fernet key (first 16 sign, last 16 encrypt).
//! - django-fernet-fields 0.6 (`fernet_fields/hkdf.py`): HKDF-SHA256 of each entry of
//!   `FERNET_KEYS` (or of `SECRET_KEY` when unset), salt `django-fernet-fields-hkdf-salt`,
//!   info `django-fernet-fields`, 32 bytes (unless `FERNET_USE_HKDF = False`, when the entries
//!   already are Fernet keys).
//! - django-fernet-encrypted-fields 0.4 (`encrypted_fields/fields.py`): PBKDF2-HMAC-SHA256 of
//!   `SECRET_KEY` (and each of `SECRET_KEY_FALLBACKS`) with each `SALT_KEY` as salt, 100,000
//!   iterations, 32 bytes.

use super::fernet::FernetKey;
use crate::kdf::{hkdf_sha256, pbkdf2_sha256};
use crate::secret::{SecretKey, KEY_LEN};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// django-fernet-fields' fixed HKDF salt ("we need reproducible key derivation").
const DJANGO_FERNET_FIELDS_SALT: &[u8] = b"django-fernet-fields-hkdf-salt";
/// django-fernet-fields' HKDF info.
const DJANGO_FERNET_FIELDS_INFO: &[u8] = b"django-fernet-fields";
/// django-fernet-encrypted-fields' PBKDF2 iteration count (hard-coded there).
pub const FERNET_ENCRYPTED_FIELDS_ITERATIONS: u32 = 100_000;

impl FernetKey {
    /// The Fernet key sqlalchemy-utils' `FernetEngine` uses for `key` (SHA-256 of it).
    pub fn from_sqlalchemy_utils_key(key: &[u8]) -> FernetKey {
        let mut digest = Zeroizing::new([0u8; KEY_LEN]);
        digest.copy_from_slice(&Sha256::digest(key));
        FernetKey::from_secret(SecretKey::from_bytes(*digest))
    }

    /// The Fernet key django-fernet-fields derives from one `FERNET_KEYS` entry or from
    /// `SECRET_KEY` (HKDF-SHA256 with its fixed salt and info).
    pub fn from_django_fernet_fields_key(secret: &[u8]) -> FernetKey {
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        hkdf_sha256(
            secret,
            DJANGO_FERNET_FIELDS_SALT,
            &[DJANGO_FERNET_FIELDS_INFO],
            &mut *out,
        )
        .expect("32 bytes is a valid HKDF length");
        FernetKey::from_secret(SecretKey::from_bytes(*out))
    }

    /// The Fernet key django-fernet-encrypted-fields derives from `SECRET_KEY` (or a fallback)
    /// and one `SALT_KEY` (PBKDF2-HMAC-SHA256, 100,000 iterations).
    pub fn from_fernet_encrypted_fields_key(secret: &[u8], salt: &[u8]) -> FernetKey {
        FernetKey::from_secret(pbkdf2_sha256(
            secret,
            salt,
            FERNET_ENCRYPTED_FIELDS_ITERATIONS,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected keys computed with the libraries' own code paths (pyca `cryptography` 50:
    // hashes.SHA256, HKDF, PBKDF2HMAC, then base64.urlsafe_b64encode), pinned here so a change
    // to a derivation shows up in Rust alone. The Python suite checks the same against the
    // real libraries' stored values.
    #[test]
    fn sqlalchemy_utils_is_sha256_of_the_key() {
        let key = FernetKey::from_sqlalchemy_utils_key(b"secretkey1234");
        assert_eq!(
            key.to_base64().as_str(),
            "oM6brx4_aFNZMbGrHG4MMDACvHUePbHLWO4NHwD93dM="
        );
    }

    #[test]
    fn django_fernet_fields_is_hkdf_with_its_salt_and_info() {
        let key = FernetKey::from_django_fernet_fields_key(b"django-insecure-test");
        assert_eq!(
            key.to_base64().as_str(),
            "JDgTOnzdY4qAGyWdFxT58U07jqLvaU1QNgmAM-LRJ8w="
        );
    }

    #[test]
    fn fernet_encrypted_fields_is_pbkdf2_100k() {
        let key = FernetKey::from_fernet_encrypted_fields_key(b"django-insecure-test", b"salt");
        assert_eq!(
            key.to_base64().as_str(),
            "vNP6FKM60jqAIK5YxoEgtHT_Hq_Pj5kAceS-rlXevVg="
        );
    }
}
