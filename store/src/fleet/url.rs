//! Store URLs: one syntax for the CLI (`--keyring`, `KEYROLL_KEYRING`), Python and Node.

use crate::{Error, Result};
use std::path::PathBuf;

/// A parsed store URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `file:PATH`, or a plain path.
    File(PathBuf),
    /// `postgres://…#NAME` or `postgresql://…#NAME`: the connection URL (without the
    /// fragment) and the keyring's name in the table (`default` without a fragment).
    Postgres {
        /// The libpq-style connection URL, fragment removed (may hold a password: never print it).
        url: String,
        /// The keyring's name (its row in `keyroll_keyrings`).
        name: String,
    },
    /// `aws-sm://NAME`: the secret's name or ARN. Region, endpoint and credentials come from
    /// the AWS SDK's own configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, roles).
    AwsSecretsManager {
        /// The secret id.
        name: String,
    },
}

impl core::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.location())
    }
}

const MAX_NAME: usize = 256;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./+=@:".contains(&b))
}

impl StoreUrl {
    /// Parses a store URL; `invalid_store_url` (naming the accepted forms) otherwise.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &'static str| Error::InvalidStoreUrl(why);
        if url.is_empty() {
            return Err(bad("the store URL is empty"));
        }
        if let Some(path) = url.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad(
                    "file: needs a path, e.g. file:/etc/keyroll/keyring.json",
                ));
            }
            return Ok(StoreUrl::File(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (conn, name) = match url.split_once('#') {
                Some((conn, name)) => (conn, name),
                None => (url, "default"),
            };
            if !valid_name(name) {
                return Err(bad(
                    "the keyring name after '#' must be 1-256 characters of letters, digits and -_./+=@:",
                ));
            }
            return Ok(StoreUrl::Postgres {
                url: conn.to_string(),
                name: name.to_string(),
            });
        }
        if let Some(name) = url.strip_prefix("aws-sm://") {
            if !valid_name(name) {
                return Err(bad(
                    "aws-sm:// needs a secret name or ARN of 1-256 characters of letters, digits and -_./+=@:",
                ));
            }
            return Ok(StoreUrl::AwsSecretsManager {
                name: name.to_string(),
            });
        }
        if let Some((scheme, _)) = url.split_once("://") {
            if !scheme.contains('/') {
                return Err(bad(
                    "unknown store URL scheme: use file:PATH, postgres://…#NAME or aws-sm://NAME",
                ));
            }
        }
        Ok(StoreUrl::File(PathBuf::from(url)))
    }

    /// The URL without any password, for messages and audit records.
    pub fn location(&self) -> String {
        match self {
            StoreUrl::File(p) => format!("file:{}", p.display()),
            StoreUrl::Postgres { url, name } => format!("{}#{name}", redact_password(url)),
            StoreUrl::AwsSecretsManager { name } => format!("aws-sm://{name}"),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also a `password=`
/// query parameter.
pub fn redact_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    // The driver reads the user info up to the LAST '@' (a password may hold '/', '?' or '@'
    // unencoded), so that is where it ends here too: a '@' later in the URL only hides more.
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((userinfo, after)) => (Some(userinfo), after),
        None => (None, rest),
    };
    let (host, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => host.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    if scheme.is_empty() {
        format!("{authority}{tail}")
    } else {
        format!("{scheme}://{authority}{tail}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_form_parses_to_its_store() {
        assert_eq!(
            StoreUrl::parse("file:/k/ring.json").unwrap(),
            StoreUrl::File("/k/ring.json".into())
        );
        assert_eq!(
            StoreUrl::parse("file:///k/ring.json").unwrap(),
            StoreUrl::File("/k/ring.json".into())
        );
        assert_eq!(
            StoreUrl::parse("keyring.json").unwrap(),
            StoreUrl::File("keyring.json".into())
        );
        assert_eq!(
            StoreUrl::parse("postgres://u@h/db?sslmode=require#payments").unwrap(),
            StoreUrl::Postgres {
                url: "postgres://u@h/db?sslmode=require".into(),
                name: "payments".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("postgresql://h/db").unwrap(),
            StoreUrl::Postgres {
                url: "postgresql://h/db".into(),
                name: "default".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("aws-sm://prod/keyroll").unwrap(),
            StoreUrl::AwsSecretsManager {
                name: "prod/keyroll".into()
            }
        );
    }

    #[test]
    fn bad_urls_get_a_typed_error() {
        for url in [
            "",
            "file:",
            "s3://bucket/k",
            "aws-sm://",
            "postgres://h/db#",
            "aws-sm://a b",
        ] {
            let e = StoreUrl::parse(url).unwrap_err();
            assert_eq!(e.code(), "invalid_store_url", "{url}");
        }
    }

    #[test]
    fn passwords_never_reach_the_location() {
        let u =
            StoreUrl::parse("postgres://app:hunter2@db:5432/k?password=hunter2&sslmode=require#r")
                .unwrap();
        let shown = u.location();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app:***@db:5432"), "{shown}");
        assert!(!format!("{u:?}").contains("hunter2"));
    }

    #[test]
    fn a_password_with_slash_question_mark_or_at_is_hidden_too() {
        // The driver takes the user info up to the last '@', so each of these is a password.
        for url in [
            "postgres://app:hunt/er2@db/k",
            "postgres://app:hunt?er2@db/k",
            "postgres://app:hu@nter2@db/k",
            "postgres://app:hunt/er?2@db:5432/k?sslmode=require",
        ] {
            let shown = StoreUrl::parse(&format!("{url}#r")).unwrap().location();
            assert!(
                !shown.contains("er2") && !shown.contains("er?2"),
                "{url} shown as {shown}"
            );
            assert!(
                shown.starts_with("postgres://app:***@db"),
                "{url} shown as {shown}"
            );
        }
    }
}
