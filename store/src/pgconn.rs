//! PostgreSQL connections, for the CLI's `migrate --db` and the keyring store alike: TLS chosen
//! by the URL's `sslmode` with libpq's meanings (over rustls), and the password from
//! `PGPASSWORD` or the password file, so it need not sit in argv where every local user can
//! read it. One parser, so a URL means the same thing wherever keyroll takes one.
//!
//! `sslmode`: `disable` (plain), `prefer` (the default, as in libpq: TLS when the server offers
//! it, no certificate check), `require` (TLS or fail; the certificate is checked against
//! `sslrootcert` when one is given, as libpq does), `verify-ca` (TLS, chain checked against the
//! CA), `verify-full` (chain and host name). `sslrootcert=PATH` names the CA file (PEM); without
//! it `verify-*` use `~/.postgresql/root.crt`.
//!
//! Errors are [`PgConnError`]: a stable code and a message that never holds a password (URLs
//! in it go through [`crate::fleet::redact_password`]). Each caller maps it to its own error
//! type (the CLI adds `--db: `; the keyring store names its location).

use postgres::config::{Host, SslMode as PgSslMode};
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

use crate::fleet::redact_password;

/// Why a connection could not be set up or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgConnError {
    /// `invalid_input` (the URL or its TLS settings are wrong: nothing was tried) or
    /// `database_unreachable` (connecting failed: network, TLS, authentication).
    pub code: &'static str,
    /// What went wrong, without any password.
    pub message: String,
}

impl PgConnError {
    fn input(message: impl Into<String>) -> Self {
        PgConnError {
            code: "invalid_input",
            message: message.into(),
        }
    }

    /// Whether the settings themselves are wrong (as opposed to the server being out of reach).
    pub fn is_input(&self) -> bool {
        self.code == "invalid_input"
    }
}

impl std::fmt::Display for PgConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PgConnError {}

/// Result alias of this module.
pub type Result<T, E = PgConnError> = core::result::Result<T, E>;

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, unchecked.
    Prefer,
    /// TLS or fail; checked against `sslrootcert` if one is given.
    Require,
    /// TLS, the chain checked against the CA.
    VerifyCa,
    /// TLS, chain and host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" | "allow" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(PgConnError::input(format!(
                    "unknown sslmode {other:?} (disable, prefer, require, verify-ca, verify-full)"
                )))
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A parsed connection string: the driver's config plus what this module handles itself.
pub struct Spec {
    config: Config,
    shown: String,
    mode: SslMode,
    root_cert: Option<PathBuf>,
    password_in_url: bool,
}

/// Decodes `%XX` escapes of a URL query value.
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `postgres://…?sslmode=…&sslrootcert=…`; the TLS parameters are taken out before
/// the rest goes to the driver (which knows only disable/prefer/require). As in libpq,
/// `PGSSLMODE` and `PGSSLROOTCERT` give the defaults and the URL's parameters win.
pub fn parse(url: &str) -> Result<Spec> {
    parse_with(url, &crate::env::process)
}

/// [`parse`] with the environment given as a lookup (tests pass a table).
pub fn parse_with(url: &str, lookup: &impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Spec> {
    let env_var = |name: &str| {
        crate::env::var(lookup, name)
            .map_err(|_| PgConnError::input(format!("{name} is not valid UTF-8")))
    };
    // The text is not echoed: a string the driver cannot parse may hold a password in a
    // form `redact_password` does not recognise (key=value, an unencoded `/` in it).
    let bad = || {
        PgConnError::input(
            "not a PostgreSQL connection string (postgres://user@host:port/database?…)",
        )
    };
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = match env_var("PGSSLMODE")? {
        Some(v) => SslMode::parse(&v)?,
        None => SslMode::Prefer,
    };
    let mut root_cert = env_var("PGSSLROOTCERT")?.map(|p| PathBuf::from(p.as_str()));
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => mode = SslMode::parse(&percent_decode(v))?,
            "sslrootcert" => root_cert = Some(PathBuf::from(percent_decode(v))),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => {
                return Err(PgConnError::input(format!(
                    "{k} (client certificates) is not supported"
                )))
            }
            _ => rest.push(pair),
        }
    }
    let driver_url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: Config = driver_url.parse().map_err(|_| bad())?;
    if config.get_application_name().is_none() {
        config.application_name("keyroll");
    }
    let password_in_url = config.get_password().is_some();
    let shown = shown(url, &config);
    Ok(Spec {
        config,
        shown,
        mode,
        root_cert,
        password_in_url,
    })
}

