//! `[network] prewarm` through the binary (DESIGN.md §3): the providers that may serve
//! next hold a live connection before they are needed, warmed without a single
//! completion request, and a failover uses it instead of opening a new one; nothing is
//! warmed when prewarm is off or the provider is disabled.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/calc.py";
const WAIT: Duration = Duration::from_secs(10);

fn options(a: &FakeProvider, b: &FakeProvider, network: Value, routing: Value) -> Value {
    let provider = |name: &str, fake: &FakeProvider| {
        json!({"name": name, "kind": "openai-fim", "model": "m",
               "base_url": format!("{}/v1", fake.url()), "api_key_env": "FAKE_KEY",
               "status_page": ""})
    };
    json!({
        "cache": {"path": "off", "ttl_secs": 0},
        "network": network,
        "routing": routing,
        "provider": [provider("claude", a), provider("gpt", b)],
    })
}

fn start(options: Value) -> LspClient {
    let env = Box::leak(Box::new(TestEnv::new().with("FAKE_KEY", "k")));
    let mut client = LspClient::spawn(env);
    client.initialize(options);
    client.open(URI, "python", "def f(a):\n    return \n");
    client
}

fn provider_of(client: &mut LspClient) -> Value {
    client.completion(URI, 1, 11)["items"][0]["data"]["provider"].clone()
}

#[test]
fn the_next_provider_is_warm_before_the_failover_and_the_failover_uses_that_connection() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("a + 1"));
    b.set_default(Reply::ok("a + 2"));
    let routing = json!({"retries": 0, "hedge_ms": "off", "status_poll_secs": 0});
    let mut client = start(options(&a, &b, json!({}), routing));

    // Warm without asking for anything: a connection, no completion request.
    b.wait_until(
        WAIT,
        || b.open_connections() >= 1,
        "a warm connection to gpt",
    );
    assert_eq!(provider_of(&mut client), "claude");
    assert!(
        b.completion_requests().is_empty(),
        "warming asked for a completion"
    );
    let opened = b.open_connections() + b.closed_connections();

    // claude fails: the failover to gpt goes over the connection already open.
    a.set_default(Reply::status(503));
    assert_eq!(provider_of(&mut client), "gpt");
    assert_eq!(b.completion_requests().len(), 1);
    assert_eq!(
        b.open_connections() + b.closed_connections(),
        opened,
        "the failover opened a new connection"
    );
    assert!(client.shutdown().success());
}

#[test]
fn nothing_is_warmed_when_prewarm_is_off_or_the_provider_disabled() {
    let off = json!({"retries": 0, "hedge_ms": "off", "status_poll_secs": 0});
    let disabled =
        json!({"retries": 0, "hedge_ms": "off", "status_poll_secs": 0, "disabled": ["gpt"]});
    for (network, routing, warmer) in [
        (json!({"prewarm": false}), off, false),
        (json!({}), disabled, true),
    ] {
        let (a, b) = (FakeProvider::start(), FakeProvider::start());
        a.set_default(Reply::ok("a + 1"));
        let mut client = start(options(&a, &b, network.clone(), routing));
        if warmer {
            // The warmer has made its first round: claude is connected before any completion.
            a.wait_until(WAIT, || a.open_connections() >= 1, "claude warm");
        }
        assert_eq!(provider_of(&mut client), "claude");
        assert!(client.shutdown().success());
        assert_eq!(
            b.open_connections() + b.closed_connections(),
            0,
            "gpt was connected to with {network}"
        );
    }
}
