//! Soft failures through the binary (DESIGN.md §4): a provider that answers slowly, or
//! answers badly with HTTP 200, is `degraded` with the reason in words and moved behind
//! the healthy ones; a fast or good answer puts it back; a healthy provider's occasional
//! empty answer does not trip it.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/calc.py";

fn provider(name: &str, fake: &FakeProvider) -> Value {
    json!({"name": name, "kind": "openai-fim", "model": "m", "base_url": format!("{}/v1", fake.url()),
           "api_key_env": "FAKE_KEY", "status_page": ""})
}

fn options(a: &FakeProvider, b: &FakeProvider, routing: Value) -> Value {
    json!({
        // ttl 0: no answer is fresh, so every completion goes upstream.
        "cache": {"ttl_secs": 0, "path": "off"},
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

/// One completion at the end of `    return ` (code is wanted there); the provider that served it.
fn complete(client: &mut LspClient) -> String {
    let result = client.completion(URI, 1, 11);
    result["items"][0]["data"]["provider"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

fn status_of(client: &mut LspClient, name: &str) -> Value {
    let status = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    );
    status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap()
}

fn reconfigure(client: &mut LspClient, options: Value) {
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"switchboard": options}}),
    );
}

#[test]
fn a_slow_provider_is_degraded_moved_behind_and_back_when_fast() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::delayed("a + 1", Duration::from_millis(150)));
    b.set_default(Reply::ok("b + 1"));
    let slow = json!({"slow_ms": 60, "hedge_ms": "off", "retries": 0, "status_poll_secs": 0,
                      "breaker_cooldown_ms": 300000});
    let mut client = start(options(&a, &b, slow));
    for _ in 0..20 {
        assert_eq!(complete(&mut client), "claude", "still served, slowly");
    }
    let claude = status_of(&mut client, "claude");
    assert_eq!(claude["state"], "degraded");
    let detail = claude["detail"].as_str().unwrap();
    assert!(detail.starts_with("slow: median "), "{detail}");
    assert!(detail.ends_with(" over 20"), "{detail}");
    let diagnostic = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["diagnostics"].as_array().is_some_and(|d| {
            d.iter().any(|d| {
                d["code"] == "provider-degraded"
                    && d["message"].as_str().unwrap().contains("slow: median")
            })
        })
    });
    assert_eq!(diagnostic["uri"], URI);

    // Behind the healthy one: the next completions never reach it.
    let asked = a.completion_requests().len();
    for _ in 0..3 {
        assert_eq!(complete(&mut client), "gpt");
    }
    assert_eq!(a.completion_requests().len(), asked);

    // Fast again, and tried in front once per cooldown (1 ms here): it comes back.
    a.set_default(Reply::ok("a + 1"));
    let mut quick = options(
        &a,
        &b,
        json!({"slow_ms": 60, "hedge_ms": "off", "retries": 0,
                                         "status_poll_secs": 0, "breaker_cooldown_ms": 1}),
    );
    quick["cache"]["ttl_secs"] = json!(0);
    reconfigure(&mut client, quick);
    let mut back = false;
    for _ in 0..200 {
        complete(&mut client);
        if status_of(&mut client, "claude")["state"] == "healthy" {
            back = true;
            break;
        }
    }
    assert!(
        back,
        "claude never came back: {}",
        status_of(&mut client, "claude")
    );
    assert_eq!(complete(&mut client), "claude");
}

#[test]
fn low_quality_answers_are_not_shown_and_degrade_the_provider_until_a_good_one() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("I'm sorry, but I can't help with that."));
    b.set_default(Reply::ok("a * 2"));
    let routing = json!({"hedge_ms": "off", "retries": 0, "status_poll_secs": 0,
                         "breaker_cooldown_ms": 300000});
    let mut client = start(options(&a, &b, routing));
    // Never shown while another provider can answer.
    for _ in 0..4 {
        assert_eq!(complete(&mut client), "gpt");
    }
    assert_eq!(a.completion_requests().len(), 4);
    let claude = status_of(&mut client, "claude");
    assert_eq!(claude["state"], "degraded");
    assert_eq!(
        claude["detail"],
        "low-quality answers: 4 of last 4 chat talk instead of code"
    );
    // Behind gpt now.
    assert_eq!(complete(&mut client), "gpt");
    assert_eq!(a.completion_requests().len(), 4);

    // Good answers again: tried in front once per cooldown, and one good answer ends it.
    a.set_default(Reply::ok("a + 1"));
    reconfigure(
        &mut client,
        options(
            &a,
            &b,
            json!({"hedge_ms": "off", "retries": 0, "status_poll_secs": 0,
                              "breaker_cooldown_ms": 1}),
        ),
    );
    let mut back = false;
    for _ in 0..50 {
        if complete(&mut client) == "claude" {
            back = true;
            break;
        }
    }
    assert!(back, "claude never served again");
    assert_eq!(status_of(&mut client, "claude")["state"], "healthy");
}

