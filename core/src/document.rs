//! Keyring documents: the JSON a keyring is stored as, every key sealed under a key-encryption
//! key and every byte of metadata authenticated.
//!
//! ```text
//! root  = PBKDF2-HMAC-SHA256(passphrase, salt, iterations)  |  the 256-bit master key
//! wrap  = HKDF-SHA256(root, salt = keyring id, info = "keyroll/v1 keyring wrap")
//! mac   = HKDF-SHA256(root, salt = keyring id, info = "keyroll/v1 keyring mac")
//! check = HKDF-SHA256(root, salt = keyring id, info = "keyroll/v1 keyring check")
//! sealed key = AES-256-GCM(wrap, nonce, key, aad = "keyroll/v1 keyring key" ‖ id ‖ version ‖ kind)
//! document mac = HMAC-SHA256(mac, "keyroll/v1 keyring body" ‖ canonical JSON of "body")
//! ```
//! `check` tells a wrong passphrase (`bad_passphrase`) from an altered file (`keyring_corrupt`).

use crate::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::envelope::KeyringId;
use crate::kdf::{hkdf_key, pbkdf2_sha256};
use crate::keyring::Keyring;
use crate::legacy::fernet::FernetKey;
use crate::policy::Policy;
use crate::rng::Rng;
use crate::secret::SecretKey;
use crate::version::{KeyKind, KeyState, Material, Slot, VersionInfo};
use crate::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

pub(crate) mod structure;

/// The schema version of keyring documents this crate writes.
pub const SCHEMA: u32 = 1;
/// Most PBKDF2 iterations a document may ask for (bounds the work a hostile file can cause).
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Fewest PBKDF2 iterations keyroll seals a new document with: below this a stolen document's
/// passphrase is too cheap to guess. Documents sealed with fewer iterations (by older
/// versions, or through [`Protection::PassphraseForTesting`]) still open, so that operators
/// can re-seal them; they are only never written again.
pub const MIN_ITERATIONS: u32 = 100_000;
const SALT_LEN: usize = 16;

/// How to seal a keyring document.
#[derive(Clone, Copy)]
pub enum Protection<'a> {
    /// Under a passphrase, through PBKDF2-HMAC-SHA256 with `iterations` (see
    /// [`crate::DEFAULT_PBKDF2_ITERATIONS`]) and a fresh random salt.
    Passphrase {
        /// The passphrase (UTF-8 bytes).
        passphrase: &'a [u8],
        /// PBKDF2 iterations, [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`] (100,000..=10,000,000).
        iterations: u32,
    },
    /// Under a raw 256-bit master key (e.g. from a KMS or a secret manager).
    MasterKey(&'a SecretKey),
    /// Under a key-encryption key that a key-management service wrapped: `key` is the plain
    /// KEK (from the service's generate-data-key or a local random key it then encrypted),
    /// `wrap` what the service returned and how to ask it back. The document records `wrap`
    /// (under the MAC), so whoever opens it knows which key and context to unwrap with: one
    /// service call per open, none per message, and re-sealing a changed keyring reuses the
    /// same `wrap` with no call at all.
    WrappedKey {
        /// The plain key-encryption key.
        key: &'a SecretKey,
        /// The service's wrapped copy of `key` and where it came from.
        wrap: &'a KeyWrap,
    },
    /// Under a passphrase with any count 1..=[`MAX_ITERATIONS`], below the sealing floor: for
    /// test suites and test vectors, which seal many documents and need no brute-force
    /// resistance. Only with the `testing` feature, so no shipped build can write such a file.
    #[cfg(feature = "testing")]
    PassphraseForTesting {
        /// The passphrase (UTF-8 bytes).
        passphrase: &'a [u8],
        /// PBKDF2 iterations, 1..=10,000,000.
        iterations: u32,
    },
}

