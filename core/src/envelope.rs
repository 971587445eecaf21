//! Wire format v1: the binary envelope, its text form, and `inspect`.
//!
//! ```text
//! offset  size  field
//! 0       3     magic C4 6B 72 ("\xC4kr")
//! 3       1     format version, 0x01
//! 4       1     algorithm, 0x01 = AES-256-GCM (96-bit nonce, 128-bit tag)
//! 5       1     flags: bit 0 = issued-at present; bits 1..7 zero
//! 6       8     keyring id
//! 14      4     key version, u32 big-endian, ≥ 1
//! 18      8     issued-at, u64 big-endian seconds (only when flag bit 0 is set)
//! H       12    nonce
//! H+12    n     ciphertext
//! end-16  16    tag                      AAD = bytes[0..H] ‖ context
//! ```
//! Text form: `kr1:v<version>:` followed by the binary form in base64url without padding.
//! `docs/wire-format.md` is the full specification.

use crate::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::{Error, Result};
use base64_simd::URL_SAFE_NO_PAD;
use core::fmt;
use core::fmt::Write as _;

/// First three bytes of every binary envelope. 0xC4 is not ASCII, not a valid first byte of
/// UTF-8 before 'k', and not a first byte of Fernet (0x80), Tink (0x00/0x01), AWS Encryption
/// SDK (0x01/0x02), Themis (0x00) or "version byte 1..99" blobs.
pub const MAGIC: [u8; 3] = [0xC4, 0x6B, 0x72];
/// The format version this crate writes and reads.
pub const FORMAT_V1: u8 = 1;
/// Algorithm id of AES-256-GCM.
pub const ALG_AES_256_GCM: u8 = 1;
/// Flag bit: an issued-at timestamp follows the key version.
pub const FLAG_ISSUED_AT: u8 = 0x01;
/// Length of a keyring id.
pub const KEYRING_ID_LEN: usize = 8;
/// Header length without issued-at.
pub const HEADER_LEN: usize = 18;
/// Header length with issued-at.
pub const HEADER_LEN_WITH_TIME: usize = HEADER_LEN + 8;
/// Every text envelope starts with this.
pub const TEXT_PREFIX: &str = "kr1:v";

/// The random identifier of a keyring, written into every envelope it makes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyringId(pub [u8; KEYRING_ID_LEN]);

impl KeyringId {
    /// Lower-case hex, as in keyring documents.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 16 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 2 * KEYRING_ID_LEN || !s.is_ascii() {
            return None;
        }
        let mut id = [0u8; KEYRING_ID_LEN];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(KeyringId(id))
    }
}

impl fmt::Display for KeyringId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyringId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyringId({self})")
    }
}

/// The authenticated header of a v1 envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub keyring_id: KeyringId,
    pub version: u32,
    pub issued_at: Option<u64>,
}

impl Header {
    fn len(&self) -> usize {
        if self.issued_at.is_some() {
            HEADER_LEN_WITH_TIME
        } else {
            HEADER_LEN
        }
    }

    /// The header's bytes (the first [`Header::len`] of the array): on the stack, because
    /// every seal needs them twice (in the envelope and in the AAD).
    fn bytes(&self) -> [u8; HEADER_LEN_WITH_TIME] {
        let mut out = [0u8; HEADER_LEN_WITH_TIME];
        out[..3].copy_from_slice(&MAGIC);
        out[3] = FORMAT_V1;
        out[4] = ALG_AES_256_GCM;
        out[5] = if self.issued_at.is_some() {
            FLAG_ISSUED_AT
        } else {
            0
        };
        out[6..14].copy_from_slice(&self.keyring_id.0);
        out[14..18].copy_from_slice(&self.version.to_be_bytes());
        if let Some(t) = self.issued_at {
            out[18..26].copy_from_slice(&t.to_be_bytes());
        }
        out
    }
}

/// A binary envelope split into its fields (nothing decrypted).
pub(crate) struct Parsed<'a> {
    pub header: Header,
    header_bytes: &'a [u8],
    nonce: &'a [u8; NONCE_LEN],
    body: &'a [u8],
}

impl Parsed<'_> {
    /// The length of the plaintext inside (`parse_binary` checked the tag fits).
    pub fn plaintext_len(&self) -> usize {
        self.body.len() - TAG_LEN
    }

    /// Authenticates and decrypts with `key`.
    pub fn open(&self, key: &AeadKey, context: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.plaintext_len()];
        self.open_into(key, context, &mut out)?;
        Ok(out)
    }

    /// Authenticates and decrypts into `out`, exactly [`Parsed::plaintext_len`] long; on
    /// failure `out` is zeroed.
    #[inline]
    pub fn open_into(&self, key: &AeadKey, context: &[u8], out: &mut [u8]) -> Result<()> {
        with_aad(self.header_bytes, context, |aad| {
            key.open_into(self.nonce, aad, self.body, out)
        })
        .ok_or(Error::DecryptFailed)
    }
}

