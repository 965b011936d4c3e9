//! HTTP/2 where a provider offers it (issue 14), through the binary: concurrent
//! completions to an HTTPS provider that offers `h2` in ALPN share one connection, and
//! the warm connection `[network] prewarm` keeps is that one; a plain `http://` provider
//! and an HTTPS one that offers only `http/1.1` are spoken to in HTTP/1.1, one connection
//! per request in flight.
//!
//! Concurrency is made certain, not timed: the fake holds every completion request
//! until all of the burst has arrived, then answers them.

mod support;

use std::time::Duration;

use axum::http::Version;
use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const WAIT: Duration = Duration::from_secs(10);
/// Completions in flight at once.
const BURST: usize = 6;

/// A server with one `openai-fim` provider at `fake` (its CA trusted through `ca_file`
/// when it serves HTTPS), no cache, no retries or hedges, and `BURST` open documents whose
/// contexts all differ (so no two completions are coalesced).
fn start(env: &TestEnv, fake: &FakeProvider, prewarm: bool) -> LspClient {
    let mut network = json!({"prewarm": prewarm, "proxy": "off"});
    if let Some(pem) = fake.ca_pem() {
        let ca = env.path().join("ca.pem");
        std::fs::write(&ca, pem).unwrap();
        network["ca_file"] = json!(ca);
    }
    let mut client = LspClient::spawn(env);
    client.initialize(json!({
        "cache": {"path": "off", "ttl_secs": 0},
        "network": network,
        "routing": {"retries": 0, "hedge_ms": "off", "status_poll_secs": 0},
        "provider": [{"name": "fake", "kind": "openai-fim", "model": "m",
                      "base_url": format!("{}/v1", fake.url()), "api_key_env": "FAKE_KEY",
                      "status_page": ""}],
    }));
    for i in 0..BURST {
        client.open(&uri(i), "python", &format!("def f{i}(a):\n    return \n"));
    }
    client
}

fn env() -> TestEnv {
    TestEnv::new().with("FAKE_KEY", "k")
}

fn uri(i: usize) -> String {
    format!("file:///project/src/m{i}.py")
}

fn completion_params(i: usize) -> Value {
    json!({"textDocument": {"uri": uri(i)}, "position": {"line": 1, "character": 11},
           "context": {"triggerKind": 1}})
}

/// `BURST` completions, all in flight at the fake at once, then answered; each must be
/// served by the fake.
fn burst(client: &mut LspClient, fake: &FakeProvider) {
    let before = fake.completion_requests().len();
    fake.hold();
    let ids: Vec<i64> = (0..BURST)
        .map(|i| client.send_request("textDocument/completion", completion_params(i)))
        .collect();
    fake.wait_for_requests(before + BURST, WAIT);
    fake.release();
    for id in ids {
        let response = client.wait_response(id);
        assert_eq!(
            response["result"]["items"][0]["data"]["provider"], "fake",
            "{response}"
        );
    }
}

/// The HTTP versions of the completion requests the fake received.
fn completion_versions(fake: &FakeProvider) -> Vec<Version> {
    fake.arrivals()
        .into_iter()
        .filter(|a| a.method == "POST")
        .map(|a| a.version)
        .collect()
}

#[test]
fn concurrent_completions_to_an_https_provider_share_one_http2_connection() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("a + 1"));
    let env = env();
    let mut client = start(&env, &fake, false);

    let first = client.completion(&uri(0), 1, 11);
    assert_eq!(first["items"][0]["data"]["provider"], "fake", "{first}");
    burst(&mut client, &fake);

    assert_eq!(
        fake.accepted_connections(),
        1,
        "{BURST} completions in flight at once should share the one HTTP/2 connection"
    );
    let versions = completion_versions(&fake);
    assert_eq!(versions.len(), 1 + BURST);
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_2),
        "{versions:?}"
    );
    assert!(client.shutdown().success());
}

#[test]
fn the_warm_connection_is_http2_and_a_burst_of_completions_uses_it() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("a + 1"));
    let env = env();
    let mut client = start(&env, &fake, true);

    // The warmer's HEAD arrives over HTTP/2 before any completion is asked for.
    fake.wait_until(
        WAIT,
        || fake.arrivals().iter().any(|a| a.method == "HEAD"),
        "the warming HEAD",
    );
    let head = fake.arrivals().into_iter().find(|a| a.method == "HEAD");
    assert_eq!(head.map(|a| a.version), Some(Version::HTTP_2));
    assert!(fake.completion_requests().is_empty());

    burst(&mut client, &fake);
    assert_eq!(
        fake.accepted_connections(),
        1,
        "the burst should go over the connection the warmer opened"
    );
    let versions = completion_versions(&fake);
    assert_eq!(versions, vec![Version::HTTP_2; BURST]);
    assert!(client.shutdown().success());
}

/// Without HTTP/2 every request in flight has a connection of its own: the one from the
/// first completion is reused for one of the burst, the others are new.
fn assert_http1_burst(fake: FakeProvider) {
    fake.set_default(Reply::ok("a + 1"));
    let env = env();
    let mut client = start(&env, &fake, false);

    let first = client.completion(&uri(0), 1, 11);
    assert_eq!(first["items"][0]["data"]["provider"], "fake", "{first}");
    burst(&mut client, &fake);

    assert_eq!(fake.accepted_connections(), BURST, "{}", fake.url());
    let versions = completion_versions(&fake);
    assert_eq!(
        versions,
        vec![Version::HTTP_11; 1 + BURST],
        "{}",
        fake.url()
    );
    assert!(client.shutdown().success());
}

#[test]
fn a_plain_http_provider_is_spoken_to_in_http1() {
    assert_http1_burst(FakeProvider::start());
}

#[test]
fn an_https_provider_that_offers_only_http1_is_spoken_to_in_http1() {
    assert_http1_burst(FakeProvider::start_tls_http1());
}