/// How to open a keyring document.
#[derive(Clone, Copy)]
pub enum Unlock<'a> {
    /// The passphrase it was sealed with.
    Passphrase(&'a [u8]),
    /// The master key it was sealed with.
    MasterKey(&'a SecretKey),
    /// The key-encryption key of a [`Protection::WrappedKey`] document, as the service
    /// unwrapped it from the document's [`KeyWrap`] (see [`document_sealing`]).
    Unwrapped(&'a SecretKey),
}

/// A key-encryption key wrapped by a key-management service (AWS KMS, GCP KMS, Vault
/// Transit, …), as a keyring document records it. Nothing here is secret: `wrapped` opens
/// only through the service, under `key_id` and exactly this `context`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWrap {
    /// Which service wrapped it (`aws-kms`, `gcp-kms`, `vault-transit`, …): 1-64 characters
    /// of `a-z`, `0-9` and `-`.
    pub provider: String,
    /// The service's key (an ARN, a resource name, a Vault key name): 1-2048 printable
    /// ASCII characters.
    pub key_id: String,
    /// The encryption context (AWS) or additional authenticated data the service bound the
    /// wrap to: at most 16 pairs, each name and value 1-256 printable ASCII characters.
    pub context: BTreeMap<String, String>,
    /// The service's ciphertext of the key-encryption key (1-8192 bytes).
    pub wrapped: Vec<u8>,
}

impl KeyWrap {
    /// Checks the limits documented on each field (`invalid_argument` when sealing,
    /// `keyring_corrupt` when reading, through the caller).
    fn check(&self) -> core::result::Result<(), &'static str> {
        let printable = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x20..0x7f).contains(&b))
        };
        if self.provider.is_empty()
            || self.provider.len() > 64
            || !self
                .provider
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("a key wrap's provider must be 1-64 characters of a-z, 0-9 and -");
        }
        if !printable(&self.key_id, 2048) {
            return Err("a key wrap's key id must be 1-2048 printable ASCII characters");
        }
        if self.context.len() > 16
            || !self
                .context
                .iter()
                .all(|(k, v)| printable(k, 256) && printable(v, 256))
        {
            return Err(
                "a key wrap's context must be at most 16 pairs of 1-256 printable ASCII characters",
            );
        }
        if self.wrapped.is_empty() || self.wrapped.len() > 8192 {
            return Err("a key wrap's wrapped key must be 1-8192 bytes");
        }
        Ok(())
    }
}

impl core::fmt::Debug for Protection<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Protection::Passphrase { iterations, .. } => f
                .debug_struct("Passphrase")
                .field("iterations", iterations)
                .finish_non_exhaustive(),
            Protection::MasterKey(_) => f.write_str("MasterKey(<redacted>)"),
            Protection::WrappedKey { wrap, .. } => f
                .debug_struct("WrappedKey")
                .field("provider", &wrap.provider)
                .field("key_id", &wrap.key_id)
                .finish_non_exhaustive(),
            #[cfg(feature = "testing")]
            Protection::PassphraseForTesting { iterations, .. } => f
                .debug_struct("PassphraseForTesting")
                .field("iterations", iterations)
                .finish_non_exhaustive(),
        }
    }
}

impl core::fmt::Debug for Unlock<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Unlock::Passphrase(_) => "Passphrase(<redacted>)",
            Unlock::MasterKey(_) => "MasterKey(<redacted>)",
            Unlock::Unwrapped(_) => "Unwrapped(<redacted>)",
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    keyroll_keyring: u32,
    body: Body,
    mac: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    keyring_id: String,
    /// Counts the saves of this keyring (absent, i.e. 0, in documents from before it existed).
    #[serde(default, skip_serializing_if = "is_zero")]
    generation: u64,
    /// What the keyring's keys are for (absent for encryption keyrings, so their documents are
    /// the same bytes as before signing keyrings existed). Under the MAC like the rest.
    #[serde(default, skip_serializing_if = "Purpose::is_encryption")]
    purpose: Purpose,
    kek: Kek,
    check: String,
    read_only: bool,
    min_version: u32,
    policy: Policy,
    versions: Vec<StoredVersion>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
