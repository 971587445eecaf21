//! No key material (passphrase, master key, Fernet key) and no plaintext reaches stdout,
//! stderr, the audit log, backups or keyring files, in any encoding.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{mixed_tokens, sqlite_table, Env};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;

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
    run("init", with(p(), &["init", "--iterations", "100000"]));
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
        with(
            p(),
            &[
                "export",
                "--decrypt-only",
                "--version",
                "4",
                "--out",
                "reader.json",
            ],
        ),
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

// ---- #15: secrets never on the command line; no core dumps ----

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keys_as_arguments_are_refused_and_name_the_replacement() {
    let env = Env::new();
    env.init();
    let before = std::fs::read(&env.keyring).unwrap();
    let fernet = keyroll::FernetKey::generate()
        .unwrap()
        .to_base64()
        .to_string();
    let master = STANDARD.encode([7u8; 32]);
    for (args, replacement) in [
        (vec!["import-fernet", fernet.as_str()], "ENCRYPTION_KEY"),
        (
            vec!["import-fernet", "-", fernet.as_str()],
            "import-fernet -",
        ),
        (
            vec!["validate", "--kind", "fernet", fernet.as_str()],
            "--env",
        ),
        (vec!["validate", master.as_str()], "validate -"),
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("secret_in_argv"), "{err}");
        assert!(err.contains(replacement), "{err}");
        assert!(err.contains("ps"), "the message says why: {err}");
        let echoed = String::from_utf8_lossy(&out.stdout) + err.as_str();
        assert!(!echoed.contains(&fernet) && !echoed.contains(&master));
    }
    assert_eq!(
        std::fs::read(&env.keyring).unwrap(),
        before,
        "nothing changed"
    );
    assert_eq!(env.ring().versions().len(), 1);
}

