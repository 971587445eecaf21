//! Signed messages (`docs/wire-format.md` §12): the binary form, its text form, signing and
//! verifying.
//!
//! ```text
//! offset  size  field
//! 0       3     magic C4 6B 73 ("\xC4ks")
//! 3       1     format version, 0x01
//! 4       1     algorithm: 0x01 = HMAC-SHA256, 0x02 = Ed25519
//! 5       1     flags: zero
//! 6       8     keyring id
//! 14      4     key version, u32 big-endian, ≥ 1
//! 18      n     message
//! 18+n    S     signature: 32 bytes (HMAC-SHA256) or 64 (Ed25519)
//!
//! signed input = bytes[0..18] ‖ u32be(len(context)) ‖ context ‖ message
//! ```
//! Text form: `krs1:v<version>:` and the binary form in base64url without padding.

use super::{SigningAlgorithm, SigningKeyring};
use crate::envelope::KeyringId;
use crate::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

/// First three bytes of every binary signed message ("\xC4ks"): the envelope magic's first
/// two bytes and `s`, so neither is ever taken for the other, and — 0xC4 not being ASCII —
/// no signed input is ever a JWT's (which is base64url text).
pub const SIGNED_MAGIC: [u8; 3] = [0xC4, 0x6B, 0x73];
/// Length of the signed-message header.
pub const SIGNED_HEADER_LEN: usize = 18;
/// Every text signed message starts with this, then the version, `:` and base64url.
pub const SIGNED_TEXT_PREFIX: &str = "krs1:v";
const FORMAT_V1: u8 = 1;
const ALG_HMAC_SHA256: u8 = 1;
const ALG_ED25519: u8 = 2;

/// What [`SigningKeyring::verify`] returns for an authentic signed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedMessage {
    /// The message that was signed (not secret: signing does not hide it).
    pub message: Vec<u8>,
    /// The key version that signed it.
    pub key_version: u32,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
}

fn alg_id(algorithm: SigningAlgorithm) -> u8 {
    match algorithm {
        SigningAlgorithm::HmacSha256 => ALG_HMAC_SHA256,
        SigningAlgorithm::Ed25519 => ALG_ED25519,
    }
}

fn signature_len(algorithm: SigningAlgorithm) -> usize {
    match algorithm {
        SigningAlgorithm::HmacSha256 => super::HMAC_LEN,
        SigningAlgorithm::Ed25519 => super::ED25519_SIGNATURE_LEN,
    }
}

/// The bytes the signature covers: the header, the context with its length, the message.
fn signed_input(header: &[u8], context: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    let context_len = u32::try_from(context.len())
        .map_err(|_| Error::InvalidArgument("a context is at most 2^32 - 1 bytes"))?;
    let mut input = Vec::with_capacity(header.len() + 4 + context.len() + message.len());
    input.extend_from_slice(header);
    input.extend_from_slice(&context_len.to_be_bytes());
    input.extend_from_slice(context);
    input.extend_from_slice(message);
    Ok(input)
}

/// A binary signed message split into its fields (nothing verified).
struct Parsed<'a> {
    algorithm: SigningAlgorithm,
    keyring_id: KeyringId,
    version: u32,
    header: &'a [u8],
    rest: &'a [u8],
}

fn parse_binary(bytes: &[u8]) -> Result<Parsed<'_>> {
    if bytes.len() < SIGNED_MAGIC.len() + 1 || bytes[..3] != SIGNED_MAGIC {
        return Err(Error::UnsupportedFormat("not a keyroll signed message"));
    }
    if bytes[3] != FORMAT_V1 {
        return Err(Error::UnsupportedFormat("unknown format version"));
    }
    if bytes.len() < SIGNED_HEADER_LEN {
        return Err(Error::Malformed("truncated header"));
    }
    let algorithm = match bytes[4] {
        ALG_HMAC_SHA256 => SigningAlgorithm::HmacSha256,
        ALG_ED25519 => SigningAlgorithm::Ed25519,
        _ => return Err(Error::UnsupportedFormat("unknown algorithm")),
    };
    if bytes[5] != 0 {
        return Err(Error::UnsupportedFormat("unknown flag bits"));
    }
    let version = u32::from_be_bytes(bytes[14..18].try_into().expect("4 bytes"));
    if version == 0 {
        return Err(Error::Malformed("key version 0"));
    }
    if bytes.len() < SIGNED_HEADER_LEN + signature_len(algorithm) {
        return Err(Error::Malformed("truncated signature"));
    }
    Ok(Parsed {
        algorithm,
        keyring_id: KeyringId(bytes[6..14].try_into().expect("8 bytes")),
        version,
        header: &bytes[..SIGNED_HEADER_LEN],
        rest: &bytes[SIGNED_HEADER_LEN..],
    })
}

