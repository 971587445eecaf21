//! The PostgreSQL keyring store against a real server: the one `scripts/ci/50-cli.sh` starts
//! (`KEYROLL_TEST_PG_URL`). Each test uses its own keyring name, so they run in parallel on
//! the same tables.
#![allow(clippy::unwrap_used)]

use keyroll::{KeyState, Keyring, Protection, SecretKey, Unlock};
use keyroll_store::fleet::postgres::PgStore;
use keyroll_store::fleet::{KeyringStore, ReaderCheckIn};
use keyroll_store::AuditRecord;
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: u64 = 1_700_000_000;

fn server_url() -> String {
    std::env::var("KEYROLL_TEST_PG_URL")
        .expect("KEYROLL_TEST_PG_URL must be set (scripts/ci/50-cli.sh starts the server)")
}

/// A keyring name and application name of its own for each test (and each run).
fn unique(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn store(name: &str) -> PgStore {
    PgStore::connect(&format!("{}?application_name={name}", server_url()), name).unwrap()
}

fn admin() -> Client {
    Client::connect(&format!("{}?sslmode=disable", server_url()), NoTls).unwrap()
}

fn key() -> SecretKey {
    SecretKey::from_bytes([9u8; 32])
}

fn seal(ring: &Keyring) -> Vec<u8> {
    ring.to_document(Protection::MasterKey(&key())).unwrap()
}

fn open(doc: &[u8]) -> Keyring {
    Keyring::from_document(doc, Unlock::MasterKey(&key())).unwrap()
}

/// Loads, rotates and saves once (no retry): the new document.
fn rotate_once(s: &PgStore, now: u64) -> keyroll_store::Result<Vec<u8>> {
    let stored = s.load()?.unwrap();
    let mut ring = open(&stored.document);
    ring.rotate(now).unwrap();
    let doc = seal(&ring);
    s.compare_and_swap(Some(stored.generation), &doc)?;
    Ok(doc)
}

fn created(s: &PgStore) -> Vec<u8> {
    let doc = seal(&Keyring::generate(NOW).unwrap());
    s.compare_and_swap(None, &doc).unwrap();
    doc
}

#[test]
fn create_load_compare_and_swap_and_conflicts() {
    let name = unique("cas");
    let s = store(&name);
    assert_eq!(s.load().unwrap(), None);
    assert_eq!(s.generation().unwrap(), None);
    let first = created(&s);
    assert_eq!(s.generation().unwrap(), Some(1));
    // Creating again over an existing keyring is a conflict, and changes nothing.
    let other = seal(&Keyring::generate(NOW).unwrap());
    let e = s.compare_and_swap(None, &other).unwrap_err();
    assert_eq!(e.code(), "keyring_conflict");
    assert_eq!(s.load().unwrap().unwrap().document, first);

    // Two operators load generation 1; the first to save wins, the second is refused.
    let mut a = open(&first);
    let mut b = open(&first);
    a.rotate(NOW + 1).unwrap();
    b.rotate(NOW + 2).unwrap();
    let a_doc = seal(&a);
    s.compare_and_swap(Some(1), &a_doc).unwrap();
    let e = s.compare_and_swap(Some(1), &seal(&b)).unwrap_err();
    assert_eq!(e.code(), "keyring_conflict");
    let now = s.load().unwrap().unwrap();
    assert_eq!((now.generation, &now.document), (2, &a_doc));

    // The right base but not its successor (a generation skipped): conflict too.
    let mut skip = open(&a_doc);
    skip.mark_saved(5);
    let e = s.compare_and_swap(Some(2), &seal(&skip)).unwrap_err();
    assert_eq!(e.code(), "keyring_conflict");
    // Not a document at all: refused before anything is sent.
    let e = s.compare_and_swap(Some(2), b"not json").unwrap_err();
    assert_eq!(e.code(), "keyring_corrupt");
    // The replaced document is in history.
    let history = s.history().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].generation, &history[0].document), (1, &first));
}