enum Kek {
    Pbkdf2HmacSha256 {
        salt: String,
        iterations: u32,
    },
    /// A struct variant, not a unit one: serde ignores unknown members next to the tag of a
    /// unit variant even under `deny_unknown_fields`, and §7 refuses unknown members.
    MasterKey {},
    WrappedKey {
        provider: String,
        key_id: String,
        context: BTreeMap<String, String>,
        wrapped: String,
    },
}

impl Kek {
    /// The [`KeyWrap`] a `wrapped-key` KEK records, checked (`keyring_corrupt` if out of
    /// bounds); `None`-like error for the other methods is never asked for.
    fn key_wrap(&self) -> Result<KeyWrap> {
        let Kek::WrappedKey {
            provider,
            key_id,
            context,
            wrapped,
        } = self
        else {
            return Err(Error::KeyringCorrupt("not a wrapped-key document"));
        };
        let wrap = KeyWrap {
            provider: provider.clone(),
            key_id: key_id.clone(),
            context: context.clone(),
            wrapped: B64
                .decode(wrapped)
                .map_err(|_| Error::KeyringCorrupt("bad wrapped key"))?,
        };
        wrap.check().map_err(Error::KeyringCorrupt)?;
        Ok(wrap)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredVersion {
    #[serde(flatten)]
    info: VersionInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a keyring document holds: encryption keys ([`Keyring`]) or signing keys
/// ([`crate::signing::SigningKeyring`]). Each loader refuses the other's documents with
/// `wrong_keyring_kind`, so a signing key is never taken for a data key or the reverse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Purpose {
    /// An encryption keyring (the body has no `purpose` member).
    #[default]
    Encryption,
    /// A signing keyring (`"purpose": "signing"`).
    Signing,
}

impl Purpose {
    fn is_encryption(&self) -> bool {
        *self == Purpose::Encryption
    }
}

/// Everything a keyring document records, before sealing: the keyring's settings and each
/// version's metadata with its raw key bytes (`None` once destroyed).
pub(crate) struct Contents<'a> {
    pub id: KeyringId,
    pub purpose: Purpose,
    /// The generation the keyring is at; the document is sealed as the next one.
    pub generation: u64,
    pub read_only: bool,
    pub min_version: u32,
    pub policy: Policy,
    pub versions: Vec<(VersionInfo, Option<&'a [u8]>)>,
}

/// Each version's metadata, ascending, with the key bytes `key` says it stores (`None` once
/// destroyed): what [`Contents::versions`] holds, for either kind of keyring.
pub(crate) fn stored_versions<'a, M>(
    slots: &'a crate::version::lifecycle::Slots<M>,
    key: impl Fn(&'a M) -> Option<&'a [u8]>,
) -> Vec<(VersionInfo, Option<&'a [u8]>)> {
    crate::version::lifecycle::sorted_infos(slots)
        .into_iter()
        .map(|info| {
            let stored = slots[&info.version].material.as_ref().and_then(&key);
            (info, stored)
        })
        .collect()
}

/// What an authentic document holds, its keys unsealed (each wiped on drop). The version
/// numbers are nonzero and distinct, `sealed` matched the state, at most one is active.
pub(crate) struct Opened {
    pub id: KeyringId,
    pub generation: u64,
    pub read_only: bool,
    pub min_version: u32,
    pub policy: Policy,
    pub versions: Vec<(VersionInfo, Option<zeroize::Zeroizing<Vec<u8>>>)>,
}

/// Seals `contents` under `protection` as generation `contents.generation + 1`: the one
/// sealing of every keyring document (§7), whatever its keys are for.
pub(crate) fn seal(
    contents: Contents<'_>,
    protection: Protection<'_>,
    rng: &Rng,
) -> Result<Vec<u8>> {
    let (kek, root) = match protection {
        Protection::Passphrase {
            passphrase,
            iterations,
        } => {
            if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
                return Err(Error::InvalidArgument(
                    "PBKDF2 iterations must be at least 100,000 (the sealing floor) and at most 10,000,000",
                ));
            }
            passphrase_kek(rng, passphrase, iterations)?
        }
        #[cfg(feature = "testing")]
        Protection::PassphraseForTesting {
            passphrase,
            iterations,
        } => {
            if !(1..=MAX_ITERATIONS).contains(&iterations) {
                return Err(Error::InvalidArgument(
                    "PBKDF2 iterations must be 1..=10,000,000",
                ));
            }
            passphrase_kek(rng, passphrase, iterations)?
        }
        Protection::MasterKey(key) => (Kek::MasterKey {}, key.clone()),
        Protection::WrappedKey { key, wrap } => {
            wrap.check().map_err(Error::InvalidArgument)?;
            let kek = Kek::WrappedKey {
                provider: wrap.provider.clone(),
                key_id: wrap.key_id.clone(),
                context: wrap.context.clone(),
                wrapped: B64.encode(&wrap.wrapped),
            };
            (kek, key.clone())
        }
    };
    let id = contents.id;
    let keks = Keks::new(&root, &id);
    let mut versions = Vec::with_capacity(contents.versions.len());
    for (info, key) in contents.versions {
        let sealed = match key {
            None => None,
            Some(key) => {
                let nonce: [u8; NONCE_LEN] = rng.array()?;
                let mut out = nonce.to_vec();
                keks.wrap
                    .seal_append(&nonce, &key_aad(&id, &info), key, &mut out);
                Some(B64.encode(out))
            }
        };
        versions.push(StoredVersion { info, sealed });
    }
    let generation = contents
        .generation
        .checked_add(1)
        .ok_or(Error::InvalidArgument(
            "the keyring generation is exhausted",
        ))?;
    let body = Body {
        keyring_id: id.to_hex(),
        generation,
        purpose: contents.purpose,
        kek,
        check: B64.encode(keks.check.expose()),
        read_only: contents.read_only,
        min_version: contents.min_version,
        policy: contents.policy,
        versions,
    };
    let mac = B64.encode(keks.mac(&body)?);
    let doc = Document {
        keyroll_keyring: SCHEMA,
        body,
        mac,
    };
    serde_json::to_vec_pretty(&doc).map_err(|_| Error::KeyringCorrupt("unserializable"))
}

/// A fresh salt and the PBKDF2 root for sealing under `passphrase`.
fn passphrase_kek(rng: &Rng, passphrase: &[u8], iterations: u32) -> Result<(Kek, SecretKey)> {
    let salt: [u8; SALT_LEN] = rng.array()?;
    let root = pbkdf2_sha256(passphrase, &salt, iterations);
    let salt = B64.encode(salt);
    Ok((Kek::Pbkdf2HmacSha256 { salt, iterations }, root))
}

/// Opens a document meant to hold keys for `purpose` (`wrong_keyring_kind` if it holds the
/// other kind, decided before any key is derived). A wrong passphrase or master key gives
/// `bad_passphrase`; any other change to the document gives `keyring_corrupt`.
pub(crate) fn open(document: &[u8], unlock: Unlock<'_>, purpose: Purpose) -> Result<Opened> {
    let doc: Document = serde_json::from_slice(document)
        .map_err(|_| Error::KeyringCorrupt("not a keyroll keyring document"))?;
    if doc.keyroll_keyring != SCHEMA {
        return Err(Error::KeyringCorrupt("unsupported keyring schema"));
    }
    let body = doc.body;
    if body.purpose != purpose {
        // Not authenticated yet, and need not be: the answer is a refusal either way.
        return Err(Error::WrongKeyringKind);
    }
    let id =
        KeyringId::from_hex(&body.keyring_id).ok_or(Error::KeyringCorrupt("bad keyring id"))?;
    let root = match (&body.kek, unlock) {
        (Kek::Pbkdf2HmacSha256 { salt, iterations }, Unlock::Passphrase(p)) => {
            let salt = B64
                .decode(salt)
                .map_err(|_| Error::KeyringCorrupt("bad salt"))?;
            if !(1..=MAX_ITERATIONS).contains(iterations) || salt.len() != SALT_LEN {
                return Err(Error::KeyringCorrupt("bad KDF parameters"));
            }
            pbkdf2_sha256(p, &salt, *iterations)
        }
        (Kek::MasterKey {}, Unlock::MasterKey(key)) => key.clone(),
        (kek @ Kek::WrappedKey { .. }, Unlock::Unwrapped(key)) => {
            kek.key_wrap()?;
            key.clone()
        }
        _ => return Err(Error::BadPassphrase),
    };
    let keks = Keks::new(&root, &id);
    let check = B64
        .decode(&body.check)
        .map_err(|_| Error::KeyringCorrupt("bad check value"))?;
    if !bool::from(check.ct_eq(keks.check.expose())) {
        return Err(Error::BadPassphrase);
    }
    let mac = B64
        .decode(&doc.mac)
        .map_err(|_| Error::KeyringCorrupt("bad mac"))?;
    if !bool::from(mac.ct_eq(&keks.mac(&body)?)) {
        return Err(Error::KeyringCorrupt("authentication failed"));
    }
    // From here on the body is authentic: what is checked below guards against our own
    // bugs and documents written by hand with a valid key.
    let mut versions = Vec::with_capacity(body.versions.len());
    let mut seen = std::collections::HashSet::new();
    let mut active = false;
    for stored in body.versions {
        let info = stored.info;
        if info.version == 0 || !seen.insert(info.version) {
            return Err(Error::KeyringCorrupt("bad or repeated version number"));
        }
        let key = match (&stored.sealed, info.state) {
            (None, KeyState::Destroyed) => None,
            (Some(sealed), state) if state != KeyState::Destroyed => {
                let raw = B64
                    .decode(sealed)
                    .map_err(|_| Error::KeyringCorrupt("bad sealed key"))?;
                if raw.len() <= NONCE_LEN + TAG_LEN {
                    return Err(Error::KeyringCorrupt("bad sealed key"));
                }
                let nonce = raw[..NONCE_LEN].try_into().expect("12 bytes");
                Some(zeroize::Zeroizing::new(
                    keks.wrap
                        .open(nonce, &key_aad(&id, &info), &raw[NONCE_LEN..])
                        .ok_or(Error::KeyringCorrupt("sealed key does not open"))?,
                ))
            }
            _ => return Err(Error::KeyringCorrupt("key material does not match state")),
        };
        if info.state == KeyState::Active {
            if active {
                return Err(Error::KeyringCorrupt("more than one active version"));
            }
            active = true;
        }
        versions.push((info, key));
    }
    Ok(Opened {
        id,
        generation: body.generation,
        read_only: body.read_only,
        min_version: body.min_version,
        policy: body.policy,
        versions,
    })
}

/// The three keys derived from the KEK root.
struct Keks {
    wrap: AeadKey,
    mac: SecretKey,
    check: SecretKey,
}

impl Keks {
    fn new(root: &SecretKey, id: &KeyringId) -> Self {
        let derive = |info: &[u8]| hkdf_key(root.expose(), &id.0, &[info]);
        Keks {
            wrap: AeadKey::new(&derive(b"keyroll/v1 keyring wrap")),
            mac: derive(b"keyroll/v1 keyring mac"),
            check: derive(b"keyroll/v1 keyring check"),
        }
    }

