//! The environment contract: how every process — the CLI and the native bindings — reads its
//! keyring configuration from environment variables. There is exactly one parser, this one, so
//! a service and the operator's CLI given the same environment see the same keys.
//!
//! | variable | meaning |
//! |---|---|
//! | `KEYROLL_KEYRING` | path of the keyring file |
//! | `KEYROLL_MASTER_KEY` | its 32-byte master key: 64 hex digits or base64 (wins over the passphrase) |
//! | `KEYROLL_PASSPHRASE` | its passphrase (taken verbatim, spaces included) |
//! | `KEYROLL_KMS_KEY` | an AWS KMS key (id, ARN, alias) to seal new keyrings under (see [`Credential::Kms`]) |
//! | `KEYROLL_KMS_CONTEXT` | the KMS encryption context for them, `name=value,name=value` (optional) |
//! | `KEYROLL_BACKUP_DIR` | the backup directory (default `<keyring>.backups/`), see [`store`] |
//! | `KEYROLL_AUDIT_LOG` | the audit log (default `<keyring>.audit.jsonl`), see [`store`] |
//! | `ENCRYPTION_KEY` | Fernet key(s), the primary first |
//! | `ENCRYPTION_KEY_PREVIOUS` | older Fernet keys |
//!
//! The rules, for every variable:
//!
//! - **Empty means unset.** `KEYROLL_MASTER_KEY=` is as if the variable were absent (so
//!   `KEYROLL_PASSPHRASE` applies); `KEYROLL_PASSPHRASE=` never means an empty passphrase.
//! - **Fernet lists** are separated by commas and/or whitespace (spaces, tabs, newlines), in
//!   any mix; empty items are skipped. `ENCRYPTION_KEY` comes first, then
//!   `ENCRYPTION_KEY_PREVIOUS`. Older keys without a primary are refused: the first key is the
//!   one new data would be written with, and it must be named on purpose.
//! - **Not UTF-8** is an error ([`EnvError::NotUnicode`]) naming the variable, never a silent
//!   fallback to another variable.
//! - **Precedence:** a master key wins over a KMS key, which wins over a passphrase.
//! - **KMS-sealed documents** name their KMS key and context themselves: opening one needs
//!   only AWS credentials (the SDK's own chain), whatever credential is set here.
//!
//! The parser is pure: it takes a lookup function (see [`EnvConfig::from_process`] for the real
//! environment), so tests need no process environment. Values are never part of an error.

use keyroll::{FernetKey, SecretKey};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// `KEYROLL_KEYRING`.
pub const KEYRING: &str = "KEYROLL_KEYRING";
/// `KEYROLL_MASTER_KEY`.
pub const MASTER_KEY: &str = "KEYROLL_MASTER_KEY";
/// `KEYROLL_PASSPHRASE`.
pub const PASSPHRASE: &str = "KEYROLL_PASSPHRASE";
/// `KEYROLL_BACKUP_DIR`: where backups go instead of `<keyring>.backups/`.
pub const BACKUP_DIR: &str = "KEYROLL_BACKUP_DIR";
/// `KEYROLL_KMS_KEY`: the AWS KMS key new keyrings are sealed under.
pub const KMS_KEY: &str = "KEYROLL_KMS_KEY";
/// `KEYROLL_KMS_CONTEXT`: the encryption context of `KEYROLL_KMS_KEY`.
pub const KMS_CONTEXT: &str = "KEYROLL_KMS_CONTEXT";
/// `KEYROLL_AUDIT_LOG`: the audit log instead of `<keyring>.audit.jsonl`.
pub const AUDIT_LOG: &str = "KEYROLL_AUDIT_LOG";
/// `ENCRYPTION_KEY`.
pub const FERNET_PRIMARY: &str = "ENCRYPTION_KEY";
/// `ENCRYPTION_KEY_PREVIOUS`.
pub const FERNET_PREVIOUS: &str = "ENCRYPTION_KEY_PREVIOUS";

