//! `WasmSigningKeyring`: core's `SigningKeyring`, one line per method (the TypeScript API is
//! `js/src/signing.ts`). Algorithms cross as core's names (`hmac_sha256`, `ed25519`); claims
//! cross as JSON text, parsed and written on the JavaScript side.

use crate::convert::{json, secs};
use crate::error::{js, to_js, JsResult};
use js_sys::{Object, Reflect, Uint8Array};
use keyroll::signing::{JwtOptions, SigningAlgorithm};
use keyroll::{KeyState, Policy, Protection, SecretKey, Unlock};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// A signing keyring held in wasm memory; dropping it wipes its keys.
#[wasm_bindgen(js_name = WasmSigningKeyring)]
pub struct SigningKeyring(keyroll::signing::SigningKeyring);

fn algorithm(name: &str) -> JsResult<SigningAlgorithm> {
    SigningAlgorithm::parse(name)
        .ok_or_else(|| to_js(keyroll::Error::InvalidArgument("unknown signing algorithm")))
}

fn master_key(key: Vec<u8>) -> JsResult<SecretKey> {
    js(SecretKey::from_slice(&Zeroizing::new(key)))
}

fn object(fields: &[(&str, JsValue)]) -> Object {
    let out = Object::new();
    for (key, value) in fields {
        // Defining a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&out, &JsValue::from_str(key), value);
    }
    out
}

#[wasm_bindgen(js_class = WasmSigningKeyring)]
impl SigningKeyring {
    /// A new keyring with version 1 of `algorithm` active.
    pub fn generate(algorithm_name: &str, now: f64) -> JsResult<SigningKeyring> {
        js(keyroll::signing::SigningKeyring::generate(
            algorithm(algorithm_name)?,
            secs(now)?,
        ))
        .map(SigningKeyring)
    }

    /// The keyring of an old single secret (v1 `hmac_sha256_legacy`, active).
    #[wasm_bindgen(js_name = fromHmacSecret)]
    pub fn from_hmac_secret(secret: Vec<u8>, now: f64) -> JsResult<SigningKeyring> {
        let secret = Zeroizing::new(secret);
        js(keyroll::signing::SigningKeyring::from_hmac_secret(
            &secret,
            secs(now)?,
        ))
        .map(SigningKeyring)
    }

    /// Opens a passphrase-sealed signing keyring document.
    #[wasm_bindgen(js_name = fromDocumentPassphrase)]
    pub fn from_document_passphrase(
        document: &[u8],
        passphrase: Vec<u8>,
    ) -> JsResult<SigningKeyring> {
        let passphrase = Zeroizing::new(passphrase);
        js(keyroll::signing::SigningKeyring::from_document(
            document,
            Unlock::Passphrase(&passphrase),
        ))
        .map(SigningKeyring)
    }

    /// Opens a signing keyring document sealed under a 32-byte master key.
    #[wasm_bindgen(js_name = fromDocumentMasterKey)]
    pub fn from_document_master_key(document: &[u8], key: Vec<u8>) -> JsResult<SigningKeyring> {
        let key = master_key(key)?;
        js(keyroll::signing::SigningKeyring::from_document(
            document,
            Unlock::MasterKey(&key),
        ))
        .map(SigningKeyring)
    }

    /// A verify-only keyring from a public keyset (JSON text).
    #[wasm_bindgen(js_name = fromPublicKeyset)]
    pub fn from_public_keyset(keyset: &str) -> JsResult<SigningKeyring> {
        js(keyroll::signing::SigningKeyring::from_public_keyset(keyset)).map(SigningKeyring)
    }

    /// Seals under a passphrase.
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

    /// The active (signing) version, if any.
    #[wasm_bindgen(getter, js_name = activeVersion)]
    pub fn active_version(&self) -> Option<u32> {
        self.0.active_version()
    }

    /// Versions below this refuse to verify.
    #[wasm_bindgen(getter, js_name = minVersion)]
    pub fn min_version(&self) -> u32 {
        self.0.min_version()
    }

    /// Whether this keyring came from a public keyset.
    #[wasm_bindgen(getter, js_name = verifyOnly)]
    pub fn verify_only(&self) -> bool {
        self.0.is_verify_only()
    }

    /// The algorithm of a version (`undefined` for an unknown one).
    #[wasm_bindgen(js_name = algorithmOf)]
    pub fn algorithm_of(&self, version: u32) -> Option<String> {
        self.0.algorithm(version).map(|a| a.as_str().to_owned())
    }