    fn mac(&self, body: &Body) -> Result<[u8; 32]> {
        let json = serde_json::to_vec(body).map_err(|_| Error::KeyringCorrupt("unserializable"))?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.mac.expose())
            .expect("HMAC takes any key length");
        mac.update(b"keyroll/v1 keyring body");
        mac.update(&json);
        Ok(mac.finalize().into_bytes().into())
    }
}

fn key_aad(id: &KeyringId, info: &VersionInfo) -> [u8; 35] {
    let mut aad = [0u8; 35];
    aad[..22].copy_from_slice(b"keyroll/v1 keyring key");
    aad[22..30].copy_from_slice(&id.0);
    aad[30..34].copy_from_slice(&info.version.to_be_bytes());
    aad[34] = info.kind.id();
    aad
}

impl Keyring {
    /// Serializes and seals this keyring as generation [`Keyring::generation`]` + 1`. Data keys
    /// are unchanged: sealing under a new passphrase re-wraps them only.
    ///
    /// A passphrase needs [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`] PBKDF2 iterations
    /// (`invalid_argument` otherwise, before any work is done).
    pub fn to_document(&self, protection: Protection<'_>) -> Result<Vec<u8>> {
        let versions = stored_versions(&self.slots, |m| Some(&m.secret.expose()[..]));
        let contents = Contents {
            id: self.id,
            purpose: Purpose::Encryption,
            generation: self.generation,
            read_only: self.read_only,
            min_version: self.min_version,
            policy: self.policy,
            versions,
        };
        seal(contents, protection, &self.rng)
    }

