//! Outage status in the editor (DESIGN.md §5) through the real binary: status
//! diagnostics, `window/showMessage`, `switchboard/status`, code actions and commands.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/main.rs";
const OTHER: &str = "file:///project/src/other.rs";
const KEY: &str = "sk-RECOGNISABLE-test-key-0042";

fn provider(name: &str, fake: &FakeProvider) -> Value {
    json!({"name": name, "kind": "openai-fim", "model": "m", "base_url": format!("{}/v1", fake.url()), "api_key_env": "FAKE_KEY"})
}

fn start(providers: Vec<Value>, routing: Value) -> LspClient {
    let env = Box::leak(Box::new(TestEnv::new().with("FAKE_KEY", KEY)));
    let mut client = LspClient::spawn(env);
    client.initialize(
        json!({"routing": routing, "cache": {"ttl_secs": 0, "path": "off"}, "provider": providers}),
    );
    client.open(URI, "rust", "fn main() {\n    let x = \n}\n");
    client
}

fn complete(client: &mut LspClient) -> Value {
    client.completion(URI, 1, 12)["items"][0].clone()
}

/// Waits for our diagnostics on `uri` to satisfy `check`.
fn diagnostics_where(
    client: &mut LspClient,
    uri: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let params = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == uri
            && check(
                p["diagnostics"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            )
    });
    params["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn with_code<'a>(diagnostics: &'a [Value], code: &str) -> Option<&'a Value> {
    diagnostics.iter().find(|d| d["code"] == code)
}

fn has(code: &'static str) -> impl Fn(&[Value]) -> bool {
    move |d| with_code(d, code).is_some()
}

fn no_key_anywhere(client: &mut LspClient) {
    for message in &client.seen {
        assert!(!message.to_string().contains(KEY), "key leaked: {message}");
    }
}

#[test]
fn a_529_storm_degrades_then_takes_the_provider_down_with_one_warning() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("fallback"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 3, "breaker_cooldown_ms": 20000, "hedge_ms": "off"}),
    );

    assert_eq!(complete(&mut client)["data"]["provider"], "gpt");
    let degraded = diagnostics_where(&mut client, URI, has("provider-degraded"));
    let d = with_code(&degraded, "provider-degraded").unwrap();
    assert_eq!(d["severity"], 3);
    assert_eq!(d["source"], "switchboard");
    assert_eq!(
        d["range"]["start"]["line"], 1,
        "at the line of the last completion request"
    );
    assert_eq!(
        d["message"],
        "claude (openai-fim) degraded: 1 of last 1 failed (529 server_error)"
    );

    complete(&mut client);
    complete(&mut client);
    let down = diagnostics_where(&mut client, URI, has("provider-down"));
    let d = with_code(&down, "provider-down").unwrap();
    assert_eq!(d["severity"], 2);
    let message = d["message"].as_str().unwrap();
    assert_eq!(
        message,
        "claude (openai-fim) down: 529 server_error ×3 — using gpt (openai-fim); retrying after a 20s cooldown"
    );
    assert!(with_code(&down, "provider-degraded").is_none());

    let status = client.wait_notification("switchboard/status", |p| {
        p["providers"][0]["state"] == "down"
    });
    assert_eq!(status["serving"], "gpt");
    let warning = client.wait_notification("window/showMessage", |p| p["type"] == 2);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("claude (openai-fim) is down"),
        "{warning}"
    );

    // More failures while down: no more messages.
    for _ in 0..3 {
        complete(&mut client);
    }
    let warnings = client
        .notifications("window/showMessage")
        .into_iter()
        .filter(|m| m["type"] == 2)
        .count();
    assert_eq!(warnings, 1);
    no_key_anywhere(&mut client);
}

#[test]
fn recovery_clears_the_diagnostics_and_says_so_once() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(503));
    b.set_default(Reply::ok("fallback"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "breaker_cooldown_ms": 60000, "hedge_ms": "off"}),
    );
    complete(&mut client);
    diagnostics_where(&mut client, URI, has("provider-down"));

    a.set_default(Reply::ok("healed"));
    // Retry now: closes the breaker and probes.
    let result = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.retry", "arguments": ["claude"]}),
    );
    assert!(result["providers"].is_array());
    diagnostics_where(&mut client, URI, |d| d.is_empty());
    let info = client.wait_notification("window/showMessage", |p| p["type"] == 3);
    assert_eq!(
        info["message"],
        "Switchboard: claude (openai-fim) recovered"
    );
    client.wait_notification("switchboard/status", |p| {
        p["providers"][0]["state"] == "healthy"
    });
    assert_eq!(complete(&mut client)["data"]["provider"], "claude");
}

