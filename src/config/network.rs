//! The `[network]` settings (DESIGN.md §3, §6): which proxy reaches the providers, extra
//! root certificates for a TLS-inspecting proxy, and whether to keep connections warm.
//!
//! The CA file is read and every certificate in it checked here, when the config loads,
//! so a bad file is a `config-error` naming the file and the reason, never a client
//! that fails to build later. A proxy URL may hold a password: it is only ever shown
//! through [`redact_url`].

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

use super::ConfigProblem;
use super::sources::type_name;

/// The most a CA file may be (a full public bundle is about 250 KiB).
pub const MAX_CA_FILE_BYTES: u64 = 8 << 20;

/// `[network]` as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    pub proxy: ProxySetting,
    /// `ca_file` as given, when it was read successfully.
    pub ca_file: Option<PathBuf>,
    /// The certificates of `ca_file` (DER), added to the built-in roots.
    pub ca_roots: Vec<Vec<u8>>,
    /// Keep a warm connection to each provider that may serve next (DESIGN.md §3;
    /// `providers::prewarm`).
    pub prewarm: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            proxy: ProxySetting::Environment,
            ca_file: None,
            ca_roots: Vec::new(),
            prewarm: true,
        }
    }
}

impl fmt::Debug for NetworkSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkSettings")
            .field("proxy", &self.proxy)
            .field("ca_file", &self.ca_file)
            .field("ca_roots", &self.ca_roots.len())
            .field("prewarm", &self.prewarm)
            .finish()
    }
}

/// `network.proxy`.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// `""`: `HTTPS_PROXY` (or `ALL_PROXY`) and `NO_PROXY` from the environment.
    Environment,
    /// `"off"`: always connect directly.
    Off,
    /// An `http://` or `https://` proxy URL (it may carry `user:password@`).
    Url(String),
}

/// Redacted, so that a `{:?}` of the config can never print a proxy password.
impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::Environment => f.write_str("Environment"),
            ProxySetting::Off => f.write_str("Off"),
            ProxySetting::Url(url) => write!(f, "Url({})", redact_url(url)),
        }
    }
}

/// `url` with any password in it replaced by `***` (`http://user:***@host:3128`); a
/// lone user-info part, which some proxies take as a token, is replaced whole.
pub fn redact_url(url: &str) -> String {
    // `HTTPS_PROXY=user:password@proxy:3128` (no scheme) is common, and accepted.
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_string(),
    };
    format!("{scheme}{user}@{host}{tail}")
}

const KEYS: &[&str] = &["proxy", "ca_file", "prewarm"];

/// Reads the `[network]` table; each bad key is one problem (dotted name first) and
/// keeps its default.
pub(super) fn parse(section: Option<&Value>, problems: &mut Vec<ConfigProblem>) -> NetworkSettings {
    let mut settings = NetworkSettings::default();
    let table = match section {
        None | Some(Value::Null) => return settings,
        Some(Value::Object(table)) => table,
        Some(other) => {
            problems.push(ConfigProblem::new(format!(
                "network: expected a table, got {}",
                type_name(other)
            )));
            return settings;
        }
    };
    for (key, value) in table {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "proxy" => match value {
                Value::String(text) => match parse_proxy(text.trim()) {
                    Ok(proxy) => settings.proxy = proxy,
                    Err(reason) => problems.push(ConfigProblem::new(format!(
                        "network.proxy: {reason} (using the environment's proxy settings)"
                    ))),
                },
                other => problems.push(ConfigProblem::new(format!(
                    "network.proxy: expected a string (\"\", \"off\" or a URL), got {}",
                    type_name(other)
                ))),
            },
            "ca_file" => match value {
                Value::String(path) if path.trim().is_empty() => {}
                Value::String(path) => match read_ca_file(path.trim()) {
                    Ok((path, roots)) => {
                        settings.ca_file = Some(path);
                        settings.ca_roots = roots;
                    }
                    Err(reason) => problems.push(ConfigProblem::new(format!(
                        "network.ca_file: {reason} (only the built-in roots are trusted)"
                    ))),
                },
                other => problems.push(ConfigProblem::new(format!(
                    "network.ca_file: expected a path to a PEM file, got {}",
                    type_name(other)
                ))),
            },
            "prewarm" => match value {
                Value::Bool(on) => settings.prewarm = *on,
                other => problems.push(ConfigProblem::new(format!(
                    "network.prewarm: expected true or false, got {}",
                    type_name(other)
                ))),
            },
            _ => problems.push(ConfigProblem::new(format!(
                "network.{key}: unknown key (ignored; known: {})",
                KEYS.join(", ")
            ))),
        }
    }
    settings
}

fn parse_proxy(text: &str) -> Result<ProxySetting, String> {
    match text {
        "" => return Ok(ProxySetting::Environment),
        "off" => return Ok(ProxySetting::Off),
        _ => {}
    }
    let shown = redact_url(text);
    let url = reqwest::Url::parse(text).map_err(|err| {
        format!(
            "\"{shown}\" is not \"\", \"off\" or a proxy URL like http://proxy.example:3128 ({err})"
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "\"{shown}\" must be an http:// or https:// proxy URL with a host"
        ));
    }
    Ok(ProxySetting::Url(text.to_string()))
}