    /// Opens a keyring document. A wrong passphrase or master key gives `bad_passphrase`; any
    /// other change to the document gives `keyring_corrupt`.
    ///
    /// Any iteration count 1..=[`MAX_ITERATIONS`] opens, including counts below
    /// [`MIN_ITERATIONS`]: documents sealed by older versions must stay readable so they can be
    /// re-sealed (see [`Sealing::below_floor`]).
    pub fn from_document(document: &[u8], unlock: Unlock<'_>) -> Result<Keyring> {
        let opened = open(document, unlock, Purpose::Encryption)?;
        let mut ring = Keyring::empty(opened.id, Rng::System);
        ring.generation = opened.generation;
        ring.read_only = opened.read_only;
        ring.min_version = opened.min_version;
        ring.policy = opened.policy;
        for (info, key) in opened.versions {
            let version = info.version;
            if info.kind.is_signing() {
                return Err(Error::KeyringCorrupt(
                    "a signing key in an encryption keyring",
                ));
            }
            let material = match key {
                None => None,
                Some(key) => {
                    let secret = SecretKey::from_slice(&key)
                        .map_err(|_| Error::KeyringCorrupt("bad sealed key"))?;
                    Some(Material::new(info.kind, secret))
                }
            };
            if info.kind == KeyKind::Fernet {
                let expected = material
                    .as_ref()
                    .map(|m| FernetKey::from_secret(m.secret.clone()).keyroll_version());
                if expected.is_some_and(|e| e != version) {
                    return Err(Error::KeyringCorrupt(
                        "Fernet version does not match its key",
                    ));
                }
            }
            if info.state == KeyState::Active {
                if !info.kind.can_encrypt() {
                    return Err(Error::KeyringCorrupt("more than one active version"));
                }
                ring.active = Some(version);
            }
            if info.kind != KeyKind::Aes256Gcm {
                ring.legacy.push(version);
            }
            ring.slots.insert(version, Slot { info, material });
        }
        ring.legacy.sort_unstable_by(|a, b| b.cmp(a));
        structure::check(
            &ring.slots,
            ring.active,
            ring.read_only,
            &ring.policy,
            ring.min_version,
        )?;
        Ok(ring)
    }
}

