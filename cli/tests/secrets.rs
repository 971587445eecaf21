//! No key material (passphrase, master key, Fernet key) and no plaintext reaches stdout,
//! stderr, the audit log, backups or keyring files, in any encoding.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{mixed_tokens, sqlite_table, Env};

/// Every way a secret could be written out.
fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![
        secret.to_vec(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        STANDARD.encode(secret).into_bytes(),
        STANDARD_NO_PAD.encode(secret).into_bytes(),
        URL_SAFE.encode(secret).into_bytes(),
        URL_SAFE_NO_PAD.encode(secret).into_bytes(),
        format!("{secret:?}").into_bytes(),
    ];
    out.retain(|e| e.len() >= 8);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn collect_files(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
}

#[test]
fn no_key_material_or_plaintext_anywhere() {
    let passphrase = "tr0ub4dor&3 horse staple";
    let env = Env::new();
    let fernet = keyroll::FernetKey::generate().unwrap();
    let fernet_text = fernet.to_base64().to_string();
    let fernet_raw = URL_SAFE.decode(&fernet_text).unwrap();
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut run = |label: &str, mut cmd: assert_cmd::Command| {
        let out = cmd.output().unwrap();
        outputs.push((format!("{label} stdout"), out.stdout));
        outputs.push((format!("{label} stderr"), out.stderr));
    };
    let p = || env.cmd_pass(passphrase);
    let with = |mut c: assert_cmd::Command, args: &[&str]| {
        c.args(args);
        c
    };
    run("init", with(p(), &["init", "--iterations", "1000"]));
    let mut c = with(p(), &["import-fernet"]);
    c.env("ENCRYPTION_KEY", &fernet_text);
    run("import", c);
    let ring = common::open_ring_pass(&env.keyring, passphrase);
    let db = env.path("app.db");
    sqlite_table(
        &db,
        "users",
        &mixed_tokens(&ring, &fernet, "users", "secret", 50),
    );
    let d = db.to_str().unwrap();
    for json in [false, true] {
        let extra: Vec<&str> = if json { vec!["--json"] } else { vec![] };
        for args in [
            vec!["info"],
            vec!["health"],
            vec!["policy"],
            vec!["backups"],
            vec!["audit"],
            vec![
                "report", "--db", d, "--table", "users", "--column", "secret",
            ],
            vec![
                "migrate",
                "--db",
                d,
                "--table",
                "users",
                "--column",
                "secret",
                "--context-template",
                "{table}:{id}:{column}",
            ],
        ] {
            let mut all = args.clone();
            all.extend(extra.iter());
            run(&all.join(" "), with(p(), &all));
        }
    }
    run("rotate", with(p(), &["rotate"]));
    run(
        "migrate apply",
        with(
            p(),
            &[
                "migrate",
                "--db",
                d,
                "--table",
                "users",
                "--column",
                "secret",
                "--context-template",
                "{table}:{id}:{column}",
                "--apply",
                "--progress",
                "plain",
            ],
        ),
    );
    run(
        "emergency",
        with(
            p(),
            &[
                "rotate",
                "--emergency",
                "--reason",
                "test",
                "--yes",
                "--json",
            ],
        ),
    );
    run("stage", with(p(), &["stage"]));
    run("promote", with(p(), &["promote", "4"]));
    run(
        "export",
        with(p(), &["export", "--decrypt-only", "--out", "reader.json"]),
    );
    run("backup", with(p(), &["backup"]));
    run("wrong passphrase", with(env.cmd_pass("not it"), &["info"]));
    run(
        "wrong passphrase json",
        with(env.cmd_pass("not it"), &["rotate", "--json"]),
    );
    let mut c = with(p(), &["validate", "--kind", "fernet"]);
    c.write_stdin(fernet_text.clone());
    run("validate", c);
    let mut c = with(p(), &["import-fernet", "--json"]);
    c.env("ENCRYPTION_KEY", "AAAA");
    run("bad import", c);
    // A master-key keyring too.
    let menv = Env::new();
    for args in [
        vec!["init"],
        vec!["rotate"],
        vec!["info", "--json"],
        vec!["backup"],
        vec!["health"],
    ] {
        run(
            &format!("master {}", args.join(" ")),
            with(menv.cmd(), &args),
        );
    }
    let mut c = with(menv.cmd(), &["info"]);
    c.env("KEYROLL_MASTER_KEY", "zz");
    run("bad master", c);

    let mut files = Vec::new();
    collect_files(env.dir.path(), &mut files);
    collect_files(menv.dir.path(), &mut files);
    files.retain(|(name, _)| !name.ends_with("app.db") && !name.contains("app.db-"));
    assert!(files.iter().any(|(n, _)| n.ends_with(".audit.jsonl")));
    assert!(files.iter().filter(|(n, _)| n.contains(".backups")).count() >= 5);

    let mut needles: Vec<(&str, Vec<u8>)> = Vec::new();
    needles.push(("passphrase", passphrase.as_bytes().to_vec()));
    for e in encodings(&menv.master_key) {
        needles.push(("master key", e));
    }
    for secret in [&fernet_raw[..], &fernet_raw[..16], &fernet_raw[16..]] {
        for e in encodings(secret) {
            needles.push(("fernet key", e));
        }
    }
    for e in encodings(passphrase.as_bytes()) {
        needles.push(("passphrase", e));
    }
    for i in 1..=50 {
        needles.push(("plaintext", common::secret(i).into_bytes()));
    }
    let mut checked = 0;
    for (where_, hay) in outputs.iter().chain(files.iter()) {
        for (what, needle) in &needles {
            assert!(!contains(hay, needle), "{what} found in {where_}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
    // The commands above really ran: v4 is active and the table moved.
    let ring = common::open_ring_pass(&env.keyring, passphrase);
    assert_eq!(ring.active_version(), Some(4));
    // Positive control: the scan does find a key that is printed (by `generate`, on purpose).
    let out = menv.cmd().arg("generate").output().unwrap();
    let key = STANDARD
        .decode(String::from_utf8(out.stdout.clone()).unwrap().trim())
        .unwrap();
    assert!(encodings(&key).iter().any(|e| contains(&out.stdout, e)));
}
