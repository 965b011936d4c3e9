//! DESIGN.md §6: API keys never leave through any surface — logs at any level,
//! diagnostics, `window/showMessage`, `switchboard/status`, command results and
//! errors, code actions, completion results, and the CLI's `config`, `status` and
//! `complete` output — also when a provider echoes the key back in its error body,
//! as OpenAI does ("Incorrect API key provided: sk-…").

mod support;

use std::process::Output;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/main.rs";

/// One recognisable key per kind, each under its kind's default variable.
const KEYS: &[(&str, &str, &str)] = &[
    ("openai", "OPENAI_API_KEY", "sk-SECRET-CANARY-123"),
    ("anthropic", "ANTHROPIC_API_KEY", "sk-ant-SECRET-CANARY-456"),
    ("gemini", "GEMINI_API_KEY", "AIzaSECRET-CANARY-789"),
    ("codestral", "CODESTRAL_API_KEY", "cs-SECRET-CANARY-abc"),
    ("openai-fim", "OPENAI_FIM_API_KEY", "fim-SECRET-CANARY-def"),
];

/// A part of every key: a leak of any fragment that includes it is caught too.
const CANARY: &str = "SECRET-CANARY";

fn env() -> TestEnv {
    let mut env = TestEnv::new().with("SWITCHBOARD_LOG", "trace");
    for (_, var, key) in KEYS {
        env.set(var, key);
    }
    env
}

fn key_of(kind: &str) -> &'static str {
    KEYS.iter()
        .find(|(k, _, _)| *k == kind)
        .map(|k| k.2)
        .unwrap()
}

/// The places in `text` where a key shows, with some context, for the failure message.
fn leaks(text: &str) -> Vec<String> {
    text.match_indices(CANARY)
        .map(|(at, _)| {
            let mut start = at.saturating_sub(120);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (at + 60).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text[start..end].to_string()
        })
        .collect()
}

fn assert_no_key(surface: &str, text: &str) {
    assert_no_key_in(&[(surface.to_string(), text.to_string())]);
}

/// Fails naming every surface that shows a key, with an example of each.
fn assert_no_key_in(surfaces: &[(String, String)]) {
    let report: Vec<String> = surfaces
        .iter()
        .filter_map(|(surface, text)| {
            let found = leaks(text);
            (!found.is_empty()).then(|| {
                format!(
                    "{surface}: an API key leaked {} time(s), e.g.:\n{}",
                    found.len(),
                    found[0]
                )
            })
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}

/// The error body a provider sends when it echoes the key it was given.
fn echo_body(kind: &str) -> String {
    let key = key_of(kind);
    match kind {
        "anthropic" => json!({"type": "error", "error": {"type": "authentication_error",
            "message": format!("invalid x-api-key: {key}")}})
        .to_string(),
        "gemini" => json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": format!("API key not valid: {key}"),
            "details": [{"reason": "API_KEY_INVALID"}]}})
        .to_string(),
        _ => format!(
            "{{\"error\":{{\"message\":\"Incorrect API key provided: {key}\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}}}"
        ),
    }
}

fn echo(kind: &str, status: u16) -> Reply {
    Reply::Error {
        status,
        code: None,
        message: None,
        headers: Default::default(),
        body: Some(echo_body(kind)),
    }
}

fn base_url(kind: &str, fake: &FakeProvider) -> String {
    match kind {
        "openai" | "openai-fim" => format!("{}/v1", fake.url()),
        _ => fake.url().to_string(),
    }
}

/// One fake per kind, every provider pointed at its own, no status pages.
struct Chain {
    fakes: Vec<(&'static str, FakeProvider)>,
}

impl Chain {
    fn start() -> Chain {
        Chain {
            fakes: KEYS
                .iter()
                .map(|(kind, _, _)| (*kind, FakeProvider::start()))
                .collect(),
        }
    }

    fn fake(&self, kind: &str) -> &FakeProvider {
        &self.fakes.iter().find(|(k, _)| *k == kind).unwrap().1
    }

    fn providers(&self) -> Value {
        Value::Array(
            self.fakes
                .iter()
                .map(|(kind, fake)| {
                    json!({"name": format!("p-{kind}"), "kind": kind, "model": "m",
                           "base_url": base_url(kind, fake), "status_page": "", "timeout_ms": 1000})
                })
                .collect(),
        )
    }

