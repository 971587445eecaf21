//! The Secrets Manager store and KMS key-encryption keys against moto's server, with the real
//! AWS SDK for Rust: the server `scripts/lib.sh start_moto` starts on 127.0.0.1 (it exports
//! `AWS_ENDPOINT_URL`, dummy credentials and `AWS_EC2_METADATA_DISABLED`). Each test uses
//! secrets and keys of its own, so they run in parallel on one server.
#![allow(clippy::unwrap_used)]

use keyroll::{document_sealing, Keyring, Protection, Sealing, SecretKey, Unlock};
use keyroll_store::fleet::aws_sm::SmStore;
use keyroll_store::fleet::{KeyringStore, ReaderCheckIn};
use keyroll_store::kms::AwsKms;
use keyroll_store::AuditRecord;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

const NOW: u64 = 1_700_000_000;

/// Refuses to run anywhere but against a local server: nothing may reach real AWS.
fn local_endpoint() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL must point at moto (scripts/lib.sh start_moto starts it)");
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "AWS_ENDPOINT_URL must be moto on 127.0.0.1, not {url}"
    );
    url
}

fn unique(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "keyroll-test/{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn store(name: &str) -> SmStore {
    local_endpoint();
    SmStore::connect(name).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A raw SDK client, to do what an administrator (or another tool) could do to the secret.
fn raw_sm(rt: &tokio::runtime::Runtime) -> aws_sdk_secretsmanager::Client {
    local_endpoint();
    let config = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    aws_sdk_secretsmanager::Client::new(&config)
}

fn sealed(ring: &Keyring, key: &SecretKey) -> Vec<u8> {
    ring.to_document(Protection::MasterKey(key)).unwrap()
}

fn open(store: &SmStore, key: &SecretKey) -> (Keyring, u64) {
    let stored = store.load().unwrap().unwrap();
    let ring = Keyring::from_document(&stored.document, Unlock::MasterKey(key)).unwrap();
    (ring, stored.generation)
}

#[test]
fn create_load_change_and_a_stale_save_is_a_conflict() {
    let name = unique("cas");
    let sm = store(&name);
    assert_eq!(sm.location(), format!("aws-sm://{name}"));
    assert!(sm.load().unwrap().is_none());
    assert_eq!(sm.generation().unwrap(), None);
    let key = SecretKey::generate().unwrap();
    let first = sealed(&Keyring::generate(NOW).unwrap(), &key);
    let e = sm.compare_and_swap(Some(1), &first).unwrap_err();
    assert_eq!(
        e.code(),
        "keyring_conflict",
        "no secret yet, but a base was given"
    );
    sm.compare_and_swap(None, &first).unwrap();
    assert_eq!(sm.generation().unwrap(), Some(1));
    assert_eq!(sm.load().unwrap().unwrap().document, first);

    // Two operators load generation 1; the first to save wins, the second changes nothing.
    let (mut a, _) = open(&sm, &key);
    let (mut b, _) = open(&sm, &key);
    a.rotate(NOW + 10).unwrap();
    b.rotate(NOW + 20).unwrap();
    let a_doc = sealed(&a, &key);
    sm.compare_and_swap(Some(1), &a_doc).unwrap();
    let e = sm.compare_and_swap(Some(1), &sealed(&b, &key)).unwrap_err();
    assert_eq!(e.code(), "keyring_conflict");
    // Another process's store sees the winner.
    let other = store(&name);
    let now = other.load().unwrap().unwrap();
    assert_eq!((now.generation, now.document), (2, a_doc.clone()));
    // Creating over an existing keyring, or skipping a generation, is a conflict too.
    let e = other
        .compare_and_swap(None, &sealed(&Keyring::generate(NOW).unwrap(), &key))
        .unwrap_err();
    assert_eq!(e.code(), "keyring_conflict");
    let (mut c, _) = open(&other, &key);
    c.rotate(NOW + 30).unwrap();
    c.mark_saved(5);
    let e = other
        .compare_and_swap(Some(2), &sealed(&c, &key))
        .unwrap_err();
    assert_eq!(
        e.code(),
        "keyring_conflict",
        "generation 6 is no successor of 2"
    );
    assert_eq!(other.load().unwrap().unwrap().document, a_doc);
}

#[test]
fn two_stores_racing_on_threads_never_lose_a_change() {
    let name = unique("race");
    let key = SecretKey::generate().unwrap();
    store(&name)
        .compare_and_swap(None, &sealed(&Keyring::generate(NOW).unwrap(), &key))
        .unwrap();
    const WRITERS: usize = 2;
    const EACH: u64 = 6;
    let winners = Arc::new(Mutex::new(Vec::new()));
    let conflicts = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(WRITERS));
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (name, key) = (name.clone(), key.clone());
            let (winners, conflicts, start) = (winners.clone(), conflicts.clone(), start.clone());
            std::thread::spawn(move || {
                let sm = store(&name); // one store (and client) per writer, as on two hosts
                start.wait();
                let mut won = 0;
                while won < EACH {
                    let (mut ring, generation) = open(&sm, &key);
                    ring.rotate(NOW + 1000 * w as u64 + won).unwrap();
                    match sm.compare_and_swap(Some(generation), &sealed(&ring, &key)) {
                        Ok(()) => {
                            winners.lock().unwrap().push((generation + 1, w));
                            won += 1;
                        }
                        Err(e) => {
                            assert_eq!(e.code(), "keyring_conflict", "{e}");
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut winners = winners.lock().unwrap().clone();
    winners.sort();
    let total = WRITERS as u64 * EACH;
    // Exactly one winner per generation, every generation from 2 on.
    let generations: Vec<u64> = winners.iter().map(|(g, _)| *g).collect();
    assert_eq!(generations, (2..=1 + total).collect::<Vec<_>>());
    // No change lost: every winning rotation is in the final keyring.
    let (ring, generation) = open(&store(&name), &key);
    assert_eq!(generation, 1 + total);
    assert_eq!(ring.versions().len() as u64, 1 + total);
    eprintln!(
        "race: {total} saves won, {} refused as conflicts",
        conflicts.load(Ordering::Relaxed)
    );
}

/// The same save sent twice (the SDK retrying a request whose response was lost, or a caller
/// retrying after `store_unavailable`): the copy that finds the document already current has
/// succeeded, not met someone else's change — answering `keyring_conflict` would make the CLI
/// re-apply the change on top of itself (a second rotation).
#[test]
fn a_save_repeated_after_it_landed_is_success_not_a_conflict() {
    let name = unique("repeat");
    let key = SecretKey::generate().unwrap();
    let first = sealed(&Keyring::generate(NOW).unwrap(), &key);
    store(&name).compare_and_swap(None, &first).unwrap();
    let base = || Keyring::from_document(&first, Unlock::MasterKey(&key)).unwrap();
    let mut next = base();
    next.rotate(NOW + 1).unwrap();
    let doc = Arc::new(sealed(&next, &key));
    // Two identical requests at once (one store per thread, as the SDK's retry and the
    // first attempt are two requests): both must succeed, whichever step sees the other.
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (name, doc, start) = (name.clone(), doc.clone(), start.clone());
            std::thread::spawn(move || {
                let sm = store(&name);
                start.wait();
                sm.compare_and_swap(Some(1), &doc)
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    // And once more after it landed.
    store(&name).compare_and_swap(Some(1), &doc).unwrap();
    let stored = store(&name).load().unwrap().unwrap();
    assert_eq!((stored.generation, &stored.document), (2, &*doc));
    // A different document on the same base is still a conflict.
    let mut other = base();
    other.rotate(NOW + 2).unwrap();
    let e = store(&name)
        .compare_and_swap(Some(1), &sealed(&other, &key))
        .unwrap_err();
    assert_eq!(e.code(), "keyring_conflict");
}

#[test]
fn an_older_version_made_current_again_is_refused_and_never_built_on() {
    let name = unique("rollback");
    let key = SecretKey::generate().unwrap();
    let sm = store(&name);
    let mut ring = Keyring::generate(NOW).unwrap();
    sm.compare_and_swap(None, &sealed(&ring, &key)).unwrap();
    ring.mark_saved(1);
    for i in 1..=2 {
        ring.rotate(NOW + i).unwrap();
        sm.compare_and_swap(Some(i), &sealed(&ring, &key)).unwrap();
        ring.mark_saved(i + 1);
    }
    assert_eq!(sm.generation().unwrap(), Some(3));

    // Someone moves AWSCURRENT back to generation 1's version (the console's "restore").
    let rt = runtime();
    let raw = raw_sm(&rt);
    let described = rt
        .block_on(raw.describe_secret().secret_id(&name).send())
        .unwrap();
    let stages = described.version_ids_to_stages().unwrap();
    let current = stages
        .iter()
        .find(|(_, s)| s.iter().any(|s| s == "AWSCURRENT"))
        .unwrap()
        .0
        .clone();
    let versions = rt
        .block_on(
            raw.list_secret_version_ids()
                .secret_id(&name)
                .include_deprecated(true)
                .send(),
        )
        .unwrap();
    let oldest = versions
        .versions()
        .iter()
        .map(|v| v.version_id().unwrap().to_string())
        .find(|id| id.starts_with("keyroll-g00000000000000000001-"))
        .unwrap();
    rt.block_on(
        raw.update_secret_version_stage()
            .secret_id(&name)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&oldest)
            .remove_from_version_id(&current)
            .send(),
    )
    .unwrap();

    // This process, and a fresh one that never saw generation 3, both refuse it.
    for s in [&sm, &store(&name)] {
        assert_eq!(s.load().unwrap_err().code(), "keyring_rollback");
        assert_eq!(s.generation().unwrap_err().code(), "keyring_rollback");
    }
    // A save built on the old copy is refused too, and writes nothing.
    let old = Keyring::from_document(
        &rt.block_on(
            raw.get_secret_value()
                .secret_id(&name)
                .version_id(&oldest)
                .send(),
        )
        .unwrap()
        .secret_binary()
        .unwrap()
        .clone()
        .into_inner(),
        Unlock::MasterKey(&key),
    )
    .unwrap();
    let e = store(&name)
        .compare_and_swap(Some(1), &sealed(&old, &key))
        .unwrap_err();
    assert_eq!(e.code(), "keyring_rollback");

    // Even with AWSPREVIOUS moved off the newer version as well, the high-water tag holds.
    let prev = rt
        .block_on(raw.describe_secret().secret_id(&name).send())
        .unwrap()
        .version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, s)| s.iter().any(|s| s == "AWSPREVIOUS"))
        .unwrap()
        .0
        .clone();
    rt.block_on(
        raw.update_secret_version_stage()
            .secret_id(&name)
            .version_stage("AWSPREVIOUS")
            .move_to_version_id(&oldest)
            .remove_from_version_id(&prev)
            .send(),
    )
    .unwrap();
    assert_eq!(store(&name).load().unwrap_err().code(), "keyring_rollback");
}

#[test]
fn foreign_values_audit_and_readers() {
    let rt = runtime();
    let raw = raw_sm(&rt);
    let name = unique("foreign");
    rt.block_on(
        raw.create_secret()
            .name(&name)
            .secret_string("{\"password\":\"x\"}")
            .send(),
    )
    .unwrap();
    assert_eq!(store(&name).load().unwrap_err().code(), "keyring_corrupt");

    let sm = store(&unique("audit"));
    let reader = ReaderCheckIn {
        reader: "host:1:abc".into(),
        generation: 1,
        versions: vec![1],
        checked_at: NOW,
        poll_interval: 30,
        last_error: None,
    };
    assert_eq!(
        sm.check_in(&reader).unwrap_err().code(),
        "store_unsupported"
    );
    assert_eq!(sm.readers().unwrap_err().code(), "store_unsupported");
    let record = AuditRecord::new("rotate", NOW);
    if std::env::var_os("KEYROLL_AUDIT_LOG").is_none() {
        assert_eq!(sm.audit(&record).unwrap_err().code(), "store_unsupported");
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sm = sm.with_audit_log(&log);
    sm.audit(&record).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\"event\":\"rotate\""), "{text}");
}

fn kms_key(rt: &tokio::runtime::Runtime) -> String {
    local_endpoint();
    let config = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    let kms = aws_sdk_kms::Client::new(&config);
    let key = rt.block_on(kms.create_key().send()).unwrap();
    let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    let alias = format!(
        "alias/{}",
        unique("kek").replace('/', "-").replace("keyroll-test-", "")
    );
    rt.block_on(
        kms.create_alias()
            .alias_name(&alias)
            .target_key_id(&arn)
            .send(),
    )
    .unwrap();
    alias
}

fn context() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_string(), "payments".to_string()),
        ("keyring".to_string(), "default".to_string()),
    ])
}

