//! The keyring: versioned keys, rotation, and the operations on envelopes.

use crate::envelope::{self, Header, KeyringId, Parsed};
use crate::legacy::fernet::{self, FernetKey};
use crate::legacy::raw_gcm::{self, RawGcmImport};
use crate::policy::{Policy, PolicyStatus};
use crate::rng::Rng;
use crate::secret::SecretKey;
use crate::version::{KeyKind, Material, Slot, VersionInfo};
use crate::{Error, Result, Ttl};
use std::collections::HashMap;
use zeroize::Zeroizing;

pub use crate::version::KeyState;

/// The keyring id every keyring uses for v1 envelopes written under a Fernet-derived key:
/// the first 8 bytes of SHA-256("keyroll/v1 fernet keyring"). Any keyring holding the same
/// Fernet key reads them, whichever process wrote them.
pub fn fernet_keyring_id() -> KeyringId {
    static ID: std::sync::OnceLock<KeyringId> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(b"keyroll/v1 fernet keyring");
        KeyringId(digest[..8].try_into().expect("8 bytes"))
    })
}

/// A set of key versions, at most one of them active.
///
/// Reading (`encrypt`, `decrypt`, `rewrap`) takes `&self` and the type is `Send + Sync`, so one
/// keyring serves many threads; changes take `&mut self`. Version lookup is a hash map: cost per
/// operation does not grow with the number of versions (legacy Fernet/raw tokens, which carry
/// no key id, are tried against each legacy key).
pub struct Keyring {
    pub(crate) id: KeyringId,
    pub(crate) slots: HashMap<u32, Slot>,
    pub(crate) active: Option<u32>,
    pub(crate) min_version: u32,
    pub(crate) policy: Policy,
    pub(crate) read_only: bool,
    /// Legacy versions, newest first: the order Fernet and raw blobs are tried in.
    pub(crate) legacy: Vec<u32>,
    pub(crate) rng: Rng,
}

/// A decrypted payload and the timestamp it was issued at, if it carried one.
struct Opened {
    plaintext: Zeroizing<Vec<u8>>,
    version: u32,
    issued_at: Option<u64>,
}

/// What [`Keyring::verify`] learns from an authentic token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The key version that authenticated it.
    pub key_version: u32,
    /// Its issued-at time (for Fernet tokens, the Fernet timestamp), if it has one.
    pub issued_at: Option<u64>,
}

impl Keyring {
    /// A new keyring with a random id and version 1 active.
    pub fn generate(now: u64) -> Result<Self> {
        Self::generate_with(Rng::System, now)
    }