#[test]
fn a_401_is_an_auth_error_naming_the_variable_to_fix() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("fallback"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    complete(&mut client);
    let diagnostics = diagnostics_where(&mut client, URI, has("auth-error"));
    let d = with_code(&diagnostics, "auth-error").unwrap();
    assert_eq!(d["severity"], 1);
    assert_eq!(
        d["message"],
        "claude (openai-fim): invalid API key (401) — check FAKE_KEY"
    );
    no_key_anywhere(&mut client);
}

#[test]
fn a_missing_key_is_an_auth_error_before_any_request() {
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(
        json!({"provider": [{"name": "claude", "kind": "anthropic", "model": "claude-haiku-4-5"}]}),
    );
    client.open(URI, "rust", "x");
    let diagnostics = diagnostics_where(&mut client, URI, has("auth-error"));
    assert_eq!(
        with_code(&diagnostics, "auth-error").unwrap()["message"],
        "claude (anthropic): no API key — set ANTHROPIC_API_KEY"
    );
    assert!(with_code(&diagnostics, "all-down").is_some());
}

#[test]
fn every_cloud_provider_down_is_all_down() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(500));
    b.set_default(Reply::status(500));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "hedge_ms": "off"}),
    );
    complete(&mut client);
    assert_eq!(
        (a.completion_requests().len(), b.completion_requests().len()),
        (1, 1)
    );
    let diagnostics = diagnostics_where(&mut client, URI, has("all-down"));
    let d = with_code(&diagnostics, "all-down").unwrap();
    assert_eq!(d["severity"], 1);
    assert_eq!(
        d["message"],
        "all providers unavailable — serving cached and local completions"
    );
    let warning = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .unwrap_or("")
            .contains("all providers unavailable")
    });
    assert_eq!(warning["type"], 2);
    // A code action retries them all.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": [d]}
        }),
    );
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["command"]["command"] == "switchboard.retry"
                && a["command"]["arguments"].is_null()),
        "{actions}"
    );
}

#[test]
fn a_major_status_page_incident_is_a_warning_with_the_incident_and_link() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("a"));
    b.set_default(Reply::ok("b"));
    a.set_status_page(json!({
        "status": {"indicator": "major", "description": "Partial System Outage"},
        "incidents": [{"name": "Elevated errors on Claude API", "status": "identified", "impact": "major"}]
    }));
    let mut a_config = provider("claude", &a);
    a_config["status_page"] = json!(a.url());
    let mut client = start(vec![a_config, provider("gpt", &b)], json!({}));
    let diagnostics = diagnostics_where(&mut client, URI, has("status-page"));
    let d = with_code(&diagnostics, "status-page").unwrap();
    assert_eq!(d["severity"], 2);
    assert_eq!(
        d["message"],
        "claude: status page reports \"Elevated errors on Claude API\" (major)"
    );
    assert_eq!(
        d["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .trim_end_matches('/'),
        a.url()
    );

    // Its code actions: disable, and open the status page.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": [d]}
        }),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Disable claude for this session", "Open claude status page"]
    );
    let open = &actions.as_array().unwrap()[1]["command"];
    client.request(
        "workspace/executeCommand",
        json!({"command": open["command"], "arguments": open["arguments"]}),
    );
    let shown = client
        .seen
        .iter()
        .find(|m| m["method"] == "window/showDocument")
        .cloned()
        .expect("showDocument sent");
    assert_eq!(shown["params"]["external"], true);
    assert_eq!(
        shown["params"]["uri"]
            .as_str()
            .unwrap()
            .trim_end_matches('/'),
        a.url()
    );
}

#[test]
fn the_diagnostic_follows_the_active_document() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    complete(&mut client);
    diagnostics_where(&mut client, URI, has("auth-error"));

    client.open(OTHER, "rust", "let y = 1;\nlet z = ");
    client.completion(OTHER, 1, 8);
    diagnostics_where(&mut client, URI, |d| d.is_empty());
    // At the line of this document's last completion request.
    diagnostics_where(&mut client, OTHER, |d| {
        with_code(d, "auth-error").is_some_and(|d| d["range"]["start"]["line"] == 1)
    });

    // Editing the first document makes it active again.
    client.notify("textDocument/didChange", json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "fn main() {}\n"}]}));
    diagnostics_where(&mut client, OTHER, |d| d.is_empty());
    diagnostics_where(&mut client, URI, has("auth-error"));
}