    fn toml(&self) -> String {
        let mut out = String::from("[routing]\nstatus_poll_secs = 0\nretries = 0\n");
        for (kind, fake) in &self.fakes {
            out.push_str(&format!(
                "\n[[provider]]\nname = \"p-{kind}\"\nkind = \"{kind}\"\nmodel = \"m\"\nbase_url = \"{}\"\nstatus_page = \"\"\n",
                base_url(kind, fake)
            ));
        }
        out
    }
}

/// Everything the client saw and got: notifications, server requests, the
/// responses to `responses`, and stderr.
struct Transcript {
    /// (surface, everything it showed), one per LSP surface.
    lsp: Vec<(String, String)>,
    stderr: String,
}

fn surface_of(message: &Value) -> String {
    match message["method"].as_str() {
        Some(method) => method.to_string(),
        None => "responses (completions, commands, code actions)".to_string(),
    }
}

/// Drives one server through completions against `chain` (whose replies are already
/// set), every command, code actions and status, and returns what it said.
fn drive(chain: &Chain, completions: usize) -> Transcript {
    let env = env();
    let mut client = LspClient::spawn(&env);
    let mut said: Vec<Value> = Vec::new();
    said.push(client.initialize(json!({
        "provider": chain.providers(),
        "routing": {"retries": 0, "breaker_failures": 1, "status_poll_secs": 0, "hedge_ms": "off"},
        "cache": {"path": "off", "ttl_secs": 0},
    })));
    for i in 0..completions {
        let text = format!("fn main() {{\n    let value_{i} = compute(");
        client.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": format!("{URI}{i}"), "languageId": "rust", "version": 1, "text": text}}),
        );
        said.push(client.completion(&format!("{URI}{i}"), 1, 30));
        said.push(client.inline_completion(&format!("{URI}{i}"), 1, 30));
    }
    // Diagnostics for every provider that failed.
    let last = format!("{URI}{}", completions - 1);
    let diagnostics = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == last.as_str()
            && p["diagnostics"]
                .as_array()
                .is_some_and(|d| d.len() >= KEYS.len())
    });
    said.push(client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": last},
            "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 30}},
            "context": {"diagnostics": diagnostics["diagnostics"]},
        }),
    ));
    let name = format!("p-{}", KEYS[0].0);
    for (command, args) in [
        ("switchboard.status", json!([])),
        ("switchboard.retry", json!([name])),
        ("switchboard.disable", json!([name])),
        ("switchboard.enable", json!([name])),
        ("switchboard.clearCache", json!([])),
        ("switchboard.openStatusPage", json!([name])),
        ("switchboard.retry", json!(["no-such-provider"])),
        ("switchboard.noSuchCommand", json!([])),
    ] {
        let id = client.send_request(
            "workspace/executeCommand",
            json!({"command": command, "arguments": args}),
        );
        said.push(client.wait_response(id));
    }
    // One more completion after the commands, and its status traffic.
    said.push(client.completion(&last, 1, 30));
    said.push(client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    ));
    let mut surfaces: std::collections::BTreeMap<String, String> = Default::default();
    for message in client.seen.iter().chain(&said) {
        let text = surfaces.entry(surface_of(message)).or_default();
        text.push_str(&message.to_string());
        text.push('\n');
    }
    let stderr = client.stderr();
    client.shutdown();
    Transcript {
        lsp: surfaces.into_iter().collect(),
        stderr,
    }
}

/// The fakes answer like real, key-free providers: overload, rate limit, a plain 401.
fn failing_without_echo() -> Chain {
    let chain = Chain::start();
    chain.fake("openai").set_default(Reply::status(401));
    chain.fake("anthropic").set_default(Reply::status(529));
    chain.fake("gemini").set_default(Reply::status_with(
        429,
        "RESOURCE_EXHAUSTED",
        &[("retry-after", "30")],
    ));
    chain.fake("codestral").set_default(Reply::MidStreamError {
        text: "half".into(),
    });
    chain.fake("openai-fim").set_default(Reply::status(500));
    chain
}

/// Every fake echoes the key it was sent in its error body: 401s that disable, and
/// retryable 500 / 529 / 429 whose message is kept for the user.
fn failing_with_echo() -> Chain {
    let chain = Chain::start();
    chain.fake("openai").set_default(echo("openai", 401));
    chain.fake("anthropic").set_default(echo("anthropic", 529));
    chain.fake("gemini").set_default(echo("gemini", 429));
    chain.fake("codestral").set_default(echo("codestral", 401));
    chain
        .fake("openai-fim")
        .set_default(echo("openai-fim", 500));
    chain
}

#[test]
fn keys_are_sent_to_their_providers_and_nowhere_else() {
    let chain = failing_without_echo();
    let transcript = drive(&chain, 2);
    // The canary is real: each provider got its own key in its own header.
    for (kind, fake) in &chain.fakes {
        let request = fake.wait_for_requests(1, support::lsp_client::TIMEOUT)[0].clone();
        let sent: Vec<&str> = request.headers.values().map(String::as_str).collect();
        assert!(
            sent.iter().any(|v| v.contains(key_of(kind))),
            "{kind}: key not sent: {:?}",
            request.headers
        );
    }
    assert_no_key_in(&transcript.lsp);
    assert_no_key("stderr at trace", &transcript.stderr);
}

