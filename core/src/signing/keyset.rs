//! Public keysets and JWKS: what an app or another service needs to verify Ed25519
//! signatures, with no secret in it.
//!
//! ```json
//! {"keyroll_public_keyset": 1, "keyring_id": "<16 hex>", "min_version": 0,
//!  "versions": [{"version": 2, "state": "active", "created_at": 1700000000,
//!                "public_key": "<b64url, 32 bytes>"}]}
//! ```
//! Every Ed25519 version is listed with its state (so a verifier refuses a compromised one
//! with `key_compromised`, not `unknown_key_version`), destroyed ones without a key. HMAC
//! versions are left out: verifying them needs the secret. The keyset is not sealed or MACed:
//! it holds nothing secret, and its integrity is that of the app it ships in.

use super::material::SigningMaterial;
use super::{kid, SigningKeyring};
use crate::envelope::KeyringId;
use crate::rng::Rng;
use crate::version::lifecycle as life;
use crate::version::{KeyKind, KeyState, Slot};
use crate::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The schema number of public keysets.
const KEYSET_SCHEMA: u32 = 1;

pub(crate) fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keyset {
    keyroll_public_keyset: u32,
    keyring_id: String,
    min_version: u32,
    versions: Vec<PublicVersion>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicVersion {
    version: u32,
    state: KeyState,
    created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
}

#[derive(Serialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// An RFC 8037 OKP key.
#[derive(Serialize)]
struct Jwk {
    kty: &'static str,
    crv: &'static str,
    x: String,
    kid: String,
    alg: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
}

impl SigningKeyring {
    /// The public keyset (JSON): every Ed25519 version's public key and state, nothing
    /// secret; safe to ship in apps. [`SigningKeyring::from_public_keyset`] reads it.
    pub fn public_keyset(&self) -> Result<String> {
        let versions = self
            .versions()
            .into_iter()
            .filter(|info| info.kind == KeyKind::Ed25519)
            .map(|info| PublicVersion {
                public_key: self.slots[&info.version]
                    .material
                    .as_ref()
                    .and_then(SigningMaterial::public_key)
                    .map(|k| b64(k)),
                version: info.version,
                state: info.state,
                created_at: info.created_at,
            })
            .collect();
        let keyset = Keyset {
            keyroll_public_keyset: KEYSET_SCHEMA,
            keyring_id: self.id.to_hex(),
            min_version: self.min_version,
            versions,
        };
        serde_json::to_string_pretty(&keyset)
            .map_err(|_| Error::InvalidArgument("unserializable keyset"))
    }

    /// A verify-only keyring from a public keyset: `verify` and `verify_jwt` work as on the
    /// full keyring for its Ed25519 versions; signing and changes give `read_only`. A keyring
    /// document (which holds private keys) gives `wrong_keyring_kind`; anything else that is
    /// not a keyset, or a keyset with a bad key, repeated version or destroyed version with a
    /// key, gives `keyring_corrupt`.
    pub fn from_public_keyset(keyset: &str) -> Result<SigningKeyring> {
        let parsed: Keyset = match serde_json::from_str(keyset) {
            Ok(parsed) => parsed,
            Err(_) if crate::Keyring::document_generation(keyset.as_bytes()).is_ok() => {
                return Err(Error::WrongKeyringKind)
            }
            Err(_) => return Err(Error::KeyringCorrupt("not a keyroll public keyset")),
        };
        if parsed.keyroll_public_keyset != KEYSET_SCHEMA {
            return Err(Error::KeyringCorrupt("unsupported public keyset schema"));
        }
        let id = KeyringId::from_hex(&parsed.keyring_id)
            .ok_or(Error::KeyringCorrupt("bad keyring id"))?;
        let mut ring = SigningKeyring::empty(id, Rng::System);
        ring.verify_only = true;
        ring.min_version = parsed.min_version;
        for v in parsed.versions {
            if v.version == 0 || ring.slots.contains_key(&v.version) {
                return Err(Error::KeyringCorrupt("bad or repeated version number"));
            }
            let material = match (&v.public_key, v.state) {
                (None, KeyState::Destroyed) => None,
                (Some(key), state) if state != KeyState::Destroyed => {
                    let key: [u8; 32] = B64
                        .decode(key)
                        .ok()
                        .and_then(|k| k.try_into().ok())
                        .ok_or(Error::KeyringCorrupt("bad public key"))?;
                    Some(SigningMaterial::Ed25519Public(key))
                }
                _ => return Err(Error::KeyringCorrupt("public key does not match state")),
            };
            let mut info = life::new_info(v.version, KeyKind::Ed25519, v.state, v.created_at);
            if v.state == KeyState::Active {
                // Verifiers do not judge the policy; the active version is only a state here.
                info.activated_at = Some(v.created_at);
            }
            ring.slots.insert(v.version, Slot { info, material });
        }
        Ok(ring)
    }

    /// The JSON Web Key Set (RFC 7517) of the Ed25519 versions that verify (pending, active,
    /// decrypt-only): `{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": …, "kid": …,
    /// "alg": "EdDSA", "use": "sig"}]}` (RFC 8037), newest version first, for verifiers such
    /// as jose or PyJWT.
    pub fn jwks(&self) -> Result<String> {
        let mut keys: Vec<Jwk> = self
            .versions()
            .into_iter()
            .filter(|info| {
                info.kind == KeyKind::Ed25519
                    && matches!(
                        info.state,
                        KeyState::Pending | KeyState::Active | KeyState::DecryptOnly
                    )
                    && info.version >= self.min_version
            })
            .filter_map(|info| {
                let public = self.slots[&info.version]
                    .material
                    .as_ref()
                    .and_then(SigningMaterial::public_key)?;
                Some(Jwk {
                    kty: "OKP",
                    crv: "Ed25519",
                    x: b64(public),
                    kid: kid(self.id, info.version),
                    alg: "EdDSA",
                    use_: "sig",
                })
            })
            .collect();
        keys.reverse();
        serde_json::to_string(&Jwks { keys })
            .map_err(|_| Error::InvalidArgument("unserializable JWKS"))
    }
}
