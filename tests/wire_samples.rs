//! Every recorded or documented wire sample (tests/fixtures/wire-samples, copied from
//! the project's shared samples with their provenance READMEs) goes through the real
//! parsers: bodies through each provider's body reader, streams through its stream
//! decoder, error exchanges through the one error classifier.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use switchboard_ls::providers::anthropic::{AnthropicStream, message_text};
use switchboard_ls::providers::gemini::{GeminiStream, candidate_text};
use switchboard_ls::providers::ollama::OllamaStream;
use switchboard_ls::providers::stream::{
    DoneStream, chat_body_text, choice_text, decode_lines, decode_sse, delta_content,
};
use switchboard_ls::providers::{ErrorClass, ProviderError, SseParser};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire-samples")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(samples().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_slice(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_sample_file_is_well_formed_for_its_framing() {
    let mut files = Vec::new();
    all_files(&samples(), &mut files);
    assert!(files.len() > 100, "samples missing: {}", files.len());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        match file.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Some("sse") => {
                let mut parser = SseParser::new();
                let events = parser.push(&bytes);
                assert!(!events.is_empty(), "{name}: no events");
            }
            Some("ndjson") => {
                for line in String::from_utf8_lossy(&bytes)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                {
                    serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn anthropic_bodies_and_streams() {
    assert!(
        !message_text(&json("anthropic/messages.response.json"))
            .unwrap()
            .is_empty()
    );
    for stream in [
        "anthropic/stream.recorded.sse",
        "anthropic/stream.sdk-fixture.sse",
    ] {
        let text = decode_sse(&read(stream), AnthropicStream).unwrap();
        assert!(!text.is_empty(), "{stream}");
    }
    let err = decode_sse(
        &read("anthropic/stream.overloaded-error.sse"),
        AnthropicStream,
    )
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert_eq!(err.to_string(), "overloaded_error: Overloaded");
}

#[test]
fn openai_bodies_and_streams() {
    for body in [
        "openai/chat.response.json",
        "openai/chat.response.recorded-2024.json",
    ] {
        assert!(!chat_body_text(&json(body)).unwrap().is_empty(), "{body}");
    }
    for stream in [
        "openai/chat.stream.recorded.sse",
        "openai/chat.stream.current-shape.sse",
    ] {
        let text = decode_sse(
            &read(stream),
            DoneStream {
                text_of: delta_content,
            },
        )
        .unwrap();
        assert!(!text.is_empty(), "{stream}");
    }
    assert!(choice_text(&json("openai/completions.response.json")).is_some());
    let text = decode_sse(
        &read("openai/completions.stream.sse"),
        DoneStream {
            text_of: choice_text,
        },
    )
    .unwrap();
    assert!(!text.is_empty());
    let err = decode_sse(
        &read("openai/errors/stream-error.sse"),
        DoneStream {
            text_of: delta_content,
        },
    )
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
}

#[test]
fn gemini_bodies_and_streams() {
    assert!(!candidate_text(&json("gemini/generateContent.response.json")).is_empty());
    for stream in [
        "gemini/streamGenerateContent.sse",
        "gemini/streamGenerateContent.max-tokens.sse",
        "gemini/streamGenerateContent.cookbook-2024.sse",
    ] {
        let text = decode_sse(&read(stream), GeminiStream::default()).unwrap();
        assert!(!text.is_empty(), "{stream}");
    }
    let err = decode_sse(
        &read("gemini/errors/stream-midway-error.sse"),
        GeminiStream::default(),
    )
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(err.to_string().contains("overloaded"), "{err}");
}

#[test]
fn codestral_and_fim_server_bodies_and_streams() {
    assert!(
        !chat_body_text(&json("codestral/fim.response.json"))
            .unwrap()
            .is_empty()
    );
    let text = decode_sse(
        &read("codestral/fim.stream.sse"),
        DoneStream {
            text_of: delta_content,
        },
    )
    .unwrap();
    assert!(text.contains("return fib(n - 1) + fib(n - 2)"));
    assert!(choice_text(&json("openai-fim/deepseek/fim.response.doc-schema.json")).is_some());
    assert!(choice_text(&json("openai-fim/vllm/completions.response.observed.json")).is_some());
    for stream in [
        "openai-fim/deepseek/fim.stream-keepalive.sse",
        "openai-fim/vllm/completions.stream.sse",
        "openai-fim/llamacpp/v1-completions.stream.sse",
    ] {
        let text = decode_sse(
            &read(stream),
            DoneStream {
                text_of: choice_text,
            },
        )
        .unwrap();
        assert!(!text.is_empty(), "{stream}");
    }
    for stream in [
        "openai-fim/llamacpp/errors/stream-error.data.sse",
        "openai-fim/llamacpp/errors/stream-error.legacy.sse",
    ] {
        let err = decode_sse(
            &read(stream),
            DoneStream {
                text_of: choice_text,
            },
        )
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Retryable, "{stream}");
    }
}

#[test]
fn ollama_bodies_and_streams() {
    let body = json("ollama/generate-suffix.response.json");
    assert!(body["response"].as_str().is_some());
    for stream in [
        "ollama/generate-suffix.stream.ndjson",
        "ollama/generate.stream.doc.ndjson",
    ] {
        let text = decode_lines(&read(stream), OllamaStream).unwrap();
        assert!(!text.is_empty(), "{stream}");
    }
    let err =
        decode_lines(&read("ollama/errors/mid-stream-error.ndjson"), OllamaStream).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stream_error: an error was encountered while running the model"
    );
}

