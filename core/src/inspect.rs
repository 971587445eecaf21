//! `inspect`: what a token is, without any key.

use crate::envelope::{self, KeyringId};
use crate::legacy::fernet;
use crate::{Error, Result};
use serde::Serialize;

/// Fernet's header: version byte (1) ‖ timestamp (8) ‖ IV (16).
const FERNET_HEADER_LEN: usize = 25;
/// Fernet's HMAC-SHA256 tag.
const FERNET_HMAC_LEN: usize = 32;

/// The kind of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// A keyroll v1 envelope in binary form.
    KeyrollV1Binary,
    /// A keyroll v1 envelope in text form.
    KeyrollV1Text,
    /// A Fernet token.
    Fernet,
}

impl TokenFormat {
    /// The format's name as in every binding.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::KeyrollV1Binary => "keyroll_v1_binary",
            TokenFormat::KeyrollV1Text => "keyroll_v1_text",
            TokenFormat::Fernet => "fernet",
        }
    }
}

/// What can be learnt from a token without a key. Nothing here is authenticated until the
/// token is decrypted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The format.
    pub format: TokenFormat,
    /// `aes-256-gcm` for v1, `fernet` (AES-128-CBC + HMAC-SHA256) for Fernet.
    pub algorithm: &'static str,
    /// The keyring id (v1 only).
    pub keyring_id: Option<String>,
    /// The key version (v1 only).
    pub key_version: Option<u32>,
    /// The issued-at time (v1 when present; always for Fernet).
    pub issued_at: Option<u64>,
    /// Length of the token as given.
    pub token_len: usize,
    /// Length of the binary form (header + nonce + ciphertext + tag).
    pub binary_len: usize,
    /// Length of the header (v1: 18 or 26; Fernet: 25, version byte ‖ timestamp ‖ IV).
    pub header_len: usize,
    /// Length of the ciphertext alone, without nonce/IV and tag/HMAC. For v1 (GCM) it equals
    /// the plaintext length; for Fernet (CBC) it includes the PKCS#7 padding, a multiple of 16.
    pub ciphertext_len: usize,
    /// Length of the plaintext: exact for v1; `None` for Fernet, whose padding (1 to 16
    /// bytes) is only known after decryption, so the plaintext is `ciphertext_len − 16` to
    /// `ciphertext_len − 1` bytes long.
    pub plaintext_len: Option<usize>,
}

/// Describes a v1 envelope (either form) or a Fernet token. Raw GCM blobs have no
/// recognisable structure and give `unsupported_format`.
pub fn inspect(token: &[u8]) -> Result<TokenInfo> {
    if token.starts_with(&envelope::MAGIC) {
        return v1_info(token, TokenFormat::KeyrollV1Binary, token.len());
    }
    if envelope::looks_like_text(token) {
        let (version, binary) = envelope::decode_text(token)?;
        envelope::parse_decoded(version, &binary)?;
        return v1_info(&binary, TokenFormat::KeyrollV1Text, token.len());
    }
    match fernet::Token::decode(token) {
        Ok(tok) => Ok(TokenInfo {
            format: TokenFormat::Fernet,
            algorithm: "fernet",
            keyring_id: None,
            key_version: None,
            issued_at: Some(tok.timestamp()),
            token_len: token.len(),
            binary_len: FERNET_HEADER_LEN + tok.ciphertext_len() + FERNET_HMAC_LEN,
            header_len: FERNET_HEADER_LEN,
            ciphertext_len: tok.ciphertext_len(),
            plaintext_len: None,
        }),
        Err(Error::Malformed(_)) if !token.starts_with(b"g") => Err(Error::UnsupportedFormat(
            "not a keyroll envelope or Fernet token",
        )),
        Err(e) => Err(e),
    }
}

fn v1_info(binary: &[u8], format: TokenFormat, token_len: usize) -> Result<TokenInfo> {
    let parsed = envelope::parse_binary(binary)?;
    let header_len = if parsed.header.issued_at.is_some() {
        envelope::HEADER_LEN_WITH_TIME
    } else {
        envelope::HEADER_LEN
    };
    let ciphertext_len = binary.len() - header_len - crate::aead::NONCE_LEN - crate::aead::TAG_LEN;
    Ok(TokenInfo {
        format,
        algorithm: "aes-256-gcm",
        keyring_id: Some(KeyringId::to_hex(&parsed.header.keyring_id)),
        key_version: Some(parsed.header.version),
        issued_at: parsed.header.issued_at,
        token_len,
        binary_len: binary.len(),
        header_len,
        ciphertext_len,
        plaintext_len: Some(ciphertext_len),
    })
}