#[test]
fn code_actions_on_a_down_provider_retry_and_disable() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "breaker_cooldown_ms": 60000, "hedge_ms": "off"}),
    );
    complete(&mut client);
    let diagnostics = diagnostics_where(&mut client, URI, has("provider-down"));
    let d = with_code(&diagnostics, "provider-down").unwrap().clone();
    // Without diagnostics in the context, ours on that line are offered.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": []}
        }),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Retry claude now", "Disable claude for this session"]
    );
    for action in actions.as_array().unwrap() {
        assert_eq!(action["kind"], "quickfix");
    }
    let disable = &actions.as_array().unwrap()[1]["command"];
    client.request(
        "workspace/executeCommand",
        json!({"command": disable["command"], "arguments": disable["arguments"]}),
    );
    let diagnostics = diagnostics_where(&mut client, URI, has("provider-disabled"));
    assert_eq!(
        with_code(&diagnostics, "provider-disabled").unwrap()["message"],
        "claude (openai-fim) disabled for this session"
    );
}

#[test]
fn config_errors_are_diagnostics_naming_the_key() {
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({"routing": {"retries": "lots"}}));
    client.open(URI, "rust", "x");
    let diagnostics = diagnostics_where(&mut client, URI, has("config-error"));
    let message = with_code(&diagnostics, "config-error").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("routing.retries: expected a non-negative integer"),
        "{message}"
    );
}

#[test]
fn notify_off_silences_messages_but_not_diagnostics() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "hedge_ms": "off", "notify": "off"}),
    );
    complete(&mut client);
    diagnostics_where(&mut client, URI, has("provider-down"));
    client.wait_notification("switchboard/status", |p| {
        p["providers"][0]["state"] == "down"
    });
    assert!(client.notifications("window/showMessage").is_empty());
}

#[test]
fn a_flapping_provider_does_not_spam_messages() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "breaker_cooldown_ms": 60000, "hedge_ms": "off"}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for _ in 0..4 {
        a.set_default(Reply::status(529));
        complete(&mut client);
        client.wait_notification("switchboard/status", |p| {
            p["providers"][0]["state"] == "down"
        });
        a.set_default(Reply::ok("a"));
        client.request(
            "workspace/executeCommand",
            json!({"command": "switchboard.retry", "arguments": ["claude"]}),
        );
        client.wait_notification("switchboard/status", |p| {
            p["providers"][0]["state"] == "healthy"
        });
        assert!(Instant::now() < deadline);
    }
    let messages = client.notifications("window/showMessage");
    assert!(
        messages.len() <= 2,
        "one down and one recovery at most: {messages:?}"
    );
}

#[test]
fn closing_the_active_document_takes_the_diagnostics_off_it() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    complete(&mut client);
    diagnostics_where(&mut client, URI, has("auth-error"));
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": URI}}),
    );
    diagnostics_where(&mut client, URI, |d| d.is_empty());
}

#[test]
fn the_diagnostic_spans_its_line_from_the_first_non_blank_character() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    complete(&mut client);
    let diagnostics = diagnostics_where(&mut client, URI, has("auth-error"));
    let d = with_code(&diagnostics, "auth-error").unwrap();
    // Line 1 is `    let x = `: from `l` (column 4) to the end of the line.
    assert_eq!(
        d["range"],
        json!({"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 12}})
    );
    // A client that asks for actions on that range (Helix sends the diagnostic) gets them.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": []}}),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    assert!(titles.contains(&"Retry claude now"), "{titles:?}");
}

#[test]
fn an_empty_line_still_gets_a_one_character_diagnostic() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    client.open(OTHER, "rust", "fn f() {\n\n}\n");
    client.completion(OTHER, 1, 0);
    let diagnostics = diagnostics_where(&mut client, OTHER, has("auth-error"));
    let range = &with_code(&diagnostics, "auth-error").unwrap()["range"];
    assert_eq!(
        range,
        &json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}})
    );
}

#[test]
fn a_background_open_and_close_does_not_move_or_clear_the_diagnostics() {
    // VS Code opens and closes its own settings.json unseen (e.g. on "Toggle Minimap").
    const SETTINGS: &str = "file:///home/user/.config/Code/User/settings.json";
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(401));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    complete(&mut client);
    diagnostics_where(&mut client, URI, has("auth-error"));
    client.open(
        SETTINGS,
        "jsonc",
        "{\n  \"editor.minimap.enabled\": false\n}\n",
    );
    // A state change while the settings file is open is published on the user's
    // document, not on the file opened in the background.
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.disable", "arguments": ["gpt"]}),
    );
    let shown = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["diagnostics"]
            .as_array()
            .is_some_and(|d| with_code(d, "provider-disabled").is_some())
    });
    assert_eq!(shown["uri"], URI);
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": SETTINGS}}),
    );
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.enable", "arguments": ["gpt"]}),
    );
    let after_close = diagnostics_where(&mut client, URI, |d| {
        with_code(d, "provider-disabled").is_none() && with_code(d, "auth-error").is_some()
    });
    assert!(with_code(&after_close, "auth-error").is_some());
    let published = client.notifications("textDocument/publishDiagnostics");
    assert!(
        published.iter().all(|p| p["uri"] != SETTINGS),
        "{published:?}"
    );
}