/// The length of the binary envelope [`seal_into`] writes for a plaintext of `len` bytes.
pub(crate) fn sealed_len(len: usize, issued_at: bool) -> usize {
    let header = if issued_at {
        HEADER_LEN_WITH_TIME
    } else {
        HEADER_LEN
    };
    header + NONCE_LEN + len + TAG_LEN
}

/// The exact plaintext length of a v1 envelope (binary or text) from its framing alone, or
/// `None` if `token` is not framed as one (legacy tokens: their padding is known only after
/// decryption). Nothing is authenticated here; opening checks everything again.
pub(crate) fn plaintext_len(token: &[u8]) -> Option<usize> {
    if token.starts_with(&MAGIC) {
        return parse_binary(token).ok().map(|p| p.plaintext_len());
    }
    if !looks_like_text(token) {
        return None;
    }
    // `kr1:v<digits>:` then base64url without padding: n characters hold n * 6 / 8 bytes.
    let colon = token.iter().skip(5).position(|&b| b == b':')? + 6;
    let b64 = token.get(colon..)?;
    let binary_len = URL_SAFE_NO_PAD.decoded_length(b64).ok()?;
    let mut head = [0u8; 6];
    URL_SAFE_NO_PAD
        .decode(b64.get(..8)?, base64_simd::Out::from_slice(&mut head))
        .ok()?;
    let flags = head[5];
    let header = if flags & FLAG_ISSUED_AT != 0 {
        HEADER_LEN_WITH_TIME
    } else {
        HEADER_LEN
    };
    binary_len.checked_sub(header + NONCE_LEN + TAG_LEN)
}

/// Splits a binary envelope. Checks structure only; authenticity is checked by [`Parsed::open`].
#[inline]
pub(crate) fn parse_binary(bytes: &[u8]) -> Result<Parsed<'_>> {
    if bytes.len() < MAGIC.len() + 1 || bytes[..3] != MAGIC {
        return Err(Error::UnsupportedFormat("not a keyroll envelope"));
    }
    if bytes[3] != FORMAT_V1 {
        return Err(Error::UnsupportedFormat("unknown format version"));
    }
    if bytes.len() < HEADER_LEN {
        return Err(Error::Malformed("truncated header"));
    }
    if bytes[4] != ALG_AES_256_GCM {
        return Err(Error::UnsupportedFormat("unknown algorithm"));
    }
    let flags = bytes[5];
    if flags & !FLAG_ISSUED_AT != 0 {
        return Err(Error::UnsupportedFormat("unknown flag bits"));
    }
    let header_len = if flags & FLAG_ISSUED_AT != 0 {
        HEADER_LEN_WITH_TIME
    } else {
        HEADER_LEN
    };
    if bytes.len() < header_len + NONCE_LEN + TAG_LEN {
        return Err(Error::Malformed("truncated envelope"));
    }
    let keyring_id = KeyringId(bytes[6..14].try_into().expect("8 bytes"));
    let version = u32::from_be_bytes(bytes[14..18].try_into().expect("4 bytes"));
    if version == 0 {
        return Err(Error::Malformed("key version 0"));
    }
    let issued_at = (header_len == HEADER_LEN_WITH_TIME)
        .then(|| u64::from_be_bytes(bytes[18..26].try_into().expect("8 bytes")));
    Ok(Parsed {
        header: Header {
            keyring_id,
            version,
            issued_at,
        },
        header_bytes: &bytes[..header_len],
        nonce: bytes[header_len..header_len + NONCE_LEN]
            .try_into()
            .expect("12 bytes"),
        body: &bytes[header_len + NONCE_LEN..],
    })
}