/// What the environment says opens the keyring.
pub enum Credential {
    /// `KEYROLL_MASTER_KEY`, parsed.
    MasterKey(SecretKey),
    /// `KEYROLL_PASSPHRASE`, verbatim (never empty).
    Passphrase(Zeroizing<String>),
    /// `KEYROLL_KMS_KEY` and `KEYROLL_KMS_CONTEXT`: seal under a key-encryption key from
    /// this AWS KMS key, bound to this encryption context. Nothing secret: the key never
    /// leaves KMS.
    Kms {
        /// The key id, ARN, alias name (`alias/…`) or alias ARN.
        key_id: String,
        /// The encryption context (empty if `KEYROLL_KMS_CONTEXT` is unset).
        context: BTreeMap<String, String>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::MasterKey(_) => "Credential::MasterKey(..)",
            Credential::Passphrase(_) => "Credential::Passphrase(..)",
            Credential::Kms { .. } => "Credential::Kms(..)",
        })
    }
}

/// The whole configuration the environment describes.
#[derive(Debug)]
pub struct EnvConfig {
    /// `KEYROLL_KEYRING`.
    pub keyring: Option<PathBuf>,
    /// `KEYROLL_MASTER_KEY`, else `KEYROLL_PASSPHRASE`.
    pub credential: Option<Credential>,
    /// `ENCRYPTION_KEY` then `ENCRYPTION_KEY_PREVIOUS`, in order.
    pub fernet_keys: Vec<FernetKey>,
}

/// A variable that breaks the contract. Carries the variable's name, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// The value is not valid UTF-8.
    #[error("{name} is not valid UTF-8")]
    NotUnicode {
        /// The variable.
        name: String,
    },
    /// `KEYROLL_MASTER_KEY` is not a 32-byte key.
    #[error("KEYROLL_MASTER_KEY must be 32 bytes, as 64 hex digits or base64")]
    InvalidMasterKey,
    /// An item of a Fernet list is not a Fernet key.
    #[error("{name}: key #{position} is not a Fernet key (32 bytes, url-safe base64)")]
    InvalidFernetKey {
        /// The variable.
        name: String,
        /// Its position in that variable's list, from 1.
        position: usize,
    },
    /// `KEYROLL_KMS_CONTEXT` is not a list of `name=value` pairs.
    #[error("KEYROLL_KMS_CONTEXT must be name=value pairs separated by commas")]
    InvalidKmsContext,
    /// `KEYROLL_KMS_CONTEXT` is set but `KEYROLL_KMS_KEY` is not.
    #[error("KEYROLL_KMS_CONTEXT is set but KEYROLL_KMS_KEY (the key it belongs to) is not")]
    KmsContextWithoutKey,
    /// `ENCRYPTION_KEY_PREVIOUS` is set but `ENCRYPTION_KEY` is not.
    #[error("ENCRYPTION_KEY_PREVIOUS is set but ENCRYPTION_KEY (the primary key) is not")]
    MissingPrimary,
}

impl EnvError {
    /// The stable error code (`docs/wire-format.md`): `invalid_key` for malformed key
    /// material, `invalid_argument` otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            EnvError::InvalidMasterKey | EnvError::InvalidFernetKey { .. } => "invalid_key",
            EnvError::NotUnicode { .. }
            | EnvError::MissingPrimary
            | EnvError::InvalidKmsContext
            | EnvError::KmsContextWithoutKey => "invalid_argument",
        }
    }
}

/// One variable under the rules above: `None` when unset or empty.
pub fn var(
    lookup: &impl Fn(&str) -> Option<OsString>,
    name: &str,
) -> Result<Option<Zeroizing<String>>, EnvError> {
    let Some(value) = lookup(name) else {
        return Ok(None);
    };
    // Wrapped first, so that the bytes are wiped whichever way this ends.
    let value = Zeroizing::new(value.into_encoded_bytes());
    if value.is_empty() {
        return Ok(None);
    }
    match std::str::from_utf8(&value) {
        Ok(text) => Ok(Some(Zeroizing::new(text.to_owned()))),
        Err(_) => Err(EnvError::NotUnicode { name: name.into() }),
    }
}

/// `KEYROLL_KEYRING` (or another path variable such as `KEYROLL_BACKUP_DIR`).
pub fn path(
    lookup: &impl Fn(&str) -> Option<OsString>,
    name: &str,
) -> Result<Option<PathBuf>, EnvError> {
    Ok(var(lookup, name)?.map(|p| PathBuf::from(p.as_str())))
}