#[test]
fn a_healthy_providers_occasional_empty_answer_does_not_trip_it() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    b.set_default(Reply::ok("b"));
    // A normal day: one answer in five is empty (nothing to suggest).
    for i in 0..30 {
        a.push(Reply::ok(if i % 5 == 4 { "" } else { "a + 1" }));
    }
    let routing = json!({"hedge_ms": "off", "retries": 0, "status_poll_secs": 0});
    let mut client = start(options(&a, &b, routing));
    let mut served_by_claude = 0;
    for _ in 0..30 {
        if complete(&mut client) == "claude" {
            served_by_claude += 1;
        }
    }
    assert_eq!(served_by_claude, 24);
    let claude = status_of(&mut client, "claude");
    assert_eq!(claude["state"], "healthy", "{claude}");
    assert_eq!(a.completion_requests().len(), 30);
}

#[test]
fn the_stale_answer_is_served_at_the_hedge_point_when_the_only_provider_hangs() {
    let fake = FakeProvider::start();
    fake.push(Reply::ok("a + 1"));
    let env = Box::leak(Box::new(TestEnv::new().with("FAKE_KEY", "k")));
    let mut client = LspClient::spawn(env);
    client.initialize(json!({
        "cache": {"ttl_secs": 0, "path": "off"},
        // A 20 s deadline: without the rule, the stale answer would come after 20 s.
        "completion": {"deadline_ms": 20000},
        "routing": {"hedge_ms": 100, "retries": 0, "status_poll_secs": 0},
        "provider": [{"name": "claude", "kind": "openai-fim", "model": "m",
                      "base_url": format!("{}/v1", fake.url()), "api_key_env": "FAKE_KEY",
                      "status_page": "", "timeout_ms": 20000}],
    }));
    client.open(URI, "python", "def f(a):\n    return \n");
    let first = client.completion(URI, 1, 11);
    assert_eq!(first["items"][0]["data"]["cached"], false);

    // The provider now takes 3 s to answer, then answers something new.
    fake.push(Reply::delayed("a + 2", Duration::from_millis(3000)));
    let second = client.completion(URI, 1, 11);
    let data = &second["items"][0]["data"];
    assert_eq!(data["stale"], true, "{second}");
    assert_eq!(data["provider"], "claude");
    assert_eq!(second["items"][0]["textEdit"]["newText"], "a + 1");
    // The data says it arrived well before the provider could have answered.
    assert!(data["latency_ms"].as_u64().unwrap() < 3000, "{data}");

    // The cloud call went on in the background and refreshes the cache when it answers:
    // with the provider failing from now on, the stale answer served becomes its text.
    fake.set_default(Reply::status(503));
    let waiting = std::time::Instant::now();
    let refreshed = loop {
        let next = client.completion(URI, 1, 11);
        if next["items"][0]["textEdit"]["newText"] == "a + 2" {
            break next;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(15),
            "the background answer never reached the cache: {next}"
        );
    };
    // (Served from the cache, or by joining the flight still upstream.)
    assert_eq!(refreshed["items"][0]["data"]["provider"], "claude");
    assert_eq!(fake.abandoned(), 0, "the background call was not dropped");
}