/// How a keyring document is sealed, read without any key (e.g. to re-seal a keyring the way
/// it was, or to run PBKDF2 elsewhere). Nothing here is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sealing {
    /// Under a passphrase, with these PBKDF2 iterations.
    Passphrase {
        /// PBKDF2-HMAC-SHA256 iterations.
        iterations: u32,
    },
    /// Under a master key.
    MasterKey,
    /// Under a key-encryption key wrapped by a key-management service: unwrap this with the
    /// service, then open with [`Unlock::Unwrapped`].
    Wrapped(KeyWrap),
}

impl Sealing {
    /// Whether this is a passphrase sealing with fewer PBKDF2 iterations than
    /// [`MIN_ITERATIONS`]: it still opens, but should be re-sealed (keyroll never writes one).
    pub fn below_floor(&self) -> bool {
        matches!(self, Sealing::Passphrase { iterations } if *iterations < MIN_ITERATIONS)
    }
}

/// Reads how `document` is sealed; `keyring_corrupt` if it is not a keyring document.
pub fn document_sealing(document: &[u8]) -> Result<Sealing> {
    let doc: Document = serde_json::from_slice(document)
        .map_err(|_| Error::KeyringCorrupt("not a keyroll keyring document"))?;
    Ok(match doc.body.kek {
        Kek::Pbkdf2HmacSha256 { iterations, .. } => Sealing::Passphrase { iterations },
        Kek::MasterKey {} => Sealing::MasterKey,
        kek @ Kek::WrappedKey { .. } => Sealing::Wrapped(kek.key_wrap()?),
    })
}