/// `KEYROLL_MASTER_KEY`, else `KEYROLL_KMS_KEY` (with `KEYROLL_KMS_CONTEXT`), else
/// `KEYROLL_PASSPHRASE`, else `None`. Every variable is checked even when one before it wins
/// (a non-UTF-8 passphrase or a malformed context is an error), so that a broken variable is
/// never silently ignored.
pub fn credential(
    lookup: &impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Credential>, EnvError> {
    let master = var(lookup, MASTER_KEY)?;
    let passphrase = var(lookup, PASSPHRASE)?;
    let kms_key = var(lookup, KMS_KEY)?;
    let kms_context = match var(lookup, KMS_CONTEXT)? {
        Some(text) => Some(kms_context(&text)?),
        None => None,
    };
    if kms_context.is_some() && kms_key.is_none() {
        return Err(EnvError::KmsContextWithoutKey);
    }
    if let Some(text) = master {
        let key = SecretKey::from_text(&text).map_err(|_| EnvError::InvalidMasterKey)?;
        return Ok(Some(Credential::MasterKey(key)));
    }
    if let Some(key_id) = kms_key {
        return Ok(Some(Credential::Kms {
            key_id: key_id.trim().to_string(),
            context: kms_context.unwrap_or_default(),
        }));
    }
    Ok(passphrase.map(Credential::Passphrase))
}

/// A KMS encryption context as operators write it: `name=value` pairs separated by commas,
/// spaces around names and values trimmed, empty items skipped (`app=payments, env=prod`).
pub fn kms_context(text: &str) -> Result<BTreeMap<String, String>, EnvError> {
    let mut context = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, value) = item.split_once('=').ok_or(EnvError::InvalidKmsContext)?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() || context.contains_key(name) {
            return Err(EnvError::InvalidKmsContext);
        }
        context.insert(name.to_string(), value.to_string());
    }
    Ok(context)
}

/// A Fernet key list under the contract's rules: keys separated by commas and/or whitespace,
/// empty items skipped. `name` says where it came from (a variable, or `stdin`) in errors.
pub fn fernet_list(name: &str, list: &str) -> Result<Vec<FernetKey>, EnvError> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|k| !k.is_empty())
        .enumerate()
        .map(|(i, item)| {
            FernetKey::from_base64(item.as_bytes()).map_err(|_| EnvError::InvalidFernetKey {
                name: name.into(),
                position: i + 1,
            })
        })
        .collect()
}

/// `ENCRYPTION_KEY` then `ENCRYPTION_KEY_PREVIOUS`, each a [`fernet_list`].
pub fn fernet_keys(lookup: &impl Fn(&str) -> Option<OsString>) -> Result<Vec<FernetKey>, EnvError> {
    let primary = match var(lookup, FERNET_PRIMARY)? {
        Some(list) => fernet_list(FERNET_PRIMARY, &list)?,
        None => Vec::new(),
    };
    let previous = match var(lookup, FERNET_PREVIOUS)? {
        Some(list) => fernet_list(FERNET_PREVIOUS, &list)?,
        None => Vec::new(),
    };
    // A primary that holds only separators counts as unset too.
    if primary.is_empty() && !previous.is_empty() {
        return Err(EnvError::MissingPrimary);
    }
    Ok(primary.into_iter().chain(previous).collect())
}

impl EnvConfig {
    /// Reads every variable through `lookup` (a name to its raw value, `None` if unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, EnvError> {
        Ok(EnvConfig {
            keyring: path(&lookup, KEYRING)?,
            credential: credential(&lookup)?,
            fernet_keys: fernet_keys(&lookup)?,
        })
    }

    /// Reads the process environment.
    pub fn from_process() -> Result<Self, EnvError> {
        Self::from_lookup(process)
    }
}

/// The store for the keyring at `path` with the sidecar locations the environment sets
/// (`KEYROLL_BACKUP_DIR`, `KEYROLL_AUDIT_LOG`; empty means unset). The CLI applies the same
/// variables under its `--backup-dir` / `--audit-log` options, so a binding saving a keyring
/// writes its backups and audit records exactly where the operator's CLI looks for them.
pub fn store(
    path: impl Into<PathBuf>,
    lookup: &impl Fn(&str) -> Option<OsString>,
) -> Result<crate::Store, EnvError> {
    let mut store = crate::Store::new(path);
    if let Some(dir) = self::path(lookup, BACKUP_DIR)? {
        store = store.with_backup_dir(dir);
    }
    if let Some(log) = self::path(lookup, AUDIT_LOG)? {
        store = store.with_audit_log(log);
    }
    Ok(store)
}