/// Two hosts (two stores, two connections) rotate 20 times each at once, retrying on
/// conflict: exactly one save wins per generation and no rotation is lost.
#[test]
fn two_hosts_racing_lose_no_change() {
    let name = unique("race");
    created(&store(&name));
    let clock = Arc::new(AtomicU64::new(NOW + 1));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let host = store(&name);
            let clock = clock.clone();
            std::thread::spawn(move || {
                let mut conflicts = 0;
                for _ in 0..20 {
                    loop {
                        match rotate_once(&host, clock.fetch_add(1, Ordering::SeqCst)) {
                            Ok(_) => break,
                            Err(e) if e.code() == "keyring_conflict" => conflicts += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let conflicts: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let s = store(&name);
    let stored = s.load().unwrap().unwrap();
    assert_eq!(stored.generation, 41);
    let ring = open(&stored.document);
    let versions: Vec<u32> = ring.versions().iter().map(|v| v.version).collect();
    assert_eq!(versions, (1..=41).collect::<Vec<u32>>());
    let generations: Vec<u64> = s.history().unwrap().iter().map(|h| h.generation).collect();
    assert_eq!(generations, (1..=40).collect::<Vec<u64>>());
    eprintln!("race: 40 rotations by 2 hosts, {conflicts} conflicts retried");
}

fn sqlstate(e: &postgres::Error) -> &str {
    e.code().map(|c| c.code()).unwrap_or("none")
}

/// A lower generation is refused by the store, and by the trigger from any other client;
/// a keyring is deleted only on purpose, and even then an old copy cannot come back.
#[test]
fn rollback_is_refused_by_the_store_and_by_the_trigger() {
    let name = unique("rollback");
    let s = store(&name);
    let first = created(&s);
    let second = rotate_once(&s, NOW + 1).unwrap();
    rotate_once(&s, NOW + 2).unwrap();
    let mut db = admin();

    // Raw SQL lowering, or keeping, the generation: refused by the trigger.
    for (generation, document) in [(1i64, &first), (3, &second)] {
        let e = db
            .execute(
                "UPDATE keyroll_keyrings SET generation = $2, document = $3 WHERE name = $1",
                &[&name, &generation, document],
            )
            .unwrap_err();
        assert_eq!(sqlstate(&e), "KR001", "{e}");
    }
    let e = db
        .execute(
            "UPDATE keyroll_keyrings SET highest_generation = 1 WHERE name = $1",
            &[&name],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "KR001");
    // An old document under a raised generation column: the trigger lets the number pass,
    // the store reads the document's own generation and refuses it.
    db.execute(
        "UPDATE keyroll_keyrings SET generation = 4, highest_generation = 4, document = $2 WHERE name = $1",
        &[&name, &first],
    )
    .unwrap();
    let e = s.load().unwrap_err();
    assert_eq!(e.code(), "keyring_rollback", "{e}");
    // Nor does it accept the old document's successor (generation 2, below the highest).
    let e = s.compare_and_swap(Some(4), &second).unwrap_err();
    assert_eq!(e.code(), "keyring_rollback", "{e}");

    // Deleting needs the session setting; TRUNCATE is refused as well.
    let e = db
        .execute("DELETE FROM keyroll_keyrings WHERE name = $1", &[&name])
        .unwrap_err();
    assert_eq!(sqlstate(&e), "KR002");
    let e = db.batch_execute("TRUNCATE keyroll_keyrings").unwrap_err();
    assert_eq!(sqlstate(&e), "KR002");
    let mut tx = db.transaction().unwrap();
    tx.batch_execute("SET LOCAL keyroll.allow_delete = 'on'")
        .unwrap();
    assert_eq!(
        tx.execute("DELETE FROM keyroll_keyrings WHERE name = $1", &[&name])
            .unwrap(),
        1
    );
    tx.commit().unwrap();
    assert_eq!(s.generation().unwrap(), None);
    // The history remembers generations 1-3: an old copy put back as a "new" keyring is refused.
    let e = s.compare_and_swap(None, &second).unwrap_err();
    assert_eq!(e.code(), "keyring_rollback");
    assert_eq!(s.generation().unwrap(), None);
}

#[test]
fn reader_check_ins_upsert_and_list_newest_first() {
    let name = unique("readers");
    let s = store(&name);
    assert!(s.readers().unwrap().is_empty());
    let mut r = ReaderCheckIn {
        reader: "host:1:abc".into(),
        generation: 1,
        versions: vec![1],
        checked_at: NOW,
        poll_interval: 30,
        last_error: Some("store_unavailable".into()),
    };
    s.check_in(&r).unwrap();
    r.generation = 2;
    r.versions = vec![1, 2];
    r.checked_at = NOW + 30;
    r.last_error = None;
    s.check_in(&r).unwrap();
    let other = ReaderCheckIn {
        reader: "host:2:def".into(),
        checked_at: NOW + 20,
        ..r.clone()
    };
    s.check_in(&other).unwrap();
    // Another keyring's readers are not this one's.
    store(&unique("readers-other")).check_in(&r).unwrap();
    let got = s.readers().unwrap();
    assert_eq!(got, vec![r, other]);
    assert_eq!(
        keyroll_store::fleet::readers_lacking(&got, 3, NOW + 40).len(),
        2
    );
    assert!(keyroll_store::fleet::readers_lacking(&got, 2, NOW + 40).is_empty());
}

#[test]
fn audit_records_are_appended_in_order() {
    let name = unique("audit");
    let s = store(&name);
    let mut a = AuditRecord::new("rotate", NOW);
    a.versions = vec![2];
    let mut b = AuditRecord::new("promote", NOW + 5);
    b.details = Some(serde_json::json!({"forced": true}));
    s.audit(&a).unwrap();
    s.audit(&b).unwrap();
    assert_eq!(s.audit_records().unwrap(), vec![a, b]);
}

fn has_material(doc: &[u8], version: u32) -> bool {
    let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    v["body"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["version"] == version && x.get("sealed").is_some())
}

/// A destroyed version leaves the history too: rows that open are re-sealed without it
/// (same generation), a row sealed under other credentials that may hold it is deleted.
#[test]
fn purge_removes_a_destroyed_version_from_history() {
    let name = unique("purge");
    let s = store(&name);
    created(&s);
    rotate_once(&s, NOW + 1).unwrap();
    rotate_once(&s, NOW + 2).unwrap();
    // A history row under another master key (an old credential): cannot be re-sealed.
    let foreign = Keyring::generate(NOW)
        .unwrap()
        .to_document(Protection::MasterKey(&SecretKey::from_bytes([1u8; 32])))
        .unwrap();
    admin()
        .execute(
            "INSERT INTO keyroll_keyring_history (name, generation, document) VALUES ($1, 0, $2)",
            &[&name, &foreign],
        )
        .unwrap();
    let current = s.load().unwrap().unwrap();
    let mut ring = open(&current.document);
    ring.set_state(1, KeyState::Destroyed, None, NOW + 3)
        .unwrap();
    let destroying = seal(&ring);
    assert_eq!(
        keyroll_store::destroyed_since(&current.document, &destroying),
        vec![1]
    );
    s.compare_and_swap(Some(3), &destroying).unwrap();
    let before = s.history().unwrap();
    assert_eq!(before.len(), 4);
    assert!(before.iter().all(|h| has_material(&h.document, 1)));

    let report = s
        .purge_version(1, Unlock::MasterKey(&key()), NOW + 4)
        .unwrap();
    assert_eq!(report.resealed, ["history:1", "history:2", "history:3"]);
    assert_eq!(report.deleted, ["history:0"]);
    assert_eq!(report.unopenable, ["history:0"]);
    let after = s.history().unwrap();
    let generations: Vec<u64> = after.iter().map(|h| h.generation).collect();
    assert_eq!(generations, [1, 2, 3]);
    for h in &after {
        assert!(!has_material(&h.document, 1), "generation {}", h.generation);
        assert_eq!(
            Keyring::document_generation(&h.document).unwrap(),
            h.generation
        );
        assert!(open(&h.document).version(1).is_some());
    }
    let audit = s.audit_records().unwrap();
    assert_eq!(audit.last().unwrap().event, "purge_backups");
    // Through the store interface (as the CLI holds it, from `fleet::open`): nothing left
    // to purge, every row untouched.
    let any = keyroll_store::fleet::open(&format!("{}#{name}", server_url())).unwrap();
    assert!(any.location().ends_with(&format!("#{name}")));
    let again = any
        .purge_version(1, Unlock::MasterKey(&key()), NOW + 5)
        .unwrap()
        .expect("the PostgreSQL store keeps backups of its own");
    assert_eq!((again.untouched, again.resealed.len()), (3, 0));
}

/// Terminates the store's server process(es) from outside, as a server restart would: how
/// many there were.
fn kill_backends(db: &mut Client, application: &str) -> i64 {
    db.query_one(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        &[&application],
    )
    .unwrap()
    .get(0)
}

/// Waits (bounded) until the store's backend is blocked on a lock.
fn wait_until_blocked(db: &mut Client, application: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let blocked: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&application],
            )
            .unwrap()
            .get(0);
        if blocked > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the store never waited on the row lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The connection dies (as in a server restart): the next call reconnects, reads retried once,
/// and a compare-and-swap cut off mid-transaction resolves its outcome before trying again.
#[test]
fn a_lost_connection_is_replaced_on_the_next_call() {
    let name = unique("reconnect");
    let s = store(&name);
    let mut db = admin();
    created(&s);
    assert_eq!(kill_backends(&mut db, &name), 1);
    assert_eq!(s.generation().unwrap(), Some(1));
    assert_eq!(kill_backends(&mut db, &name), 1);
    rotate_once(&s, NOW + 1).unwrap();
    assert_eq!(kill_backends(&mut db, &name), 1);
    s.check_in(&ReaderCheckIn {
        reader: "r".into(),
        generation: 2,
        versions: vec![1, 2],
        checked_at: NOW,
        poll_interval: 30,
        last_error: None,
    })
    .unwrap();
    assert_eq!(s.readers().unwrap().len(), 1);
    // An audit append after the loss: written once (retried safely: each record has an id).
    assert_eq!(kill_backends(&mut db, &name), 1);
    s.audit(&AuditRecord::new("rotate", NOW + 1)).unwrap();
    assert_eq!(s.audit_records().unwrap().len(), 1);

    // Cut off inside the transaction (waiting on the row lock another client holds): nothing
    // was written, the generation is still the base, so it is tried again and wins.
    let base = s.load().unwrap().unwrap();
    let mut ring = open(&base.document);
    ring.rotate(NOW + 2).unwrap();
    let doc = seal(&ring);
    let s = Arc::new(s);
    let mut holder = admin();
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM keyroll_keyrings WHERE name = $1 FOR UPDATE",
        &[&name],
    )
    .unwrap();
    let saving = {
        let (s, doc) = (s.clone(), doc.clone());
        std::thread::spawn(move || s.compare_and_swap(Some(2), &doc))
    };
    wait_until_blocked(&mut db, &name);
    assert_eq!(kill_backends(&mut db, &name), 1);
    tx.rollback().unwrap();
    saving.join().unwrap().unwrap();
    assert_eq!(s.load().unwrap().unwrap().document, doc);

    // Cut off the same way, but another client changes the keyring before it is read back:
    // the retry is not blind — it reports the conflict and the other change stays.
    let mut ring = open(&doc);
    ring.rotate(NOW + 3).unwrap();
    let mine = seal(&ring);
    let mut theirs_ring = open(&doc);
    theirs_ring.rotate(NOW + 4).unwrap();
    let theirs = seal(&theirs_ring);
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM keyroll_keyrings WHERE name = $1 FOR UPDATE",
        &[&name],
    )
    .unwrap();
    let saving = {
        let (s, mine) = (s.clone(), mine.clone());
        std::thread::spawn(move || s.compare_and_swap(Some(3), &mine))
    };
    wait_until_blocked(&mut db, &name);
    assert_eq!(kill_backends(&mut db, &name), 1);
    tx.execute(
        "UPDATE keyroll_keyrings SET generation = 4, highest_generation = 4, document = $2 WHERE name = $1",
        &[&name, &theirs],
    )
    .unwrap();
    tx.commit().unwrap();
    let e = saving.join().unwrap().unwrap_err();
    assert_eq!(e.code(), "keyring_conflict", "{e}");
    assert_eq!(s.load().unwrap().unwrap().document, theirs);

    // Cut off when its own change did land (as when COMMIT went through but the reply was
    // lost; stood in for here by the other client writing exactly this document): read back,
    // it is success, not a conflict with itself.
    let mut ring = open(&theirs);
    ring.rotate(NOW + 5).unwrap();
    let mine = seal(&ring);
    let mut tx = holder.transaction().unwrap();
    // The history lock holds the read-back until this client's write is committed.
    tx.batch_execute("LOCK TABLE keyroll_keyring_history IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    tx.execute(
        "SELECT 1 FROM keyroll_keyrings WHERE name = $1 FOR UPDATE",
        &[&name],
    )
    .unwrap();
    let saving = {
        let (s, mine) = (s.clone(), mine.clone());
        std::thread::spawn(move || s.compare_and_swap(Some(4), &mine))
    };
    wait_until_blocked(&mut db, &name);
    assert_eq!(kill_backends(&mut db, &name), 1);
    tx.execute(
        "UPDATE keyroll_keyrings SET generation = 5, highest_generation = 5, document = $2 WHERE name = $1",
        &[&name, &mine],
    )
    .unwrap();
    tx.commit().unwrap();
    saving.join().unwrap().unwrap();
    assert_eq!(s.generation().unwrap(), Some(5));
}

/// No password in the location, Debug, or any error: neither from the URL's user info nor a
/// `password=` parameter, whether the server is out of reach or refuses.
#[test]
fn passwords_never_reach_errors_or_debug() {
    let secret = "hunter2-Pg-Secret";
    let url = server_url();
    let (_, rest) = url.split_once("://").unwrap();
    let (_, host_db) = rest.split_once('@').unwrap();
    let (host_port, _) = host_db.split_once('/').unwrap();
    let (host, _) = host_port.split_once(':').unwrap();
    let cases = [
        // Nothing listens on port 1: out of reach.
        format!("postgres://postgres:{secret}@{host}:1/postgres"),
        format!("postgres://postgres@{host}:1/postgres?password={secret}"),
        // The server answers and refuses: no such database.
        format!("postgres://postgres:{secret}@{host_port}/no_such_db_here"),
    ];
    for url in cases {
        let s = PgStore::connect(&url, "secrets").unwrap();
        let shown = format!("{} {:?}", s.location(), s);
        assert!(!shown.contains(secret), "{shown}");
        let e = s.generation().unwrap_err();
        assert_eq!(e.code(), "store_unavailable", "{e}");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("#secrets"), "names the store: {shown}");
        let e = s.compare_and_swap(None, &seal(&Keyring::generate(NOW).unwrap()));
        let shown = format!("{:?}", e.unwrap_err());
        assert!(!shown.contains(secret), "{shown}");
    }
    // Bad settings are refused before connecting, also without the password.
    let e = PgStore::connect(
        &format!("postgres://u:{secret}@{host_port}/db?sslmode=sometimes"),
        "x",
    )
    .unwrap_err();
    assert_eq!(e.code(), "invalid_store_url");
    assert!(!format!("{e} {e:?}").contains(secret));
}

/// Four hosts meet an empty database at once: the tables, function and triggers are created
/// once, under the advisory lock, and every host gets an answer (no "already exists" race).
#[test]
fn first_time_hosts_create_the_tables_once() {
    let db_name = unique("kr_setup").replace('-', "_");
    let mut db = admin();
    db.batch_execute(&format!("CREATE DATABASE {db_name}"))
        .unwrap();
    let url = server_url();
    let base = url.rsplit_once('/').unwrap().0.to_string();
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let hosts: Vec<_> = (0..4)
        .map(|i| {
            let (url, barrier) = (format!("{base}/{db_name}"), barrier.clone());
            std::thread::spawn(move || {
                let s = PgStore::connect(&url, &format!("k{i}")).unwrap();
                barrier.wait();
                s.generation()
            })
        })
        .collect();
    for h in hosts {
        assert_eq!(h.join().unwrap().unwrap(), None);
    }
    let mut fresh = Client::connect(&format!("{base}/{db_name}?sslmode=disable"), NoTls).unwrap();
    let triggers: i64 = fresh
        .query_one(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'keyroll_keyrings'::regclass AND NOT tgisinternal",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(triggers, 2);
    drop(fresh);
    db.batch_execute(&format!("DROP DATABASE {db_name} WITH (FORCE)"))
        .unwrap();
}

/// A throwaway cluster of this test's own (the shared server is not restarted under the
/// other tests): `initdb` and `pg_ctl` from Debian's packages, as `postgres` when run as root.
struct Cluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) {
        let tool = self.bin.join(tool);
        let status = if self.as_postgres {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&tool)
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()
        } else {
            std::process::Command::new(&tool)
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()
        };
        assert!(status.unwrap().success(), "{} {args:?}", tool.display());
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's postgresql is installed (scripts/ci/50-cli.sh installs it)")
            .map(|e| e.unwrap().path().join("bin"))
            .filter(|p| p.join("pg_ctl").exists())
            .max()
            .unwrap();
        let uid = std::process::Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let chown = std::process::Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status();
            assert!(chown.unwrap().success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.pg_ctl("start");
        cluster
    }

    fn pg_ctl(&self, action: &str) {
        let (data, log) = (self.data(), self.dir.path().join("log"));
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = log.display().to_string();
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-m", "fast"];
        if action != "stop" {
            args.extend(["-o", &options]);
        }
        args.push(action);
        self.run("pg_ctl", &args);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = std::panic::catch_unwind(|| {
            self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
        });
    }
}