#[test]
fn truncated_streams_are_errors() {
    let recorded = read("anthropic/stream.recorded.sse");
    // Cut mid-event: the half event does not parse.
    let cut = &recorded[..recorded.len() / 2];
    let err = decode_sse(cut, AnthropicStream).unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    // Cut between events: no message_stop.
    let text = String::from_utf8_lossy(&recorded);
    let before_stop = &text[..text.find("event: message_stop").unwrap()];
    let err = decode_sse(before_stop.as_bytes(), AnthropicStream).unwrap_err();
    assert_eq!(err.code.as_deref(), Some("truncated"));
    let ndjson = read("ollama/generate-suffix.stream.ndjson");
    let cut = &ndjson[..ndjson.len() / 2];
    assert!(decode_lines(cut, OllamaStream).is_err());
}

fn classify(path: &str) -> ProviderError {
    let exchange = json(path);
    let status = StatusCode::from_u16(exchange["status"].as_u64().unwrap() as u16).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in exchange["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.insert(name, value);
        }
    }
    let body = match &exchange["body"] {
        Value::String(text) => text.clone().into_bytes(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    };
    ProviderError::from_http(status, &headers, &body)
}

#[test]
fn every_error_exchange_is_classified_per_the_contract() {
    use ErrorClass::*;
    let expected: &[(&str, ErrorClass)] = &[
        ("anthropic/errors/400.exchange.json", Rejected),
        ("anthropic/errors/401.exchange.json", Auth),
        (
            "anthropic/errors/403-cloudflare-forbidden.exchange.json",
            Auth,
        ),
        ("anthropic/errors/403.exchange.json", Auth),
        ("anthropic/errors/404.exchange.json", ModelNotFound),
        ("anthropic/errors/413.exchange.json", Rejected),
        (
            "anthropic/errors/429-with-retry-after.exchange.json",
            RateLimited,
        ),
        ("anthropic/errors/429.recorded.exchange.json", RateLimited),
        ("anthropic/errors/500.exchange.json", Retryable),
        ("anthropic/errors/529.exchange.json", Retryable),
        ("codestral/errors/401-api-endpoint.exchange.json", Auth),
        (
            "codestral/errors/401-codestral-endpoint.exchange.json",
            Auth,
        ),
        ("codestral/errors/422-validation.exchange.json", Rejected),
        (
            "codestral/errors/429-capacity-exceeded.exchange.json",
            RateLimited,
        ),
        (
            "codestral/errors/429-rate-limited.exchange.json",
            RateLimited,
        ),
        ("gemini/errors/400-api-key-invalid.exchange.json", Auth),
        (
            "gemini/errors/400-invalid-argument-sdk-test.exchange.json",
            Rejected,
        ),
        ("gemini/errors/403-permission-denied.exchange.json", Auth),
        (
            "gemini/errors/404-stream-endpoint.exchange.json",
            ModelNotFound,
        ),
        (
            "gemini/errors/429-resource-exhausted.exchange.json",
            RateLimited,
        ),
        ("gemini/errors/500-internal.exchange.json", Retryable),
        ("gemini/errors/503-unavailable.exchange.json", Retryable),
        (
            "ollama/errors/400-does-not-support-generate.exchange.json",
            Rejected,
        ),
        (
            "ollama/errors/400-does-not-support-insert.exchange.json",
            Rejected,
        ),
        (
            "ollama/errors/404-model-not-found.exchange.json",
            ModelNotFound,
        ),
        (
            "ollama/errors/404-not-found-try-pulling.exchange.json",
            ModelNotFound,
        ),
        ("ollama/errors/503-server-busy.exchange.json", Retryable),
        (
            "openai-fim/llamacpp/errors/400-unsupported-suffix.exchange.json",
            Rejected,
        ),
        (
            "openai-fim/llamacpp/errors/503-loading-model.exchange.json",
            Retryable,
        ),
        (
            "openai-fim/vllm/errors/400-suffix-not-supported.exchange.json",
            Rejected,
        ),
        ("openai/errors/401-invalid_api_key.exchange.json", Auth),
        ("openai/errors/429-insufficient_quota.exchange.json", Auth),
        (
            "openai/errors/429-rate_limit_exceeded-requests.exchange.json",
            RateLimited,
        ),
        (
            "openai/errors/429-rate_limit_exceeded-tokens.exchange.json",
            RateLimited,
        ),
        (
            "openai/errors/429-request-too-large-for-tpm.exchange.json",
            RateLimited,
        ),
        ("openai/errors/500.exchange.json", Retryable),
        ("openai/errors/503.exchange.json", Retryable),
    ];
    let mut files = Vec::new();
    all_files(&samples(), &mut files);
    let exchanges = files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".exchange.json"))
        .count();
    assert_eq!(
        exchanges,
        expected.len(),
        "every exchange sample has an expectation"
    );
    for (path, class) in expected {
        let err = classify(path);
        assert_eq!(err.class, *class, "{path}: {err}");
        assert!(!err.message.is_empty(), "{path}");
    }
    // The provider's own words are kept.
    assert_eq!(
        classify("anthropic/errors/529.exchange.json").to_string(),
        "529 overloaded_error: Overloaded"
    );
    let gemini = classify("gemini/errors/429-resource-exhausted.exchange.json");
    assert_eq!(gemini.retry_after, Some(std::time::Duration::from_secs(7)));
    let anthropic = classify("anthropic/errors/429-with-retry-after.exchange.json");
    assert!(anthropic.retry_after.is_some(), "{anthropic:?}");
}