#[test]
fn a_key_echoed_in_an_error_body_stays_out_of_diagnostics_and_messages() {
    let chain = failing_with_echo();
    let transcript = drive(&chain, 2);
    let shown: Vec<(String, String)> = transcript
        .lsp
        .into_iter()
        .filter(|(surface, _)| {
            surface.starts_with("textDocument/") || surface.starts_with("window/")
        })
        .collect();
    assert!(
        shown
            .iter()
            .any(|(s, _)| s == "textDocument/publishDiagnostics"),
        "no diagnostics were published"
    );
    assert_no_key_in(&shown);
}

#[test]
fn a_key_echoed_in_an_error_body_never_reaches_the_editor() {
    let chain = failing_with_echo();
    let transcript = drive(&chain, 2);
    assert_no_key_in(&transcript.lsp);
}

#[test]
fn a_key_echoed_in_an_error_body_never_reaches_the_log() {
    let chain = failing_with_echo();
    let transcript = drive(&chain, 2);
    assert_no_key("stderr at trace", &transcript.stderr);
}

// ---------------------------------------------------------------------------
// The command line

fn run(env: &TestEnv, args: &[&str]) -> Output {
    env.command()
        .args(args)
        .current_dir(env.path())
        .output()
        .expect("run switchboard-ls")
}

fn output_text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn cli_outputs(chain: &Chain) -> Vec<(String, String)> {
    let env = env();
    env.write_user_config(&chain.toml());
    let file = env.path().join("main.rs");
    std::fs::write(&file, "fn main() {\n    let total = compute(\n").unwrap();
    let location = format!("{}:2:25", file.display());
    let commands: Vec<Vec<&str>> = vec![
        vec!["config"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["complete", &location],
        vec!["complete", "--json", &location],
    ];
    commands
        .iter()
        .map(|args| (args.join(" "), output_text(&run(&env, args))))
        .collect()
}

#[test]
fn the_cli_never_prints_a_key() {
    let chain = failing_without_echo();
    let outputs: Vec<(String, String)> = cli_outputs(&chain)
        .into_iter()
        .map(|(command, output)| (format!("switchboard-ls {command}"), output))
        .collect();
    assert_no_key_in(&outputs);
}

#[test]
fn the_cli_never_prints_a_key_a_provider_echoes() {
    let chain = failing_with_echo();
    let outputs: Vec<(String, String)> = cli_outputs(&chain)
        .into_iter()
        .map(|(command, output)| (format!("switchboard-ls {command}"), output))
        .collect();
    assert_no_key_in(&outputs);
}

/// A provider that redirects elsewhere must not make the server send its key there:
/// reqwest strips `Authorization` across hosts, but not `x-api-key` or `x-goog-api-key`.
#[test]
fn a_redirect_to_another_origin_is_not_followed_with_the_key() {
    for (kind, status) in [("anthropic", 302), ("gemini", 307), ("openai", 308)] {
        let (provider, elsewhere) = (FakeProvider::start(), FakeProvider::start());
        provider.set_default(Reply::ok("a + 1"));
        elsewhere.set_default(Reply::ok("stolen"));
        let env = env();
        let mut client = LspClient::spawn(&env);
        client.initialize(json!({
            "cache": {"path": "off", "ttl_secs": 0},
            "routing": {"retries": 0, "hedge_ms": "off", "status_poll_secs": 0},
            "provider": [{"name": "p", "kind": kind, "model": "m",
                          "base_url": base_url(kind, &provider), "status_page": ""}],
        }));
        client.open(URI, "rust", "fn main() {\n    let x = \n    let y = \n}\n");
        let first = client.completion(URI, 1, 12);
        assert_eq!(
            first["items"][0]["data"]["provider"], "p",
            "{kind}: {first}"
        );
        // The same request elsewhere would be answered (and recorded) there.
        let path = provider.completion_requests()[0].path.clone();
        let target = format!("{}{path}", elsewhere.url());
        provider.set_default(Reply::status_with(
            status,
            "redirect",
            &[("location", target.as_str())],
        ));

        let second = client.completion(URI, 2, 12);
        assert_eq!(provider.completion_requests().len(), 2, "{kind}");
        assert!(
            elsewhere.requests().is_empty(),
            "{kind}: the redirect was followed: {:?}",
            elsewhere.requests()
        );
        assert_ne!(
            second["items"][0]["data"]["provider"], "p",
            "{kind}: {second}"
        );
        assert!(client.shutdown().success());
    }
}