/// The server restarts between calls, and is down for some: calls while it is down say
/// `store_unavailable` and change nothing; the first call after it is back reconnects.
#[test]
fn a_server_restart_is_survived() {
    let cluster = Cluster::start();
    let s = PgStore::connect(&cluster.url(), "restart").unwrap();
    created(&s);
    rotate_once(&s, NOW + 1).unwrap();

    cluster.pg_ctl("restart");
    assert_eq!(s.generation().unwrap(), Some(2));
    cluster.pg_ctl("restart");
    let third = rotate_once(&s, NOW + 2).unwrap();

    cluster.pg_ctl("stop");
    let e = s.generation().unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "{e}");
    assert!(e.to_string().contains("#restart"), "{e}");
    let stale = s.load().unwrap_err();
    assert_eq!(stale.code(), "store_unavailable");
    let mut ring = open(&third);
    ring.rotate(NOW + 3).unwrap();
    let next = seal(&ring);
    let e = s.compare_and_swap(Some(3), &next).unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "{e}");
    cluster.pg_ctl("start");
    let stored = s.load().unwrap().unwrap();
    assert_eq!(
        stored.generation, 3,
        "nothing was written while it was down"
    );
    s.compare_and_swap(Some(3), &next).unwrap();
    assert_eq!(s.history().unwrap().len(), 3);
}

