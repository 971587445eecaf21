//! JSON Web Tokens (RFC 7519, compact JWS of RFC 7515) signed by a signing keyring: `HS256`
//! for HMAC versions, `EdDSA` (RFC 8037) for Ed25519 ones, `kid` naming the version.
//!
//! The header keyroll writes is exactly `{"alg":"HS256"|"EdDSA","kid":"<id hex>:v<n>","typ":"JWT"}`.
//! Verification takes the key from `kid` alone (never from `jwk`, `jku` or `x5u`), refuses an
//! `alg` that is not the named version's algorithm before any key is used (so an HS256 token
//! can never be checked with an Ed25519 public key as its "secret", and `none` never
//! verifies), then checks the signature, then the claims.

use super::{SigningAlgorithm, SigningKeyring};
use crate::envelope::KeyringId;
use crate::version::KeyState;
use crate::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{Map, Value};

/// The `kid` of a version: `"<keyring id, 16 lower-case hex digits>:v<version>"`, e.g.
/// `"3f9a0c4e5b6d7e8f:v2"`.
pub fn kid(keyring_id: KeyringId, version: u32) -> String {
    format!("{}:v{version}", keyring_id.to_hex())
}

/// Parses a `kid` written by [`kid`]; `None` for any other string.
fn parse_kid(kid: &str) -> Option<(KeyringId, u32)> {
    let (id, version) = kid.split_once(":v")?;
    let id = KeyringId::from_hex(id)?;
    if version.is_empty()
        || version.len() > 10
        || version.starts_with('0')
        || !version.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((id, version.parse().ok()?))
}

/// What [`SigningKeyring::verify_jwt`] checks besides the signature.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwtOptions {
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: u64,
    /// If set, `aud` (a string or an array of strings) must contain it. If unset, a token
    /// that has an `aud` is refused, as RFC 7519 §4.1.3 asks (and PyJWT and jose do).
    pub audience: Option<String>,
    /// If set, `iss` must equal it.
    pub issuer: Option<String>,
    /// Claims that must be present (e.g. `"exp"`).
    pub required: Vec<String>,
}

/// An authentic JWT whose claims passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedJwt {
    /// The claims, as compact JSON.
    pub claims: String,
    /// The version that signed it.
    pub key_version: u32,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
}

/// `value` with every object's members in name order. `serde_json` sorts them already unless
/// some crate in the build turns on its `preserve_order` feature; sorting here keeps the
/// payload bytes (and the vectors) the same whatever the build unifies.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(String, Value)> = map.into_iter().collect();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(members.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn decode_part(part: &str) -> Result<Vec<u8>> {
    B64.decode(part)
        .map_err(|_| Error::Malformed("bad base64 in a JWT"))
}

fn object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::Malformed(what)),
    }
}

/// A NumericDate claim as seconds, if present (`claim_invalid` if it is not a number).
fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or(Error::ClaimInvalid("a time claim is not a number")),
        Some(_) => Err(Error::ClaimInvalid("a time claim is not a number")),
    }
}