/// The certificates of a PEM file, each checked as a trust anchor; the error names the
/// file and what is wrong with it.
fn read_ca_file(given: &str) -> Result<(PathBuf, Vec<Vec<u8>>), String> {
    let path = expand_home(given);
    if !path.is_absolute() {
        return Err(format!(
            "\"{given}\" must be an absolute path (or start with ~/)"
        ));
    }
    let shown = path.display();
    let bytes = read_limited(&path).map_err(|err| format!("cannot read {shown}: {err}"))?;
    let mut roots = Vec::new();
    for (index, cert) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let cert = cert.map_err(|err| {
            format!(
                "{shown} is not a valid PEM file (certificate #{}: {err})",
                index + 1
            )
        })?;
        webpki::anchor_from_trusted_cert(&cert).map_err(|err| {
            format!(
                "{shown}: certificate #{} is not a usable X.509 certificate ({err:?})",
                index + 1
            )
        })?;
        roots.push(cert.as_ref().to_vec());
    }
    if roots.is_empty() {
        return Err(format!(
            "{shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)"
        ));
    }
    Ok((path, roots))
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// A regular file of at most [`MAX_CA_FILE_BYTES`] (not a FIFO or `/dev/zero`).
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if metadata.len() > MAX_CA_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "{} bytes, over the {} MiB limit",
            metadata.len(),
            MAX_CA_FILE_BYTES >> 20
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_value(value: Value) -> (NetworkSettings, Vec<String>) {
        let mut problems = Vec::new();
        let settings = parse(Some(&value), &mut problems);
        (settings, problems.into_iter().map(|p| p.message).collect())
    }

    #[test]
    fn defaults_use_the_environment_and_prewarm() {
        let mut problems = Vec::new();
        let settings = parse(None, &mut problems);
        assert_eq!(settings, NetworkSettings::default());
        assert_eq!(settings.proxy, ProxySetting::Environment);
        assert!(settings.prewarm && settings.ca_roots.is_empty());
        assert!(problems.is_empty());
    }

    #[test]
    fn proxy_accepts_empty_off_and_urls() {
        for (value, expected) in [
            ("", ProxySetting::Environment),
            ("off", ProxySetting::Off),
            (
                "http://127.0.0.1:3128",
                ProxySetting::Url("http://127.0.0.1:3128".into()),
            ),
            (
                " https://u:p@proxy.corp:8443 ",
                ProxySetting::Url("https://u:p@proxy.corp:8443".into()),
            ),
        ] {
            let (settings, problems) = parse_value(json!({"proxy": value, "prewarm": false}));
            assert!(problems.is_empty(), "{problems:?}");
            assert_eq!(settings.proxy, expected);
            assert!(!settings.prewarm);
        }
    }

    #[test]
    fn a_bad_proxy_is_named_without_its_password() {
        let (settings, problems) = parse_value(json!({"proxy": "socks5://u:hunter2@h:1080"}));
        assert_eq!(settings.proxy, ProxySetting::Environment);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("network.proxy: "), "{problems:?}");
        assert!(
            problems[0].contains("socks5://u:***@h:1080"),
            "{problems:?}"
        );
        assert!(!problems[0].contains("hunter2"), "{problems:?}");

        let (_, problems) =
            parse_value(json!({"proxy": "no proxy please", "prewarm": "yes", "pac": 1}));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("network.proxy: \"no proxy please\" is not")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("network.prewarm: expected true or false")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("network.pac: unknown key")),
            "{problems:?}"
        );
    }

    #[test]
    fn debug_and_shown_never_print_a_proxy_password() {
        let (settings, _) = parse_value(json!({"proxy": "http://alice:s3cret@proxy:3128"}));
        assert!(
            format!("{settings:?}").contains("Url(http://alice:***@proxy:3128)"),
            "{settings:?}"
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
        assert_eq!(redact_url("http://token@proxy/"), "http://***@proxy/");
        assert_eq!(redact_url("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(redact_url("http://u:p@ss@proxy"), "http://u:***@proxy");
        assert_eq!(redact_url("u:pw@proxy:3128"), "u:***@proxy:3128");
        assert_eq!(redact_url("proxy:3128"), "proxy:3128");
    }

    #[test]
    fn an_unreadable_or_non_pem_ca_file_names_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let (settings, problems) = parse_value(json!({"ca_file": missing}));
        assert!(settings.ca_roots.is_empty() && settings.ca_file.is_none());
        assert!(
            problems[0].starts_with(&format!(
                "network.ca_file: cannot read {}: ",
                missing.display()
            )),
            "{problems:?}"
        );

        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "just some text\n").unwrap();
        let (_, problems) = parse_value(json!({"ca_file": text}));
        assert!(
            problems[0].contains(&format!("{} holds no PEM certificate", text.display())),
            "{problems:?}"
        );

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let (_, problems) = parse_value(json!({"ca_file": broken}));
        assert!(
            problems[0].contains("certificate #1 is not a usable X.509 certificate"),
            "{problems:?}"
        );

        let (_, problems) = parse_value(json!({"ca_file": "relative/ca.pem"}));
        assert!(
            problems[0].contains("must be an absolute path"),
            "{problems:?}"
        );

        let (_, problems) = parse_value(json!({"ca_file": dir.path()}));
        assert!(problems[0].contains("not a regular file"), "{problems:?}");
    }

    #[test]
    fn a_pem_bundle_becomes_extra_roots() {
        let dir = tempfile::tempdir().unwrap();
        let mut bundle = String::from("# a comment line before the certificates\n");
        for name in ["corp root", "corp intermediate"] {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            bundle.push_str(&params.self_signed(&key).unwrap().pem());
        }
        let path = dir.path().join("corp.pem");
        std::fs::write(&path, bundle).unwrap();
        let (settings, problems) = parse_value(json!({"ca_file": path}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(settings.ca_file.as_deref(), Some(path.as_path()));
        assert_eq!(settings.ca_roots.len(), 2);
    }
}