/// The roles `docs/fleet.md` recommends: a reader can load, poll and check in, and cannot
/// change the keyring or read its history; an operator can do all a CLI does.
#[test]
fn the_documented_roles_are_enough_and_a_reader_cannot_write() {
    let name = unique("role");
    let role = name.replace('-', "_");
    let writer = store(&name);
    created(&writer);
    let mut db = admin();
    db.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN; \
         GRANT SELECT ON keyroll_keyrings TO {role}; \
         GRANT SELECT, INSERT, UPDATE ON keyroll_readers TO {role};"
    ))
    .unwrap();
    let url = server_url().replacen("postgres@", &format!("{role}@"), 1);
    let reader = PgStore::connect(&url, &name).unwrap();
    let stored = reader.load().unwrap().unwrap();
    assert_eq!(reader.generation().unwrap(), Some(1));
    let check_in = ReaderCheckIn {
        reader: "app:1".into(),
        generation: 1,
        versions: vec![1],
        checked_at: NOW,
        poll_interval: 30,
        last_error: None,
    };
    reader.check_in(&check_in).unwrap();
    reader.check_in(&check_in).unwrap();
    assert_eq!(writer.readers().unwrap(), vec![check_in]);
    let mut ring = open(&stored.document);
    ring.rotate(NOW + 1).unwrap();
    let e = reader.compare_and_swap(Some(1), &seal(&ring)).unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "{e}");
    assert!(e.to_string().contains("permission denied"), "{e}");
    assert_eq!(reader.history().unwrap_err().code(), "store_unavailable");
    assert_eq!(writer.generation().unwrap(), Some(1));
    drop(reader);

    // The operator role of the docs: changes, audit, purge, readers.
    let operator = format!("{role}_op");
    db.batch_execute(&format!(
        "CREATE ROLE {operator} LOGIN; \
         GRANT SELECT, INSERT, UPDATE ON keyroll_keyrings TO {operator}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON keyroll_keyring_history TO {operator}; \
         GRANT SELECT, INSERT ON keyroll_audit TO {operator}; \
         GRANT SELECT ON keyroll_readers TO {operator}; \
         GRANT USAGE ON keyroll_keyring_history_id_seq, keyroll_audit_id_seq TO {operator};"
    ))
    .unwrap();
    let url = server_url().replacen("postgres@", &format!("{operator}@"), 1);
    let op = PgStore::connect(&url, &name).unwrap();
    op.compare_and_swap(Some(1), &seal(&ring)).unwrap();
    op.audit(&AuditRecord::new("rotate", NOW + 1)).unwrap();
    let mut ring = open(&op.load().unwrap().unwrap().document);
    ring.set_state(1, KeyState::Destroyed, None, NOW + 2)
        .unwrap();
    op.compare_and_swap(Some(2), &seal(&ring)).unwrap();
    let report = op
        .purge_version(1, Unlock::MasterKey(&key()), NOW + 2)
        .unwrap();
    assert_eq!(report.resealed, ["history:1", "history:2"]);
    assert_eq!(op.readers().unwrap().len(), 1);
    drop(op);
    for r in [&role, &operator] {
        db.batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{r}'; \
             DROP OWNED BY {r}; DROP ROLE {r};"
        ))
        .unwrap();
    }
}