#[test]
fn keys_come_from_stdin_or_the_environment() {
    let env = Env::new();
    env.init();
    let keys: Vec<keyroll::FernetKey> = (0..3)
        .map(|_| keyroll::FernetKey::generate().unwrap())
        .collect();
    let text: Vec<String> = keys.iter().map(|k| k.to_base64().to_string()).collect();
    // stdin: the list rules of the environment contract (commas and/or whitespace).
    let out = env
        .cmd()
        .args(["import-fernet", "--json", "-"])
        .write_stdin(format!("{},\n{} {}\n", text[0], text[1], text[2]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let versions: Vec<u32> = keys.iter().map(|k| k.keyroll_version()).collect();
    assert_eq!(
        common::json(&out.stdout)["imported_versions"],
        serde_json::json!(versions)
    );
    // validate: stdin with `-` (or nothing), or a named variable.
    for args in [
        vec!["validate", "--kind", "fernet", "-"],
        vec!["validate", "--kind", "fernet"],
    ] {
        let out = env
            .cmd()
            .args(&args)
            .write_stdin(text[0].clone())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let out = env
        .cmd()
        .env("MY_KEY", &text[1])
        .args(["validate", "--kind", "fernet", "--env", "MY_KEY", "--json"])
        .output()
        .unwrap();
    assert_eq!(common::json(&out.stdout)["valid"], true);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&text[1]));
    let out = env
        .cmd()
        .env("MY_KEY", "")
        .args(["validate", "--kind", "fernet", "--env", "MY_KEY"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(stderr(&out).contains("MY_KEY is unset or empty"));
}

/// The process's state letter (`R`, `S`, …) from `/proc/<pid>/stat`.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Whether the process is blocked reading its stdin: `/proc/<pid>/syscall` says `read(0, …)`
/// where it may be read (it needs ptrace rights: root, as in CI), else the state is sleeping
/// (the only place a `validate -` with its credentials in the environment can sleep).
fn blocked_on_stdin(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/syscall")) {
        Ok(s) if cfg!(target_arch = "x86_64") => s.starts_with("0 0x0 "),
        _ => proc_state(pid) == Some('S'),
    }
}

/// While the CLI holds a key read from stdin, its argv (`/proc/<pid>/cmdline`, what `ps`
/// shows) does not contain it, and its core-dump limit is 0 (soft and hard): observed from
/// outside, on the real running binary.
#[test]
#[cfg(target_os = "linux")]
fn running_cli_holds_the_key_outside_argv_with_core_dumps_off() {
    let env = Env::new();
    let key = keyroll::FernetKey::generate()
        .unwrap()
        .to_base64()
        .to_string();
    let mut child = env
        .process()
        .args(["validate", "--kind", "fernet", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(key.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The key is now inside the process, which waits for the end of its input.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !blocked_on_stdin(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the CLI never waited on stdin"
        );
        std::thread::yield_now();
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    assert!(
        argv.iter().any(|a| *a == b"validate"),
        "read the right process"
    );
    assert!(!contains(&cmdline, key.as_bytes()), "key in argv");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], &["0", "0"], "{core}");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

// ---- #17: one environment contract (the same table as python/tests/test_env.py) ----

fn env_cases() -> serde_json::Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/tests/env_cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn substitute(text: &str, keys: &serde_json::Value) -> String {
    // Whole-word placeholders only (K1, K2, K3, M, P).
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match keys.get(word.as_str()).and_then(|v| v.as_str()) {
            Some(v) => out.push_str(v),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn case_env(case: &serde_json::Value, keys: &serde_json::Value) -> Vec<(String, OsString)> {
    let mut vars = Vec::new();
    if let Some(env) = case["env"].as_object() {
        for (k, v) in env {
            vars.push((
                k.clone(),
                OsString::from(substitute(v.as_str().unwrap(), keys)),
            ));
        }
    }
    if let Some(env) = case["env_hex"].as_object() {
        for (k, v) in env {
            let hex = v.as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            vars.push((k.clone(), OsString::from_vec(bytes)));
        }
    }
    vars
}

#[test]
fn environment_contract_cases() {
    let table = env_cases();
    let keys = &table["keys"];
    let key = |name: &str| keys[name].as_str().unwrap().to_string();
    let mut ran = 0;
    for case in table["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let env = Env::new();
        let mut cmd = match case["keyring"].as_str() {
            None => {
                // The Fernet list, as `import-fernet` reads it into a master-key keyring.
                env.init();
                let mut c = env.cmd();
                c.args(["import-fernet", "--json"]);
                c
            }
            Some(sealed) => {
                let mut init = env.cmd();
                init.env_remove("KEYROLL_MASTER_KEY");
                match sealed {
                    "M" => init.env("KEYROLL_MASTER_KEY", key("M")),
                    _ => init.env("KEYROLL_PASSPHRASE", key("P")),
                };
                init.args(["init", "--iterations", "100000"])
                    .assert()
                    .success();
                let mut c = env.cmd();
                c.env_remove("KEYROLL_MASTER_KEY").args(["info", "--json"]);
                c
            }
        };
        for (k, v) in case_env(case, keys) {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let json = common::json(&out.stdout);
        if let Some(code) = case["error"].as_str() {
            assert!(!out.status.success(), "{name}");
            assert_eq!(json["error"]["code"], code, "{name}: {}", stderr(&out));
        } else {
            assert!(out.status.success(), "{name}: {}", stderr(&out));
        }
        if let Some(fernet) = case["fernet"].as_array() {
            let versions: Vec<u32> = fernet
                .iter()
                .map(|k| {
                    keyroll::FernetKey::from_base64(key(k.as_str().unwrap()).as_bytes())
                        .unwrap()
                        .keyroll_version()
                })
                .collect();
            assert_eq!(
                json["imported_versions"],
                serde_json::json!(versions),
                "{name}"
            );
        }
        if case["opens"] == true {
            assert!(json["keyring_id"].is_string(), "{name}");
        }
        ran += 1;
    }
    assert!(ran >= 19, "{ran}");
}

/// An empty KEYROLL_KEYRING is unset too (the default `keyroll.json` in the working
/// directory), not an empty path.
#[test]
fn empty_keyring_variable_is_unset() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("KEYROLL_KEYRING", "")
        .args(["init", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.path("keyroll.json").exists());
}

/// KEYROLL_NOW goes through the same parser: empty means unset (the clock), not an error.
#[test]
fn empty_now_variable_is_unset() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("KEYROLL_NOW", "")
        .args(["init", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env
        .cmd()
        .env("KEYROLL_NOW", "soon")
        .arg("info")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("KEYROLL_NOW must be Unix seconds"));
}

// ---- #9: decrypt-only exports name their versions and can have their own credential ----

#[test]
fn export_names_versions_refuses_untrusted_ones_and_has_its_own_credential() {
    let env = Env::new();
    env.init();
    env.cmd().arg("rotate").assert().success(); // v1 decrypt-only, v2 active
    env.cmd()
        .args(["rotate", "--emergency", "--reason", "leak", "--yes"])
        .assert()
        .success(); // v2 compromised, v3 active
    env.cmd().arg("stage").assert().success(); // v4 pending
    let out_path = env.path("app.json");
    let out = out_path.to_str().unwrap();
    let export = |extra: &[&str]| {
        let mut c = env.cmd();
        c.args(["export", "--decrypt-only", "--force", "--out", out])
            .args(extra);
        c
    };
    // --version is required.
    let o = export(&[]).output().unwrap();
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    assert!(stderr(&o).contains("--version"));
    // Compromised and pending versions are refused, and nothing is written.
    for bad in ["2", "4"] {
        let o = export(&["--version", "3", "--version", bad])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(8), "v{bad}: {}", stderr(&o));
        assert!(!out_path.exists(), "v{bad}");
    }
    // Its own passphrase, from a variable the operator names.
    let app_pass = "app-only passphrase 42";
    let o = export(&[
        "--version",
        "3",
        "--version",
        "1",
        "--export-passphrase-env",
        "APP_PASS",
        "--iterations",
        "100000",
        "--json",
    ])
    .env("APP_PASS", app_pass)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = common::json(&o.stdout);
    assert_eq!(v["versions"], serde_json::json!([1, 3]));
    assert_eq!(v["sealed_by"], "its own passphrase");
    let doc = std::fs::read(&out_path).unwrap();
    assert!(
        keyroll::Keyring::from_document(
            &doc,
            keyroll::Unlock::MasterKey(&keyroll::SecretKey::from_slice(&env.master_key).unwrap())
        )
        .is_err(),
        "the keyring's master key does not open the export"
    );
    let app = common::open_ring_pass(&out_path, app_pass);
    assert!(app.is_read_only());
    let states: Vec<_> = app
        .versions()
        .iter()
        .map(|v| (v.version, v.state))
        .collect();
    assert_eq!(
        states,
        [
            (1, keyroll::KeyState::DecryptOnly),
            (3, keyroll::KeyState::DecryptOnly)
        ]
    );
    let token = env.ring().encrypt(b"row", b"ctx", None).unwrap();
    assert_eq!(app.decrypt(token.as_bytes(), b"ctx", None).unwrap(), b"row");
    // Its own master key (env), and a passphrase on stdin.
    let app_key = [9u8; 32];
    let o = export(&["--version", "3", "--export-master-key-env", "APP_KEY"])
        .env("APP_KEY", STANDARD.encode(app_key))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout_has(&o, "its own master key"));
    common::open_ring(&out_path, &app_key);
    let o = export(&[
        "--version",
        "3",
        "--export-passphrase-stdin",
        "--iterations",
        "100000",
    ])
    .write_stdin(format!("{app_pass}\n"))
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    common::open_ring_pass(&out_path, app_pass);
    // An empty variable is unset: refused, never an empty passphrase.
    let o = export(&["--version", "3", "--export-passphrase-env", "APP_PASS"])
        .env("APP_PASS", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(8));
    assert!(stderr(&o).contains("APP_PASS is unset or empty"));
    // The audit log says how each export was sealed, and never the credential.
    let audit = std::fs::read_to_string(env.dir.path().join("keyring.json.audit.jsonl")).unwrap();
    assert!(audit.contains("its own passphrase") && !audit.contains(app_pass));
}

fn stdout_has(out: &std::process::Output, text: &str) -> bool {
    String::from_utf8_lossy(&out.stdout).contains(text)
}