/// Decodes `krs1:v<version>:<base64url>` strictly: format `1`, a version of 1..=10 digits
/// without a leading zero, unpadded canonical base64url.
fn decode_text(input: &[u8]) -> Result<(u32, Vec<u8>)> {
    let rest = input
        .strip_prefix(b"krs")
        .ok_or(Error::UnsupportedFormat("not a keyroll signed message"))?;
    let format_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if &rest[..format_digits] != b"1" {
        return Err(Error::UnsupportedFormat("unknown format version"));
    }
    let rest = rest[format_digits..]
        .strip_prefix(b":v")
        .ok_or(Error::Malformed("bad text prefix"))?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 10 || rest[0] == b'0' {
        return Err(Error::Malformed("bad key version in text prefix"));
    }
    let version: u32 = core::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Error::Malformed("bad key version in text prefix"))?;
    let encoded = rest[digits..]
        .strip_prefix(b":")
        .ok_or(Error::Malformed("bad text prefix"))?;
    let binary = B64
        .decode(encoded)
        .map_err(|_| Error::Malformed("bad base64"))?;
    Ok((version, binary))
}

impl SigningKeyring {
    /// Signs `message` under the active version, bound to `context` (e.g. `"password-reset"`:
    /// a signature made for one use never verifies for another). Text form `krs1:v3:…`.
    ///
    /// `no_active_key` without an active version, `read_only` for a verify-only keyring.
    pub fn sign(&self, message: &[u8], context: &[u8]) -> Result<String> {
        let (version, binary) = self.sign_parts(message, context)?;
        let mut out = String::with_capacity(16 + binary.len().div_ceil(3) * 4);
        out.push_str(SIGNED_TEXT_PREFIX);
        out.push_str(&version.to_string());
        out.push(':');
        B64.encode_string(&binary, &mut out);
        Ok(out)
    }

    /// [`SigningKeyring::sign`] in binary form (header ‖ message ‖ signature).
    pub fn sign_binary(&self, message: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        Ok(self.sign_parts(message, context)?.1)
    }

    fn sign_parts(&self, message: &[u8], context: &[u8]) -> Result<(u32, Vec<u8>)> {
        let (version, algorithm, key) = self.signer()?;
        let mut out = Vec::with_capacity(SIGNED_HEADER_LEN + message.len() + 64);
        out.extend_from_slice(&SIGNED_MAGIC);
        out.push(FORMAT_V1);
        out.push(alg_id(algorithm));
        out.push(0);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&version.to_be_bytes());
        let signature = key.sign(&signed_input(&out, context, message)?)?;
        out.extend_from_slice(message);
        out.extend_from_slice(&signature);
        Ok((version, out))
    }

    /// Verifies a signed message (text or binary form) made for `context` and returns the
    /// message. Checks, in order: the form (`malformed`, `unsupported_format`), the keyring
    /// id (`wrong_keyring`), the version and its state (`unknown_key_version`,
    /// `key_disabled`, `key_compromised`, `key_destroyed`, `below_minimum_version`), the
    /// algorithm byte against the version's (`algorithm_mismatch`), the signature
    /// (`signature_invalid`).
    pub fn verify(&self, signed: &[u8], context: &[u8]) -> Result<VerifiedMessage> {
        if signed.starts_with(b"krs") {
            let (text_version, binary) = decode_text(signed)?;
            let parsed = parse_binary(&binary)?;
            if parsed.version != text_version {
                return Err(Error::Malformed("text prefix version differs from header"));
            }
            self.verify_parsed(&parsed, context)
        } else {
            self.verify_parsed(&parse_binary(signed)?, context)
        }
    }

    fn verify_parsed(&self, parsed: &Parsed<'_>, context: &[u8]) -> Result<VerifiedMessage> {
        if parsed.keyring_id != self.id {
            return Err(Error::WrongKeyring);
        }
        let key = self.verifier(parsed.version)?;
        if self.algorithm(parsed.version) != Some(parsed.algorithm) {
            return Err(Error::AlgorithmMismatch);
        }
        let (message, signature) = parsed
            .rest
            .split_at(parsed.rest.len() - signature_len(parsed.algorithm));
        if !key.verify(&signed_input(parsed.header, context, message)?, signature) {
            return Err(Error::SignatureInvalid);
        }
        Ok(VerifiedMessage {
            message: message.to_vec(),
            key_version: parsed.version,
            algorithm: parsed.algorithm,
        })
    }
}