    /// A keyring whose every random byte comes from `seed` (test vectors only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn generate_seeded(seed: &[u8], now: u64) -> Result<Self> {
        Self::generate_with(Rng::seeded(seed), now)
    }

    /// Makes every later random byte of this keyring come from `seed` (test vectors only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn reseed_for_testing(&mut self, seed: &[u8]) {
        self.rng = Rng::seeded(seed);
    }

    fn generate_with(rng: Rng, now: u64) -> Result<Self> {
        let mut ring = Keyring::empty(KeyringId(rng.array()?), rng);
        ring.rotate(now)?;
        Ok(ring)
    }

    pub(crate) fn empty(id: KeyringId, rng: Rng) -> Self {
        Keyring {
            id,
            slots: HashMap::new(),
            active: None,
            min_version: 0,
            policy: Policy::default(),
            read_only: false,
            legacy: Vec::new(),
            rng,
        }
    }

    /// A keyring made from a Fernet key list as services keep it (primary first, as
    /// `MultiFernet` takes it): every key becomes a Fernet version, the first one active.
    /// Its id, version numbers and v1 keys are derived from the keys alone, so every process
    /// given the same list reads what the others write. An operator can later `rotate` it to
    /// ordinary versions.
    pub fn from_fernet_keys(keys: &[FernetKey], now: u64) -> Result<Self> {
        let primary = keys
            .first()
            .ok_or(Error::InvalidArgument("at least one Fernet key is needed"))?;
        let mut ring = Keyring::empty(fernet_keyring_id(), Rng::System);
        ring.import_fernet(keys, now)?;
        ring.promote(primary.keyroll_version(), now)?;
        Ok(ring)
    }

    /// The keyring id written into every envelope.
    pub fn id(&self) -> KeyringId {
        self.id
    }

    /// All versions, in ascending order.
    pub fn versions(&self) -> Vec<VersionInfo> {
        let mut out: Vec<VersionInfo> = self.slots.values().map(|s| s.info.clone()).collect();
        out.sort_by_key(|v| v.version);
        out
    }

    /// One version's metadata.
    pub fn version(&self, version: u32) -> Option<&VersionInfo> {
        self.slots.get(&version).map(|s| &s.info)
    }

    /// The active version, if any.
    pub fn active_version(&self) -> Option<u32> {
        self.active
    }

    /// Versions below this refuse to decrypt (0: no minimum).
    pub fn min_version(&self) -> u32 {
        self.min_version
    }

    /// Whether this is a decrypt-only export.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The rotation policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Replaces the rotation policy.
    pub fn set_policy(&mut self, policy: Policy) -> Result<()> {
        self.writable()?;
        if policy.warn_after_days > policy.rotate_after_days || policy.rotate_after_days == 0 {
            return Err(Error::InvalidArgument(
                "need 0 < warn_after_days ≤ rotate_after_days",
            ));
        }
        self.policy = policy;
        Ok(())
    }

    /// Judges the active key's age against the policy.
    pub fn check_policy(&self, now: u64) -> PolicyStatus {
        let active = self.active.and_then(|v| {
            let info = &self.slots.get(&v)?.info;
            Some((v, info.activated_at.unwrap_or(info.created_at)))
        });
        self.policy.evaluate(active, now)
    }

    /// Refuses envelopes of versions below `minimum`; the active version must not be below it.
    pub fn set_min_version(&mut self, minimum: u32) -> Result<()> {
        self.writable()?;
        if self
            .active
            .is_some_and(|a| a < minimum && a & fernet::FERNET_VERSION_BIT == 0)
        {
            return Err(Error::InvalidArgument(
                "the minimum version cannot exceed the active version",
            ));
        }
        self.min_version = minimum;
        Ok(())
    }

    fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    fn next_version(&self) -> Result<u32> {
        let top = self
            .slots
            .keys()
            .filter(|v| *v & fernet::FERNET_VERSION_BIT == 0)
            .max()
            .copied()
            .unwrap_or(0);
        let next = top + 1;
        if next & fernet::FERNET_VERSION_BIT != 0 {
            return Err(Error::InvalidArgument("key version space exhausted"));
        }
        Ok(next)
    }

    fn insert(&mut self, info: VersionInfo, secret: SecretKey) {
        let kind = info.kind;
        let version = info.version;
        if kind != KeyKind::Aes256Gcm {
            self.legacy.push(version);
            self.legacy.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.slots.insert(
            version,
            Slot {
                info,
                material: Some(Material::new(kind, secret)),
            },
        );
    }

    fn new_info(version: u32, kind: KeyKind, state: KeyState, now: u64) -> VersionInfo {
        VersionInfo {
            version,
            kind,
            state,
            created_at: now,
            activated_at: None,
            retired_at: None,
            compromised_at: None,
            destroyed_at: None,
            note: None,
            legacy_version_byte: None,
        }
    }

    /// Adds a new random key as `pending`: readers everywhere learn it before anyone writes
    /// with it. Returns its version.
    pub fn add_version(&mut self, now: u64) -> Result<u32> {
        self.writable()?;
        let version = self.next_version()?;
        let secret = SecretKey::from_bytes(self.rng.array()?);
        self.insert(
            Self::new_info(version, KeyKind::Aes256Gcm, KeyState::Pending, now),
            secret,
        );
        Ok(version)
    }

    /// Makes `version` (pending or decrypt-only) the primary; the old primary becomes
    /// decrypt-only.
    pub fn promote(&mut self, version: u32, now: u64) -> Result<()> {
        self.writable()?;
        let slot = self
            .slots
            .get(&version)
            .ok_or(Error::UnknownKeyVersion(version))?;
        let from = slot.info.state;
        if !matches!(from, KeyState::Pending | KeyState::DecryptOnly)
            || !slot.info.kind.can_encrypt()
            || version < self.min_version
        {
            return Err(Error::InvalidStateTransition {
                version,
                from,
                to: KeyState::Active,
            });
        }
        if let Some(old) = self.active.take() {
            let info = &mut self.slot_mut(old)?.info;
            info.state = KeyState::DecryptOnly;
            info.retired_at = Some(now);
        }
        let info = &mut self.slot_mut(version)?.info;
        info.state = KeyState::Active;
        info.activated_at = Some(now);
        info.retired_at = None;
        self.active = Some(version);
        Ok(())
    }

    fn slot_mut(&mut self, version: u32) -> Result<&mut Slot> {
        self.slots
            .get_mut(&version)
            .ok_or(Error::UnknownKeyVersion(version))
    }

    /// Scheduled rotation in one step (single process): add a version and promote it.
    pub fn rotate(&mut self, now: u64) -> Result<u32> {
        let version = self.add_version(now)?;
        self.promote(version, now)?;
        Ok(version)
    }

    /// Emergency rotation: a new active version, and the old one marked compromised so that
    /// only rewrap can still read its data.
    pub fn emergency_rotate(&mut self, reason: &str, now: u64) -> Result<u32> {
        let old = self.active;
        let version = self.rotate(now)?;
        if let Some(old) = old {
            let info = &mut self.slot_mut(old)?.info;
            info.state = KeyState::Compromised;
            info.compromised_at = Some(now);
            info.note = Some(reason.to_owned());
        }
        Ok(version)
    }

    /// Moves a version along its life cycle (see [`KeyState::can_become`]). Destroying wipes
    /// the material and keeps the metadata.
    pub fn set_state(
        &mut self,
        version: u32,
        to: KeyState,
        note: Option<&str>,
        now: u64,
    ) -> Result<()> {
        self.writable()?;
        let slot = self.slot_mut(version)?;
        let from = slot.info.state;
        if !from.can_become(to) {
            return Err(Error::InvalidStateTransition { version, from, to });
        }
        slot.info.state = to;
        match to {
            KeyState::Compromised => slot.info.compromised_at = Some(now),
            KeyState::Destroyed => {
                slot.info.destroyed_at = Some(now);
                slot.material = None;
            }
            _ => {}
        }
        if let Some(note) = note {
            slot.info.note = Some(note.to_owned());
        }
        Ok(())
    }

    /// Imports Fernet keys (a key or a `MultiFernet` list) as decrypt-only legacy versions.
    /// A key already present is not added twice. Returns the versions, in the given order.
    pub fn import_fernet(&mut self, keys: &[FernetKey], now: u64) -> Result<Vec<u32>> {
        self.writable()?;
        let mut versions = Vec::with_capacity(keys.len());
        for key in keys {
            let version = key.keyroll_version();
            match self.slots.get(&version) {
                Some(slot) if slot.info.kind == KeyKind::Fernet => {}
                Some(_) => return Err(Error::InvalidKey("Fernet key version collides")),
                None => {
                    let mut info =
                        Self::new_info(version, KeyKind::Fernet, KeyState::DecryptOnly, now);
                    info.note = Some("imported Fernet key".to_owned());
                    self.insert(info, key.secret().clone());
                }
            }
            versions.push(version);
        }
        Ok(versions)
    }

    /// Imports a raw AES-256-GCM key from a home-made manager as a decrypt-only legacy version
    /// (deriving it once, here, if it comes from PBKDF2).
    pub fn import_raw_gcm(&mut self, import: &RawGcmImport, now: u64) -> Result<u32> {
        self.writable()?;
        let secret = import.derive()?;
        let version = self.next_version()?;
        let mut info = Self::new_info(version, KeyKind::RawGcm, KeyState::DecryptOnly, now);
        info.legacy_version_byte = import.version_byte;
        info.note = Some("imported raw AES-256-GCM key".to_owned());
        self.insert(info, secret);
        Ok(version)
    }

    /// A copy that can only decrypt: the chosen versions (all if `None`), nothing active, and
    /// every change refused. For apps that must read but never write.
    pub fn export_decrypt_only(&self, versions: Option<&[u32]>) -> Result<Keyring> {
        let chosen: Vec<u32> = match versions {
            Some(list) => list.to_vec(),
            None => self.slots.keys().copied().collect(),
        };
        let mut out = Keyring::empty(self.id, Rng::System);
        out.min_version = self.min_version;
        out.policy = self.policy;
        for version in chosen {
            let slot = self
                .slots
                .get(&version)
                .ok_or(Error::UnknownKeyVersion(version))?;
            let mut info = slot.info.clone();
            if info.state == KeyState::Active || info.state == KeyState::Pending {
                info.state = KeyState::DecryptOnly;
            }
            match &slot.material {
                Some(m) => out.insert(info, m.secret.clone()),
                None => {
                    out.slots.insert(
                        version,
                        Slot {
                            info,
                            material: None,
                        },
                    );
                }
            }
        }
        out.read_only = true;
        Ok(out)
    }

    /// Derives a key for another purpose (e.g. `pii`, `audit`, `backup`) from the active
    /// version: HKDF-SHA256(ikm = that key, salt = keyring id, info = "keyroll/v1 derive" ‖
    /// 0x00 ‖ purpose). It changes when the keyring rotates; the version is returned with it.
    pub fn derive_key(&self, purpose: &[u8], length: usize) -> Result<(u32, Zeroizing<Vec<u8>>)> {
        let version = self.active.ok_or(Error::NoActiveKey)?;
        let material = self.material(version)?;
        if length == 0 || length > 8160 {
            return Err(Error::InvalidArgument("length must be 1..=8160"));
        }
        let mut out = Zeroizing::new(vec![0u8; length]);
        crate::kdf::hkdf_sha256(
            material.secret.expose(),
            &self.id.0,
            &[b"keyroll/v1 derive\0", purpose],
            &mut out,
        )?;
        Ok((version, out))
    }

    fn material(&self, version: u32) -> Result<&Material> {
        self.slots
            .get(&version)
            .and_then(|s| s.material.as_ref())
            .ok_or(Error::KeyDestroyed(version))
    }

    /// The active version and the id its envelopes carry.
    fn writer(&self) -> Result<(u32, KeyringId, &Material)> {
        let version = self.active.ok_or(Error::NoActiveKey)?;
        let material = self.material(version)?;
        let id = if version & fernet::FERNET_VERSION_BIT != 0 {
            fernet_keyring_id()
        } else {
            self.id
        };
        Ok((version, id, material))
    }

    /// Encrypts to the binary form. `issued_at` (Unix seconds) enables TTL checks later.
    pub fn encrypt_binary(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<Vec<u8>> {
        let (version, keyring_id, material) = self.writer()?;
        let header = Header {
            keyring_id,
            version,
            issued_at,
        };
        let nonce = self.rng.nonce()?;
        Ok(envelope::seal(
            &material.aead,
            &header,
            &nonce,
            context,
            plaintext,
        ))
    }

    /// Encrypts to the text form `kr1:v<version>:<base64url>`.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<String> {
        let binary = self.encrypt_binary(plaintext, context, issued_at)?;
        let version = self.active.ok_or(Error::NoActiveKey)?;
        Ok(envelope::to_text(&binary, version))
    }

    /// Decrypts any token this keyring can read: a v1 envelope (binary or text), or a legacy
    /// Fernet token or raw GCM blob under an imported key.
    pub fn decrypt(&self, token: &[u8], context: &[u8], ttl: Option<Ttl>) -> Result<Vec<u8>> {
        let opened = self.open(token, context, false)?;
        check_ttl(ttl, opened.issued_at)?;
        let mut plaintext = opened.plaintext;
        Ok(core::mem::take(&mut *plaintext))
    }

    /// Authenticates `token` without returning its plaintext (which is wiped): which version
    /// opened it and when it was issued. `extract_timestamp`-style callers use this.
    pub fn verify(&self, token: &[u8], context: &[u8], ttl: Option<Ttl>) -> Result<Verified> {
        let opened = self.open(token, context, false)?;
        wipe(opened.plaintext);
        check_ttl(ttl, opened.issued_at)?;
        Ok(Verified {
            key_version: opened.version,
            issued_at: opened.issued_at,
        })
    }

    /// Re-encrypts any readable token under the active version, keeping its issued-at time;
    /// compromised versions are readable here (and only here) so data can be moved off them.
    /// The plaintext never leaves this function and is wiped.
    pub fn rewrap_binary(&self, token: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let opened = self.open(token, context, true)?;
        let out = self.encrypt_binary(&opened.plaintext, context, opened.issued_at);
        wipe(opened.plaintext);
        out
    }

    /// [`Keyring::rewrap_binary`] to the text form.
    pub fn rewrap(&self, token: &[u8], context: &[u8]) -> Result<String> {
        let opened = self.open(token, context, true)?;
        let out = self.encrypt(&opened.plaintext, context, opened.issued_at);
        wipe(opened.plaintext);
        out
    }

    /// Rewraps under a new context: the token is read with `from` and written with `to`, its
    /// issued-at kept, the plaintext never leaving core. This is how legacy tokens (which carry
    /// no context) move to per-row contexts such as `users:42:ssn`.
    pub fn rewrap_to_context(&self, token: &[u8], from: &[u8], to: &[u8]) -> Result<String> {
        let opened = self.open(token, from, true)?;
        let out = self.encrypt(&opened.plaintext, to, opened.issued_at);
        wipe(opened.plaintext);
        out
    }

    /// [`Keyring::rewrap_to_context`] to the binary form.
    pub fn rewrap_binary_to_context(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<u8>> {
        let opened = self.open(token, from, true)?;
        let out = self.encrypt_binary(&opened.plaintext, to, opened.issued_at);
        wipe(opened.plaintext);
        out
    }

    /// Whether `token` would change under [`Keyring::rewrap`]: false only for a v1 envelope of
    /// this keyring under the active version. Reads the header only; nothing is decrypted.
    pub fn needs_rewrap(&self, token: &[u8]) -> Result<bool> {
        let (active, keyring_id, _) = self.writer()?;
        let header = if token.starts_with(&envelope::MAGIC) {
            envelope::parse_binary(token)?.header
        } else if envelope::looks_like_text(token) {
            envelope::text_header(token)?
        } else {
            return Ok(true);
        };
        Ok(header.version != active || header.keyring_id != keyring_id)
    }

    /// Encrypts each item (text form); one issued-at for the batch.
    pub fn encrypt_many<T: AsRef<[u8]>>(
        &self,
        items: &[T],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<Vec<String>> {
        items
            .iter()
            .map(|item| self.encrypt(item.as_ref(), context, issued_at))
            .collect()
    }

    /// Decrypts each token; one result per token, so one bad row does not hide the others.
    pub fn decrypt_many<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        context: &[u8],
        ttl: Option<Ttl>,
    ) -> Vec<Result<Vec<u8>>> {
        tokens
            .iter()
            .map(|t| self.decrypt(t.as_ref(), context, ttl))
            .collect()
    }

    /// Rewraps each token (text form); one result per token.
    pub fn rewrap_many<T: AsRef<[u8]>>(&self, tokens: &[T], context: &[u8]) -> Vec<Result<String>> {
        tokens
            .iter()
            .map(|t| self.rewrap(t.as_ref(), context))
            .collect()
    }

    /// The material of `version`, if this operation may use it in its state.
    fn usable(&self, version: u32, rewrap: bool) -> Result<&Material> {
        let slot = self
            .slots
            .get(&version)
            .ok_or(Error::UnknownKeyVersion(version))?;
        if version < self.min_version {
            return Err(Error::BelowMinimumVersion {
                version,
                minimum: self.min_version,
            });
        }
        match slot.info.state {
            KeyState::Disabled => Err(Error::KeyDisabled(version)),
            KeyState::Compromised if !rewrap => Err(Error::KeyCompromised(version)),
            KeyState::Destroyed => Err(Error::KeyDestroyed(version)),
            _ => slot.material.as_ref().ok_or(Error::KeyDestroyed(version)),
        }
    }

    fn open(&self, token: &[u8], context: &[u8], rewrap: bool) -> Result<Opened> {
        if token.starts_with(&envelope::MAGIC) {
            self.open_v1(&envelope::parse_binary(token)?, context, rewrap)
        } else if envelope::looks_like_text(token) {
            let (version, binary) = envelope::decode_text(token)?;
            self.open_v1(&envelope::parse_decoded(version, &binary)?, context, rewrap)
        } else {
            self.open_legacy(token, context, rewrap)
        }
    }

    fn open_v1(&self, parsed: &Parsed<'_>, context: &[u8], rewrap: bool) -> Result<Opened> {
        let header = parsed.header;
        let fernet_derived = header.version & fernet::FERNET_VERSION_BIT != 0
            && header.keyring_id == fernet_keyring_id();
        if header.keyring_id != self.id && !fernet_derived {
            return Err(Error::WrongKeyring);
        }
        let material = self.usable(header.version, rewrap)?;
        let plaintext = Zeroizing::new(parsed.open(&material.aead, context)?);
        Ok(Opened {
            plaintext,
            version: header.version,
            issued_at: header.issued_at,
        })
    }

    /// Legacy tokens carry no key id: each legacy key is tried. A key that authenticates the
    /// token but may not be used in its state gives that state's error. Legacy formats have no
    /// associated data, so a non-empty context is refused rather than silently ignored.
    fn open_legacy(&self, token: &[u8], context: &[u8], rewrap: bool) -> Result<Opened> {
        let has = |kind| {
            self.legacy
                .iter()
                .any(|v| self.slots.get(v).is_some_and(|s| s.info.kind == kind))
        };
        let (has_fernet, has_raw) = (has(KeyKind::Fernet), has(KeyKind::RawGcm));
        if !has_fernet && !has_raw {
            return Err(Error::UnsupportedFormat(
                "not a keyroll envelope, and no legacy keys are imported",
            ));
        }
        if !context.is_empty() {
            return Err(Error::InvalidArgument("legacy tokens carry no context"));
        }
        let mut first_error = None;
        if has_fernet {
            match fernet::Token::decode(token) {
                Ok(tok) => {
                    let found = self
                        .try_legacy(KeyKind::Fernet, rewrap, |m, _| tok.open(m.fernet.as_ref()?))?;
                    if let Some((version, plaintext)) = found {
                        return Ok(Opened {
                            plaintext,
                            version,
                            issued_at: Some(tok.timestamp()),
                        });
                    }
                    first_error = Some(Error::DecryptFailed);
                }
                Err(e) => first_error = Some(e),
            }
        }
        if has_raw {
            match raw_gcm::decode(token) {
                Ok(blob) => {
                    if let Some((version, plaintext)) = self.open_raw(&blob, rewrap)? {
                        return Ok(Opened {
                            plaintext,
                            version,
                            issued_at: None,
                        });
                    }
                    return Err(Error::DecryptFailed);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Error::DecryptFailed))
    }

    /// Raw blobs: first the versioned reading (`version byte ‖ nonce ‖ …`) with the key whose
    /// version byte matches, then the plain reading (`nonce ‖ …`) with every raw key. A blob
    /// can look versioned by chance (its first nonce byte equals a version byte); the fallback
    /// keeps such blobs readable, and GCM's tag makes a wrong reading fail, never misdecrypt.
    fn open_raw(&self, blob: &[u8], rewrap: bool) -> Result<Option<(u32, Zeroizing<Vec<u8>>)>> {
        use crate::aead::{NONCE_LEN, TAG_LEN};
        let attempt = |b: &[u8], m: &Material| -> Option<Vec<u8>> {
            if b.len() < NONCE_LEN + TAG_LEN {
                return None;
            }
            let nonce: &[u8; NONCE_LEN] = b[..NONCE_LEN].try_into().ok()?;
            m.aead.open(nonce, b"", &b[NONCE_LEN..])
        };
        if let Some((&first, rest)) = blob.split_first() {
            let found = self.try_legacy(KeyKind::RawGcm, rewrap, |m, info| {
                (info.legacy_version_byte == Some(first))
                    .then(|| attempt(rest, m))
                    .flatten()
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        self.try_legacy(KeyKind::RawGcm, rewrap, |m, _| attempt(blob, m))
    }

    /// Tries `open` with each legacy key of `kind` that has material; checks the state of the
    /// one that succeeds.
    fn try_legacy(
        &self,
        kind: KeyKind,
        rewrap: bool,
        open: impl Fn(&Material, &VersionInfo) -> Option<Vec<u8>>,
    ) -> Result<Option<(u32, Zeroizing<Vec<u8>>)>> {
        for version in &self.legacy {
            let Some(slot) = self.slots.get(version) else {
                continue;
            };
            if slot.info.kind != kind {
                continue;
            }
            let Some(material) = &slot.material else {
                continue;
            };
            if let Some(plaintext) = open(material, &slot.info) {
                let plaintext = Zeroizing::new(plaintext);
                self.usable(*version, rewrap)?;
                return Ok(Some((*version, plaintext)));
            }
        }
        Ok(None)
    }
}

/// Shows the id and each version's number and state; never key bytes.
impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let versions: Vec<(u32, KeyState)> = self
            .versions()
            .iter()
            .map(|v| (v.version, v.state))
            .collect();
        f.debug_struct("Keyring")
            .field("id", &self.id)
            .field("active", &self.active)
            .field("versions", &versions)
            .finish_non_exhaustive()
    }
}

/// Wipes a plaintext in bulk. Dropping a `Zeroizing<Vec<u8>>` wipes its elements one volatile
/// byte at a time (zeroize 1.9: about a byte per cycle, 20 µs for 64 KiB, a fifth of a rewrap) but its spare
/// capacity with one `write_bytes` and a compiler barrier; after `clear` the whole allocation is
/// spare capacity, so the same bytes are wiped, in bulk.
fn wipe(mut plaintext: Zeroizing<Vec<u8>>) {
    plaintext.clear();
}

fn check_ttl(ttl: Option<Ttl>, issued_at: Option<u64>) -> Result<()> {
    match (ttl, issued_at) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Error::MissingTimestamp),
        (Some(ttl), Some(t)) => ttl.check(t),
    }
}