/// A document's place in its keyring's history, read without any key.
///
/// Each save seals the generation its keyring was loaded at plus one, under the document MAC,
/// so a store holding the current file can tell a save that builds on it from a stale one
/// (two processes that loaded the same generation) and an old copy put back (a rollback).
/// The number read here is not authenticated; it is safe to decide on because every document
/// that is then opened has its generation checked by the MAC with the rest of the body.
impl Keyring {
    /// The generation `document` says it is (0 for documents from before generations).
    /// `keyring_corrupt` if it is not a keyring document.
    pub fn document_generation(document: &[u8]) -> Result<u64> {
        let doc: Document = serde_json::from_slice(document)
            .map_err(|_| Error::KeyringCorrupt("not a keyroll keyring document"))?;
        Ok(doc.body.generation)
    }

    /// Checks that `next` may replace `current` (the stored document, `None` if there is
    /// none): it must be exactly one generation newer, i.e. sealed from a keyring loaded at
    /// `current`'s generation. Otherwise `keyring_conflict`: someone saved in between, and
    /// writing `next` would undo their change. Returns `next`'s generation.
    pub fn check_successor(current: Option<&[u8]>, next: &[u8]) -> Result<u64> {
        let next_generation = Keyring::document_generation(next)?;
        if let Some(current) = current {
            let current = Keyring::document_generation(current)?;
            if current.checked_add(1) != Some(next_generation) {
                return Err(Error::KeyringConflict {
                    base: next_generation.saturating_sub(1),
                    current,
                });
            }
        }
        Ok(next_generation)
    }

    /// Checks that `document` is not older than `highest_seen`, the newest generation ever
    /// recorded for this keyring (kept outside the document, so an old copy cannot lower it).
    /// `keyring_rollback` otherwise. Returns the document's generation.
    pub fn check_not_rolled_back(document: &[u8], highest_seen: u64) -> Result<u64> {
        let found = Keyring::document_generation(document)?;
        if found < highest_seen {
            return Err(Error::KeyringRollback {
                seen: highest_seen,
                found,
            });
        }
        Ok(found)
    }

    /// Records that this keyring is now stored as `generation` (after a successful save, or
    /// to re-base a keyring restored on purpose over a newer one), so the next
    /// [`Keyring::to_document`] builds on it.
    pub fn mark_saved(&mut self, generation: u64) {
        self.generation = generation;
    }
}

impl Keyring {
    /// Removes the key material of `version` from this keyring, whatever its state: it
    /// becomes `destroyed` (and stops being the active version if it was). For copies of a
    /// keyring kept after the fact, such as backups, when the version has been destroyed in
    /// the live keyring: ordinary state rules do not apply to them, since the point is that no
    /// copy keeps a destroyed key. Returns whether there was material to remove.
    pub fn purge_material(&mut self, version: u32, now: u64) -> Result<bool> {
        crate::version::lifecycle::purge(&mut self.slots, &mut self.active, version, now)
    }
}