/// The process environment as a lookup function.
pub fn process(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    const K1: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const K2: &str = "Bs-HqDxEOUZDKsO6v6k0a3smW0xUXoXxj8K55dY_rZs=";
    const K3: &str = "ffq1k0YYPEZZPZG8DkWH2dyxp8gbQ0SMaQMg3EyJjwI=";
    const MASTER_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    /// One table row: its name, the variables, what the parser must return.
    type Case<T> = (
        &'static str,
        Vec<(&'static str, Vec<u8>)>,
        Result<T, EnvError>,
    );

    fn lookup<V: AsRef<[u8]>>(vars: &[(&str, V)]) -> impl Fn(&str) -> Option<OsString> {
        use std::os::unix::ffi::OsStringExt;
        let map: HashMap<String, Vec<u8>> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref().to_vec()))
            .collect();
        move |name| map.get(name).map(|v| OsString::from_vec(v.clone()))
    }

    fn versions(keys: &[&str]) -> Vec<u32> {
        keys.iter()
            .map(|k| {
                FernetKey::from_base64(k.as_bytes())
                    .unwrap()
                    .keyroll_version()
            })
            .collect()
    }

    #[test]
    fn fernet_lists() {
        let sep = format!("{K2},\n {K3}");
        let both = format!("{K1},{K2}");
        let cases: Vec<Case<Vec<&str>>> = vec![
            ("nothing set", vec![], Ok(vec![])),
            (
                "primary only",
                vec![(FERNET_PRIMARY, K1.into())],
                Ok(vec![K1]),
            ),
            (
                "comma list",
                vec![
                    (FERNET_PRIMARY, K1.into()),
                    (FERNET_PREVIOUS, both.clone().into_bytes()),
                ],
                Ok(vec![K1, K1, K2]),
            ),
            (
                "comma, newline and spaces mixed",
                vec![
                    (FERNET_PRIMARY, K1.into()),
                    (FERNET_PREVIOUS, sep.clone().into_bytes()),
                ],
                Ok(vec![K1, K2, K3]),
            ),
            (
                "tabs and trailing separators",
                vec![
                    (FERNET_PRIMARY, format!(" {K1}\t").into_bytes()),
                    (FERNET_PREVIOUS, format!("{K2},,\t{K3},").into_bytes()),
                ],
                Ok(vec![K1, K2, K3]),
            ),
            (
                "several in the primary",
                vec![(FERNET_PRIMARY, both.clone().into_bytes())],
                Ok(vec![K1, K2]),
            ),
            (
                "empty is unset",
                vec![(FERNET_PRIMARY, K1.into()), (FERNET_PREVIOUS, b"".to_vec())],
                Ok(vec![K1]),
            ),
            (
                "both empty",
                vec![
                    (FERNET_PRIMARY, b"".to_vec()),
                    (FERNET_PREVIOUS, b"".to_vec()),
                ],
                Ok(vec![]),
            ),
            (
                "previous without primary",
                vec![(FERNET_PREVIOUS, K2.into())],
                Err(EnvError::MissingPrimary),
            ),
            (
                "empty primary with previous",
                vec![(FERNET_PRIMARY, b"".to_vec()), (FERNET_PREVIOUS, K2.into())],
                Err(EnvError::MissingPrimary),
            ),
            (
                "separators-only primary with previous",
                vec![
                    (FERNET_PRIMARY, b" , ".to_vec()),
                    (FERNET_PREVIOUS, K2.into()),
                ],
                Err(EnvError::MissingPrimary),
            ),
            (
                "bad second previous key",
                vec![
                    (FERNET_PRIMARY, K1.into()),
                    (FERNET_PREVIOUS, format!("{K2} AAAA").into_bytes()),
                ],
                Err(EnvError::InvalidFernetKey {
                    name: FERNET_PREVIOUS.into(),
                    position: 2,
                }),
            ),
            (
                "non-UTF-8 primary",
                vec![(FERNET_PRIMARY, b"\xff\xfe".to_vec())],
                Err(EnvError::NotUnicode {
                    name: FERNET_PRIMARY.into(),
                }),
            ),
            (
                "non-UTF-8 previous",
                vec![
                    (FERNET_PRIMARY, K1.into()),
                    (FERNET_PREVIOUS, b"a\x80".to_vec()),
                ],
                Err(EnvError::NotUnicode {
                    name: FERNET_PREVIOUS.into(),
                }),
            ),
        ];
        for (name, vars, expected) in cases {
            let got = fernet_keys(&lookup(&vars)).map(|keys| {
                keys.iter()
                    .map(FernetKey::keyroll_version)
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, expected.map(|k| versions(&k)), "{name}");
        }
    }

    #[derive(Debug, PartialEq)]
    enum Got {
        None,
        Master([u8; 32]),
        Passphrase(String),
        Kms(String, Vec<(String, String)>),
    }

    #[test]
    fn credentials() {
        let mut master = [0u8; 32];
        for (i, b) in master.iter_mut().enumerate() {
            *b = i as u8;
        }
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let cases: Vec<Case<Got>> = vec![
            ("nothing", vec![], Ok(Got::None)),
            (
                "hex master key",
                vec![(MASTER_KEY, MASTER_HEX.into())],
                Ok(Got::Master(master)),
            ),
            (
                "base64 master key",
                vec![(MASTER_KEY, b64.into())],
                Ok(Got::Master(master)),
            ),
            (
                "master key wins over passphrase",
                vec![
                    (MASTER_KEY, MASTER_HEX.into()),
                    (PASSPHRASE, b"pass phrase".to_vec()),
                ],
                Ok(Got::Master(master)),
            ),
            (
                "empty master key is unset",
                vec![
                    (MASTER_KEY, b"".to_vec()),
                    (PASSPHRASE, b"pass phrase".to_vec()),
                ],
                Ok(Got::Passphrase("pass phrase".into())),
            ),
            (
                "empty passphrase is unset",
                vec![(PASSPHRASE, b"".to_vec())],
                Ok(Got::None),
            ),
            (
                "passphrase verbatim",
                vec![(PASSPHRASE, b" spaced out ".to_vec())],
                Ok(Got::Passphrase(" spaced out ".into())),
            ),
            (
                "bad master key",
                vec![(MASTER_KEY, b"zz".to_vec())],
                Err(EnvError::InvalidMasterKey),
            ),
            (
                "bad master key is not skipped for the passphrase",
                vec![
                    (MASTER_KEY, b"zz".to_vec()),
                    (PASSPHRASE, b"pass phrase".to_vec()),
                ],
                Err(EnvError::InvalidMasterKey),
            ),
            (
                "non-UTF-8 master key",
                vec![
                    (MASTER_KEY, b"\xff".to_vec()),
                    (PASSPHRASE, b"pass phrase".to_vec()),
                ],
                Err(EnvError::NotUnicode {
                    name: MASTER_KEY.into(),
                }),
            ),
            (
                "kms key, no context",
                vec![(KMS_KEY, b" alias/keyroll ".to_vec())],
                Ok(Got::Kms("alias/keyroll".into(), vec![])),
            ),
            (
                "kms key wins over passphrase, with its context",
                vec![
                    (KMS_KEY, b"alias/keyroll".to_vec()),
                    (KMS_CONTEXT, b" app=payments, env = prod ,".to_vec()),
                    (PASSPHRASE, b"pass phrase".to_vec()),
                ],
                Ok(Got::Kms(
                    "alias/keyroll".into(),
                    vec![
                        ("app".into(), "payments".into()),
                        ("env".into(), "prod".into()),
                    ],
                )),
            ),
            (
                "master key wins over kms key",
                vec![
                    (MASTER_KEY, MASTER_HEX.into()),
                    (KMS_KEY, b"alias/keyroll".to_vec()),
                ],
                Ok(Got::Master(master)),
            ),
            (
                "empty kms key is unset",
                vec![
                    (KMS_KEY, b"".to_vec()),
                    (PASSPHRASE, b"pass phrase".to_vec()),
                ],
                Ok(Got::Passphrase("pass phrase".into())),
            ),
            (
                "kms context without a key",
                vec![(KMS_CONTEXT, b"app=payments".to_vec())],
                Err(EnvError::KmsContextWithoutKey),
            ),
            (
                "malformed kms context is not skipped for the master key",
                vec![
                    (MASTER_KEY, MASTER_HEX.into()),
                    (KMS_KEY, b"alias/keyroll".to_vec()),
                    (KMS_CONTEXT, b"app".to_vec()),
                ],
                Err(EnvError::InvalidKmsContext),
            ),
            (
                "kms context with an empty value or a name twice",
                vec![
                    (KMS_KEY, b"alias/keyroll".to_vec()),
                    (KMS_CONTEXT, b"app=a,app=b".to_vec()),
                ],
                Err(EnvError::InvalidKmsContext),
            ),
            (
                "non-UTF-8 passphrase",
                vec![
                    (MASTER_KEY, MASTER_HEX.into()),
                    (PASSPHRASE, b"caf\xe9".to_vec()),
                ],
                Err(EnvError::NotUnicode {
                    name: PASSPHRASE.into(),
                }),
            ),
        ];
        for (name, vars, expected) in cases {
            let got = credential(&lookup(&vars)).map(|c| match c {
                None => Got::None,
                Some(Credential::MasterKey(k)) => Got::Master(*k.expose()),
                Some(Credential::Passphrase(p)) => Got::Passphrase(p.to_string()),
                Some(Credential::Kms { key_id, context }) => {
                    Got::Kms(key_id, context.into_iter().collect())
                }
            });
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn whole_config_and_paths() {
        let cfg = EnvConfig::from_lookup(lookup(&[
            (KEYRING, b"/etc/app/keyring.json".to_vec()),
            (PASSPHRASE, b"pass phrase".to_vec()),
            (FERNET_PRIMARY, K1.into()),
        ]))
        .unwrap();
        assert_eq!(cfg.keyring, Some(PathBuf::from("/etc/app/keyring.json")));
        assert_eq!(cfg.fernet_keys.len(), 1);
        // Debug shows no secret.
        let debug = format!("{cfg:?}");
        assert!(
            !debug.contains("pass phrase") && !debug.contains(K1),
            "{debug}"
        );
        let empty = EnvConfig::from_lookup(lookup(&[(KEYRING, b"".to_vec())])).unwrap();
        assert!(empty.keyring.is_none() && empty.credential.is_none());
        assert_eq!(
            EnvConfig::from_lookup(lookup(&[(KEYRING, b"/a\xff".to_vec())])).unwrap_err(),
            EnvError::NotUnicode {
                name: KEYRING.into()
            }
        );
        // Messages name the variable and never carry the value.
        let e =
            fernet_keys(&lookup(&[(FERNET_PRIMARY, b"not-a-key-secret".to_vec())])).unwrap_err();
        assert_eq!(e.code(), "invalid_key");
        assert!(!e.to_string().contains("not-a-key-secret"));
        assert!(e.to_string().contains(FERNET_PRIMARY));
    }

    #[test]
    fn store_sidecars_from_the_environment() {
        use std::path::Path;
        let s = store("/k/ring.json", &lookup::<&str>(&[])).unwrap();
        assert_eq!(s.backup_dir(), Path::new("/k/ring.json.backups"));
        assert_eq!(s.audit().path(), Path::new("/k/ring.json.audit.jsonl"));
        let vars = [(BACKUP_DIR, "/b"), (AUDIT_LOG, "/a.jsonl")];
        let s = store("/k/ring.json", &lookup(&vars)).unwrap();
        assert_eq!(s.backup_dir(), Path::new("/b"));
        assert_eq!(s.audit().path(), Path::new("/a.jsonl"));
        // Empty means unset, as for every variable.
        let s = store("/k/ring.json", &lookup(&[(BACKUP_DIR, "")])).unwrap();
        assert_eq!(s.backup_dir(), Path::new("/k/ring.json.backups"));
        let bad = lookup(&[(BACKUP_DIR, b"\xff".as_slice())]);
        assert_eq!(
            store("/k/ring.json", &bad).unwrap_err(),
            EnvError::NotUnicode {
                name: BACKUP_DIR.into()
            }
        );
    }
}
