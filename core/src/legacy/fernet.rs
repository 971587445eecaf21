//! Fernet (<https://github.com/fernet/spec>): AES-128-CBC + HMAC-SHA256 over
//! `0x80 ‖ timestamp(u64 BE) ‖ iv(16) ‖ ciphertext`, in padded base64url.
//!
//! Built from RustCrypto `aes`, `cbc`, `hmac` and `sha2` (all compile for wasm32) rather than a
//! Fernet crate so that keys stay in zeroizing types and decoding stays strict.

use crate::kdf::hkdf_key;
use crate::secret::SecretKey;
use crate::{Error, Result};
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// First byte of every Fernet token.
pub const VERSION_BYTE: u8 = 0x80;
const IV_LEN: usize = 16;
const MAC_LEN: usize = 32;
const HEADER_LEN: usize = 1 + 8 + IV_LEN;
/// Version numbers of Fernet keys have this bit set, so they never meet ordinary versions.
pub const FERNET_VERSION_BIT: u32 = 0x8000_0000;

/// A Fernet key: 16 bytes of HMAC key then 16 bytes of AES-128 key.
#[derive(Clone, PartialEq, Eq)]
pub struct FernetKey(SecretKey);

impl FernetKey {
    /// Parses a key as Fernet writes it: 32 bytes in padded base64url (44 characters).
    pub fn from_base64(key: &[u8]) -> Result<Self> {
        let raw = Zeroizing::new(
            URL_SAFE
                .decode(key.trim_ascii())
                .map_err(|_| Error::InvalidKey("Fernet key must be 32 bytes of base64url"))?,
        );
        Ok(FernetKey(SecretKey::from_slice(&raw).map_err(|_| {
            Error::InvalidKey("Fernet key must be 32 bytes of base64url")
        })?))
    }

    /// Parses a key list as services keep it in `ENCRYPTION_KEY` / `ENCRYPTION_KEY_PREVIOUS`:
    /// keys separated by commas and/or whitespace, primary first. Empty items are skipped.
    pub fn parse_list(list: &str) -> Result<Vec<Self>> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|k| !k.is_empty())
            .map(|k| Self::from_base64(k.as_bytes()))
            .collect()
    }

    /// A fresh random key, as `Fernet.generate_key()` makes.
    pub fn generate() -> Result<Self> {
        Ok(FernetKey(SecretKey::generate()?))
    }

    /// Wraps 32 raw bytes.
    pub fn from_secret(key: SecretKey) -> Self {
        FernetKey(key)
    }

    /// The key as Fernet writes it (padded base64url).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE.encode(self.0.expose()))
    }

    pub(crate) fn secret(&self) -> &SecretKey {
        &self.0
    }

    fn signing(&self) -> &[u8] {
        &self.0.expose()[..16]
    }

    fn encryption(&self) -> &[u8] {
        &self.0.expose()[16..]
    }

    /// The key version every keyroll process gives this Fernet key: bit 31 set, the rest from
    /// HKDF, so processes that share a Fernet key list agree with no other configuration.
    pub fn keyroll_version(&self) -> u32 {
        let mut out = [0u8; 4];
        crate::kdf::hkdf_sha256(
            self.0.expose(),
            b"",
            &[b"keyroll/v1 fernet version"],
            &mut out,
        )
        .expect("4 bytes is a valid HKDF length");
        FERNET_VERSION_BIT | u32::from_be_bytes(out)
    }

    /// The AES-256-GCM key that v1 envelopes under this Fernet key use.
    pub(crate) fn keyroll_key(&self) -> SecretKey {
        hkdf_key(self.0.expose(), b"", &[b"keyroll/v1 fernet aes-256-gcm"])
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(self.signing()).expect("HMAC takes any key length")
    }
}

impl core::fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FernetKey").finish_non_exhaustive()
    }
}

/// A decoded (not yet verified) Fernet token.
pub(crate) struct Token {
    raw: Vec<u8>,
}

impl Token {
    /// Strict decoding: padded base64url, version byte, lengths. No key needed.
    pub fn decode(token: &[u8]) -> Result<Self> {
        let raw = URL_SAFE
            .decode(token)
            .map_err(|_| Error::Malformed("bad base64"))?;
        if raw.first() != Some(&VERSION_BYTE) {
            return Err(Error::UnsupportedFormat("not a Fernet token"));
        }
        if raw.len() < HEADER_LEN + IV_LEN + MAC_LEN {
            return Err(Error::Malformed("truncated Fernet token"));
        }
        if (raw.len() - HEADER_LEN - MAC_LEN) % IV_LEN != 0 {
            return Err(Error::Malformed("Fernet ciphertext is not whole blocks"));
        }
        Ok(Token { raw })
    }

    /// The writer's timestamp (unauthenticated until [`Token::open`] succeeds).
    pub fn timestamp(&self) -> u64 {
        u64::from_be_bytes(self.raw[1..9].try_into().expect("8 bytes"))
    }

    /// Length of the AES-CBC ciphertext.
    pub fn ciphertext_len(&self) -> usize {
        self.raw.len() - HEADER_LEN - MAC_LEN
    }

    /// Verifies the HMAC (constant time) and decrypts; `None` on any failure.
    pub fn open(&self, key: &FernetKey) -> Option<Vec<u8>> {
        let (signed, tag) = self.raw.split_at(self.raw.len() - MAC_LEN);
        let mut mac = key.mac();
        mac.update(signed);
        mac.verify_slice(tag).ok()?;
        let iv = &signed[9..HEADER_LEN];
        cbc::Decryptor::<aes::Aes128>::new_from_slices(key.encryption(), iv)
            .expect("16-byte key and iv")
            .decrypt_padded_vec_mut::<Pkcs7>(&signed[HEADER_LEN..])
            .ok()
    }
}

/// Writes a Fernet token, exactly as the spec and pyca's `Fernet.encrypt_at_time` do.
///
/// keyroll never writes Fernet for its users (new data is v1); this exists for the spec's
/// `generate` vectors, for tests, and for the CLI's demo database.
pub fn encrypt(key: &FernetKey, plaintext: &[u8], timestamp: u64, iv: &[u8; IV_LEN]) -> String {
    let ciphertext = cbc::Encryptor::<aes::Aes128>::new_from_slices(key.encryption(), iv)
        .expect("16-byte key and iv")
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
    let mut raw = Vec::with_capacity(HEADER_LEN + ciphertext.len() + MAC_LEN);
    raw.push(VERSION_BYTE);
    raw.extend_from_slice(&timestamp.to_be_bytes());
    raw.extend_from_slice(iv);
    raw.extend_from_slice(&ciphertext);
    let mut mac = key.mac();
    mac.update(&raw);
    raw.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE.encode(raw)
}