#[test]
fn status_pages_are_read_with_their_levels() {
    use switchboard_ls::health::PageLevel;
    use switchboard_ls::status_page::parse;
    let level = |file: &str, component: Option<&str>| {
        parse(&json(&format!("statuspage/{file}")), component).map(|r| r.level)
    };
    assert_eq!(
        level(
            "claude.summary-operational.observed.json",
            Some("Claude API")
        ),
        Some(PageLevel::None)
    );
    assert_eq!(
        level("claude.summary-incidents.observed.json", Some("Claude API")),
        Some(PageLevel::Minor)
    );
    assert_eq!(
        level("openai.summary-incident.observed.json", None),
        Some(PageLevel::Minor)
    );
    assert_eq!(
        level("openai.summary-operational.observed.json", None),
        Some(PageLevel::None)
    );
    assert_eq!(
        level("summary-incident.doc.json", None),
        Some(PageLevel::Major)
    );
    assert_eq!(
        level("claude.status.observed.json", None),
        Some(PageLevel::None)
    );
    assert_eq!(
        level("openai.widget-proxy.observed.json", None),
        Some(PageLevel::Major)
    );
    assert_eq!(level("claude.component-full.observed.json", None), None);
    let incident = parse(&json("statuspage/summary-incident.doc.json"), None).unwrap();
    assert_eq!(
        incident.description.as_deref(),
        Some("Unplanned Database Outage")
    );
}
