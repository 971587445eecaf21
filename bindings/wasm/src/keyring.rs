//! `WasmKeyring`: core's `Keyring`, one line per method.
//!
//! Owned by one JavaScript object; wasm is single-threaded and wasm-bindgen refuses aliasing
//! borrows at run time, so no lock is needed. Dropping it (explicit `free()`, `Symbol.dispose`,
//! or wasm-bindgen's `FinalizationRegistry`) wipes every key in core's zeroizing types.

use crate::convert::{json, opt_secs, opt_u64, secs, ttl};
use crate::error::{js, to_js, JsResult};
use js_sys::{Array, Object, Reflect, Uint8Array};
use keyroll::{
    FernetKey, KeyState, Policy, Protection, RawGcmImport, RawGcmKey, RewrapOptions, SecretKey,
    Unlock,
};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// A keyring held in wasm memory.
#[wasm_bindgen(js_name = WasmKeyring)]
pub struct Keyring(pub(crate) keyroll::Keyring);

fn master_key(key: Vec<u8>) -> JsResult<SecretKey> {
    js(SecretKey::from_slice(&Zeroizing::new(key)))
}

fn fernet_keys(keys: Vec<String>) -> JsResult<Vec<FernetKey>> {
    keys.into_iter()
        .map(|k| js(FernetKey::from_base64(Zeroizing::new(k).as_bytes())))
        .collect()
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// Per-item results: a value, or the converted error in its place.
fn results<T: Into<JsValue>>(items: Vec<keyroll::Result<T>>) -> Array {
    items
        .into_iter()
        .map(|r| r.map_or_else(to_js, Into::into))
        .collect()
}

#[wasm_bindgen(js_class = WasmKeyring)]
impl Keyring {
    /// A new keyring with version 1 active.
    pub fn generate(now: f64) -> JsResult<Keyring> {
        js(keyroll::Keyring::generate(secs(now)?)).map(Keyring)
    }

    /// Opens a passphrase-sealed document.
    #[wasm_bindgen(js_name = fromDocumentPassphrase)]
    pub fn from_document_passphrase(document: &[u8], passphrase: Vec<u8>) -> JsResult<Keyring> {
        let passphrase = Zeroizing::new(passphrase);
        js(keyroll::Keyring::from_document(
            document,
            Unlock::Passphrase(&passphrase),
        ))
        .map(Keyring)
    }

    /// Opens a document sealed under a 32-byte master key.
    #[wasm_bindgen(js_name = fromDocumentMasterKey)]
    pub fn from_document_master_key(document: &[u8], key: Vec<u8>) -> JsResult<Keyring> {
        let key = master_key(key)?;
        js(keyroll::Keyring::from_document(
            document,
            Unlock::MasterKey(&key),
        ))
        .map(Keyring)
    }

    /// The deterministic keyring of a Fernet key list (primary first, base64url strings).
    #[wasm_bindgen(js_name = fromFernetKeys)]
    pub fn from_fernet_keys(keys: Vec<String>, now: f64) -> JsResult<Keyring> {
        js(keyroll::Keyring::from_fernet_keys(
            &fernet_keys(keys)?,
            secs(now)?,
        ))
        .map(Keyring)
    }

    /// Seals under a passphrase (PBKDF2-HMAC-SHA256 with `iterations`).
    #[wasm_bindgen(js_name = toDocumentPassphrase)]
    pub fn to_document_passphrase(
        &self,
        passphrase: Vec<u8>,
        iterations: u32,
    ) -> JsResult<Vec<u8>> {
        let passphrase = Zeroizing::new(passphrase);
        js(self.0.to_document(Protection::Passphrase {
            passphrase: &passphrase,
            iterations,
        }))
    }

    /// Seals under a 32-byte master key.
    #[wasm_bindgen(js_name = toDocumentMasterKey)]
    pub fn to_document_master_key(&self, key: Vec<u8>) -> JsResult<Vec<u8>> {
        js(self.0.to_document(Protection::MasterKey(&master_key(key)?)))
    }

    /// The keyring id, in hex.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.0.id().to_hex()
    }

    /// The active version, if any.
    #[wasm_bindgen(getter, js_name = activeVersion)]
    pub fn active_version(&self) -> Option<u32> {
        self.0.active_version()
    }

    /// Versions below this refuse to decrypt (0: none).
    #[wasm_bindgen(getter, js_name = minVersion)]
    pub fn min_version(&self) -> u32 {
        self.0.min_version()
    }

    /// Whether this is a decrypt-only export.
    #[wasm_bindgen(getter, js_name = readOnly)]
    pub fn read_only(&self) -> bool {
        self.0.is_read_only()
    }

    /// Every version's metadata, as core's JSON.
    #[wasm_bindgen(js_name = versionsJson)]
    pub fn versions_json(&self) -> String {
        json(&self.0.versions())
    }

    /// The rotation policy, as core's JSON.
    #[wasm_bindgen(js_name = policyJson)]
    pub fn policy_json(&self) -> String {
        json(&self.0.policy())
    }

    /// Replaces the rotation policy.
    #[wasm_bindgen(js_name = setPolicy)]
    pub fn set_policy(&mut self, rotate_after_days: u32, warn_after_days: u32) -> JsResult<()> {
        js(self.0.set_policy(Policy {
            rotate_after_days,
            warn_after_days,
        }))
    }

    /// The policy verdict at `now`, as core's JSON.
    #[wasm_bindgen(js_name = checkPolicyJson)]
    pub fn check_policy_json(&self, now: f64) -> JsResult<String> {
        Ok(json(&self.0.check_policy(secs(now)?)))
    }

    /// Sets the minimum decryptable version.
    #[wasm_bindgen(js_name = setMinVersion)]
    pub fn set_min_version(&mut self, minimum: u32) -> JsResult<()> {
        js(self.0.set_min_version(minimum))
    }

    /// Adds a pending version; returns it.
    #[wasm_bindgen(js_name = addVersion)]
    pub fn add_version(&mut self, now: f64) -> JsResult<u32> {
        js(self.0.add_version(secs(now)?))
    }

    /// Makes a pending or decrypt-only version active.
    pub fn promote(&mut self, version: u32, now: f64) -> JsResult<()> {
        js(self.0.promote(version, secs(now)?))
    }

    /// Adds a version and makes it active; returns it.
    pub fn rotate(&mut self, now: f64) -> JsResult<u32> {
        js(self.0.rotate(secs(now)?))
    }

    /// Rotates and marks the old active version compromised.
    #[wasm_bindgen(js_name = emergencyRotate)]
    pub fn emergency_rotate(&mut self, reason: &str, now: f64) -> JsResult<u32> {
        js(self.0.emergency_rotate(reason, secs(now)?))
    }

    /// Moves a version to another state (`decrypt_only`, `disabled`, …).
    #[wasm_bindgen(js_name = setState)]
    pub fn set_state(
        &mut self,
        version: u32,
        state: &str,
        note: Option<String>,
        now: f64,
    ) -> JsResult<()> {
        let state = KeyState::parse(state)
            .ok_or_else(|| to_js(keyroll::Error::InvalidArgument("unknown key state")))?;
        js(self
            .0
            .set_state(version, state, note.as_deref(), secs(now)?))
    }

    /// Imports Fernet keys (base64url strings) as decrypt-only versions; returns them.
    #[wasm_bindgen(js_name = importFernet)]
    pub fn import_fernet(&mut self, keys: Vec<String>, now: f64) -> JsResult<Vec<u32>> {
        js(self.0.import_fernet(&fernet_keys(keys)?, secs(now)?))
    }

    /// Imports a raw AES-256-GCM key (32 bytes) as a decrypt-only version.
    #[wasm_bindgen(js_name = importRawGcmKey)]
    pub fn import_raw_gcm_key(
        &mut self,
        key: Vec<u8>,
        version_byte: Option<u8>,
        now: f64,
    ) -> JsResult<u32> {
        let import = RawGcmImport {
            key: RawGcmKey::Bytes(Zeroizing::new(key)),
            version_byte,
        };
        js(self.0.import_raw_gcm(&import, secs(now)?))
    }

    /// Imports a raw AES-256-GCM key derived by PBKDF2-HMAC-SHA256 from a password.
    #[wasm_bindgen(js_name = importRawGcmPbkdf2)]
    pub fn import_raw_gcm_pbkdf2(
        &mut self,
        password: Vec<u8>,
        salt_pattern: String,
        iterations: u32,
        version_byte: Option<u8>,
        now: f64,
    ) -> JsResult<u32> {
        let key = RawGcmKey::Pbkdf2 {
            password: Zeroizing::new(password),
            salt_pattern,
            iterations,
        };
        js(self
            .0
            .import_raw_gcm(&RawGcmImport { key, version_byte }, secs(now)?))
    }

    /// A decrypt-only copy holding `versions` (all if absent).
    #[wasm_bindgen(js_name = exportDecryptOnly)]
    pub fn export_decrypt_only(&self, versions: Vec<u32>) -> JsResult<Keyring> {
        js(self.0.export_decrypt_only(&versions)).map(Keyring)
    }

    /// HKDF-derived key for `purpose` from the active version: `[version, bytes]`.
    #[wasm_bindgen(js_name = deriveKey)]
    pub fn derive_key(&self, purpose: &[u8], length: usize) -> JsResult<Array> {
        let (version, key) = js(self.0.derive_key(purpose, length))?;
        Ok(Array::of2(&version.into(), &Uint8Array::from(&key[..])))
    }

    /// [`Keyring::decrypt`] for a token given as a string.
    #[wasm_bindgen(js_name = decryptText)]
    pub fn decrypt_text(
        &self,
        token: &str,
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
    ) -> JsResult<Vec<u8>> {
        js(self
            .0
            .decrypt(token.as_bytes(), context, ttl(ttl_seconds, now)?))
    }

    /// Authenticates without returning the plaintext: `{ keyVersion, issuedAt }`.
    pub fn verify(
        &self,
        token: &[u8],
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
    ) -> JsResult<Object> {
        let verified = js(self.0.verify(token, context, ttl(ttl_seconds, now)?))?;
        let out = Object::new();
        set(&out, "keyVersion", &verified.key_version.into());
        set(&out, "issuedAt", &opt_u64(verified.issued_at));
        Ok(out)
    }

    /// Re-encrypts under the active version (text form), keeping the issued-at time; reads a
    /// compromised version only if `allow_compromised`.
    pub fn rewrap(
        &self,
        token: &[u8],
        context: &[u8],
        allow_compromised: bool,
    ) -> JsResult<String> {
        let options = RewrapOptions { allow_compromised };
        js(self
            .0
            .rewrap_to_context_with(token, context, context, options))
        .map(|r| r.token)
    }

    /// Re-encrypts under the active version (binary form).
    #[wasm_bindgen(js_name = rewrapBinary)]
    pub fn rewrap_binary(
        &self,
        token: &[u8],
        context: &[u8],
        allow_compromised: bool,
    ) -> JsResult<Vec<u8>> {
        let options = RewrapOptions { allow_compromised };
        js(self
            .0
            .rewrap_binary_to_context_with(token, context, context, options))
        .map(|r| r.token)
    }

    /// Whether `rewrap` would change `token` (reads its header only).
    #[wasm_bindgen(js_name = needsRewrap)]
    pub fn needs_rewrap(&self, token: &[u8]) -> JsResult<bool> {
        js(self.0.needs_rewrap(token))
    }

    /// Encrypts each item (text form).
    #[wasm_bindgen(js_name = encryptMany)]
    pub fn encrypt_many(
        &self,
        items: Vec<Uint8Array>,
        context: &[u8],
        issued_at: Option<f64>,
    ) -> JsResult<Vec<String>> {
        let items: Vec<Vec<u8>> = items.iter().map(Uint8Array::to_vec).collect();
        js(self.0.encrypt_many(&items, context, opt_secs(issued_at)?))
    }

    /// Decrypts each token: a `Uint8Array` or a `KeyrollError` per item.
    #[wasm_bindgen(js_name = decryptMany)]
    pub fn decrypt_many(
        &self,
        tokens: Vec<Uint8Array>,
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
    ) -> JsResult<Array> {
        let tokens: Vec<Vec<u8>> = tokens.iter().map(Uint8Array::to_vec).collect();
        let out = self
            .0
            .decrypt_many(&tokens, context, ttl(ttl_seconds, now)?);
        Ok(results(
            out.into_iter()
                .map(|r| r.map(|p| Uint8Array::from(&p[..])))
                .collect(),
        ))
    }

    /// Rewraps each token: `{ token, fromVersion, fromCompromised }` or a `KeyrollError` per
    /// item (the TypeScript wrapper turns these into tokens and per-version counts).
    #[wasm_bindgen(js_name = rewrapMany)]
    pub fn rewrap_many(
        &self,
        tokens: Vec<Uint8Array>,
        context: &[u8],
        allow_compromised: bool,
    ) -> Array {
        let tokens: Vec<Vec<u8>> = tokens.iter().map(Uint8Array::to_vec).collect();
        let options = RewrapOptions { allow_compromised };
        let out = self.0.rewrap_many_with(&tokens, context, options);
        results(
            out.into_iter()
                .map(|r| {
                    r.map(|r| {
                        let item = Object::new();
                        set(&item, "token", &r.token.into());
                        set(&item, "fromVersion", &r.from_version.into());
                        set(&item, "fromCompromised", &r.from_compromised.into());
                        item
                    })
                })
                .collect(),
        )
    }
}

crate::reads::shared_reads! {
    Keyring as WasmKeyring, self.0;
    #[doc = " Encrypts to the text form `kr1:v<N>:…`."]
    encrypt;
    #[doc = " Encrypts to the binary form."]
    encrypt_binary;
    #[doc = " Decrypts any token this keyring reads (text or binary v1, legacy Fernet or raw GCM)."]
    decrypt;
}
