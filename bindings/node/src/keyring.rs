//! `WasmKeyring` (the wasm layer's name, so `js/src` is one code path over either module):
//! core's `Keyring`, one line per method.
//!
//! Owned by one JavaScript object on one thread (napi-rs refuses to unwrap it elsewhere), so no
//! lock is needed. `free()` or garbage collection (napi's finalizer) drops it, which wipes every
//! key in core's zeroizing types.

use crate::bytes::{ascii, copied, Bytes, OutArg, Text, TextArg};
use crate::convert::{json, maybe, opt_secs, opt_u64, secs, ttl, Maybe};
use crate::error::{error_value, run, to_js};
use crate::ops;
use keyroll::{
    Error, FernetKey, KeyState, Policy, Protection, RawGcmImport, RawGcmKey, RewrapOptions,
    SecretKey, Unlock,
};
use napi::bindgen_prelude::Uint32Array;
use napi::Env;
use napi_derive::napi;
use zeroize::Zeroizing;

/// A keyring held by the addon; `None` once freed.
#[napi(js_name = "WasmKeyring")]
pub struct Keyring {
    inner: Option<keyroll::Keyring>,
}

/// What `verify` reports (`issuedAt` is `undefined` when absent, as from the wasm layer).
#[napi(object, object_from_js = false)]
pub struct Verified {
    /// The version that opened the token.
    pub key_version: u32,
    /// When it was issued, if the header says.
    pub issued_at: Maybe<f64>,
}

/// One item of `rewrapMany`.
#[napi(object, object_from_js = false)]
pub struct Rewrapped {
    /// The new token (text form).
    pub token: String,
    /// The version the old token was under.
    pub from_version: u32,
    /// Whether that version was compromised (the data is unverified).
    pub from_compromised: bool,
}

fn master_key(key: &[u8]) -> keyroll::Result<SecretKey> {
    SecretKey::from_slice(key)
}

fn fernet_keys(keys: Vec<String>) -> keyroll::Result<Vec<FernetKey>> {
    keys.into_iter()
        .map(|k| FernetKey::from_base64(Zeroizing::new(k).as_bytes()))
        .collect()
}

/// Core's result written straight into a new `Uint8Array`, or its error thrown.
pub(crate) fn into_js(
    env: &Env,
    result: napi::Result<keyroll::Result<Bytes>>,
) -> napi::Result<Bytes> {
    result?.map_err(|e| to_js(env, &e))
}

/// The body of `decryptInto`: -1 when the plaintext does not fit in `out` (or its length is
/// known only after decryption), else core's `decrypt_into`, which wipes `out` on failure.
fn into_scratch(
    env: &Env,
    keyring: &Keyring,
    token: &[u8],
    context: &[u8],
    ttl_seconds: Option<f64>,
    now: f64,
    out: OutArg,
) -> napi::Result<i64> {
    match keyroll::Keyring::plaintext_len(token) {
        Some(len) if len <= out.0.len() => run(env, || {
            let ttl = ttl(ttl_seconds, now)?;
            keyring
                .ring()?
                .decrypt_into(token, context, ttl, &mut out.0[..len])
                .map(|n| n as i64)
        }),
        _ => Ok(-1),
    }
}

impl Keyring {
    pub(crate) fn wrap(inner: keyroll::Keyring) -> Self {
        Keyring { inner: Some(inner) }
    }

    /// The keyring, unless freed (the TypeScript layer never calls a freed one).
    pub(crate) fn ring(&self) -> keyroll::Result<&keyroll::Keyring> {
        self.inner
            .as_ref()
            .ok_or(Error::InvalidArgument("this keyring was freed"))
    }

    fn ring_mut(&mut self) -> keyroll::Result<&mut keyroll::Keyring> {
        self.inner
            .as_mut()
            .ok_or(Error::InvalidArgument("this keyring was freed"))
    }
}