/// `url` for messages: [`redact_password`]'s form, unless the driver's password is still in
/// it (key=value strings, an unencoded `/` or `?` in the password), then one built from the
/// parsed settings alone.
fn shown(url: &str, config: &Config) -> String {
    let redacted = redact_password(url);
    let leaks = config
        .get_password()
        .is_some_and(|p| !p.is_empty() && redacted.contains(&*String::from_utf8_lossy(p)));
    if !leaks {
        return redacted;
    }
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "postgres://{}:***@{}:{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        ports.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// Connects, with TLS per `sslmode` and the password from the URL, `PGPASSWORD` or the
/// password file (`PGPASSFILE`, else `~/.pgpass`).
pub fn connect(url: &str) -> Result<Client> {
    parse(url)?.connect()
}

impl Spec {
    /// Where this connects to, password removed: for messages.
    pub fn location(&self) -> &str {
        &self.shown
    }

    /// The driver's settings, e.g. to set a default `connect_timeout` the URL did not give.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Connects (again: a [`Spec`] can be kept to reconnect with, and the password is looked
    /// up afresh each time, so a rotated `.pgpass` or `PGPASSWORD` is picked up).
    pub fn connect(&self) -> Result<Client> {
        let mut config = self.config.clone();
        if self.password_in_url {
            warn_password_in_url();
        } else if let Some(password) = password_from_environment(&config, &crate::env::process)? {
            config.password(password.as_bytes());
        }
        let fail = |e: &dyn std::fmt::Display| PgConnError {
            code: "database_unreachable",
            message: format!(
                "cannot connect to PostgreSQL at {} (sslmode={}): {e}",
                self.shown,
                self.mode.as_str()
            ),
        };
        let result = match self.mode {
            SslMode::Disable => {
                config.ssl_mode(PgSslMode::Disable);
                config.connect(NoTls)
            }
            mode => {
                let tls = tls_config(mode, self.root_cert.as_deref())?;
                config.ssl_mode(if mode == SslMode::Prefer {
                    PgSslMode::Prefer
                } else {
                    PgSslMode::Require
                });
                config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            }
        };
        result.map_err(|e| match std::error::Error::source(&e) {
            Some(cause) => fail(&format!("{e}: {cause}")),
            None => fail(&e),
        })
    }
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("location", &self.shown)
            .field("sslmode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Said once per process: a password in argv is visible to every local user (`ps`).
fn warn_password_in_url() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        eprintln!(
            "warning: the PostgreSQL URL contains a password, which other local users can read from \
             the process list; set PGPASSWORD or use a ~/.pgpass file instead"
        );
    });
}

/// `PGPASSWORD`, else the matching line of the password file (`PGPASSFILE`, else
/// `~/.pgpass`). The variables go through the one environment parser: empty means unset, and a
/// value that is not UTF-8 is an error naming the variable (never silently ignored).
fn password_from_environment(
    config: &Config,
    lookup: &impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Option<Zeroizing<String>>> {
    use crate::env;
    let bad = |name: &str| PgConnError::input(format!("{name} is not valid UTF-8"));
    if let Some(p) = env::var(lookup, "PGPASSWORD").map_err(|_| bad("PGPASSWORD"))? {
        return Ok(Some(p));
    }
    let file = match env::path(lookup, "PGPASSFILE").map_err(|_| bad("PGPASSFILE"))? {
        Some(f) => f,
        None => match env::path(lookup, "HOME").map_err(|_| bad("HOME"))? {
            Some(home) => home.join(".pgpass"),
            None => return Ok(None),
        },
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    Ok(pgpass_lookup(&file, &[&host, &port, &db, &user]))
}

/// Reads a libpq password file: `host:port:database:user:password`, `*` matching anything,
/// `\` escaping `:` and `\`, `#` comments. Like libpq, a file others can read is ignored.
fn pgpass_lookup(file: &Path, want: &[&str; 4]) -> Option<Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: password file {} is readable by group or others (chmod 0600); ignored",
                file.display()
            );
            return None;
        }
    }
    // Every password in the file passes through here: wiped when done, as is each field.
    let text = Zeroizing::new(std::fs::read_to_string(file).ok()?);
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split_pgpass(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(want)
                .all(|(f, w)| f == "*" || f == w);
            matches.then(|| Zeroizing::new(fields[4].clone()))
        })
}