#[test]
fn the_verdict_reaches_switchboard_ls_status_in_words() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::ok("I'm sorry, but I can't help with that."));
    b.set_default(Reply::ok("a * 2"));
    let env = TestEnv::new().with("FAKE_KEY", "k");
    // The same providers in the user file, for `switchboard-ls status`.
    let mut toml = String::new();
    for (name, fake) in [("claude", &a), ("gpt", &b)] {
        toml.push_str(&format!(
            "[[provider]]\nname = \"{name}\"\nkind = \"openai-fim\"\nmodel = \"m\"\nbase_url = \"{}/v1\"\napi_key_env = \"FAKE_KEY\"\nstatus_page = \"\"\n\n",
            fake.url()
        ));
    }
    env.write_user_config(&toml);
    let mut client = LspClient::spawn(&env);
    client.initialize(options(
        &a,
        &b,
        json!({"hedge_ms": "off", "retries": 0, "status_poll_secs": 0, "breaker_cooldown_ms": 300000}),
    ));
    client.open(URI, "python", "def f(a):\n    return \n");
    for _ in 0..4 {
        assert_eq!(complete(&mut client), "gpt");
    }
    assert_eq!(status_of(&mut client, "claude")["state"], "degraded");
    assert!(
        client.shutdown().success(),
        "the server writes its stats on shutdown"
    );

    let output = env.command().args(["status", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let claude = report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "claude")
        .unwrap();
    assert_eq!(claude["recent"]["state"], "degraded");
    assert_eq!(
        claude["recent"]["reason"],
        "low-quality answers: 4 of last 4 chat talk instead of code"
    );
    assert_eq!(claude["recent"]["server_stopped"], true);
    let gpt = report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gpt")
        .unwrap();
    assert_eq!(
        gpt["recent"],
        Value::Null,
        "a healthy provider has no verdict"
    );

    let text = env.command().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            "claude       degraded — low-quality answers: 4 of last 4 chat talk instead of code"
        ),
        "{text}"
    );
}

#[test]
fn the_stale_answer_is_served_once_every_provider_is_past_its_hedge_point() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.push(Reply::ok("a + 1"));
    let env = Box::leak(Box::new(TestEnv::new().with("FAKE_KEY", "k")));
    let mut client = LspClient::spawn(env);
    let mut options = options(
        &a,
        &b,
        json!({"hedge_ms": 100, "retries": 0, "status_poll_secs": 0}),
    );
    options["completion"] = json!({"deadline_ms": 20000});
    for p in options["provider"].as_array_mut().unwrap() {
        p["timeout_ms"] = json!(20000);
    }
    client.initialize(options);
    client.open(URI, "python", "def f(a):\n    return \n");
    assert_eq!(complete(&mut client), "claude");

    // Both hang now: claude is hedged by gpt at 100 ms, gpt is past its own point at 200 ms,
    // and nothing else can answer — the stale answer is served then, not after 3 s.
    a.push(Reply::delayed("a + 2", Duration::from_millis(3000)));
    b.push(Reply::delayed("b + 2", Duration::from_millis(3000)));
    let second = client.completion(URI, 1, 11);
    let data = &second["items"][0]["data"];
    assert_eq!(data["stale"], true, "{second}");
    assert_eq!(second["items"][0]["textEdit"]["newText"], "a + 1");
    assert!(data["latency_ms"].as_u64().unwrap() < 3000, "{data}");
    assert_eq!(
        b.completion_requests().len(),
        1,
        "gpt was asked at claude's hedge point"
    );
}

#[test]
fn past_the_hedge_point_with_nothing_else_to_show_the_late_cloud_answer_is_served() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::delayed("total + 1", Duration::from_millis(600)));
    let env = Box::leak(Box::new(TestEnv::new().with("FAKE_KEY", "k")));
    let mut client = LspClient::spawn(env);
    client.initialize(json!({
        "cache": {"ttl_secs": 0, "path": "off"},
        "routing": {"hedge_ms": 100, "retries": 0, "status_poll_secs": 0},
        "provider": [{"name": "claude", "kind": "openai-fim", "model": "m",
                      "base_url": format!("{}/v1", fake.url()), "api_key_env": "FAKE_KEY",
                      "status_page": "", "timeout_ms": 5000}],
    }));
    // A new context (no stale answer) where the local engine has nothing to offer.
    let uri = "file:///project/src/new.py";
    client.open(uri, "python", "q = ");
    // (Checked: the same document with the local engine alone gets no suggestion.)
    let mut local = LspClient::spawn(Box::leak(Box::new(TestEnv::new())));
    local.initialize(json!({"cache": {"path": "off"}, "provider": []}));
    local.open(uri, "python", "q = ");
    let local_alone = local.completion(uri, 0, 4);
    assert!(local.shutdown().success());
    assert_eq!(
        local_alone["items"],
        json!([]),
        "the local engine must have nothing here: {local_alone}"
    );

    let result = client.completion(uri, 0, 4);
    assert_eq!(result["items"][0]["data"]["provider"], "claude", "{result}");
    assert_eq!(result["items"][0]["textEdit"]["newText"], "total + 1");
}