#[napi]
impl Keyring {
    /// A new keyring with version 1 active.
    #[napi(catch_unwind, factory)]
    pub fn generate(env: Env, now: f64) -> napi::Result<Keyring> {
        run(&env, || keyroll::Keyring::generate(secs(now)?)).map(Keyring::wrap)
    }

    /// Opens a passphrase-sealed document.
    #[napi(catch_unwind, factory, js_name = "fromDocumentPassphrase")]
    pub fn from_document_passphrase(
        env: Env,
        document: &[u8],
        passphrase: &[u8],
    ) -> napi::Result<Keyring> {
        run(&env, || {
            keyroll::Keyring::from_document(document, Unlock::Passphrase(passphrase))
        })
        .map(Keyring::wrap)
    }

    /// Opens a document sealed under a 32-byte master key.
    #[napi(catch_unwind, factory, js_name = "fromDocumentMasterKey")]
    pub fn from_document_master_key(
        env: Env,
        document: &[u8],
        key: &[u8],
    ) -> napi::Result<Keyring> {
        run(&env, || {
            keyroll::Keyring::from_document(document, Unlock::MasterKey(&master_key(key)?))
        })
        .map(Keyring::wrap)
    }

    /// The deterministic keyring of a Fernet key list (primary first, base64url strings).
    #[napi(catch_unwind, factory, js_name = "fromFernetKeys")]
    pub fn from_fernet_keys(env: Env, keys: Vec<String>, now: f64) -> napi::Result<Keyring> {
        run(&env, || {
            keyroll::Keyring::from_fernet_keys(&fernet_keys(keys)?, secs(now)?)
        })
        .map(Keyring::wrap)
    }

    /// Seals under a passphrase (PBKDF2-HMAC-SHA256 with `iterations`).
    #[napi(catch_unwind, js_name = "toDocumentPassphrase")]
    pub fn to_document_passphrase(
        &self,
        env: Env,
        passphrase: &[u8],
        iterations: u32,
    ) -> napi::Result<Bytes> {
        let document = run(&env, || {
            self.ring()?.to_document(Protection::Passphrase {
                passphrase,
                iterations,
            })
        })?;
        copied(&env, &document)
    }

    /// Seals under a 32-byte master key.
    #[napi(catch_unwind, js_name = "toDocumentMasterKey")]
    pub fn to_document_master_key(&self, env: Env, key: &[u8]) -> napi::Result<Bytes> {
        let document = run(&env, || {
            self.ring()?
                .to_document(Protection::MasterKey(&master_key(key)?))
        })?;
        copied(&env, &document)
    }