fn split_pgpass(line: &str) -> Zeroizing<Vec<String>> {
    let mut fields = Zeroizing::new(vec![String::new()]);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c)
                }
            }
        }
    }
    fields
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls client configuration for a mode other than `disable`.
fn tls_config(mode: SslMode, root_cert: Option<&Path>) -> Result<ClientConfig> {
    let provider = provider();
    let default_root = || {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
            .filter(|p| p.is_file())
    };
    let root = match mode {
        SslMode::Prefer => None,
        // libpq: `require` with a CA file behaves as `verify-ca`.
        SslMode::Require => root_cert.map(Path::to_path_buf),
        _ => Some(
            root_cert
                .map(Path::to_path_buf)
                .or_else(default_root)
                .ok_or_else(|| {
                    PgConnError::input(format!(
                "sslmode={} needs the server's CA certificate: add sslrootcert=/path/to/ca.crt \
                 to the URL (or put it in ~/.postgresql/root.crt)",
                mode.as_str()
            ))
                })?,
        ),
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PgConnError::input(format!("TLS setup failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match root {
        None => Arc::new(PartialCheck {
            chain: None,
            provider,
        }),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
                PgConnError::input(format!("cannot read sslrootcert {}: {e}", path.display()))
            })?;
            let bad = |e: &dyn std::fmt::Display| {
                PgConnError::input(format!("bad sslrootcert {}: {e}", path.display()))
            };
            for cert in certs {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(PgConnError::input(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                )));
            }
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| PgConnError::input(format!("TLS setup failed: {e}")))?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(PartialCheck {
                    chain: Some(webpki),
                    provider,
                })
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Every mode's certificate check but `verify-full`'s (which is rustls's own verifier):
/// - `chain: None` — `prefer`/`require` without a CA: the certificate is not checked, so this
///   is encryption against passive listeners only, as in libpq;
/// - `chain: Some` — `verify-ca`: the chain must lead to the CA; the host name is not compared.
///   rustls checks the chain before the name, so a name mismatch means the chain was good.
///
/// The handshake signatures are checked either way (the server proves it holds its key), with
/// the provider's algorithms — what the wrapped [`WebPkiServerVerifier`] would use too.
#[derive(Debug)]
struct PartialCheck {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PartialCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn no_password_form_reaches_the_shown_location_or_a_parse_error() {
        // Forms `redact_password` does not recognise: an unencoded `/` or `?` in the
        // password (the driver reads up to the first `@`) and libpq's key=value form.
        for url in [
            "postgres://u:pa/ss@127.0.0.1:1/db",
            "postgres://u:pa?ss@127.0.0.1:1/db",
            "host=127.0.0.1 port=1 user=u password=hunter2 dbname=db",
        ] {
            let s = parse_with(url, &|_| None).unwrap();
            let password = String::from_utf8_lossy(s.config.get_password().unwrap()).into_owned();
            assert!(!s.shown.contains(&password), "{url} shown as {}", s.shown);
        }
        for url in [
            "host=h password='hunter2",
            "postgres://u:hunter2/x@h:notaport/db",
        ] {
            let e = parse_with(url, &|_| None).err().unwrap();
            assert!(!e.message.contains("hunter2"), "{}", e.message);
        }
    }

    #[test]
    fn parses_ssl_parameters_out_of_the_url() {
        let s = parse(
            "postgres://u@h:1/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.crt&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/tmp/ca.crt")));
        assert!(!s.password_in_url);
        assert_eq!(parse("postgres://u@h/db").unwrap().mode, SslMode::Prefer);
        assert!(parse("postgres://u:pw@h/db").unwrap().password_in_url);
        assert!(parse("postgres://u@h/db?sslmode=sometimes").is_err());
        assert!(parse("postgres://u@h/db?sslcert=x").is_err());
    }

    #[test]
    fn pgsslmode_and_pgsslrootcert_are_defaults_the_url_overrides() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let vars = env(&[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "/ca.pem")]);
        let s = parse_with("postgres://u@h/db", &vars).unwrap();
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/ca.pem")));
        let s = parse_with("postgres://u@h/db?sslmode=disable&sslrootcert=/x", &vars).unwrap();
        assert_eq!(s.mode, SslMode::Disable);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/x")));
        // Empty means unset, as for every variable keyroll reads.
        let empty = env(&[("PGSSLMODE", ""), ("PGSSLROOTCERT", "")]);
        let s = parse_with("postgres://u@h/db", &empty).unwrap();
        assert_eq!((s.mode, s.root_cert), (SslMode::Prefer, None));
        assert!(parse_with("postgres://u@h/db", &env(&[("PGSSLMODE", "sometimes")])).is_err());
    }

    #[test]
    fn reads_pgpass_lines_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:bob:nope\n127.0.0.1:*:app:bob:s\\:cr\\\\et\n*:*:*:*:fallback\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(
            pgpass_lookup(&file, &["127.0.0.1", "5432", "app", "bob"])
                .as_deref()
                .map(String::as_str),
            Some("s:cr\\et")
        );
        assert_eq!(
            pgpass_lookup(&file, &["db", "5432", "app", "eve"])
                .as_deref()
                .map(String::as_str),
            Some("fallback")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(pgpass_lookup(&file, &["db", "5432", "app", "eve"]), None);
        }
    }

    #[test]
    fn password_variables_follow_the_environment_contract() {
        use std::os::unix::ffi::OsStringExt;
        let config: Config = "postgres://bob@127.0.0.1:5432/app".parse().unwrap();
        let none = |_: &str| None;
        assert_eq!(password_from_environment(&config, &none).unwrap(), None);
        let set = |name: &str| (name == "PGPASSWORD").then(|| "pw".into());
        let got = password_from_environment(&config, &set).unwrap();
        assert_eq!(got.as_deref().map(String::as_str), Some("pw"));
        // Not UTF-8: an error naming the variable, never a silent fallback to no password.
        let broken = |name: &str| {
            (name == "PGPASSWORD").then(|| std::ffi::OsString::from_vec(vec![0xff, b'x']))
        };
        let err = password_from_environment(&config, &broken).unwrap_err();
        assert!(err.message.contains("PGPASSWORD") && !err.message.contains('x'));
        // Empty is unset: the password file decides (here: none, since HOME is unset too).
        let empty = |name: &str| (name == "PGPASSWORD").then(std::ffi::OsString::new);
        assert_eq!(password_from_environment(&config, &empty).unwrap(), None);
    }
}

