//! DESIGN.md §4 through the real binary: two fake providers, fault injection, and the
//! `switchboard/status` notification / `switchboard.status` command as the window on
//! the health board. Each rule has a test that fails without it.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/main.rs";

fn provider(name: &str, fake: &FakeProvider) -> Value {
    json!({"name": name, "kind": "openai-fim", "model": "m", "base_url": format!("{}/v1", fake.url())})
}

/// A server with providers `a` then `b` and these routing settings.
fn start(a: &FakeProvider, b: &FakeProvider, routing: Value, completion: Value) -> LspClient {
    let env = Box::leak(Box::new(TestEnv::new()));
    let mut client = LspClient::spawn(env);
    // Every request goes upstream: cached answers are never fresh.
    client.initialize(json!({
        "routing": routing,
        "completion": completion,
        "cache": {"ttl_secs": 0},
        "provider": [provider("a", a), provider("b", b)],
    }));
    client.open(URI, "rust", "let x = ");
    client
}

fn complete(client: &mut LspClient) -> Value {
    let list = client.completion(URI, 0, 8);
    list["items"][0].clone()
}

fn status(client: &mut LspClient) -> Value {
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    )
}

fn state_of(status: &Value, name: &str) -> Value {
    status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn failover_on_529_serves_from_next_provider_and_the_breaker_opens() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("from_b"));
    let mut client = start(
        &a,
        &b,
        json!({"retries": 0, "breaker_failures": 2, "breaker_cooldown_ms": 600000, "hedge_ms": "off"}),
        json!({}),
    );

    let first = complete(&mut client);
    assert_eq!(first["data"]["provider"], "b");
    assert_eq!(first["textEdit"]["newText"], "from_b");
    assert_eq!(state_of(&status(&mut client), "a")["state"], "degraded");

    complete(&mut client);
    let down = state_of(&status(&mut client), "a");
    assert_eq!(down["state"], "down");
    assert_eq!(down["detail"], "529 server_error ×2");
    // The cooldown is capped at 300 s.
    let retry_in = down["retry_in_ms"].as_u64().unwrap();
    assert!((250_000..=300_000).contains(&retry_in), "{down}");

    for _ in 0..5 {
        assert_eq!(complete(&mut client)["data"]["provider"], "b");
    }
    assert_eq!(
        a.completion_requests().len(),
        2,
        "an open breaker skips the provider"
    );
    let notified = client.wait_notification("switchboard/status", |p| {
        state_of(p, "a")["state"] == "down"
    });
    assert_eq!(notified["serving"], "b");
}

#[test]
fn after_the_cooldown_one_probe_heals_the_provider() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(503));
    b.set_default(Reply::ok("from_b"));
    let mut client = start(
        &a,
        &b,
        json!({"retries": 0, "breaker_failures": 1, "breaker_cooldown_ms": 50, "hedge_ms": "off"}),
        json!({}),
    );
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    assert_eq!(state_of(&status(&mut client), "a")["state"], "down");
    a.set_default(Reply::ok("from_a"));
    // Ask until the probe has gone through: the cooldown is wall-clock time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if complete(&mut client)["data"]["provider"] == "a" {
            break;
        }
        assert!(Instant::now() < deadline, "the probe never reached a");
    }
    assert_eq!(state_of(&status(&mut client), "a")["state"], "healthy");
    client.wait_notification("switchboard/status", |p| {
        state_of(p, "a")["state"] == "healthy"
    });
}

#[test]
fn an_auth_error_disables_the_provider_after_one_request() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("from_b"));
    let mut client = start(&a, &b, json!({"hedge_ms": "off"}), json!({}));
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    complete(&mut client);
    assert_eq!(
        a.completion_requests().len(),
        1,
        "no retry, and skipped once disabled"
    );
    let a_state = state_of(&status(&mut client), "a");
    assert_eq!(a_state["state"], "disabled");
    assert!(
        a_state["detail"].as_str().unwrap().starts_with("401"),
        "{a_state}"
    );
}

#[test]
fn a_429_with_retry_after_is_skipped_without_waiting() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status_with(
        429,
        "rate_limit_exceeded",
        &[("retry-after", "30")],
    ));
    b.set_default(Reply::ok("from_b"));
    let mut client = start(
        &a,
        &b,
        json!({"hedge_ms": "off", "breaker_failures": 1}),
        json!({}),
    );
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    assert_eq!(
        a.completion_requests().len(),
        1,
        "skipped until retry-after, no retry"
    );
    let a_state = state_of(&status(&mut client), "a");
    assert_eq!(
        a_state["state"], "degraded",
        "a 429 does not open the breaker"
    );
    let retry_in = a_state["retry_in_ms"].as_u64().unwrap();
    assert!((25_000..=30_000).contains(&retry_in), "{a_state}");
}

