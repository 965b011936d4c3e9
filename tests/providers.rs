//! Every provider kind against the fake speaking its real wire format: a completion
//! through the real binary over LSP (path, headers, key and body checked on the fake),
//! streaming and not; and each fault mode classified by the provider itself over real
//! HTTP.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Recorded, Reply};
use support::lsp_client::{LspClient, TestEnv};
use switchboard_ls::config::{FimTemplate, ProviderConfig, ProviderKind, Secret};
use switchboard_ls::providers::{self, Attempt, ErrorClass, ProviderError, ProviderRequest};

const URI: &str = "file:///project/src/lib.rs";
const PREFIX: &str = "fn add(a: i32, b: i32) -> i32 {\n    ";
const SUFFIX: &str = "\n}\n";

struct Kind {
    kind: &'static str,
    /// Appended to the fake's URL to make `base_url`.
    base_suffix: &'static str,
    key_env: Option<&'static str>,
}

const KINDS: &[Kind] = &[
    Kind {
        kind: "anthropic",
        base_suffix: "",
        key_env: Some("ANTHROPIC_API_KEY"),
    },
    Kind {
        kind: "openai",
        base_suffix: "/v1",
        key_env: Some("OPENAI_API_KEY"),
    },
    Kind {
        kind: "gemini",
        base_suffix: "",
        key_env: Some("GEMINI_API_KEY"),
    },
    Kind {
        kind: "codestral",
        base_suffix: "",
        key_env: Some("CODESTRAL_API_KEY"),
    },
    Kind {
        kind: "openai-fim",
        base_suffix: "/v1",
        key_env: Some("OPENAI_FIM_API_KEY"),
    },
    Kind {
        kind: "ollama",
        base_suffix: "",
        key_env: None,
    },
];

fn expected_path(kind: &str, stream: bool) -> &'static str {
    match (kind, stream) {
        ("anthropic", _) => "/v1/messages",
        ("openai", _) => "/v1/chat/completions",
        ("gemini", true) => "/v1beta/models/test-model:streamGenerateContent?alt=sse",
        ("gemini", false) => "/v1beta/models/test-model:generateContent",
        ("codestral", _) => "/v1/fim/completions",
        ("openai-fim", _) => "/v1/completions",
        ("ollama", _) => "/api/generate",
        _ => unreachable!(),
    }
}

/// The request carried the key the way this kind's API wants it.
fn assert_key(kind: &str, sent: &Recorded, key: &str) {
    match kind {
        "anthropic" => {
            assert_eq!(sent.header("x-api-key"), Some(key));
            assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
        }
        "gemini" => assert_eq!(sent.header("x-goog-api-key"), Some(key)),
        "ollama" => assert_eq!(sent.header("authorization"), None),
        _ => assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {key}").as_str())
        ),
    }
}

/// The body carries the context and the token budget in this API's own fields.
fn assert_body(kind: &str, body: &Value, stream: bool) {
    let user_text = |text: &str| {
        assert!(text.contains(PREFIX) && text.contains("<CURSOR>"), "{text}");
    };
    match kind {
        "anthropic" => {
            assert_eq!(body["max_tokens"], 64);
            assert_eq!(body["model"], "test-model");
            assert_eq!(body["stream"], stream);
            user_text(body["messages"][0]["content"].as_str().unwrap());
            assert!(body["system"].as_str().unwrap().contains("<CURSOR>"));
        }
        "openai" => {
            assert_eq!(body["max_tokens"], 64);
            assert_eq!(body["stream"], stream);
            assert_eq!(body["messages"][0]["role"], "system");
            user_text(body["messages"][1]["content"].as_str().unwrap());
        }
        "gemini" => {
            assert_eq!(body["generationConfig"]["maxOutputTokens"], 64);
            user_text(body["contents"][0]["parts"][0]["text"].as_str().unwrap());
            assert!(body["systemInstruction"]["parts"][0]["text"].is_string());
        }
        "codestral" | "openai-fim" => {
            assert_eq!(body["max_tokens"], 64);
            assert_eq!(body["prompt"], PREFIX);
            assert_eq!(body["suffix"], SUFFIX);
            assert_eq!(body["stream"], stream);
        }
        "ollama" => {
            assert_eq!(body["options"]["num_predict"], 64);
            assert_eq!(body["prompt"], PREFIX);
            assert_eq!(body["suffix"], SUFFIX);
            assert_eq!(body["stream"], stream);
        }
        _ => unreachable!(),
    }
}