/// Against the test server of `scripts/ci/50-cli.sh`, which serves TLS with a certificate for
/// `localhost`/`127.0.0.1` from a throwaway CA (`KEYROLL_TEST_PG_CA`).
#[cfg(test)]
mod server_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(name: &str) -> String {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} must be set (scripts/ci/50-cli.sh sets it)"))
    }

    /// The test server's URL with `query` appended.
    fn url(query: &str) -> String {
        let base = env("KEYROLL_TEST_PG_URL");
        format!("{base}?{query}")
    }

    /// The same server under another host name: `hostaddr` connects to 127.0.0.1 while TLS
    /// checks the name `wrong.invalid`.
    fn wrong_host_url(query: &str) -> String {
        let base = env("KEYROLL_TEST_PG_URL");
        let port = base
            .rsplit_once(':')
            .unwrap()
            .1
            .split('/')
            .next()
            .unwrap()
            .to_string();
        format!("postgres://postgres@wrong.invalid:{port}/postgres?hostaddr=127.0.0.1&{query}")
    }

    fn encrypted(client: &mut Client) -> bool {
        client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0)
    }

    #[test]
    fn sslmodes_against_a_server_with_a_private_ca() {
        let ca = env("KEYROLL_TEST_PG_CA");
        let wrong_ca = env("KEYROLL_TEST_PG_WRONG_CA");
        assert!(encrypted(&mut connect(&url("sslmode=require")).unwrap()));
        assert!(
            encrypted(&mut connect(&env("KEYROLL_TEST_PG_URL")).unwrap()),
            "prefer is the default"
        );
        assert!(!encrypted(&mut connect(&url("sslmode=disable")).unwrap()));
        let full = connect(&url(&format!("sslmode=verify-full&sslrootcert={ca}")));
        assert!(encrypted(&mut full.unwrap()));
        // An unrelated CA: refused, and the message says why.
        let e = connect(&url(&format!("sslmode=verify-full&sslrootcert={wrong_ca}")))
            .err()
            .unwrap();
        assert_eq!(e.code, "database_unreachable");
        assert!(
            e.message.contains("sslmode=verify-full") && e.message.contains("certificate"),
            "{}",
            e.message
        );
        // `require` with a CA file checks the chain too (as libpq does).
        assert!(connect(&url(&format!("sslmode=require&sslrootcert={wrong_ca}"))).is_err());
        // The right CA but another host name: verify-full refuses, verify-ca accepts.
        let e = connect(&wrong_host_url(&format!(
            "sslmode=verify-full&sslrootcert={ca}"
        )))
        .err()
        .unwrap();
        assert!(e.message.contains("certificate"), "{}", e.message);
        assert!(encrypted(
            &mut connect(&wrong_host_url(&format!(
                "sslmode=verify-ca&sslrootcert={ca}"
            )))
            .unwrap()
        ));
        assert!(connect(&wrong_host_url(&format!(
            "sslmode=verify-ca&sslrootcert={wrong_ca}"
        )))
        .is_err());
    }
}
