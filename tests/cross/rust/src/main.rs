//! The Rust side of the cross-language harness (`tests/cross/README.md`): writes envelopes
//! from `cases.json` with the core crate, and reads what every other language wrote.

use keyroll::{FernetKey, Keyring, Protection, Ttl, Unlock};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::ExitCode;

type Result<T> = std::result::Result<T, String>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    if s.len() % 2 != 0 {
        return Err(format!("odd hex length: {s}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v[key]
        .as_str()
        .ok_or_else(|| format!("{key}: expected a string"))
}

fn u64_of(v: &Value, key: &str) -> Result<u64> {
    v[key]
        .as_u64()
        .ok_or_else(|| format!("{key}: expected an integer"))
}

fn plaintext(case: &Value) -> Result<Vec<u8>> {
    if let Some(rep) = case.get("plaintext_repeat") {
        return Ok(unhex(str_of(rep, "hex")?)?.repeat(u64_of(rep, "times")? as usize));
    }
    unhex(str_of(case, "plaintext_hex")?)
}

fn fernet_ring(spec: &Value) -> Result<(Keyring, u32)> {
    let keys = spec["fernet_keys"]
        .as_array()
        .ok_or("fernet_keys: expected a list")?
        .iter()
        .map(|k| {
            let k = k.as_str().ok_or("fernet key: expected a string")?;
            FernetKey::from_base64(k.as_bytes()).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>>>()?;
    let primary = keys.first().ok_or("no Fernet keys")?.keyroll_version();
    let ring = Keyring::from_fernet_keys(&keys, u64_of(spec, "generated_at")?)
        .map_err(|e| e.to_string())?;
    Ok((ring, primary))
}

fn cases(spec: &Value) -> Result<&Vec<Value>> {
    spec["cases"]
        .as_array()
        .ok_or_else(|| "cases: expected a list".into())
}

fn write(spec: &Value, dir: &Path) -> Result<()> {
    let mut ring = Keyring::generate(u64_of(spec, "generated_at")?).map_err(|e| e.to_string())?;
    let (fernet, _) = fernet_ring(spec)?;
    let mut tokens = Map::new();
    for phase in ["old", "active"] {
        if phase == "active" {
            ring.rotate(u64_of(spec, "rotated_at")?)
                .map_err(|e| e.to_string())?;
        }
        for case in cases(spec)?.iter().filter(|c| c["version"] == phase) {
            let r = if case["keyring"] == "fernet" {
                &fernet
            } else {
                &ring
            };
            let (pt, ctx) = (plaintext(case)?, str_of(case, "context")?.as_bytes());
            let issued_at = case["issued_at"].as_u64();
            let token = if case["form"] == "binary" {
                json!({"hex": hex(&r.encrypt_binary(&pt, ctx, issued_at).map_err(|e| e.to_string())?)})
            } else {
                json!(r.encrypt(&pt, ctx, issued_at).map_err(|e| e.to_string())?)
            };
            tokens.insert(str_of(case, "name")?.to_owned(), token);
        }
    }
    let iterations = u64_of(spec, "iterations")? as u32;
    let doc = ring
        .to_document(Protection::Passphrase {
            passphrase: str_of(spec, "passphrase")?.as_bytes(),
            iterations,
        })
        .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("keyring.json"), doc).map_err(|e| e.to_string())?;
    let out = json!({"writer": "rust", "tokens": tokens});
    std::fs::write(dir.join("tokens.json"), out.to_string()).map_err(|e| e.to_string())
}

fn read(spec: &Value, dir: &Path) -> Result<Vec<String>> {
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokens.json")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let doc = std::fs::read(dir.join("keyring.json")).map_err(|e| e.to_string())?;
    let passphrase = str_of(spec, "passphrase")?.as_bytes();
    let ring = Keyring::from_document(&doc, Unlock::Passphrase(passphrase))
        .map_err(|e| format!("keyring.json: {e}"))?;
    let (fernet, fernet_version) = fernet_ring(spec)?;
    let mine = Keyring::generate(0).map_err(|e| e.to_string())?;
    let token_of = |name: &str| -> Result<Vec<u8>> {
        match &written["tokens"][name] {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Object(o) => unhex(o.get("hex").and_then(Value::as_str).ok_or("hex")?),
            _ => Err(format!("{name}: no token written")),
        }
    };
    let mut errors = Vec::new();
    for case in cases(spec)? {
        let name = str_of(case, "name")?;
        let r = if case["keyring"] == "fernet" {
            &fernet
        } else {
            &ring
        };
        let (token, ctx, pt) = (
            token_of(name)?,
            str_of(case, "context")?.as_bytes(),
            plaintext(case)?,
        );
        let check = || -> keyroll::Result<Vec<String>> {
            let mut errs = Vec::new();
            if r.decrypt(&token, ctx, None)? != pt {
                errs.push(format!("{name}: wrong plaintext"));
            }
            let v = r.verify(&token, ctx, None)?;
            let want = match (case["keyring"].as_str(), case["version"].as_str()) {
                (Some("fernet"), _) => fernet_version,
                (_, Some("old")) => 1,
                _ => 2,
            };
            if v.key_version != want || v.issued_at != case["issued_at"].as_u64() {
                errs.push(format!("{name}: verify gave {v:?}, want v{want}"));
            }
            let moved = mine.encrypt(&r.decrypt(&token, ctx, None)?, b"", None)?;
            if mine.decrypt(moved.as_bytes(), b"", None)? != pt {
                errs.push(format!("{name}: re-encrypted copy differs"));
            }
            let fresh = r.rewrap(&token, ctx)?;
            if r.decrypt(fresh.as_bytes(), ctx, None)? != pt {
                errs.push(format!("{name}: rewrap lost the plaintext"));
            }
            Ok(errs)
        };
        match check() {
            Ok(errs) => errors.extend(errs),
            Err(e) => errors.push(format!("{name}: {}: {e}", e.code())),
        }
    }
    for fail in spec["failures"]
        .as_array()
        .ok_or("failures: expected a list")?
    {
        let name = str_of(fail, "name")?;
        let case = cases(spec)?
            .iter()
            .find(|c| c["name"] == fail["case"])
            .ok_or_else(|| format!("{name}: unknown case"))?;
        let r = if case["keyring"] == "fernet" {
            &fernet
        } else {
            &ring
        };
        let mut token = token_of(str_of(case, "name")?)?;
        if fail["flip_last_byte"] == true {
            if case["form"] != "binary" {
                return Err("flip_last_byte is defined for binary cases only".into());
            }
            *token.last_mut().ok_or("empty token")? ^= 1;
        }
        let ctx = fail.get("context").unwrap_or(&case["context"]);
        let ctx = ctx.as_str().ok_or("context")?.as_bytes();
        let ttl = match fail.get("ttl") {
            Some(t) => Some(Ttl {
                seconds: u64_of(t, "seconds")?,
                now: u64_of(t, "now")?,
            }),
            None => None,
        };
        let want = str_of(fail, "code")?;
        match r.decrypt(&token, ctx, ttl) {
            Ok(_) => errors.push(format!("{name}: decrypted, want {want}")),
            Err(e) if e.code() != want => {
                errors.push(format!("{name}: got {}, want {want}", e.code()))
            }
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        println!(
            "cross: rust read {}: {} cases, {} failure codes ok",
            written["writer"].as_str().unwrap_or("?"),
            cases(spec)?.len(),
            spec["failures"].as_array().map_or(0, Vec::len)
        );
    }
    Ok(errors)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let run = || -> Result<Vec<String>> {
        let [_, cmd, cases, dir] = args.as_slice() else {
            return Err("usage: keyroll-cross write|read CASES DIR".into());
        };
        let spec: Value = serde_json::from_slice(&std::fs::read(cases).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        match cmd.as_str() {
            "write" => write(&spec, Path::new(dir)).map(|()| Vec::new()),
            "read" => read(&spec, Path::new(dir)),
            _ => Err("usage: keyroll-cross write|read CASES DIR".into()),
        }
    };
    match run() {
        Ok(errors) if errors.is_empty() => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("cross: rust read: FAILED\n  {}", errors.join("\n  "));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cross: rust: {e}");
            ExitCode::FAILURE
        }
    }
}
