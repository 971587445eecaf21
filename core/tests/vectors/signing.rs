//! The ops of `signing.json` (schema: `tests/vectors/README.md`), run by `every_vector_file`.

use keyroll::signing::{JwtOptions, SigningKeyring};
use keyroll::{SecretKey, Unlock};
use serde_json::{json, Map, Value};

/// Whether `op` is one of signing.json's.
pub fn handles(op: &str) -> bool {
    matches!(
        op,
        "signing_load" | "sign" | "verify" | "sign_jwt" | "verify_jwt" | "public_keyset" | "jwks"
    )
}

/// The case's keyring: a document of `keyrings`, a public keyset, or a legacy secret.
fn source(case: &Value, docs: &Map<String, Value>) -> keyroll::Result<SigningKeyring> {
    if let Some(name) = case["keyring"].as_str() {
        let entry = &docs[name];
        let doc = entry["document"].as_str().unwrap().as_bytes();
        if let Some(p) = entry["passphrase"].as_str() {
            return SigningKeyring::from_document(doc, Unlock::Passphrase(p.as_bytes()));
        }
        let key = hex::decode(entry["master_key_hex"].as_str().unwrap()).unwrap();
        SigningKeyring::from_document(
            doc,
            Unlock::MasterKey(&SecretKey::from_slice(&key).unwrap()),
        )
    } else if let Some(keyset) = case["public_keyset"].as_str() {
        SigningKeyring::from_public_keyset(keyset)
    } else {
        let secret = case["hmac_secret_utf8"].as_str().unwrap();
        SigningKeyring::from_hmac_secret(secret.as_bytes(), 0)
    }
}

fn hex_field(case: &Value, field: &str) -> Vec<u8> {
    hex::decode(case[field].as_str().unwrap_or("")).unwrap()
}

fn summary(r: &SigningKeyring) -> Value {
    let versions: Vec<Value> = r
        .versions()
        .iter()
        .map(|v| json!({"version": v.version, "kind": v.kind, "state": v.state}))
        .collect();
    json!({
        "keyring_id": r.id().to_hex(),
        "active_version": r.active_version(),
        "min_version": r.min_version(),
        "verify_only": r.is_verify_only(),
        "versions": versions,
    })
}

fn options(case: &Value) -> JwtOptions {
    let o = &case["options"];
    JwtOptions {
        leeway: o["leeway"].as_u64().unwrap(),
        audience: o["audience"].as_str().map(str::to_owned),
        issuer: o["issuer"].as_str().map(str::to_owned),
        required: o["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
    }
}

/// Runs one case: `Ok` holds the fields compared with the case's.
pub fn run(case: &Value, docs: &Map<String, Value>) -> keyroll::Result<Value> {
    let ring = source(case, docs)?;
    let ctx = hex_field(case, "context_hex");
    Ok(match case["op"].as_str().unwrap() {
        "signing_load" => json!({"expect": summary(&ring)}),
        "sign" => {
            let message = hex_field(case, "message_hex");
            let text = ring.sign(&message, &ctx)?;
            let binary = ring.sign_binary(&message, &ctx)?;
            assert_eq!(ring.verify(text.as_bytes(), &ctx)?.message, message);
            json!({"expect_signed": text, "expect_signed_hex": hex::encode(binary)})
        }
        "verify" => {
            let signed = match case["signed"].as_str() {
                Some(text) => text.as_bytes().to_vec(),
                None => hex_field(case, "signed_hex"),
            };
            let v = ring.verify(&signed, &ctx)?;
            json!({"expect_message_hex": hex::encode(v.message), "expect_version": v.key_version})
        }
        "sign_jwt" => {
            let token = ring.sign_jwt(
                case["claims"].as_str().unwrap(),
                case["now"].as_u64().unwrap(),
            )?;
            json!({"expect_token": token})
        }
        "verify_jwt" => {
            let token = case["token"].as_str().unwrap();
            let v = ring.verify_jwt(token, &options(case), case["now"].as_u64().unwrap())?;
            let claims: Value = serde_json::from_str(&v.claims).unwrap();
            json!({
                "expect_claims": claims,
                "expect_version": v.key_version,
                "expect_algorithm": v.algorithm.as_str(),
            })
        }
        "public_keyset" => {
            let keyset = ring.public_keyset()?;
            // What it publishes loads back as a verify-only keyring with the same versions.
            let back = SigningKeyring::from_public_keyset(&keyset)?;
            assert!(back.is_verify_only());
            json!({"expect": serde_json::from_str::<Value>(&keyset).unwrap()})
        }
        "jwks" => json!({"expect": serde_json::from_str::<Value>(&ring.jwks()?).unwrap()}),
        op => panic!("unknown op {op}"),
    })
}
