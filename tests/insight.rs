//! Issue 16 through the real binary: every suggestion carries `switchboard.accepted`
//! with an opaque id, accepts are counted once per id for the provider that produced
//! the suggestion, and what lands in the stats file.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/main.rs";

fn provider(name: &str, fake: &FakeProvider) -> Value {
    json!({"name": name, "kind": "openai-fim", "model": "m", "base_url": format!("{}/v1", fake.url())})
}

fn stats_file(env: &TestEnv) -> PathBuf {
    env.path().join(".local/state/switchboard/stats-v1.jsonl")
}

/// The stats file's hour lines added up per provider: field → total.
fn totals(env: &TestEnv, provider: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(stats_file(env)).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "hour" && l["provider"] == provider)
        .map(|l| l[field].as_u64().unwrap_or(0))
        .sum()
}

fn accept(client: &mut LspClient, arguments: Value) -> Value {
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "switchboard.accepted", "arguments": arguments}),
    );
    client.wait_response(id)
}

#[test]
fn every_item_carries_the_accepted_command_and_accepts_count_once_per_id() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("from_a"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let init = client.initialize(json!({
        "cache": {"ttl_secs": 0},
        "provider": [provider("a", &fake)],
    }));
    let commands = &init["capabilities"]["executeCommandProvider"]["commands"];
    assert!(
        commands
            .as_array()
            .unwrap()
            .contains(&json!("switchboard.accepted")),
        "{commands}"
    );
    client.open(URI, "rust", "let x = ");

    let item = client.completion(URI, 0, 8)["items"][0].clone();
    assert_eq!(item["data"]["provider"], "a");
    assert_eq!(item["command"]["command"], "switchboard.accepted");
    let popup_id = item["command"]["arguments"][0].clone();
    assert!(popup_id.is_string(), "{item}");

    let inline = client.inline_completion(URI, 0, 8)["items"][0].clone();
    assert_eq!(inline["insertText"], "from_a");
    assert_eq!(inline["command"]["command"], "switchboard.accepted");
    let inline_id = inline["command"]["arguments"][0].clone();
    assert!(inline_id.is_string(), "{inline}");
    assert_ne!(popup_id, inline_id);

    // Accepted word by word: the same id three times is one accept.
    for _ in 0..3 {
        let response = accept(&mut client, json!([inline_id]));
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
    }
    // Unknown, missing or malformed ids answer null too: no error for the user to see.
    for arguments in [json!(["no-such-id"]), json!([]), json!([42])] {
        let response = accept(&mut client, arguments);
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
    }
    // The popup item was shown but not accepted.
    assert!(client.shutdown().success());

    assert_eq!(totals(&env, "a", "served"), 2);
    assert_eq!(totals(&env, "a", "accepted"), 1);
}

#[test]
fn an_accept_is_counted_for_the_provider_that_served_after_a_failover() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("from_b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "routing": {"retries": 0, "hedge_ms": "off"},
        "cache": {"ttl_secs": 0},
        "provider": [provider("a", &a), provider("b", &b)],
    }));
    client.open(URI, "rust", "let x = ");
    let item = client.completion(URI, 0, 8)["items"][0].clone();
    assert_eq!(item["data"]["provider"], "b");
    let id = item["command"]["arguments"][0].clone();
    accept(&mut client, json!([id]));
    assert!(client.shutdown().success());

    assert_eq!(totals(&env, "b", "accepted"), 1);
    assert_eq!(totals(&env, "b", "accepted_failover"), 1);
    assert_eq!(totals(&env, "b", "failovers"), 1);
    assert_eq!(totals(&env, "a", "accepted"), 0);
    let text = std::fs::read_to_string(stats_file(&env)).unwrap();
    let a_failures: u64 = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "hour" && l["provider"] == "a")
        .map(|l| l["failures"]["retryable"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(a_failures, 1, "{text}");
}
