//! `switchboard-ls config`: the effective config as TOML, each value annotated with
//! the layer it came from. Keys are never printed; only whether each is set.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::config::{Config, Hedge, LoadedConfig, Notify, Origin};

/// Where the `# origin` comments start.
const COMMENT_COLUMN: usize = 40;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    let loaded = super::load_config();
    print!("{}", render(&loaded));
    ExitCode::SUCCESS
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The annotated TOML.
pub fn render(loaded: &LoadedConfig) -> String {
    let c: &Config = &loaded.config;
    let mut out = String::new();
    let source = |path: &Option<std::path::PathBuf>| {
        path.as_ref()
            .map_or("none".to_string(), |p| p.display().to_string())
    };
    let _ = writeln!(out, "# switchboard-ls effective config");
    match &loaded.user_file_ignored {
        Some(path) => {
            let _ = writeln!(
                out,
                "# user file: {} (ignored: it could not be read or parsed, see below)",
                path.display()
            );
        }
        None => {
            let _ = writeln!(out, "# user file: {}", source(&loaded.user_file));
        }
    }
    let _ = writeln!(out, "# workspace file: {}", source(&loaded.workspace_file));
    for problem in &loaded.problems {
        let _ = writeln!(out, "# problem: {problem}");
    }

    // `key = value`, with the origin comments lined up in one column.
    let line = |out: &mut String, key: &str, value: String| {
        let assignment = format!("{} = {value}", key.rsplit('.').next().unwrap_or(key));
        let _ = writeln!(
            out,
            "{assignment:<COMMENT_COLUMN$} # {}",
            loaded.origin(key)
        );
    };
    let _ = writeln!(out, "\n[completion]");
    line(
        &mut out,
        "completion.max_prefix_chars",
        c.completion.max_prefix_chars.to_string(),
    );
    line(
        &mut out,
        "completion.max_suffix_chars",
        c.completion.max_suffix_chars.to_string(),
    );
    line(
        &mut out,
        "completion.max_tokens",
        c.completion.max_tokens.to_string(),
    );
    line(
        &mut out,
        "completion.deadline_ms",
        c.completion.deadline_ms.to_string(),
    );
    line(
        &mut out,
        "completion.exclude",
        toml_list(&c.completion.exclude),
    );

    let _ = writeln!(out, "\n[cache]");
    line(&mut out, "cache.capacity", c.cache.capacity.to_string());
    line(&mut out, "cache.ttl_secs", c.cache.ttl_secs.to_string());
    // The file actually used, not the `""` that means "the default one".
    let cache_path = match c.cache.path.as_str() {
        "" => crate::cache::default_path()
            .map_or_else(|| toml_str("off"), |p| toml_str(&p.display().to_string())),
        other => toml_str(other),
    };
    line(&mut out, "cache.path", cache_path);

    let _ = writeln!(out, "\n[routing]");
    let r = &c.routing;
    line(&mut out, "routing.retries", r.retries.to_string());
    let hedge = match r.hedge {
        Hedge::Auto => toml_str("auto"),
        Hedge::Off => toml_str("off"),
        Hedge::Fixed(d) => d.as_millis().to_string(),
    };
    line(&mut out, "routing.hedge_ms", hedge);
    line(
        &mut out,
        "routing.breaker_failures",
        r.breaker_failures.to_string(),
    );
    line(
        &mut out,
        "routing.breaker_cooldown_ms",
        r.breaker_cooldown_ms.to_string(),
    );
    line(
        &mut out,
        "routing.status_poll_secs",
        r.status_poll_secs.to_string(),
    );
    let notify = match r.notify {
        Notify::Transitions => "transitions",
        Notify::Off => "off",
    };
    line(&mut out, "routing.notify", toml_str(notify));
    line(&mut out, "routing.order", toml_list(&r.order));
    line(&mut out, "routing.disabled", toml_list(&r.disabled));
    let slow = match r.slow {
        crate::config::SlowBound::Auto => toml_str("auto"),
        crate::config::SlowBound::Off => toml_str("off"),
        crate::config::SlowBound::Fixed(d) => d.as_millis().to_string(),
    };
    line(&mut out, "routing.slow_ms", slow);
    line(
        &mut out,
        "routing.quality_failures",
        r.quality_failures.to_string(),
    );

    render_network(&mut out, c, &line);
    render_team(&mut out, loaded, &line);

    let chain_origin = loaded.origin("provider");
    for p in &c.providers {
        // `local` is appended by the program unless a config listed it.
        let origin = if p.kind == crate::config::ProviderKind::Local
            && matches!(chain_origin, Origin::Default | Origin::Environment)
        {
            "built in (always last)".to_string()
        } else {
            chain_origin.to_string()
        };
        let _ = writeln!(out, "\n{:<COMMENT_COLUMN$} # {origin}", "[[provider]]");
        let _ = writeln!(out, "name = {}", toml_str(&p.name));
        let _ = writeln!(out, "kind = {}", toml_str(p.kind.as_str()));
        let _ = writeln!(out, "model = {}", toml_str(&p.model));
        if p.kind.is_cloud() {
            let _ = writeln!(out, "base_url = {}", toml_str(&p.base_url));
            match &p.api_key_env {
                Some(var) => {
                    let state = if p.api_key.is_some() {
                        "set (redacted)"
                    } else {
                        "not set"
                    };
                    let assignment = format!("api_key_env = {}", toml_str(var));
                    let _ = writeln!(out, "{assignment:<COMMENT_COLUMN$} # key: {state}");
                }
                None => {
                    let _ = writeln!(out, "# no API key used");
                }
            }
            let _ = writeln!(out, "timeout_ms = {}", p.timeout.as_millis());
            let _ = writeln!(
                out,
                "status_page = {}",
                toml_str(p.status_page.as_deref().unwrap_or(""))
            );
            if let Some(component) = &p.status_component {
                let _ = writeln!(out, "status_component = {}", toml_str(component));
            }
            if let Some(template) = p.fim_template {
                let _ = writeln!(out, "fim_template = {}", toml_str(template.as_str()));
            }
            let _ = writeln!(out, "stream = {}", p.stream);
        }
    }
    out
}