impl SigningKeyring {
    /// Signs a JWT with the active version: `claims_json` must be a JSON object; `iat` is
    /// set to `now` if absent. The payload is the claims as compact JSON with members in
    /// sorted order. `HS256` or `EdDSA` per the version's algorithm; `kid` per [`kid`].
    pub fn sign_jwt(&self, claims_json: &str, now: u64) -> Result<String> {
        let (version, algorithm, key) = self.signer()?;
        let mut claims = object(claims_json.as_bytes(), "the claims are not a JSON object")
            .map_err(|_| Error::InvalidArgument("the claims are not a JSON object"))?;
        claims.entry("iat").or_insert_with(|| Value::from(now));
        let header = format!(
            r#"{{"alg":"{}","kid":"{}","typ":"JWT"}}"#,
            algorithm.jwt_alg(),
            kid(self.id, version)
        );
        let payload = serde_json::to_vec(&sorted(Value::Object(claims)))
            .map_err(|_| Error::InvalidArgument("unserializable claims"))?;
        let mut token = B64.encode(header);
        token.push('.');
        B64.encode_string(payload, &mut token);
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        B64.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Verifies a compact JWT and its claims at `now`. In order: the form (`malformed`);
    /// `crit` in the header (`unsupported_format`); the key named by `kid` (`wrong_keyring`
    /// for a `kid` that does not name this keyring, `unknown_key_version`, the state errors
    /// of [`SigningKeyring::verify`]) or, without `kid`, the `hmac_sha256_legacy` versions
    /// (`unsupported_format` if there are none); `alg` against the version's algorithm
    /// (`algorithm_mismatch`, also for `none`); the signature (`signature_invalid`); then
    /// `exp` (expired if `now ≥ exp + leeway`), `nbf` and `iat` (not yet valid if
    /// `> now + leeway`) → `expired`; `iss`, `aud`, required claims, non-numeric times →
    /// `claim_invalid`.
    pub fn verify_jwt(&self, token: &str, options: &JwtOptions, now: u64) -> Result<VerifiedJwt> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed("a JWT has three parts"));
        };
        let header = object(
            &decode_part(header_b64)?,
            "the JWT header is not a JSON object",
        )?;
        let payload = decode_part(payload_b64)?;
        let signature = decode_part(signature_b64)?;
        if header.contains_key("crit") {
            return Err(Error::UnsupportedFormat(
                "a JWT with critical header extensions",
            ));
        }
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.as_str(),
            _ => return Err(Error::Malformed("the JWT header has no alg")),
        };
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        let version = match header.get("kid") {
            Some(Value::String(kid)) => {
                let (id, version) = parse_kid(kid).ok_or(Error::WrongKeyring)?;
                if id != self.id {
                    return Err(Error::WrongKeyring);
                }
                let key = self.verifier(version)?;
                let algorithm = self.algorithm(version).ok_or(Error::AlgorithmMismatch)?;
                if alg != algorithm.jwt_alg() {
                    return Err(Error::AlgorithmMismatch);
                }
                if !key.verify(signed.as_bytes(), &signature) {
                    return Err(Error::SignatureInvalid);
                }
                version
            }
            Some(_) => return Err(Error::Malformed("the JWT kid is not a string")),
            None => self.verify_legacy(alg, signed.as_bytes(), &signature)?,
        };
        let claims = object(&payload, "the JWT claims are not a JSON object")?;
        check_claims(&claims, options, now)?;
        Ok(VerifiedJwt {
            claims: serde_json::to_string(&Value::Object(claims))
                .map_err(|_| Error::Malformed("the JWT claims are not a JSON object"))?,
            key_version: version,
            algorithm: self.algorithm(version).ok_or(Error::AlgorithmMismatch)?,
        })
    }

    /// A JWT without `kid`, as the system a legacy secret came from wrote them: tried against
    /// each `hmac_sha256_legacy` version, newest first; the one it verifies under must be in
    /// a state that verifies.
    fn verify_legacy(&self, alg: &str, signed: &[u8], signature: &[u8]) -> Result<u32> {
        if self.legacy.is_empty() {
            return Err(Error::UnsupportedFormat(
                "a JWT without kid is read only by imported HMAC secrets",
            ));
        }
        if alg != SigningAlgorithm::HmacSha256.jwt_alg() {
            return Err(Error::AlgorithmMismatch);
        }
        for &version in &self.legacy {
            let Some(slot) = self.slots.get(&version) else {
                continue;
            };
            let Some(key) = slot.material.as_ref() else {
                continue;
            };
            if slot.info.state != KeyState::Destroyed && key.verify(signed, signature) {
                self.verifier(version)?;
                return Ok(version);
            }
        }
        Err(Error::SignatureInvalid)
    }
}

fn check_claims(claims: &Map<String, Value>, options: &JwtOptions, now: u64) -> Result<()> {
    for name in &options.required {
        if !claims.contains_key(name) {
            return Err(Error::ClaimInvalid("a required claim is missing"));
        }
    }
    let now = now as f64;
    let leeway = options.leeway as f64;
    if let Some(exp) = time_claim(claims, "exp")? {
        if now >= exp + leeway {
            return Err(Error::Expired);
        }
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = time_claim(claims, name)? {
            if t > now + leeway {
                return Err(Error::Expired);
            }
        }
    }
    if let Some(issuer) = &options.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(Error::ClaimInvalid("iss is not the expected issuer"));
        }
    }
    match (claims.get("aud"), &options.audience) {
        (None, None) => {}
        (Some(_), None) => {
            return Err(Error::ClaimInvalid(
                "the token has an aud but no audience was expected",
            ))
        }
        (None, Some(_)) => return Err(Error::ClaimInvalid("aud is missing")),
        (Some(aud), Some(expected)) => {
            let matches = match aud {
                Value::String(s) => s == expected,
                Value::Array(items) => items.iter().any(|v| v.as_str() == Some(expected)),
                _ => false,
            };
            if !matches {
                return Err(Error::ClaimInvalid(
                    "aud does not contain the expected audience",
                ));
            }
        }
    }
    Ok(())
}
