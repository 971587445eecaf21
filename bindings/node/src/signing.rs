//! `WasmSigningKeyring`: core's `SigningKeyring`, one line per method (the TypeScript API is
//! `js/src/signing.ts`). Algorithms cross as core's names (`hmac_sha256`, `ed25519`); claims
//! cross as JSON text, parsed and written on the JavaScript side.

use crate::bytes::{copied, Bytes};
use crate::convert::{json, maybe, secs, Maybe};
use crate::error::run;
use keyroll::signing::{JwtOptions, SigningAlgorithm};
use keyroll::{Error, KeyState, Policy, Protection, SecretKey, Unlock};
use napi::Env;
use napi_derive::napi;

/// A signing keyring held by the addon; `None` once freed (which wipes its keys).
#[napi(js_name = "WasmSigningKeyring")]
pub struct SigningKeyring {
    inner: Option<keyroll::signing::SigningKeyring>,
}

/// What `verify` reports.
#[napi(object, object_from_js = false)]
pub struct VerifiedMessage {
    /// The signed message.
    pub message: Bytes,
    /// The version whose key verified it.
    pub key_version: u32,
    /// That version's algorithm.
    pub algorithm: String,
}

/// What `verifyJwt` reports.
#[napi(object, object_from_js = false)]
pub struct VerifiedJwt {
    /// The claims, as JSON text.
    pub claims: String,
    /// The version whose key verified it.
    pub key_version: u32,
    /// That version's algorithm.
    pub algorithm: String,
}

fn algorithm(name: &str) -> keyroll::Result<SigningAlgorithm> {
    SigningAlgorithm::parse(name).ok_or(Error::InvalidArgument("unknown signing algorithm"))
}

fn wrap(inner: keyroll::signing::SigningKeyring) -> SigningKeyring {
    SigningKeyring { inner: Some(inner) }
}

impl SigningKeyring {
    fn ring(&self) -> keyroll::Result<&keyroll::signing::SigningKeyring> {
        self.inner
            .as_ref()
            .ok_or(Error::InvalidArgument("this signing keyring was freed"))
    }

    fn ring_mut(&mut self) -> keyroll::Result<&mut keyroll::signing::SigningKeyring> {
        self.inner
            .as_mut()
            .ok_or(Error::InvalidArgument("this signing keyring was freed"))
    }
}

#[napi]
impl SigningKeyring {
    /// A new keyring with version 1 of `algorithm` active.
    #[napi(catch_unwind, factory)]
    pub fn generate(env: Env, algorithm_name: String, now: f64) -> napi::Result<SigningKeyring> {
        run(&env, || {
            keyroll::signing::SigningKeyring::generate(algorithm(&algorithm_name)?, secs(now)?)
        })
        .map(wrap)
    }

    /// The keyring of an old single secret (v1 `hmac_sha256_legacy`, active).
    #[napi(catch_unwind, factory, js_name = "fromHmacSecret")]
    pub fn from_hmac_secret(env: Env, secret: &[u8], now: f64) -> napi::Result<SigningKeyring> {
        run(&env, || {
            keyroll::signing::SigningKeyring::from_hmac_secret(secret, secs(now)?)
        })
        .map(wrap)
    }

    /// Opens a passphrase-sealed signing keyring document.
    #[napi(catch_unwind, factory, js_name = "fromDocumentPassphrase")]
    pub fn from_document_passphrase(
        env: Env,
        document: &[u8],
        passphrase: &[u8],
    ) -> napi::Result<SigningKeyring> {
        run(&env, || {
            keyroll::signing::SigningKeyring::from_document(
                document,
                Unlock::Passphrase(passphrase),
            )
        })
        .map(wrap)
    }

    /// Opens a signing keyring document sealed under a 32-byte master key.
    #[napi(catch_unwind, factory, js_name = "fromDocumentMasterKey")]
    pub fn from_document_master_key(
        env: Env,
        document: &[u8],
        key: &[u8],
    ) -> napi::Result<SigningKeyring> {
        run(&env, || {
            let key = SecretKey::from_slice(key)?;
            keyroll::signing::SigningKeyring::from_document(document, Unlock::MasterKey(&key))
        })
        .map(wrap)
    }