    /// The keyring id, in hex.
    #[napi(catch_unwind, getter)]
    pub fn id(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(self.ring()?.id().to_hex()))
    }

    /// The active version, if any.
    #[napi(catch_unwind, getter, js_name = "activeVersion")]
    pub fn active_version(&self, env: Env) -> napi::Result<Maybe<u32>> {
        run(&env, || Ok(maybe(self.ring()?.active_version())))
    }

    /// Versions below this refuse to decrypt (0: none).
    #[napi(catch_unwind, getter, js_name = "minVersion")]
    pub fn min_version(&self, env: Env) -> napi::Result<u32> {
        run(&env, || Ok(self.ring()?.min_version()))
    }

    /// Whether this is a decrypt-only export.
    #[napi(catch_unwind, getter, js_name = "readOnly")]
    pub fn read_only(&self, env: Env) -> napi::Result<bool> {
        run(&env, || Ok(self.ring()?.is_read_only()))
    }

    /// Every version's metadata, as core's JSON.
    #[napi(catch_unwind, js_name = "versionsJson")]
    pub fn versions_json(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(json(&self.ring()?.versions())))
    }

    /// The rotation policy, as core's JSON.
    #[napi(catch_unwind, js_name = "policyJson")]
    pub fn policy_json(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(json(&self.ring()?.policy())))
    }

    /// Replaces the rotation policy.
    #[napi(catch_unwind, js_name = "setPolicy")]
    pub fn set_policy(
        &mut self,
        env: Env,
        rotate_after_days: u32,
        warn_after_days: u32,
    ) -> napi::Result<()> {
        run(&env, || {
            self.ring_mut()?.set_policy(Policy {
                rotate_after_days,
                warn_after_days,
            })
        })
    }

    /// The policy verdict at `now`, as core's JSON.
    #[napi(catch_unwind, js_name = "checkPolicyJson")]
    pub fn check_policy_json(&self, env: Env, now: f64) -> napi::Result<String> {
        run(&env, || Ok(json(&self.ring()?.check_policy(secs(now)?))))
    }

    /// Sets the minimum decryptable version.
    #[napi(catch_unwind, js_name = "setMinVersion")]
    pub fn set_min_version(&mut self, env: Env, minimum: u32) -> napi::Result<()> {
        run(&env, || self.ring_mut()?.set_min_version(minimum))
    }

    /// Adds a pending version; returns it.
    #[napi(catch_unwind, js_name = "addVersion")]
    pub fn add_version(&mut self, env: Env, now: f64) -> napi::Result<u32> {
        run(&env, || self.ring_mut()?.add_version(secs(now)?))
    }

    /// Makes a pending or decrypt-only version active.
    #[napi(catch_unwind, catch_unwind)]
    pub fn promote(&mut self, env: Env, version: u32, now: f64) -> napi::Result<()> {
        run(&env, || self.ring_mut()?.promote(version, secs(now)?))
    }

    /// Adds a version and makes it active; returns it.
    #[napi(catch_unwind, catch_unwind)]
    pub fn rotate(&mut self, env: Env, now: f64) -> napi::Result<u32> {
        run(&env, || self.ring_mut()?.rotate(secs(now)?))
    }

    /// Rotates and marks the old active version compromised.
    #[napi(catch_unwind, js_name = "emergencyRotate")]
    pub fn emergency_rotate(&mut self, env: Env, reason: String, now: f64) -> napi::Result<u32> {
        run(&env, || {
            self.ring_mut()?.emergency_rotate(&reason, secs(now)?)
        })
    }

    /// Moves a version to another state (`decrypt_only`, `disabled`, …).
    #[napi(catch_unwind, js_name = "setState")]
    pub fn set_state(
        &mut self,
        env: Env,
        version: u32,
        state: String,
        note: Option<String>,
        now: f64,
    ) -> napi::Result<()> {
        run(&env, || {
            let state =
                KeyState::parse(&state).ok_or(Error::InvalidArgument("unknown key state"))?;
            self.ring_mut()?
                .set_state(version, state, note.as_deref(), secs(now)?)
        })
    }

    /// Imports Fernet keys (base64url strings) as decrypt-only versions; returns them.
    #[napi(catch_unwind, js_name = "importFernet")]
    pub fn import_fernet(
        &mut self,
        env: Env,
        keys: Vec<String>,
        now: f64,
    ) -> napi::Result<Uint32Array> {
        run(&env, || {
            self.ring_mut()?
                .import_fernet(&fernet_keys(keys)?, secs(now)?)
        })
        .map(Uint32Array::new)
    }

    /// Imports a raw AES-256-GCM key (32 bytes) as a decrypt-only version.
    #[napi(catch_unwind, js_name = "importRawGcmKey")]
    pub fn import_raw_gcm_key(
        &mut self,
        env: Env,
        key: &[u8],
        version_byte: Option<u32>,
        now: f64,
    ) -> napi::Result<u32> {
        run(&env, || {
            let import = RawGcmImport {
                key: RawGcmKey::Bytes(Zeroizing::new(key.to_vec())),
                version_byte: version_byte.map(|b| b as u8),
            };
            self.ring_mut()?.import_raw_gcm(&import, secs(now)?)
        })
    }

    /// Imports a raw AES-256-GCM key derived by PBKDF2-HMAC-SHA256 from a password.
    #[napi(catch_unwind, js_name = "importRawGcmPbkdf2")]
    pub fn import_raw_gcm_pbkdf2(
        &mut self,
        env: Env,
        password: &[u8],
        salt_pattern: String,
        iterations: u32,
        version_byte: Option<u32>,
        now: f64,
    ) -> napi::Result<u32> {
        run(&env, || {
            let key = RawGcmKey::Pbkdf2 {
                password: Zeroizing::new(password.to_vec()),
                salt_pattern,
                iterations,
            };
            let import = RawGcmImport {
                key,
                version_byte: version_byte.map(|b| b as u8),
            };
            self.ring_mut()?.import_raw_gcm(&import, secs(now)?)
        })
    }

    /// A decrypt-only copy holding `versions`.
    #[napi(catch_unwind, js_name = "exportDecryptOnly")]
    pub fn export_decrypt_only(&self, env: Env, versions: &[u32]) -> napi::Result<Keyring> {
        run(&env, || self.ring()?.export_decrypt_only(versions)).map(Keyring::wrap)
    }

    /// HKDF-derived key for `purpose` from the active version: `[version, bytes]`.
    #[napi(catch_unwind, js_name = "deriveKey")]
    pub fn derive_key(&self, env: Env, purpose: &[u8], length: u32) -> napi::Result<(u32, Bytes)> {
        let (version, key) = run(&env, || self.ring()?.derive_key(purpose, length as usize))?;
        Ok((version, copied(&env, &key)?))
    }

    /// [`Keyring::decrypt`] for a token given as a string.
    #[napi(catch_unwind, js_name = "decryptText")]
    pub fn decrypt_text(
        &self,
        env: Env,
        token: TextArg,
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
    ) -> napi::Result<Bytes> {
        ops::decrypt(&env, || self.ring(), &token.0, context, ttl_seconds, now)
    }

    /// [`Keyring::decrypt`] into `out` when the plaintext fits (returns its length), else -1
    /// without decrypting. The Node entry uses it for small plaintexts: it copies them out of
    /// its scratch buffer into a V8 on-heap array (≤ 64 bytes), which costs far less than a
    /// new `ArrayBuffer` from native code, and wipes the scratch buffer at once.
    #[napi(catch_unwind, js_name = "decryptInto")]
    pub fn decrypt_into(
        &self,
        env: Env,
        token: &[u8],
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
        out: OutArg,
    ) -> napi::Result<i64> {
        into_scratch(&env, self, token, context, ttl_seconds, now, out)
    }

    /// [`Keyring::decrypt_into`] for a token given as a string.
    #[napi(catch_unwind, js_name = "decryptTextInto")]
    pub fn decrypt_text_into(
        &self,
        env: Env,
        token: TextArg,
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
        out: OutArg,
    ) -> napi::Result<i64> {
        into_scratch(&env, self, &token.0, context, ttl_seconds, now, out)
    }

    /// Authenticates without returning the plaintext: `{ keyVersion, issuedAt }`.
    #[napi(catch_unwind, catch_unwind)]
    pub fn verify(
        &self,
        env: Env,
        token: &[u8],
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
    ) -> napi::Result<Verified> {
        let v = run(&env, || {
            self.ring()?.verify(token, context, ttl(ttl_seconds, now)?)
        })?;
        Ok(Verified {
            key_version: v.key_version,
            issued_at: opt_u64(v.issued_at),
        })
    }

    /// Re-encrypts under the active version (text form), keeping the issued-at time; reads a
    /// compromised version only if `allow_compromised`.
    #[napi(catch_unwind, catch_unwind)]
    pub fn rewrap(
        &self,
        env: Env,
        token: &[u8],
        context: &[u8],
        allow_compromised: bool,
    ) -> napi::Result<Text> {
        let options = RewrapOptions { allow_compromised };
        let r = run(&env, || {
            self.ring()?
                .rewrap_to_context_with(token, context, context, options)
        })?;
        ascii(&env, &r.token)
    }

    /// Re-encrypts under the active version (binary form).
    #[napi(catch_unwind, js_name = "rewrapBinary")]
    pub fn rewrap_binary(
        &self,
        env: Env,
        token: &[u8],
        context: &[u8],
        allow_compromised: bool,
    ) -> napi::Result<Bytes> {
        let options = RewrapOptions { allow_compromised };
        let r = run(&env, || {
            self.ring()?
                .rewrap_binary_to_context_with(token, context, context, options)
        })?;
        copied(&env, &r.token)
    }

    /// Whether `rewrap` would change `token` (reads its header only).
    #[napi(catch_unwind, js_name = "needsRewrap")]
    pub fn needs_rewrap(&self, env: Env, token: &[u8]) -> napi::Result<bool> {
        run(&env, || self.ring()?.needs_rewrap(token))
    }

    /// Encrypts each item (text form).
    #[napi(catch_unwind, js_name = "encryptMany")]
    pub fn encrypt_many(
        &self,
        env: Env,
        items: Vec<&[u8]>,
        context: &[u8],
        issued_at: Option<f64>,
    ) -> napi::Result<Vec<String>> {
        run(&env, || {
            self.ring()?
                .encrypt_many(&items, context, opt_secs(issued_at)?)
        })
    }

    /// Decrypts each token: a `Uint8Array` or a `KeyrollError` per item.
    #[napi(catch_unwind, js_name = "decryptMany")]
    pub fn decrypt_many<'env>(
        &self,
        env: &'env Env,
        tokens: Vec<&[u8]>,
        context: &[u8],
        ttl_seconds: Option<f64>,
        now: f64,
    ) -> napi::Result<napi::bindgen_prelude::Array<'env>> {
        let (ring, ttl) = run(env, || Ok((self.ring()?, ttl(ttl_seconds, now)?)))?;
        let out = ring.decrypt_many(&tokens, context, ttl);
        let mut array = env.create_array(out.len() as u32)?;
        for (i, item) in out.into_iter().enumerate() {
            match item {
                Ok(plaintext) => array.set(i as u32, copied(env, &plaintext)?)?,
                Err(e) => array.set(i as u32, error_value(env, &e))?,
            }
        }
        Ok(array)
    }

    /// Rewraps each token: `{ token, fromVersion, fromCompromised }` or a `KeyrollError` per
    /// item (the TypeScript wrapper turns these into tokens and per-version counts).
    #[napi(catch_unwind, js_name = "rewrapMany")]
    pub fn rewrap_many<'env>(
        &self,
        env: &'env Env,
        tokens: Vec<&[u8]>,
        context: &[u8],
        allow_compromised: bool,
    ) -> napi::Result<napi::bindgen_prelude::Array<'env>> {
        let ring = run(env, || self.ring())?;
        let options = RewrapOptions { allow_compromised };
        let out = ring.rewrap_many_with(&tokens, context, options);
        let mut array = env.create_array(out.len() as u32)?;
        for (i, item) in out.into_iter().enumerate() {
            match item {
                Ok(r) => array.set(
                    i as u32,
                    Rewrapped {
                        token: r.token,
                        from_version: r.from_version,
                        from_compromised: r.from_compromised,
                    },
                )?,
                Err(e) => array.set(i as u32, error_value(env, &e))?,
            }
        }
        Ok(array)
    }

    /// Wipes the keys now (core's zeroizing types); safe to call twice.
    #[napi(catch_unwind, catch_unwind)]
    pub fn free(&mut self) {
        self.inner = None;
    }
}

crate::ops::shared_reads! {
    Keyring, ring;
    /// Encrypts to the text form `kr1:v<N>:…`.
    encrypt;
    /// Encrypts to the binary form, sealed in place in the returned `Uint8Array`.
    encrypt_binary;
    /// Decrypts any token this keyring reads (text or binary v1, legacy Fernet or raw GCM).
    decrypt;
}