#[test]
fn a_kms_sealed_keyring_opens_with_one_decrypt_and_saves_with_none() {
    let rt = runtime();
    let alias = kms_key(&rt);
    let kms = AwsKms::new(&alias, context()).unwrap();
    let (kek, wrap) = kms.new_kek().unwrap();
    assert_eq!(kms.requests_sent(), 1);
    assert_eq!(wrap.provider, "aws-kms");
    assert!(
        wrap.key_id.starts_with("arn:aws:kms:"),
        "the wrap records the key's ARN, not the alias: {}",
        wrap.key_id
    );
    assert_eq!(wrap.context, context());
    let ring = Keyring::generate(NOW).unwrap();
    let doc = ring
        .to_document(Protection::WrappedKey {
            key: &kek,
            wrap: &wrap,
        })
        .unwrap();
    let envelope = ring.encrypt(b"4111", b"users:1:card", None).unwrap();

    // Another process: only the document and AWS credentials.
    let opener = AwsKms::for_unwrap().unwrap();
    let Sealing::Wrapped(recorded) = document_sealing(&doc).unwrap() else {
        panic!("not a wrapped-key document")
    };
    let unwrapped = opener.unwrap(&recorded).unwrap();
    assert_eq!(opener.requests_sent(), 1, "one Decrypt per open");
    let mut opened = Keyring::from_document(&doc, Unlock::Unwrapped(&unwrapped)).unwrap();
    for _ in 0..100 {
        assert_eq!(
            opened
                .decrypt(envelope.as_bytes(), b"users:1:card", None)
                .unwrap(),
            b"4111"
        );
    }
    opened.rotate(NOW + 10).unwrap();
    let next = opened
        .to_document(Protection::WrappedKey {
            key: &unwrapped,
            wrap: &recorded,
        })
        .unwrap();
    assert_eq!(
        opener.requests_sent(),
        1,
        "no KMS call per message nor on save"
    );
    assert_eq!(document_sealing(&next).unwrap(), Sealing::Wrapped(wrap));
    assert_eq!(Keyring::check_successor(Some(&doc), &next).unwrap(), 2);
}

