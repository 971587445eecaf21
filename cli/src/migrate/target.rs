//! Which database, and safe identifiers.

use crate::error::{CliError, Result};
use std::path::PathBuf;

/// A database to work on.
#[derive(Debug, Clone)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl Target {
    /// `postgres://…`/`postgresql://…` is PostgreSQL; `sqlite:PATH`, `sqlite://PATH` or a plain
    /// path is SQLite.
    pub fn parse(url: &str) -> Result<Target> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(CliError::input("--db: empty SQLite path"));
        }
        if path.contains("://") {
            return Err(CliError::input(
                "--db: unsupported URL (use sqlite:PATH or postgres://user@host:port/db)",
            ));
        }
        Ok(Target::Sqlite(PathBuf::from(path)))
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => "sqlite",
            Target::Postgres(_) => "postgres",
        }
    }

    /// The target with any password removed (for logs and the audit record).
    pub fn redacted(&self) -> String {
        match self {
            Target::Sqlite(p) => format!("sqlite:{}", p.display()),
            Target::Postgres(url) => redact_url(url),
        }
    }
}

/// Removes the password from `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let tail = if tail.contains("password=") {
        "?<options redacted>"
    } else {
        tail
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// Quotes an SQL identifier (`name` or `schema.name`) after checking it is a plain one.
pub fn quote_ident(name: &str, allow_schema: bool) -> Result<String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > if allow_schema { 2 } else { 1 } {
        return Err(CliError::input(format!("invalid identifier {name:?}")));
    }
    let mut out = Vec::new();
    for p in parts {
        let ok = !p.is_empty()
            && p.len() <= 63
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        if !ok {
            return Err(CliError::input(format!(
                "invalid identifier {name:?}: letters, digits and _ only"
            )));
        }
        out.push(format!("\"{p}\""));
    }
    Ok(out.join("."))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_targets() {
        assert!(
            matches!(Target::parse("sqlite:a.db").unwrap(), Target::Sqlite(p) if p == std::path::Path::new("a.db"))
        );
        assert!(matches!(
            Target::parse("/tmp/x.db").unwrap(),
            Target::Sqlite(_)
        ));
        assert!(matches!(
            Target::parse("postgres://u@h/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(Target::parse("mysql://x").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@host:5432/db"),
            "postgres://bob:***@host:5432/db"
        );
        assert_eq!(
            redact_url("postgres://bob@host/db"),
            "postgres://bob@host/db"
        );
        assert!(!redact_url("postgres://h/db?password=s3cret").contains("s3cret"));
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("users", false).unwrap(), "\"users\"");
        assert_eq!(quote_ident("app.users", true).unwrap(), "\"app\".\"users\"");
        assert!(quote_ident("app.users", false).is_err());
        assert!(quote_ident("x\"; drop table y", true).is_err());
        assert!(quote_ident("", true).is_err());
    }
}