#[test]
fn a_disabled_provider_offers_enable() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("a"));
    b.set_default(Reply::ok("b"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"hedge_ms": "off"}),
    );
    complete(&mut client);
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.disable", "arguments": ["claude"]}),
    );
    let diagnostics = diagnostics_where(&mut client, URI, has("provider-disabled"));
    let d = with_code(&diagnostics, "provider-disabled")
        .unwrap()
        .clone();
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": [d]}}),
    );
    let enable = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Enable claude")
        .unwrap_or_else(|| panic!("no Enable action in {actions}"));
    assert_eq!(enable["command"]["command"], "switchboard.enable");
    assert_eq!(enable["command"]["arguments"], json!(["claude"]));
}

#[test]
fn a_cooldown_is_said_once_then_what_happens_next_not_counted_down() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("fallback"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "breaker_cooldown_ms": 3000, "hedge_ms": "off"}),
    );
    complete(&mut client);
    let next = diagnostics_where(&mut client, URI, |d| {
        with_code(d, "provider-down").is_some_and(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .ends_with("will retry on the next completion")
        })
    });
    assert_eq!(
        with_code(&next, "provider-down").unwrap()["message"],
        "claude (openai-fim) down: 529 server_error ×1 — using gpt (openai-fim); will retry on the next completion"
    );
    // Over three seconds of cooldown the diagnostic was published twice: when the
    // provider went down, and when its cooldown ended — no per-second countdown.
    let messages: Vec<String> = client
        .notifications("textDocument/publishDiagnostics")
        .iter()
        .filter_map(|p| {
            let d = p["diagnostics"].as_array()?;
            Some(
                with_code(d, "provider-down")?["message"]
                    .as_str()?
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        vec![
            "claude (openai-fim) down: 529 server_error ×1 — using gpt (openai-fim); retrying after a 3s cooldown".to_string(),
            "claude (openai-fim) down: 529 server_error ×1 — using gpt (openai-fim); will retry on the next completion".to_string(),
        ]
    );
}

#[test]
fn serving_is_the_provider_that_answered_the_last_completion() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("fallback"));
    // claude stays `degraded` (not down): the chain still starts with it, but gpt serves.
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 5, "hedge_ms": "off"}),
    );
    assert_eq!(complete(&mut client)["data"]["provider"], "gpt");
    let status = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    );
    assert_eq!(status["providers"][0]["state"], "degraded");
    assert_eq!(status["serving"], "gpt");
}

#[test]
fn a_failed_retry_says_so() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("fallback"));
    let mut client = start(
        vec![provider("claude", &a), provider("gpt", &b)],
        json!({"retries": 0, "breaker_failures": 1, "breaker_cooldown_ms": 60000, "hedge_ms": "off"}),
    );
    complete(&mut client);
    diagnostics_where(&mut client, URI, has("provider-down"));
    let result = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.retry", "arguments": ["claude"]}),
    );
    assert_eq!(result["retried"][0]["provider"], "claude");
    assert_eq!(result["retried"][0]["ok"], false);
    assert!(
        result["retried"][0]["error"]
            .as_str()
            .unwrap()
            .contains("529"),
        "{result}"
    );
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Switchboard: retry claude"))
    });
    assert_eq!(message["type"], 2);
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("still failing (529"),
        "{message}"
    );
    // The provider is down again, and the status says so.
    assert_eq!(result["providers"][0]["state"], "down");
}

#[test]
fn status_is_said_in_words_to_a_client_without_a_status_ui() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("x"));
    let mut client = start(vec![provider("claude", &fake)], json!({}));
    complete(&mut client);
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    );
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Switchboard: serving"))
    });
    assert_eq!(message["type"], 3);
    let text = message["message"].as_str().unwrap();
    assert!(
        text.starts_with("Switchboard: serving claude · claude (openai-fim) healthy"),
        "{text}"
    );
    assert!(text.contains("cache: "), "{text}");
}

#[test]
fn a_client_with_a_status_ui_gets_no_status_message() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("x"));
    let env = TestEnv::new().with("FAKE_KEY", KEY);
    let mut client = LspClient::spawn(&env);
    client.initialize_with(json!({
        "processId": null, "rootUri": null,
        "capabilities": {"experimental": {"switchboardStatus": true}},
        "initializationOptions": {"cache": {"path": "off"}, "provider": [provider("claude", &fake)]}
    }));
    client.open(URI, "rust", "fn main() {\n    let x = \n}\n");
    let status = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    );
    assert_eq!(status["providers"][0]["name"], "claude");
    // The request was answered after any message it would have sent.
    assert!(client.notifications("window/showMessage").is_empty());
}