#[test]
fn kms_refuses_another_context_or_key() {
    let rt = runtime();
    let kms = AwsKms::new(kms_key(&rt), context()).unwrap();
    let (_, wrap) = kms.new_kek().unwrap();
    let mut other_context = wrap.clone();
    other_context
        .context
        .insert("keyring".into(), "other".into());
    assert_eq!(
        kms.unwrap(&other_context).unwrap_err().code(),
        "bad_passphrase"
    );
    let mut no_context = wrap.clone();
    no_context.context.clear();
    assert_eq!(
        kms.unwrap(&no_context).unwrap_err().code(),
        "bad_passphrase"
    );
    let mut other_key = wrap.clone();
    other_key.key_id = AwsKms::new(kms_key(&rt), context())
        .unwrap()
        .new_kek()
        .unwrap()
        .1
        .key_id;
    // AWS answers IncorrectKeyException (bad_passphrase); moto answers AccessDeniedException
    // (store_unavailable, as for any denied call). Refused either way.
    let e = kms.unwrap(&other_key).unwrap_err();
    assert!(
        ["bad_passphrase", "store_unavailable"].contains(&e.code()),
        "{e}"
    );
    let mut foreign = wrap.clone();
    foreign.provider = "gcp-kms".into();
    assert_eq!(
        kms.unwrap(&foreign).unwrap_err().code(),
        "store_unsupported"
    );
    // And the right one still opens.
    kms.unwrap(&wrap).unwrap();
}