    /// The `kid` of a version.
    pub fn kid(&self, version: u32) -> String {
        keyroll::signing::kid(self.0.id(), version)
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

    /// Sets the minimum version that verifies.
    #[wasm_bindgen(js_name = setMinVersion)]
    pub fn set_min_version(&mut self, minimum: u32) -> JsResult<()> {
        js(self.0.set_min_version(minimum))
    }

    /// Adds a pending version of `algorithm`; returns it.
    #[wasm_bindgen(js_name = addVersion)]
    pub fn add_version(&mut self, algorithm_name: &str, now: f64) -> JsResult<u32> {
        js(self.0.add_version(algorithm(algorithm_name)?, secs(now)?))
    }

    /// Makes a pending or verify-only version the one that signs.
    pub fn promote(&mut self, version: u32, now: f64) -> JsResult<()> {
        js(self.0.promote(version, secs(now)?))
    }

    /// A new version of the active one's algorithm, promoted at once.
    pub fn rotate(&mut self, now: f64) -> JsResult<u32> {
        js(self.0.rotate(secs(now)?))
    }

    /// A new version of `algorithm`, promoted at once.
    #[wasm_bindgen(js_name = rotateTo)]
    pub fn rotate_to(&mut self, algorithm_name: &str, now: f64) -> JsResult<u32> {
        js(self.0.rotate_to(algorithm(algorithm_name)?, secs(now)?))
    }

    /// Rotates and marks the old active version compromised.
    #[wasm_bindgen(js_name = emergencyRotate)]
    pub fn emergency_rotate(&mut self, reason: &str, now: f64) -> JsResult<u32> {
        js(self.0.emergency_rotate(reason, secs(now)?))
    }

    /// Moves a version to another state.
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

    /// Imports an old secret as a verify-only legacy HMAC version; returns it.
    #[wasm_bindgen(js_name = importHmacSecret)]
    pub fn import_hmac_secret(&mut self, secret: Vec<u8>, now: f64) -> JsResult<u32> {
        let secret = Zeroizing::new(secret);
        js(self.0.import_hmac_secret(&secret, secs(now)?))
    }

    /// Signs `message` for `context`: `krs1:v<N>:…`.
    pub fn sign(&self, message: &[u8], context: &[u8]) -> JsResult<String> {
        js(self.0.sign(message, context))
    }

    /// [`SigningKeyring::sign`] in binary form.
    #[wasm_bindgen(js_name = signBinary)]
    pub fn sign_binary(&self, message: &[u8], context: &[u8]) -> JsResult<Vec<u8>> {
        js(self.0.sign_binary(message, context))
    }

    /// Verifies a signed message: `{ message, keyVersion, algorithm }`.
    pub fn verify(&self, signed: &[u8], context: &[u8]) -> JsResult<Object> {
        let v = js(self.0.verify(signed, context))?;
        Ok(object(&[
            ("message", Uint8Array::from(v.message.as_slice()).into()),
            ("keyVersion", v.key_version.into()),
            ("algorithm", JsValue::from_str(v.algorithm.as_str())),
        ]))
    }

    /// Signs a JWT with the active version (`claims_json`: a JSON object).
    #[wasm_bindgen(js_name = signJwt)]
    pub fn sign_jwt(&self, claims_json: &str, now: f64) -> JsResult<String> {
        js(self.0.sign_jwt(claims_json, secs(now)?))
    }

    /// Verifies a JWT and its claims: `{ claims (JSON text), keyVersion, algorithm }`.
    #[wasm_bindgen(js_name = verifyJwt)]
    pub fn verify_jwt(
        &self,
        token: &str,
        leeway: f64,
        audience: Option<String>,
        issuer: Option<String>,
        required: Vec<String>,
        now: f64,
    ) -> JsResult<Object> {
        let options = JwtOptions {
            leeway: secs(leeway)?,
            audience,
            issuer,
            required,
        };
        let v = js(self.0.verify_jwt(token, &options, secs(now)?))?;
        Ok(object(&[
            ("claims", JsValue::from_str(&v.claims)),
            ("keyVersion", v.key_version.into()),
            ("algorithm", JsValue::from_str(v.algorithm.as_str())),
        ]))
    }

    /// The public keyset (JSON text, public keys only).
    #[wasm_bindgen(js_name = publicKeyset)]
    pub fn public_keyset(&self) -> JsResult<String> {
        js(self.0.public_keyset())
    }

    /// The JWKS (JSON text) of the Ed25519 versions that verify.
    pub fn jwks(&self) -> JsResult<String> {
        js(self.0.jwks())
    }
}