#[test]
fn every_kind_completes_over_lsp_streaming_and_not() {
    for kind in KINDS {
        for stream in [true, false] {
            let fake = FakeProvider::start();
            fake.set_default(Reply::ok("return a + b;"));
            let key = format!("key-for-{}", kind.kind);
            let mut env = TestEnv::new();
            if let Some(var) = kind.key_env {
                env.set(var, &key);
            }
            let mut client = LspClient::spawn(&env);
            client.initialize(json!({
                "completion": {"max_tokens": 64},
                "provider": [{
                    "name": "p", "kind": kind.kind, "model": "test-model", "stream": stream,
                    "base_url": format!("{}{}", fake.url(), kind.base_suffix),
                }]
            }));
            client.open(URI, "rust", &format!("{PREFIX}{SUFFIX}"));
            let result = client.inline_completion(URI, 1, 4);
            assert_eq!(
                result["items"][0]["insertText"],
                "return a + b;",
                "{} stream={stream}: {result}\n{}",
                kind.kind,
                client.stderr()
            );
            let sent = &fake.completion_requests()[0];
            assert_eq!(sent.path, expected_path(kind.kind, stream), "{}", kind.kind);
            assert_key(kind.kind, sent, &key);
            assert_body(kind.kind, &sent.body, stream);
        }
    }
}

#[test]
fn fim_templates_send_one_raw_prompt_and_their_tokens_as_stops() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({"provider": [
        {"name": "vllm", "kind": "openai-fim", "model": "qwen", "fim_template": "qwen", "base_url": format!("{}/v1", fake.url())}
    ]}));
    client.open(URI, "rust", &format!("{PREFIX}{SUFFIX}"));
    client.inline_completion(URI, 1, 4);
    let body = &fake.completion_requests()[0].body;
    assert_eq!(
        body["prompt"],
        format!("<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>")
    );
    assert!(body.get("suffix").is_none(), "vLLM rejects suffix: {body}");
    assert!(
        body["stop"]
            .as_array()
            .unwrap()
            .contains(&json!("<|fim_prefix|>"))
    );
}

// ---------------------------------------------------------------------------
// Fault modes, classified by each provider over real HTTP.

fn request(single_line: bool) -> ProviderRequest {
    ProviderRequest {
        prefix: PREFIX.into(),
        suffix: SUFFIX.into(),
        language: "rust".into(),
        path: Some("/project/src/lib.rs".into()),
        max_tokens: 64,
        single_line,
        document: format!("{PREFIX}{SUFFIX}").into(),
        cursor: PREFIX.len(),
        neighbours: Default::default(),
    }
}

fn config(kind: &Kind, fake: &FakeProvider, stream: bool) -> ProviderConfig {
    let parsed: ProviderKind = kind.kind.parse().unwrap();
    let mut config = ProviderConfig::with_defaults("p", parsed, "test-model");
    config.base_url = format!("{}{}", fake.url(), kind.base_suffix);
    config.api_key = Some(Secret::new("test-key"));
    config.stream = stream;
    config
}

