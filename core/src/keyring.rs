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
    /// The generation of the stored document this keyring was loaded from (0 for a new one);
    /// [`Keyring::to_document`] seals `generation + 1`, so a store can refuse a stale save.
    pub(crate) generation: u64,
}

/// A decrypted payload and the timestamp it was issued at, if it carried one.
struct Opened {
    plaintext: Zeroizing<Vec<u8>>,
    version: u32,
    issued_at: Option<u64>,
}

/// What a rewrap may read.
///
/// By default a rewrap reads exactly what `decrypt` reads. Data under a **compromised** version
/// is unverified: whoever stole that key can forge envelopes under it, and a rewrap would
/// launder each forgery into an envelope under the new, trusted key. Reading it is therefore an
/// explicit opt-in, and every result says whether it came from a compromised version so that
/// callers count and audit such reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RewrapOptions {
    /// Also read versions in the `compromised` state (to move data off them).
    pub allow_compromised: bool,
}

/// A rewrapped token and the version it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrapped<T> {
    /// The new envelope (text or binary, as asked).
    pub token: T,
    /// The key version that authenticated the input.
    pub from_version: u32,
    /// Whether that version is compromised (its data is unverified; see [`RewrapOptions`]).
    pub from_compromised: bool,
}

/// One item of [`Keyring::rewrap_batch`].
#[derive(Clone, Copy, Debug)]
pub struct RewrapRequest<'a> {
    /// The token to read.
    pub token: &'a [u8],
    /// The context it was written with.
    pub from: &'a [u8],
    /// The context to write the new envelope with.
    pub to: &'a [u8],
    /// Write the binary form (else the text form, as ASCII bytes).
    pub binary: bool,
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
            generation: 0,
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

    /// The generation of the stored document this keyring was loaded from or last saved as
    /// (0 for a keyring never stored). Saving seals `generation() + 1`.
    pub fn generation(&self) -> u64 {
        self.generation
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
    ///
    /// The minimum orders ordinary versions only: it must be below 2^31, and it never applies
    /// to Fernet versions (whose numbers are hashes); retire those with states instead.
    pub fn set_min_version(&mut self, minimum: u32) -> Result<()> {
        self.writable()?;
        if minimum & fernet::FERNET_VERSION_BIT != 0 {
            return Err(Error::InvalidArgument(
                "the minimum version applies to ordinary versions (below 2^31) only",
            ));
        }
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
    ///
    /// All or nothing: if two different keys (in the list, or one in the list and one already
    /// here) map to the same 31-bit version, the whole import is refused and nothing changes;
    /// keeping either key silently would make the other's tokens unreadable.
    pub fn import_fernet(&mut self, keys: &[FernetKey], now: u64) -> Result<Vec<u32>> {
        self.writable()?;
        for (i, key) in keys.iter().enumerate() {
            let version = key.keyroll_version();
            let same_key = |other: &FernetKey| other.secret() == key.secret();
            let clash_in_list = keys[..i]
                .iter()
                .any(|k| k.keyroll_version() == version && !same_key(k));
            let clash_here = self.slots.get(&version).is_some_and(|slot| {
                slot.info.kind != KeyKind::Fernet
                    || slot
                        .material
                        .as_ref()
                        .is_some_and(|m| m.secret != *key.secret())
            });
            if clash_in_list || clash_here {
                return Err(Error::InvalidKey(
                    "two different Fernet keys map to the same keyroll version; keep them in separate keyrings",
                ));
            }
        }
        let mut versions = Vec::with_capacity(keys.len());
        for key in keys {
            let version = key.keyroll_version();
            match self.slots.get(&version) {
                Some(_) => {}
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

    /// A copy that can only decrypt, for apps that must read but never write: exactly the
    /// `versions` named (at least one), each `active` or `decrypt_only` in this keyring and
    /// exported as `decrypt_only`; every change on the copy is refused.
    ///
    /// Compromised, disabled, destroyed and pending versions are refused
    /// ([`Error::InvalidArgument`]), so a shipped export never carries material this keyring
    /// no longer trusts or does not use yet. Seal the copy under its own credential: whoever
    /// holds it can decrypt, and (the keys being symmetric) also forge envelopes for its
    /// versions.
    pub fn export_decrypt_only(&self, versions: &[u32]) -> Result<Keyring> {
        if versions.is_empty() {
            return Err(Error::InvalidArgument(
                "name the versions to export (the active one and the decrypt-only ones apps read)",
            ));
        }
        let mut out = Keyring::empty(self.id, Rng::System);
        out.min_version = self.min_version;
        out.policy = self.policy;
        for &version in versions {
            let slot = self
                .slots
                .get(&version)
                .ok_or(Error::UnknownKeyVersion(version))?;
            let material = match (slot.info.state, &slot.material) {
                (KeyState::Active | KeyState::DecryptOnly, Some(m)) => m,
                _ => {
                    return Err(Error::InvalidArgument(
                        "only active and decrypt-only versions can be exported",
                    ))
                }
            };
            let mut info = slot.info.clone();
            info.state = KeyState::DecryptOnly;
            out.insert(info, material.secret.clone());
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
        let writer = self.writer()?;
        let nonce = self.rng.nonce()?;
        Ok(Self::seal_with(
            writer, &nonce, plaintext, context, issued_at,
        ))
    }

    /// Seals under `writer` with a nonce the caller drew for this one message.
    fn seal_with(
        (version, keyring_id, material): (u32, KeyringId, &Material),
        nonce: &[u8; crate::aead::NONCE_LEN],
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Vec<u8> {
        let header = Header {
            keyring_id,
            version,
            issued_at,
        };
        envelope::seal(&material.aead, &header, nonce, context, plaintext)
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

    /// Re-encrypts any token `decrypt` could read under the active version, keeping its
    /// issued-at time. The plaintext never leaves this function and is wiped. A token under a
    /// compromised version is refused ([`Error::KeyCompromised`]); see
    /// [`Keyring::rewrap_binary_to_context_with`] to move such data deliberately.
    pub fn rewrap_binary(&self, token: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        self.rewrap_binary_to_context(token, context, context)
    }

    /// [`Keyring::rewrap_binary`] to the text form.
    pub fn rewrap(&self, token: &[u8], context: &[u8]) -> Result<String> {
        self.rewrap_to_context(token, context, context)
    }

    /// Rewraps under a new context: the token is read with `from` and written with `to`, its
    /// issued-at kept, the plaintext never leaving core. This is how legacy tokens (which carry
    /// no context) move to per-row contexts such as `users:42:ssn`.
    pub fn rewrap_to_context(&self, token: &[u8], from: &[u8], to: &[u8]) -> Result<String> {
        Ok(self
            .rewrap_to_context_with(token, from, to, RewrapOptions::default())?
            .token)
    }

    /// [`Keyring::rewrap_to_context`] to the binary form.
    pub fn rewrap_binary_to_context(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<u8>> {
        Ok(self
            .rewrap_binary_to_context_with(token, from, to, RewrapOptions::default())?
            .token)
    }

    /// [`Keyring::rewrap_to_context`] with options; says which version the token came from.
    pub fn rewrap_to_context_with(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
        options: RewrapOptions,
    ) -> Result<Rewrapped<String>> {
        let nonce = self.rng.nonce()?;
        let out = self.rewrap_one(token, from, to, options, &nonce)?;
        let version = self.active.ok_or(Error::NoActiveKey)?;
        Ok(Rewrapped {
            token: envelope::to_text(&out.token, version),
            from_version: out.from_version,
            from_compromised: out.from_compromised,
        })
    }

    /// [`Keyring::rewrap_binary_to_context`] with options; says which version the token came
    /// from.
    pub fn rewrap_binary_to_context_with(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
        options: RewrapOptions,
    ) -> Result<Rewrapped<Vec<u8>>> {
        let nonce = self.rng.nonce()?;
        self.rewrap_one(token, from, to, options, &nonce)
    }

    /// Rewraps a batch (a migration chunk): one result per item, in order, so one bad row does
    /// not hide the others. All nonces of the batch are drawn with one call and used only here.
    /// Text output is the ASCII bytes of the text form.
    pub fn rewrap_batch(
        &self,
        items: &[RewrapRequest<'_>],
        options: RewrapOptions,
    ) -> Vec<Result<Rewrapped<Vec<u8>>>> {
        let drawn = self
            .rng
            .nonces(items.len())
            .and_then(|n| Ok((n, self.active.ok_or(Error::NoActiveKey)?)));
        let (mut nonces, version) = match drawn {
            Ok(ok) => ok,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        items
            .iter()
            .map(|item| {
                let nonce = nonces.take()?;
                let mut out = self.rewrap_one(item.token, item.from, item.to, options, &nonce)?;
                if !item.binary {
                    out.token = envelope::to_text(&out.token, version).into_bytes();
                }
                Ok(out)
            })
            .collect()
    }

    /// Opens `token` (with `from`) and seals its plaintext under the active version (with `to`),
    /// keeping its issued-at; the plaintext is wiped before returning.
    fn rewrap_one(
        &self,
        token: &[u8],
        from: &[u8],
        to: &[u8],
        options: RewrapOptions,
        nonce: &[u8; crate::aead::NONCE_LEN],
    ) -> Result<Rewrapped<Vec<u8>>> {
        let writer = self.writer()?;
        let opened = self.open(token, from, options.allow_compromised)?;
        let sealed = Self::seal_with(writer, nonce, &opened.plaintext, to, opened.issued_at);
        let from_compromised = self
            .slots
            .get(&opened.version)
            .is_some_and(|s| s.info.state == KeyState::Compromised);
        let from_version = opened.version;
        wipe(opened.plaintext);
        Ok(Rewrapped {
            token: sealed,
            from_version,
            from_compromised,
        })
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
        let writer = self.writer()?;
        let mut nonces = self.rng.nonces(items.len())?;
        items
            .iter()
            .map(|item| {
                let nonce = nonces.take()?;
                let binary = Self::seal_with(writer, &nonce, item.as_ref(), context, issued_at);
                Ok(envelope::to_text(&binary, writer.0))
            })
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
        self.rewrap_many_with(tokens, context, RewrapOptions::default())
            .into_iter()
            .map(|r| r.map(|r| r.token))
            .collect()
    }

    /// [`Keyring::rewrap_many`] with options; each result says which version it came from.
    /// All nonces of the batch are drawn with one call.
    pub fn rewrap_many_with<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        context: &[u8],
        options: RewrapOptions,
    ) -> Vec<Result<Rewrapped<String>>> {
        let items: Vec<RewrapRequest<'_>> = tokens
            .iter()
            .map(|t| RewrapRequest {
                token: t.as_ref(),
                from: context,
                to: context,
                binary: false,
            })
            .collect();
        self.rewrap_batch(&items, options)
            .into_iter()
            .map(|r| {
                r.map(|r| Rewrapped {
                    // Text output is ASCII by construction.
                    token: String::from_utf8_lossy(&r.token).into_owned(),
                    from_version: r.from_version,
                    from_compromised: r.from_compromised,
                })
            })
            .collect()
    }

    /// The material of `version`, if this operation may use it in its state.
    fn usable(&self, version: u32, allow_compromised: bool) -> Result<&Material> {
        let slot = self
            .slots
            .get(&version)
            .ok_or(Error::UnknownKeyVersion(version))?;
        // The minimum orders the ordinary sequence 1, 2, 3…; Fernet version numbers are hashes
        // (bit 31 set) with no order, so the minimum never applies to them (states do).
        if version & fernet::FERNET_VERSION_BIT == 0 && version < self.min_version {
            return Err(Error::BelowMinimumVersion {
                version,
                minimum: self.min_version,
            });
        }
        match slot.info.state {
            KeyState::Disabled => Err(Error::KeyDisabled(version)),
            KeyState::Compromised if !allow_compromised => Err(Error::KeyCompromised(version)),
            KeyState::Destroyed => Err(Error::KeyDestroyed(version)),
            _ => slot.material.as_ref().ok_or(Error::KeyDestroyed(version)),
        }
    }

    fn open(&self, token: &[u8], context: &[u8], allow_compromised: bool) -> Result<Opened> {
        if token.starts_with(&envelope::MAGIC) {
            self.open_v1(&envelope::parse_binary(token)?, context, allow_compromised)
        } else if envelope::looks_like_text(token) {
            let text = envelope::decode_text(token).and_then(|(version, binary)| {
                let parsed = envelope::parse_decoded(version, &binary)?;
                self.open_v1(&parsed, context, allow_compromised)
            });
            match text {
                // About one raw-GCM blob in 26,000 has base64 starting with `kr` and a digit.
                // When imported raw keys open it (the GCM tag decides), it is one of those;
                // otherwise the text reading's error stands.
                Err(text_error) if self.has_legacy(KeyKind::RawGcm) && context.is_empty() => {
                    let Ok(blob) = raw_gcm::decode(token) else {
                        return Err(text_error);
                    };
                    match self.open_raw(&blob, allow_compromised)? {
                        Some((version, plaintext)) => Ok(Opened {
                            plaintext,
                            version,
                            issued_at: None,
                        }),
                        None => Err(text_error),
                    }
                }
                other => other,
            }
        } else {
            self.open_legacy(token, context, allow_compromised)
        }
    }

    fn open_v1(
        &self,
        parsed: &Parsed<'_>,
        context: &[u8],
        allow_compromised: bool,
    ) -> Result<Opened> {
        let header = parsed.header;
        let fernet_derived = header.version & fernet::FERNET_VERSION_BIT != 0
            && header.keyring_id == fernet_keyring_id();
        if header.keyring_id != self.id && !fernet_derived {
            return Err(Error::WrongKeyring);
        }
        let material = self.usable(header.version, allow_compromised)?;
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
    fn open_legacy(&self, token: &[u8], context: &[u8], allow_compromised: bool) -> Result<Opened> {
        let has_fernet = self.has_legacy(KeyKind::Fernet);
        let has_raw = self.has_legacy(KeyKind::RawGcm);
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
                    let found = self.try_legacy(KeyKind::Fernet, allow_compromised, |m, _| {
                        tok.open(m.fernet.as_ref()?)
                    })?;
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
                    if let Some((version, plaintext)) = self.open_raw(&blob, allow_compromised)? {
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

    /// Whether a legacy key of `kind` is imported.
    fn has_legacy(&self, kind: KeyKind) -> bool {
        self.legacy
            .iter()
            .any(|v| self.slots.get(v).is_some_and(|s| s.info.kind == kind))
    }

    /// Raw blobs: first the versioned reading (`version byte ‖ nonce ‖ …`) with the key whose
    /// version byte matches, then the plain reading (`nonce ‖ …`) with every raw key. A blob
    /// can look versioned by chance (its first nonce byte equals a version byte); the fallback
    /// keeps such blobs readable, and GCM's tag makes a wrong reading fail, never misdecrypt.
    fn open_raw(
        &self,
        blob: &[u8],
        allow_compromised: bool,
    ) -> Result<Option<(u32, Zeroizing<Vec<u8>>)>> {
        use crate::aead::{NONCE_LEN, TAG_LEN};
        let attempt = |b: &[u8], m: &Material| -> Option<Vec<u8>> {
            if b.len() < NONCE_LEN + TAG_LEN {
                return None;
            }
            let nonce: &[u8; NONCE_LEN] = b[..NONCE_LEN].try_into().ok()?;
            m.aead.open(nonce, b"", &b[NONCE_LEN..])
        };
        if let Some((&first, rest)) = blob.split_first() {
            let found = self.try_legacy(KeyKind::RawGcm, allow_compromised, |m, info| {
                (info.legacy_version_byte == Some(first))
                    .then(|| attempt(rest, m))
                    .flatten()
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        self.try_legacy(KeyKind::RawGcm, allow_compromised, |m, _| attempt(blob, m))
    }

    /// Tries `open` with each legacy key of `kind` that has material; checks the state of the
    /// one that succeeds.
    fn try_legacy(
        &self,
        kind: KeyKind,
        allow_compromised: bool,
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
                self.usable(*version, allow_compromised)?;
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