    /// A verify-only keyring from a public keyset (JSON text).
    #[napi(catch_unwind, factory, js_name = "fromPublicKeyset")]
    pub fn from_public_keyset(env: Env, keyset: String) -> napi::Result<SigningKeyring> {
        run(&env, || {
            keyroll::signing::SigningKeyring::from_public_keyset(&keyset)
        })
        .map(wrap)
    }

    /// Seals under a passphrase.
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
            let key = SecretKey::from_slice(key)?;
            self.ring()?.to_document(Protection::MasterKey(&key))
        })?;
        copied(&env, &document)
    }

    /// The keyring id, in hex.
    #[napi(catch_unwind, getter)]
    pub fn id(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(self.ring()?.id().to_hex()))
    }

    /// The active (signing) version, if any.
    #[napi(catch_unwind, getter, js_name = "activeVersion")]
    pub fn active_version(&self, env: Env) -> napi::Result<Maybe<u32>> {
        run(&env, || Ok(maybe(self.ring()?.active_version())))
    }

    /// Versions below this refuse to verify.
    #[napi(catch_unwind, getter, js_name = "minVersion")]
    pub fn min_version(&self, env: Env) -> napi::Result<u32> {
        run(&env, || Ok(self.ring()?.min_version()))
    }

    /// Whether this keyring came from a public keyset.
    #[napi(catch_unwind, getter, js_name = "verifyOnly")]
    pub fn verify_only(&self, env: Env) -> napi::Result<bool> {
        run(&env, || Ok(self.ring()?.is_verify_only()))
    }

    /// The algorithm of a version (`undefined` for an unknown one).
    #[napi(catch_unwind, js_name = "algorithmOf")]
    pub fn algorithm_of(&self, env: Env, version: u32) -> napi::Result<Maybe<String>> {
        run(&env, || {
            Ok(maybe(
                self.ring()?
                    .algorithm(version)
                    .map(|a| a.as_str().to_owned()),
            ))
        })
    }

    /// The `kid` of a version.
    #[napi(catch_unwind, catch_unwind)]
    pub fn kid(&self, env: Env, version: u32) -> napi::Result<String> {
        run(&env, || {
            Ok(keyroll::signing::kid(self.ring()?.id(), version))
        })
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

    /// Sets the minimum version that verifies.
    #[napi(catch_unwind, js_name = "setMinVersion")]
    pub fn set_min_version(&mut self, env: Env, minimum: u32) -> napi::Result<()> {
        run(&env, || self.ring_mut()?.set_min_version(minimum))
    }

    /// Adds a pending version of `algorithm`; returns it.
    #[napi(catch_unwind, js_name = "addVersion")]
    pub fn add_version(&mut self, env: Env, algorithm_name: String, now: f64) -> napi::Result<u32> {
        run(&env, || {
            self.ring_mut()?
                .add_version(algorithm(&algorithm_name)?, secs(now)?)
        })
    }

    /// Makes a pending or verify-only version the one that signs.
    #[napi(catch_unwind, catch_unwind)]
    pub fn promote(&mut self, env: Env, version: u32, now: f64) -> napi::Result<()> {
        run(&env, || self.ring_mut()?.promote(version, secs(now)?))
    }

    /// A new version of the active one's algorithm, promoted at once.
    #[napi(catch_unwind, catch_unwind)]
    pub fn rotate(&mut self, env: Env, now: f64) -> napi::Result<u32> {
        run(&env, || self.ring_mut()?.rotate(secs(now)?))
    }

    /// A new version of `algorithm`, promoted at once.
    #[napi(catch_unwind, js_name = "rotateTo")]
    pub fn rotate_to(&mut self, env: Env, algorithm_name: String, now: f64) -> napi::Result<u32> {
        run(&env, || {
            self.ring_mut()?
                .rotate_to(algorithm(&algorithm_name)?, secs(now)?)
        })
    }

    /// Rotates and marks the old active version compromised.
    #[napi(catch_unwind, js_name = "emergencyRotate")]
    pub fn emergency_rotate(&mut self, env: Env, reason: String, now: f64) -> napi::Result<u32> {
        run(&env, || {
            self.ring_mut()?.emergency_rotate(&reason, secs(now)?)
        })
    }

    /// Moves a version to another state.
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

    /// Imports an old secret as a verify-only legacy HMAC version; returns it.
    #[napi(catch_unwind, js_name = "importHmacSecret")]
    pub fn import_hmac_secret(&mut self, env: Env, secret: &[u8], now: f64) -> napi::Result<u32> {
        run(&env, || {
            self.ring_mut()?.import_hmac_secret(secret, secs(now)?)
        })
    }

    /// Signs `message` for `context`: `krs1:v<N>:…`.
    #[napi(catch_unwind, catch_unwind)]
    pub fn sign(&self, env: Env, message: &[u8], context: &[u8]) -> napi::Result<String> {
        run(&env, || self.ring()?.sign(message, context))
    }

    /// [`SigningKeyring::sign`] in binary form.
    #[napi(catch_unwind, js_name = "signBinary")]
    pub fn sign_binary(&self, env: Env, message: &[u8], context: &[u8]) -> napi::Result<Bytes> {
        let signed = run(&env, || self.ring()?.sign_binary(message, context))?;
        copied(&env, &signed)
    }

    /// Verifies a signed message: `{ message, keyVersion, algorithm }`.
    #[napi(catch_unwind, catch_unwind)]
    pub fn verify(&self, env: Env, signed: &[u8], context: &[u8]) -> napi::Result<VerifiedMessage> {
        let v = run(&env, || self.ring()?.verify(signed, context))?;
        Ok(VerifiedMessage {
            message: copied(&env, &v.message)?,
            key_version: v.key_version,
            algorithm: v.algorithm.as_str().to_owned(),
        })
    }

    /// Signs a JWT with the active version (`claims_json`: a JSON object).
    #[napi(catch_unwind, js_name = "signJwt")]
    pub fn sign_jwt(&self, env: Env, claims_json: String, now: f64) -> napi::Result<String> {
        run(&env, || self.ring()?.sign_jwt(&claims_json, secs(now)?))
    }

    /// Verifies a JWT and its claims: `{ claims (JSON text), keyVersion, algorithm }`.
    #[napi(catch_unwind, js_name = "verifyJwt")]
    #[allow(clippy::too_many_arguments)]
    pub fn verify_jwt(
        &self,
        env: Env,
        token: String,
        leeway: f64,
        audience: Option<String>,
        issuer: Option<String>,
        required: Vec<String>,
        now: f64,
    ) -> napi::Result<VerifiedJwt> {
        let v = run(&env, || {
            let options = JwtOptions {
                leeway: secs(leeway)?,
                audience,
                issuer,
                required,
            };
            self.ring()?.verify_jwt(&token, &options, secs(now)?)
        })?;
        Ok(VerifiedJwt {
            claims: v.claims,
            key_version: v.key_version,
            algorithm: v.algorithm.as_str().to_owned(),
        })
    }

    /// The public keyset (JSON text, public keys only).
    #[napi(catch_unwind, js_name = "publicKeyset")]
    pub fn public_keyset(&self, env: Env) -> napi::Result<String> {
        run(&env, || self.ring()?.public_keyset())
    }

    /// The JWKS (JSON text) of the Ed25519 versions that verify.
    #[napi(catch_unwind, catch_unwind)]
    pub fn jwks(&self, env: Env) -> napi::Result<String> {
        run(&env, || self.ring()?.jwks())
    }

    /// Wipes the keys now; safe to call twice.
    #[napi(catch_unwind, catch_unwind)]
    pub fn free(&mut self) {
        self.inner = None;
    }
}