async fn ask(config: ProviderConfig, timeout: Duration) -> Result<String, ProviderError> {
    let provider = providers::build(config, providers::shared_client());
    let attempt = Attempt::new(timeout, timeout);
    provider.complete(&request(false), &attempt).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_mode_gives_its_error_class_for_every_kind() {
    for kind in KINDS {
        for stream in [true, false] {
            let fake = FakeProvider::start();
            let label = format!("{} stream={stream}", kind.kind);
            let cases: Vec<(Reply, ErrorClass)> = vec![
                (Reply::status(529), ErrorClass::Retryable),
                (Reply::status(500), ErrorClass::Retryable),
                (Reply::status(503), ErrorClass::Retryable),
                (Reply::status(401), ErrorClass::Auth),
                (Reply::status(403), ErrorClass::Auth),
                (Reply::status(404), ErrorClass::ModelNotFound),
                (Reply::status(400), ErrorClass::Rejected),
                (Reply::status(422), ErrorClass::Rejected),
                (
                    Reply::status_with(429, "rate_limit_exceeded", &[("retry-after", "30")]),
                    ErrorClass::RateLimited,
                ),
                (Reply::Malformed, ErrorClass::Retryable),
                (Reply::Drop, ErrorClass::Retryable),
                (
                    Reply::MidStreamError {
                        text: "partial".into(),
                    },
                    ErrorClass::Retryable,
                ),
            ];
            for (reply, class) in cases {
                fake.push(reply.clone());
                let err = ask(config(kind, &fake, stream), Duration::from_secs(5))
                    .await
                    .expect_err(&format!("{label}: {reply:?} should fail"));
                assert_eq!(err.class, class, "{label}: {reply:?} gave {err}");
                if let Reply::Error { status: 429, .. } = reply {
                    assert_eq!(err.retry_after, Some(Duration::from_secs(30)), "{label}");
                }
            }
            // A hang is a time-to-first-byte timeout, and the connection is let go.
            fake.push(Reply::Hang);
            let err = ask(config(kind, &fake, stream), Duration::from_millis(300))
                .await
                .unwrap_err();
            assert_eq!(err.class, ErrorClass::Retryable, "{label}");
            assert_eq!(err.code.as_deref(), Some("timeout"), "{label}: {err}");
            fake.wait_for_abandoned(1, Duration::from_secs(10));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_quirks() {
    // Anthropic 529 keeps its own words.
    let fake = FakeProvider::start();
    fake.push(Reply::status(529));
    let err = ask(config(&KINDS[0], &fake, true), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "529 overloaded_error: Overloaded");

    // OpenAI: insufficient_quota is not retryable, rate_limit_exceeded is.
    let fake = FakeProvider::start();
    fake.push(Reply::status_with(429, "insufficient_quota", &[]));
    fake.push(Reply::status_with(429, "rate_limit_exceeded", &[]));
    let quota = ask(config(&KINDS[1], &fake, true), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(quota.class, ErrorClass::Auth);
    let limit = ask(config(&KINDS[1], &fake, true), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(limit.class, ErrorClass::RateLimited);

    // Ollama: a model without fill-in-the-middle support, with the fix in the message.
    let fake = FakeProvider::start();
    fake.push(Reply::Error {
        status: 400,
        code: None,
        message: Some("registry.ollama.ai/library/llama3:latest does not support insert".into()),
        headers: Default::default(),
        body: None,
    });
    let err = ask(config(&KINDS[5], &fake, true), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Rejected);
    assert!(
        err.to_string()
            .contains("does not support insert — set fim_template"),
        "{err}"
    );

    // Ollama raw mode with a template.
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let mut raw = config(&KINDS[5], &fake, false);
    raw.fim_template = Some(FimTemplate::StarCoder);
    assert_eq!(ask(raw, Duration::from_secs(5)).await.unwrap(), "a + b");
    let body = &fake.completion_requests()[0].body;
    assert_eq!(body["raw"], true);
    assert!(body["prompt"].as_str().unwrap().starts_with("<fim_prefix>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn single_line_answers_stop_reading_at_the_first_newline() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::Ok {
        text: "first line\nsecond line\nthird".into(),
        delay_ms: 0,
        chunk_delay_ms: 0,
    });
    let provider = providers::build(config(&KINDS[4], &fake, true), providers::shared_client());
    let attempt = Attempt::new(Duration::from_secs(5), Duration::from_secs(5));
    let text = provider.complete(&request(true), &attempt).await.unwrap();
    assert!(text.starts_with("first line\n"), "{text}");
    assert!(!text.contains("third"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_one_mebibyte_is_refused() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok(&"x".repeat(2 << 20)));
    let err = ask(config(&KINDS[4], &fake, false), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("too_large"), "{err}");
}
