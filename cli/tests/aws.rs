//! The CLI on AWS: a keyring in Secrets Manager (`aws-sm://NAME`) sealed under a KMS
//! key-encryption key (`KEYROLL_KMS_KEY`), against moto's server with the real AWS SDK for Rust
//! (`scripts/lib.sh start_moto` exports `AWS_ENDPOINT_URL` on 127.0.0.1, dummy credentials and
//! `AWS_EC2_METADATA_DISABLED`; nothing may reach real AWS).
#![allow(clippy::unwrap_used)]

mod common;

use assert_cmd::Command;
use common::json;
use keyroll::{document_sealing, Keyring, Sealing, Unlock};
use keyroll_store::fleet::aws_sm::SmStore;
use keyroll_store::fleet::KeyringStore;
use keyroll_store::kms::AwsKms;
use std::collections::BTreeMap;

const T: u64 = 1_800_000_000;

fn endpoint() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must point at moto (scripts/lib.sh start_moto starts it)");
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "AWS_ENDPOINT_URL must be moto on 127.0.0.1, not {url}"
    );
    url
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{}-{nanos}", std::process::id())
}

/// `keyroll` with only the AWS environment (endpoint, region, dummy keys) and `extra`.
fn cmd(dir: &std::path::Path, endpoint: &str, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::cargo_bin("keyroll").unwrap();
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "tester")
        .env("KEYROLL_NOW", T.to_string())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .current_dir(dir);
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

/// A KMS key behind an alias of its own, made with the SDK as an administrator would.
fn kms_alias() -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    let kms = aws_sdk_kms::Client::new(&config);
    let key = rt.block_on(kms.create_key().send()).unwrap();
    let alias = format!("alias/{}", unique("cli-kek"));
    rt.block_on(
        kms.create_alias()
            .alias_name(&alias)
            .target_key_id(key.key_metadata().unwrap().key_id())
            .send(),
    )
    .unwrap();
    alias
}

#[test]
fn init_rotate_info_health_on_secrets_manager_sealed_by_kms() {
    let endpoint = endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("keyroll-cli/ring");
    let url = format!("aws-sm://{name}");
    let alias = kms_alias();
    let audit = dir.path().join("audit.jsonl");
    let audit_s = audit.to_str().unwrap();
    let kms_env = [
        ("KEYROLL_KEYRING", url.as_str()),
        ("KEYROLL_KMS_KEY", alias.as_str()),
        ("KEYROLL_KMS_CONTEXT", "app=payments,keyring=default"),
        ("KEYROLL_AUDIT_LOG", audit_s),
    ];
    cmd(dir.path(), &endpoint, &kms_env)
        .args(["init", "--json"])
        .assert()
        .success();
    cmd(dir.path(), &endpoint, &kms_env)
        .args(["rotate", "--json"])
        .assert()
        .success();

    // Opening needs only AWS credentials: the document names the KMS key and context.
    let reader = [
        ("KEYROLL_KEYRING", url.as_str()),
        ("KEYROLL_AUDIT_LOG", audit_s),
    ];
    let out = cmd(dir.path(), &endpoint, &reader)
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = json(&out.stdout);
    assert_eq!(info["keyring"], url);
    assert_eq!(info["active_version"], 2);
    let protection = info["protection"].as_str().unwrap();
    assert!(
        protection.contains("aws-kms arn:aws:kms:us-east-1:")
            && protection.contains("app=payments,keyring=default"),
        "{protection}"
    );
    let out = cmd(dir.path(), &endpoint, &reader)
        .arg("health")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("testing"),
        "no credential in any output: {text}"
    );

    // What is stored: generation 2, sealed under one KMS wrap with the context, and it opens.
    let stored = SmStore::connect(&name).unwrap().load().unwrap().unwrap();
    assert_eq!(stored.generation, 2);
    let Sealing::Wrapped(wrap) = document_sealing(&stored.document).unwrap() else {
        panic!("not sealed by KMS")
    };
    assert_eq!(
        wrap.context,
        BTreeMap::from([
            ("app".to_string(), "payments".to_string()),
            ("keyring".to_string(), "default".to_string())
        ])
    );
    let kek = AwsKms::for_unwrap().unwrap().unwrap(&wrap).unwrap();
    let ring = Keyring::from_document(&stored.document, Unlock::Unwrapped(&kek)).unwrap();
    assert_eq!(ring.versions().len(), 2);

    // Audit records in the local file (Secrets Manager keeps none; CloudTrail has the calls).
    let events: Vec<String> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert!(events.iter().any(|e| e == "\"init\""), "{events:?}");
    assert!(events.iter().any(|e| e.contains("rotate")), "{events:?}");

    // A second init over it is refused, and changes nothing.
    cmd(dir.path(), &endpoint, &kms_env)
        .args(["init", "--json"])
        .assert()
        .failure();
    let again = SmStore::connect(&name).unwrap().load().unwrap().unwrap();
    assert_eq!(again.document, stored.document);
}

#[test]
fn an_unreachable_endpoint_is_store_unavailable_without_credentials_in_the_message() {
    endpoint();
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = cmd(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        &[("KEYROLL_KEYRING", "aws-sm://keyroll-cli/nowhere")],
    )
    .args(["info", "--json"])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("store_unavailable"), "{text}");
    assert!(text.contains("aws-sm://keyroll-cli/nowhere"), "{text}");
    assert!(!text.contains("testing"), "{text}");
}
