//! The HTTP client, built from `[network]` (DESIGN.md §3): the proxy and the extra root
//! certificates. One client per distinct setting, kept, so a config reload that leaves
//! `[network]` alone keeps its warm connections and one that changes it gets a new client.
//!
//! Only `https://` providers go through a proxy, inside a CONNECT tunnel: the proxy sees
//! the host name, never the request, its API key or the code. A plain `http://` provider
//! (a local Ollama, vLLM or llama.cpp) is always reached directly, because a proxy would
//! see its request, key included, in clear; `HTTP_PROXY` is therefore never used.
//!
//! Over TLS the client offers `h2` and `http/1.1` in ALPN: a provider that speaks HTTP/2
//! carries concurrent completions on one connection (so one warm connection serves a
//! burst); plain `http://` and servers that answer `http/1.1` stay on HTTP/1.1 (never
//! HTTP/2 by prior knowledge, which a local server may not understand).

use std::sync::Mutex;
use std::time::Duration;

use crate::config::{NetworkSettings, ProxySetting, redact_url};

/// Settings that differ only in `prewarm` share one client.
type ClientKey = (ProxySetting, Vec<Vec<u8>>);

/// Clients kept for the last few distinct settings (a reload back and forth reuses them).
const KEPT: usize = 4;

/// The client for `network`: the same one (same connection pool) for as long as the
/// proxy and CA settings stay the same.
pub fn client_for(network: &NetworkSettings) -> reqwest::Client {
    static CLIENTS: Mutex<Vec<(ClientKey, reqwest::Client)>> = Mutex::new(Vec::new());
    let key = (network.proxy.clone(), network.ca_roots.clone());
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(index) = clients.iter().position(|(k, _)| *k == key) {
        let entry = clients.remove(index);
        let client = entry.1.clone();
        clients.push(entry);
        return client;
    }
    let client = build(network);
    if clients.len() >= KEPT {
        clients.remove(0);
    }
    clients.push((key, client.clone()));
    client
}

fn build(network: &NetworkSettings) -> reqwest::Client {
    let base = || {
        reqwest::Client::builder()
            .user_agent(concat!("switchboard-ls/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            // A connection unused this long is closed; the warmer uses it every 25 s. For
            // HTTP/2 "unused" counts from the last request started on it.
            .pool_idle_timeout(Duration::from_secs(90))
            // HTTP/2 PINGs only while a request is in flight and nothing was read for
            // 10 s: a connection that went silent (a dropped NAT entry, a dead proxy) is
            // closed after 5 s more instead of holding every later request, which on
            // HTTP/2 all go to the one connection. Never on an idle connection: a PING is
            // not a request to providers' idle timeouts (the warmer's HEAD is), and
            // servers answer too-frequent idle PINGs with GOAWAY.
            .http2_keep_alive_interval(Duration::from_secs(10))
            .http2_keep_alive_timeout(Duration::from_secs(5))
            .http2_keep_alive_while_idle(false)
            .tcp_nodelay(true)
            .redirect(same_origin_redirects())
            // The environment's proxies are read below, for https only.
            .no_proxy()
    };
    let mut builder = base();
    if let Some(proxy) = https_proxy(&network.proxy) {
        builder = builder.proxy(proxy);
    }
    for der in &network.ca_roots {
        match reqwest::Certificate::from_der(der) {
            Ok(cert) => builder = builder.add_root_certificate(cert),
            // Checked when the config was loaded; cannot happen with a loaded config.
            Err(err) => tracing::warn!("network.ca_file: a certificate was refused ({err})"),
        }
    }
    builder.build().unwrap_or_else(|err| {
        tracing::warn!("HTTP client with the [network] settings failed ({err}); using defaults");
        base().build().unwrap_or_default()
    })
}

/// Redirects are followed only within one origin (scheme, host and port), five at most.
/// reqwest drops `Authorization` and cookies on a redirect to another host, but not the
/// key headers some providers use (`x-api-key`, `x-goog-api-key`): followed to another
/// origin, or from https down to http, they would hand the key to whoever the Location
/// names (DESIGN.md §6). A redirect elsewhere is answered as the 3xx it is, which fails
/// the attempt like any other error.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().last().is_none_or(|from| {
            let to = attempt.url();
            from.scheme() == to.scheme()
                && from.host_str() == to.host_str()
                && from.port_or_known_default() == to.port_or_known_default()
        });
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if same_origin {
            attempt.follow()
        } else {
            tracing::warn!("not following a redirect to another origin (it would carry the key)");
            attempt.stop()
        }
    })
}

/// The proxy for `https://` requests, if any; `NO_PROXY` from the environment applies
/// to a configured proxy too.
fn https_proxy(setting: &ProxySetting) -> Option<reqwest::Proxy> {
    let (url, from) = match setting {
        ProxySetting::Off => return None,
        ProxySetting::Url(url) => (url.clone(), "network.proxy"),
        ProxySetting::Environment => environment_proxy()?,
    };
    match reqwest::Proxy::https(url.as_str()) {
        Ok(proxy) => {
            tracing::debug!("https requests go through {} ({from})", redact_url(&url));
            Some(proxy.no_proxy(reqwest::NoProxy::from_env()))
        }
        Err(err) => {
            tracing::warn!(
                "{from}: \"{}\" is not a usable proxy ({err}); connecting directly",
                redact_url(&url)
            );
            None
        }
    }
}

/// `HTTPS_PROXY`, else `ALL_PROXY` (upper case first, as reqwest reads them), with the
/// variable's name.
pub fn environment_proxy() -> Option<(String, &'static str)> {
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|v| (v, name))
        })
}