/// `[network]`: a proxy URL is shown with its password as `***`; for `proxy = ""`, the
/// proxy the environment gives (https only, DESIGN.md §3).
fn render_network(out: &mut String, c: &Config, line: &dyn Fn(&mut String, &str, String)) {
    use crate::config::{ProxySetting, redact_url};
    let n = &c.network;
    let _ = writeln!(out, "\n[network]");
    let proxy = match &n.proxy {
        ProxySetting::Environment => String::new(),
        ProxySetting::Off => "off".to_string(),
        ProxySetting::Url(url) => redact_url(url),
    };
    line(out, "network.proxy", toml_str(&proxy));
    match &n.proxy {
        ProxySetting::Environment => {
            let _ = match crate::providers::environment_proxy() {
                Some((url, name)) => writeln!(
                    out,
                    "# https requests go through {} ({name})",
                    redact_url(&url)
                ),
                None => writeln!(out, "# no proxy (HTTPS_PROXY and ALL_PROXY are not set)"),
            };
            if ["HTTP_PROXY", "http_proxy"]
                .iter()
                .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
            {
                let _ = writeln!(
                    out,
                    "# HTTP_PROXY is not used: plain http:// providers are reached directly (a proxy would see their keys)"
                );
            }
        }
        ProxySetting::Off => {
            let _ = writeln!(out, "# no proxy, whatever the environment says");
        }
        ProxySetting::Url(_) => {}
    }
    let ca_file = n
        .ca_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    line(out, "network.ca_file", toml_str(&ca_file));
    if n.ca_file.is_some() {
        let _ = writeln!(
            out,
            "# {} extra root certificate(s), added to the built-in roots",
            n.ca_roots.len()
        );
    }
    line(out, "network.prewarm", n.prewarm.to_string());
}

/// `[team]`: the Redis URL with any password redacted, and only whether
/// `SWITCHBOARD_REDIS_PASSWORD` is set.
fn render_team(out: &mut String, loaded: &LoadedConfig, line: &dyn Fn(&mut String, &str, String)) {
    let _ = writeln!(out, "\n[team]");
    let Some(team) = &loaded.config.team else {
        line(out, "team.redis_url", toml_str(""));
        let _ = writeln!(out, "# team mode off");
        return;
    };
    line(out, "team.redis_url", toml_str(&team.redacted_url()));
    line(out, "team.name", toml_str(&team.name));
    line(out, "team.share_health", team.share_health.to_string());
    line(out, "team.share_cache", team.share_cache.to_string());
    let state = if team.password.is_some() {
        "set (redacted)"
    } else {
        "not set"
    };
    let _ = writeln!(
        out,
        "# password: {} {state}",
        crate::config::REDIS_PASSWORD_ENV
    );
}