#[test]
fn a_hanging_provider_is_hedged_to_the_next_one() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::Hang);
    b.set_default(Reply::ok("from_b"));
    let mut client = start(
        &a,
        &b,
        json!({"hedge_ms": 100}),
        json!({"deadline_ms": 60000}),
    );
    let item = complete(&mut client);
    assert_eq!(item["data"]["provider"], "b");
    assert_eq!(a.completion_requests().len(), 1);
    // The losing attempt is dropped: its connection closes.
    a.wait_for_abandoned(1, Duration::from_secs(10));
    // A hedged request that loses counts neither way.
    let a_state = state_of(&status(&mut client), "a");
    assert_eq!(
        (a_state["state"].as_str(), a_state["failures"].as_u64()),
        (Some("healthy"), Some(0)),
        "{a_state}"
    );
}

#[test]
fn mid_stream_errors_malformed_bodies_and_dropped_connections_fail_over() {
    for fault in [
        Reply::MidStreamError {
            text: "part".into(),
        },
        Reply::Malformed,
        Reply::Drop,
    ] {
        let (a, b) = (FakeProvider::start(), FakeProvider::start());
        a.set_default(fault.clone());
        b.set_default(Reply::ok("from_b"));
        let mut client = start(&a, &b, json!({"hedge_ms": "off", "retries": 0}), json!({}));
        let item = complete(&mut client);
        assert_eq!(item["data"]["provider"], "b", "{fault:?}");
        assert_eq!(
            state_of(&status(&mut client), "a")["state"],
            "degraded",
            "{fault:?}"
        );
    }
}

#[test]
fn a_major_incident_on_the_status_page_puts_the_second_provider_first() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("from_a"));
    b.set_default(Reply::ok("from_b"));
    a.set_status_page(json!({
        "status": {"indicator": "major", "description": "Partial System Outage"},
        "components": [],
        "incidents": [{"name": "Elevated errors on the API", "status": "investigating", "impact": "major"}]
    }));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut a_config = provider("a", &a);
    a_config["status_page"] = json!(a.url());
    client.initialize(
        json!({"routing": {"hedge_ms": "off"}, "cache": {"ttl_secs": 0}, "provider": [a_config, provider("b", &b)]}),
    );
    let notified = client.wait_notification("switchboard/status", |p| {
        state_of(p, "a")["status_page"]["indicator"] == "major"
    });
    let a_state = state_of(&notified, "a");
    assert_eq!(
        a_state["status_page"]["description"],
        "Elevated errors on the API"
    );
    assert_eq!(a_state["state"], "degraded");
    client.open(URI, "rust", "let x = ");
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    assert!(a.completion_requests().is_empty(), "a was demoted behind b");
    // Still tried when b fails.
    b.set_default(Reply::status(500));
    assert_eq!(complete(&mut client)["data"]["provider"], "a");
}

#[test]
fn an_unreachable_or_malformed_status_page_changes_nothing() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("from_a"));
    a.set_status_page(json!({"not": "a status page"}));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut a_config = provider("a", &a);
    a_config["status_page"] = json!(a.url());
    let mut b_config = provider("b", &b);
    b_config["status_page"] = json!("http://127.0.0.1:9");
    client.initialize(json!({"routing": {"hedge_ms": "off"}, "cache": {"ttl_secs": 0}, "provider": [a_config, b_config]}));
    a.wait_until(
        Duration::from_secs(10),
        || a.requests().iter().any(|r| r.path.contains("summary.json")),
        "a status page poll",
    );
    client.open(URI, "rust", "let x = ");
    assert_eq!(complete(&mut client)["data"]["provider"], "a");
    let s = status(&mut client);
    assert_eq!(state_of(&s, "a")["state"], "healthy");
    assert_eq!(state_of(&s, "b")["state"], "healthy");
}

#[test]
fn the_deadline_holds_when_every_provider_hangs() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::Hang);
    b.set_default(Reply::Hang);
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut a_config = provider("a", &a);
    a_config["timeout_ms"] = json!(600000);
    let mut b_config = provider("b", &b);
    b_config["timeout_ms"] = json!(600000);
    client.initialize(json!({
        "routing": {"hedge_ms": 50},
        "completion": {"deadline_ms": 300},
        "provider": [a_config, b_config]
    }));
    let (text, line, col) = support::lsp_client::cursor_at_marker("print_report(data)\nprint_re|");
    client.open(URI, "python", &text);
    // Provider timeouts are ten minutes: only the deadline can end this request.
    let item = client.completion(URI, line, col)["items"][0].clone();
    assert_eq!(item["data"]["provider"], "local");
    assert_eq!(item["textEdit"]["newText"], "print_report(data)");
    a.wait_for_abandoned(1, Duration::from_secs(10));
    b.wait_for_abandoned(1, Duration::from_secs(10));
}