/// Seals `plaintext` into a binary envelope.
pub(crate) fn seal(
    key: &AeadKey,
    header: &Header,
    nonce: &[u8; NONCE_LEN],
    context: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let header_bytes = header.bytes();
    let header_bytes = &header_bytes[..header.len()];
    let mut out = Vec::with_capacity(header_bytes.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(header_bytes);
    out.extend_from_slice(nonce);
    with_aad(header_bytes, context, |aad| {
        key.seal_append(nonce, aad, plaintext, &mut out)
    });
    out
}

/// Seals `plaintext` into `out` (at least [`sealed_len`] long) and returns the length
/// written: the binary envelope, built where the caller wants it (one copy of the plaintext).
pub(crate) fn seal_into(
    key: &AeadKey,
    header: &Header,
    nonce: &[u8; NONCE_LEN],
    context: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    let header_len = header.len();
    let total = header_len + NONCE_LEN + plaintext.len() + TAG_LEN;
    let out = out.get_mut(..total).ok_or(Error::InvalidArgument(
        "output buffer shorter than the sealed length",
    ))?;
    let header_bytes = header.bytes();
    let header_bytes = &header_bytes[..header_len];
    let (head, rest) = out.split_at_mut(header_len);
    head.copy_from_slice(header_bytes);
    let (nonce_out, rest) = rest.split_at_mut(NONCE_LEN);
    nonce_out.copy_from_slice(nonce);
    with_aad(header_bytes, context, |aad| {
        key.seal_into(nonce, aad, plaintext, rest)
    });
    Ok(total)
}

/// Runs `f` on `header ‖ context` without a heap allocation for short contexts. The stack
/// buffer is zero-initialised, so the common case (context of a few dozen bytes) uses a small
/// one: zeroing 256 bytes on every 64 B decrypt showed in profiles.
#[inline]
fn with_aad<R>(header: &[u8], context: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    fn on_stack<const N: usize, R>(header: &[u8], context: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        let len = header.len() + context.len();
        let mut buf = [0u8; N];
        buf[..header.len()].copy_from_slice(header);
        buf[header.len()..len].copy_from_slice(context);
        f(&buf[..len])
    }
    match header.len() + context.len() {
        _ if context.is_empty() => f(header),
        len if len <= 64 => on_stack::<64, R>(header, context, f),
        len if len <= 256 => on_stack::<256, R>(header, context, f),
        _ => f(&[header, context].concat()),
    }
}

/// Text form of a binary envelope: `kr1:v<version>:<base64url>`.
pub(crate) fn to_text(binary: &[u8], version: u32) -> String {
    let mut out = String::with_capacity(16 + binary.len().div_ceil(3) * 4);
    out.push_str(TEXT_PREFIX);
    // Writing into a String cannot fail.
    let _ = write!(out, "{version}:");
    URL_SAFE_NO_PAD.encode_append(binary, &mut out);
    out
}

/// Whether `input` is (meant to be) a text v1 envelope: it starts with `kr` and a digit.
pub(crate) fn looks_like_text(input: &[u8]) -> bool {
    input.len() >= 3 && input.starts_with(b"kr") && input[2].is_ascii_digit()
}

/// Decodes a text envelope to its binary form, checking the prefix strictly.
pub(crate) fn decode_text(input: &[u8]) -> Result<(u32, Vec<u8>)> {
    let rest = input
        .strip_prefix(b"kr")
        .ok_or(Error::UnsupportedFormat("not a keyroll envelope"))?;
    let format_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if &rest[..format_len] != b"1" {
        return Err(Error::UnsupportedFormat("unknown format version"));
    }
    let rest = rest[format_len..]
        .strip_prefix(b":v")
        .ok_or(Error::Malformed("bad text prefix"))?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 10 || (rest[0] == b'0') {
        return Err(Error::Malformed("bad key version in text prefix"));
    }
    let version: u32 = core::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Error::Malformed("bad key version in text prefix"))?;
    let b64 = rest[digits..]
        .strip_prefix(b":")
        .ok_or(Error::Malformed("bad text prefix"))?;
    let binary = URL_SAFE_NO_PAD
        .decode_to_vec(b64)
        .map_err(|_| Error::Malformed("bad base64"))?;
    Ok((version, binary))
}

/// The header of a text envelope, decoding only the base64 characters that cover it (the body
/// is not checked: a migration asks this of every row and rewrap checks everything anyway).
pub(crate) fn text_header(input: &[u8]) -> Result<Header> {
    // 36 base64 characters hold 27 bytes: the longest header (26) and the next byte.
    let colon = input
        .iter()
        .skip(5)
        .position(|&b| b == b':')
        .map(|i| i + 6)
        .ok_or(Error::Malformed("bad text prefix"))?;
    let (version, head) = decode_text(&input[..input.len().min(colon + 36)])?;
    let needed = if head.len() > 5 && head[5] & FLAG_ISSUED_AT != 0 {
        HEADER_LEN_WITH_TIME
    } else {
        HEADER_LEN
    };
    let header = if head.len() < needed {
        parse_binary(&head)?.header
    } else {
        // Only the header was decoded: parse it as if a minimal body followed.
        let mut minimal = [0u8; HEADER_LEN_WITH_TIME + NONCE_LEN + TAG_LEN];
        minimal[..needed].copy_from_slice(&head[..needed]);
        parse_binary(&minimal)?.header
    };
    if header.version != version {
        return Err(Error::Malformed("text prefix version differs from header"));
    }
    Ok(header)
}

/// Parses a text envelope's binary form and checks the prefix version against the header.
pub(crate) fn parse_decoded(version: u32, binary: &[u8]) -> Result<Parsed<'_>> {
    let parsed = parse_binary(binary)?;
    if parsed.header.version != version {
        return Err(Error::Malformed("text prefix version differs from header"));
    }
    Ok(parsed)
}