#[test]
fn the_retry_and_hedge_budget_bounds_upstream_load_in_a_long_outage() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(500));
    b.set_default(Reply::status(500));
    // Breakers that never open and many retries: only the budget limits the load.
    let mut client = start(
        &a,
        &b,
        json!({"retries": 5, "breaker_failures": 100000, "hedge_ms": "off"}),
        json!({}),
    );
    let (text, line, col) = support::lsp_client::cursor_at_marker("print_report(data)\nprint_re|");
    client.open(URI, "python", &text);
    let completions = 100;
    for _ in 0..completions {
        let item = client.completion(URI, line, col)["items"][0].clone();
        assert_eq!(item["data"]["provider"], "local");
    }
    let upstream = a.completion_requests().len() + b.completion_requests().len();
    // One first attempt per provider per completion, plus at most 20 % extra and a
    // reserve of 10. Without the budget this would be 1200.
    let bound = 2 * completions + completions / 5 + 10;
    assert!(
        upstream <= bound,
        "{upstream} upstream requests for {completions} completions (bound {bound})"
    );
    assert!(upstream >= 2 * completions);
}

#[test]
fn eight_hanging_completions_do_not_freeze_the_server() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::Hang);
    for _ in 0..8 {
        b.push(Reply::Hang);
    }
    b.set_default(Reply::ok("from_b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "routing": {"hedge_ms": 100},
        "completion": {"deadline_ms": 600000},
        "provider": [provider("a", &a), provider("b", &b)]
    }));
    let mut hanging = Vec::new();
    for i in 0..8 {
        let uri = format!("file:///project/src/f{i}.rs");
        // Different contexts: eight separate upstream requests, not one coalesced.
        client.open(&uri, "rust", &format!("let x{i} = "));
        hanging.push(client.send_request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 9}}),
        ));
    }
    // All eight are waiting on both providers.
    a.wait_for_requests(8, Duration::from_secs(10));
    b.wait_for_requests(8, Duration::from_secs(10));

    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///project/src/f0.rs", "version": 2}, "contentChanges": [{"text": "let y = "}]}),
    );
    client.open(URI, "rust", "let x = ");
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    assert!(status(&mut client)["providers"].is_array());
    // None of the eight waited on the hung providers: once both were past their hedge
    // points, each was answered from what was left (DESIGN §4: nothing waits past
    // usefulness), while the upstream calls hang on in the background; the one whose
    // document was edited meanwhile is superseded (an empty answer). Shutdown is still
    // answered.
    for id in hanging {
        let response = client.wait_response(id);
        let provider = &response["result"]["items"][0]["data"]["provider"];
        assert!(
            provider == "local" || response["result"]["items"] == json!([]),
            "{response}"
        );
    }
    assert!(client.shutdown().success());
}

#[test]
fn disable_enable_and_retry_commands_move_the_state() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("from_a"));
    b.set_default(Reply::ok("from_b"));
    let mut client = start(&a, &b, json!({"hedge_ms": "off"}), json!({}));
    let after = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.disable", "arguments": ["a"]}),
    );
    assert_eq!(state_of(&after, "a")["state"], "disabled");
    assert_eq!(state_of(&after, "a")["detail"], "disabled for this session");
    assert_eq!(complete(&mut client)["data"]["provider"], "b");
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.enable", "arguments": ["a"]}),
    );
    assert_eq!(complete(&mut client)["data"]["provider"], "a");

    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "switchboard.retry", "arguments": ["nope"]}),
    );
    let error = client.wait_response(id)["error"].clone();
    assert_eq!(error["code"], -32602);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unknown provider \"nope\" (known: a, b)"),
        "{error}"
    );
}

#[test]
fn an_attempt_the_hedge_beat_raises_the_auto_hedge_delay() {
    // DESIGN.md §4 `hedge_ms = "auto"`, as issue 14 fixed it: an attempt dropped after
    // its hedge point counts toward the delay with what it waited. Without that, the
    // answers a hedge hides never reach the window and the delay stays at its floor.
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    // Ten fast answers: enough samples for `auto`, which then sits at its 150 ms floor.
    for _ in 0..10 {
        a.push(Reply::ok("fast_a"));
    }
    // Then `a` hangs once and the hedge to `b` answers 1 s later: `a` waited ~1.15 s.
    a.push(Reply::Hang);
    b.push(Reply::delayed("from_b", Duration::from_secs(1)));
    // Then `a` answers in 400 ms: past the old 150 ms point, well before the new one.
    a.push(Reply::delayed("slow_a", Duration::from_millis(400)));
    b.set_default(Reply::ok("hedged_b"));
    let mut client = start(
        &a,
        &b,
        json!({"hedge_ms": "auto", "retries": 0}),
        json!({"deadline_ms": 60000}),
    );
    // A line per request, so no answer is ever a stale one for the next.
    let text: String = (0..12).map(|i| format!("let v{i} = \n")).collect();
    client.open(URI, "rust", &text);
    let mut served = Vec::new();
    for line in 0..12 {
        let col = format!("let v{line} = ").len() as u32;
        let item = client.completion(URI, line, col)["items"][0].clone();
        served.push(item["data"]["provider"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(served[..10], vec!["a".to_string(); 10]);
    assert_eq!(served[10], "b", "the hang was hedged: {served:?}");
    assert_eq!(served[11], "a", "{served:?}");
    // The 400 ms answer was not hedged: `b` saw only the hang's hedge.
    assert_eq!(b.completion_requests().len(), 1);
}
