//! Property tests (issue #9): the pure parts of the server against arbitrary input.
//!
//! - the document store under random incremental edits equals a naive string model,
//!   written here from the position rules of `src/document/position.rs` alone;
//! - the SSE parser, the NDJSON splitter and every stream decoder never panic on
//!   arbitrary bytes, and how the bytes are split into chunks changes nothing;
//! - `ProviderError::from_http` never panics and always has a message;
//! - config loading never panics and always ends the chain in `local`;
//! - the local engine never panics for any text and cursor;
//! - typing through a cached suggestion never panics.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use switchboard_ls::cache::{Entry, PREFIX_TAIL_BYTES, PrefixTail, typed_through};
use switchboard_ls::config::{ConfigSources, ProviderConfig, ProviderKind, load};
use switchboard_ls::document::{Document, Edit, Encoding, LineCol};
use switchboard_ls::providers::anthropic::AnthropicStream;
use switchboard_ls::providers::gemini::GeminiStream;
use switchboard_ls::providers::ollama::OllamaStream;
use switchboard_ls::providers::stream::{
    DoneStream, LineDecoder, SseDecoder, Step, choice_text, decode_lines, decode_sse, delta_content,
};
use switchboard_ls::providers::{
    Attempt, ErrorClass, LineSplitter, LocalEngine, Provider, ProviderError, ProviderRequest,
    SseEvent, SseParser, StreamedText,
};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ---------------------------------------------------------------------------
// Documents: a naive model built from the contract's rules

/// Byte ranges `(start, content_end)` of each line, as the contract counts lines:
/// a line ends at `\n`, `\r\n` or a lone `\r`; text ending in a break has an empty
/// last line.
fn model_lines(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                start = i + 1;
            }
            b'\r' => {
                lines.push((start, i));
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push((start, bytes.len()));
    lines
}

/// The byte offset of a position: a line past the end is the end of the text, a
/// column past the end of a line is the end of that line (before its break), and a
/// column inside a character (a surrogate pair, a UTF-8 sequence) rounds down.
fn model_offset(text: &str, pos: LineCol, encoding: Encoding) -> usize {
    let lines = model_lines(text);
    let Some(&(start, end)) = lines.get(pos.line as usize) else {
        return text.len();
    };
    let mut units = 0u64;
    for (at, c) in text[start..end].char_indices() {
        let width = match encoding {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        } as u64;
        if units + width > u64::from(pos.col) {
            return start + at;
        }
        units += width;
    }
    end
}

fn model_apply(text: &mut String, edit: &Edit, encoding: Encoding) {
    match edit.range {
        None => *text = edit.text.clone(),
        Some((start, end)) => {
            let start = model_offset(text, start, encoding);
            let end = model_offset(text, end, encoding).max(start);
            text.replace_range(start..end, &edit.text);
        }
    }
}

/// Text made of the pieces positions trip over: line breaks of every kind, 2-, 3-
/// and 4-byte characters (the last a UTF-16 surrogate pair).
fn tricky_text(max_pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => Just("a"),
        2 => Just("xyz"),
        2 => Just(" "),
        3 => Just("\n"),
        2 => Just("\r\n"),
        1 => Just("\r"),
        2 => Just("é"),
        2 => Just("日本"),
        2 => Just("😀"),
        1 => Just("\t"),
        1 => Just("\u{2028}"),
        1 => Just("\u{85}"),
    ];
    prop::collection::vec(piece, 0..max_pieces).prop_map(|pieces| pieces.concat())
}

fn line_col() -> impl Strategy<Value = LineCol> {
    let line = prop_oneof![8 => 0u32..12, 1 => Just(u32::MAX), 1 => any::<u32>()];
    let col = prop_oneof![8 => 0u32..24, 1 => Just(u32::MAX), 1 => any::<u32>()];
    (line, col).prop_map(|(line, col)| LineCol { line, col })
}

fn edit() -> impl Strategy<Value = Edit> {
    let range = prop_oneof![
        12 => (line_col(), line_col()).prop_map(Some),
        1 => Just(None),
    ];
    (range, tricky_text(6)).prop_map(|(range, text)| Edit { range, text })
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![Just(Encoding::Utf16), Just(Encoding::Utf8)]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn document_edits_match_a_naive_string_model(
        initial in tricky_text(40),
        batches in prop::collection::vec(prop::collection::vec(edit(), 1..4), 1..8),
        encoding in encoding(),
    ) {
        let mut doc = Document::new(&initial, 1, "rust");
        let mut model = initial.clone();
        for (i, batch) in batches.iter().enumerate() {
            doc.apply(batch, i as i32 + 2, encoding);
            for edit in batch {
                model_apply(&mut model, edit, encoding);
            }
            prop_assert_eq!(&*doc.text(), model.as_str(), "after batch {}: {:?}", i, batch);
        }
    }

    #[test]
    fn edits_on_a_multi_chunk_document_match_the_model(
        block in tricky_text(30),
        repeat in 40usize..120,
        batches in prop::collection::vec(prop::collection::vec(edit(), 1..3), 1..4),
        encoding in encoding(),
    ) {
        // Big enough for the rope to span several chunks, so `\r\n` pairs and
        // multi-byte characters land on chunk boundaries.
        let initial = block.repeat(repeat);
        let mut doc = Document::new(&initial, 1, "rust");
        let mut model = initial.clone();
        for (i, batch) in batches.iter().enumerate() {
            // Aim at lines that exist in the big document too.
            let batch: Vec<Edit> = batch
                .iter()
                .map(|e| Edit {
                    range: e.range.map(|(a, b)| {
                        (
                            LineCol { line: a.line.wrapping_mul(7) % 400, col: a.col },
                            LineCol { line: b.line.wrapping_mul(7) % 400, col: b.col },
                        )
                    }),
                    text: e.text.clone(),
                })
                .collect();
            doc.apply(&batch, i as i32 + 2, encoding);
            for edit in &batch {
                model_apply(&mut model, edit, encoding);
            }
            prop_assert_eq!(&*doc.text(), model.as_str());
        }
    }
}

#[test]
fn the_naive_model_follows_the_contract_examples() {
    let at = |line, col| LineCol { line, col };
    // Inside a surrogate pair rounds down; a UTF-8 offset inside a char rounds down.
    assert_eq!(model_offset("a😀b", at(0, 2), Encoding::Utf16), 1);
    assert_eq!(model_offset("a😀b", at(0, 3), Encoding::Utf16), 5);
    assert_eq!(model_offset("日本x", at(0, 4), Encoding::Utf8), 3);
    // Past the end of a line: before its break; past the last line: the end.
    assert_eq!(model_offset("ab\r\ncd", at(0, 99), Encoding::Utf16), 2);
    assert_eq!(model_offset("ab\r\ncd", at(7, 0), Encoding::Utf16), 6);
    assert_eq!(model_offset("ab\rcd", at(1, 1), Encoding::Utf8), 4);
    assert_eq!(model_offset("ab\n", at(1, 5), Encoding::Utf8), 3);
}

// ---------------------------------------------------------------------------
// Streams: never panic, and chunking changes nothing

/// Bytes that look like a provider stream often and like noise sometimes.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => Just(b"data: ".to_vec()),
        1 => Just(b"data:".to_vec()),
        1 => Just(b"event: error".to_vec()),
        1 => Just(b"event: message_stop".to_vec()),
        1 => Just(b"error: ".to_vec()),
        1 => Just(b": keep-alive".to_vec()),
        1 => Just(b"[DONE]".to_vec()),
        3 => Just(b"\n".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\n\n".to_vec()),
        2 => Just(br#"{"choices":[{"text":"ab","delta":{"content":"cd"}}]}"#.to_vec()),
        1 => Just(br#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#.to_vec()),
        1 => Just(br#"{"type":"message_stop"}"#.to_vec()),
        1 => Just(br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.to_vec()),
        1 => Just(br#"{"candidates":[{"content":{"parts":[{"text":"g"}]},"finishReason":"STOP"}]}"#.to_vec()),
        1 => Just(br#"[{"error":{"code":503,"message":"busy"}}]"#.to_vec()),
        1 => Just(br#"{"response":"o","done":false}"#.to_vec()),
        1 => Just(br#"{"response":"","done":true}"#.to_vec()),
        1 => Just(br#"{"error":"boom"}"#.to_vec()),
        1 => Just(br#"{"error":null,"choices":[]}"#.to_vec()),
        1 => Just("😀日".as_bytes().to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// `bytes` cut at `cuts` (each taken modulo the length).
fn chunks<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|c| {
            if bytes.is_empty() {
                0
            } else {
                c % (bytes.len() + 1)
            }
        })
        .collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn sse_events(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut events: Vec<SseEvent> = chunks.iter().flat_map(|c| parser.push(c)).collect();
    events.extend(parser.finish());
    events
}

fn ndjson_lines(chunks: &[&[u8]]) -> Vec<String> {
    let mut splitter = LineSplitter::new();
    let mut lines: Vec<String> = chunks.iter().flat_map(|c| splitter.push(c)).collect();
    lines.extend(splitter.finish());
    lines
}

/// `read_sse` without the network: the chunked equivalent of `decode_sse`.
fn decode_sse_chunked(
    chunks: &[&[u8]],
    mut decoder: impl SseDecoder,
) -> Result<String, ProviderError> {
    let mut parser = SseParser::new();
    let mut text = StreamedText::new(false);
    let step = |step: Step, text: &mut StreamedText| match step {
        Step::Text(piece) => text.push(&piece),
        Step::Last(piece) => {
            text.push(&piece);
            true
        }
        Step::Done => true,
        Step::Skip => false,
    };
    for chunk in chunks {
        for event in parser.push(chunk) {
            if step(decoder.event(&event)?, &mut text) {
                return Ok(text.into_text());
            }
        }
    }
    if let Some(event) = parser.finish()
        && step(decoder.event(&event)?, &mut text)
    {
        return Ok(text.into_text());
    }
    decoder.eof()?;
    Ok(text.into_text())
}

/// `read_lines` without the network.
fn decode_lines_chunked(
    chunks: &[&[u8]],
    mut decoder: impl LineDecoder,
) -> Result<String, ProviderError> {
    let mut splitter = LineSplitter::new();
    let mut text = StreamedText::new(false);
    let mut lines: Vec<String> = chunks.iter().flat_map(|c| splitter.push(c)).collect();
    lines.extend(splitter.finish());
    for line in lines {
        let done = match decoder.line(&line)? {
            Step::Text(piece) => text.push(&piece),
            Step::Last(piece) => {
                text.push(&piece);
                true
            }
            Step::Done => true,
            Step::Skip => false,
        };
        if done {
            return Ok(text.into_text());
        }
    }
    decoder.eof()?;
    Ok(text.into_text())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sse_parsing_does_not_depend_on_chunk_boundaries(
        bytes in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = sse_events(&[&bytes]);
        prop_assert_eq!(sse_events(&chunks(&bytes, &cuts)), whole.clone());
        // One byte at a time is the worst case for `\r` + `\n` across chunks.
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(sse_events(&bytewise), whole);
    }

    #[test]
    fn ndjson_splitting_does_not_depend_on_chunk_boundaries(
        bytes in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = ndjson_lines(&[&bytes]);
        prop_assert_eq!(ndjson_lines(&chunks(&bytes, &cuts)), whole.clone());
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(ndjson_lines(&bytewise), whole);
    }

    #[test]
    fn stream_decoders_never_panic_and_chunking_changes_nothing(
        bytes in stream_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let split = chunks(&bytes, &cuts);
        let fim = || DoneStream { text_of: choice_text };
        let chat = || DoneStream { text_of: delta_content };
        prop_assert_eq!(decode_sse_chunked(&split, fim()), decode_sse(&bytes, fim()));
        prop_assert_eq!(decode_sse_chunked(&split, chat()), decode_sse(&bytes, chat()));
        prop_assert_eq!(
            decode_sse_chunked(&split, AnthropicStream),
            decode_sse(&bytes, AnthropicStream)
        );
        prop_assert_eq!(
            decode_sse_chunked(&split, GeminiStream::default()),
            decode_sse(&bytes, GeminiStream::default())
        );
        prop_assert_eq!(
            decode_lines_chunked(&split, OllamaStream),
            decode_lines(&bytes, OllamaStream)
        );
    }

    #[test]
    fn stream_decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_sse(&bytes, DoneStream { text_of: choice_text });
        let _ = decode_sse(&bytes, DoneStream { text_of: delta_content });
        let _ = decode_sse(&bytes, AnthropicStream);
        let _ = decode_sse(&bytes, GeminiStream::default());
        let _ = decode_lines(&bytes, OllamaStream);
    }
}

// ---------------------------------------------------------------------------
// Error bodies

/// Error bodies; with `huge_hints`, retry hints too large for a `Duration` too.
fn error_body(huge_hints: bool) -> impl Strategy<Value = Vec<u8>> {
    let message = prop_oneof![
        Just("Overloaded".to_string()),
        Just("Please try again in 1.772s.".to_string()),
        Just("try again in 20ms".to_string()),
        Just(
            if huge_hints {
                "try again in 1e99s"
            } else {
                "try again in 1s"
            }
            .to_string()
        ),
        Just(String::new()),
        "\\PC{0,300}",
    ];
    let code = prop_oneof![
        Just("insufficient_quota"),
        Just("invalid_api_key"),
        Just("API_KEY_INVALID"),
        Just("overloaded_error"),
        Just(""),
    ];
    let huge = if huge_hints { 1 } else { 0 };
    let delay = prop_oneof![
        4 => "[0-9.hms]{0,8}",
        huge => Just("99999999999999999999s".to_string()),
    ];
    let json = (message.clone(), code, delay).prop_map(|(message, code, delay)| {
        let value = serde_json::json!([
            {"error": {"message": message, "type": code, "code": code}},
            {"type": "error", "error": {"type": code, "message": message}},
            {"error": {"code": 429, "message": message, "status": code, "details": [
                {"reason": code, "retryDelay": delay}]}},
            {"error": message},
            {"message": message, "detail": [{"loc": ["body", 1], "msg": message}]},
            {"detail": message},
        ]);
        value.to_string().into_bytes()
    });
    prop_oneof![
        4 => json.clone().prop_flat_map(|whole| {
            // One envelope of the six, or the whole array (Gemini's wrapping).
            let value: Value = serde_json::from_slice(&whole).unwrap_or(Value::Null);
            let items = value.as_array().cloned().unwrap_or_default();
            (0..=items.len()).prop_map(move |i| match items.get(i) {
                Some(item) => item.to_string().into_bytes(),
                None => whole.clone(),
            })
        }),
        2 => prop::collection::vec(any::<u8>(), 0..300),
        1 => message.prop_map(String::into_bytes),
        1 => Just(b"<html><body>502 Bad Gateway</body></html>".to_vec()),
    ]
}

fn retry_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![Just("retry-after"), Just("retry-after-ms"), Just("x-other")];
    let value = prop_oneof![
        Just("30".to_string()),
        Just("1500".to_string()),
        Just("-1".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_string()),
        Just("1e20".to_string()),
        Just("99999999999999999999".to_string()),
        "[0-9.e+-]{0,12}",
    ];
    prop::collection::vec((name, value).prop_map(|(n, v)| (n.to_string(), v)), 0..3)
}

fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(name, value);
        }
    }
    map
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn error_bodies_never_panic(status in 400u16..=599, body in error_body(false)) {
        let status = StatusCode::from_u16(status).expect("400..=599 is valid");
        let err = ProviderError::from_http(status, &HeaderMap::new(), &body);
        prop_assert!(!err.short().is_empty());
        prop_assert_eq!(err.status, Some(status.as_u16()));
    }

    #[test]
    fn error_bodies_always_have_a_message(status in 400u16..=599, body in error_body(false)) {
        let status = StatusCode::from_u16(status).expect("400..=599 is valid");
        let err = ProviderError::from_http(status, &HeaderMap::new(), &body);
        prop_assert!(
            !err.message.trim().is_empty(),
            "empty message for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
}

/// The smallest bodies that leave the user with nothing to read.
#[test]
fn an_empty_provider_message_falls_back_to_something_readable() {
    for body in [
        r#"{"error":{"message":"","type":"server_error"}}"#,
        r#"{"error":""}"#,
        r#"{"message":"   "}"#,
        r#"{"detail":[]}"#,
    ] {
        let err =
            ProviderError::from_http(StatusCode::BAD_GATEWAY, &HeaderMap::new(), body.as_bytes());
        assert!(!err.message.trim().is_empty(), "{body} gave {err:?}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn retry_hints_never_panic(
        status in 400u16..=599,
        body in error_body(true),
        headers in retry_headers(),
    ) {
        let status = StatusCode::from_u16(status).expect("400..=599 is valid");
        let err = ProviderError::from_http(status, &header_map(&headers), &body);
        prop_assert_eq!(err.status, Some(status.as_u16()));
    }
}

/// The smallest inputs that crash `from_http` (see the ignored property above).
#[test]
fn a_huge_retry_hint_does_not_panic() {
    let huge = [("retry-after", "1e20"), ("retry-after-ms", "1e30")];
    for (name, value) in huge {
        let headers = header_map(&[(name.to_string(), value.to_string())]);
        let err = ProviderError::from_http(StatusCode::TOO_MANY_REQUESTS, &headers, b"{}");
        assert_eq!(err.class, ErrorClass::RateLimited, "{name}: {value}");
    }
    let body = br#"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"99999999999999999999s"}]}}"#;
    ProviderError::from_http(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    let prose = br#"{"error":{"message":"Rate limit reached. Please try again in 99999999999999999999s.","type":"requests"}}"#;
    ProviderError::from_http(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), prose);
}

// ---------------------------------------------------------------------------
// Config

const TOP_KEYS: &[&str] = &["completion", "cache", "routing", "provider", "team"];
const SECTION_KEYS: &[&str] = &[
    "max_prefix_chars",
    "max_suffix_chars",
    "max_tokens",
    "deadline_ms",
    "exclude",
    "capacity",
    "ttl_secs",
    "path",
    "retries",
    "hedge_ms",
    "breaker_failures",
    "breaker_cooldown_ms",
    "status_poll_secs",
    "notify",
    "order",
    "disabled",
];
const PROVIDER_KEYS: &[&str] = &[
    "name",
    "kind",
    "model",
    "base_url",
    "api_key_env",
    "timeout_ms",
    "status_page",
    "status_component",
    "fim_template",
    "stream",
];

fn config_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(0u64), Just(1), Just(50), Just(2500), Just(u64::MAX)]
            .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("local"),
            Just("openai-fim"),
            Just("anthropic"),
            Just("openai"),
            Just("gemini"),
            Just("codestral"),
            Just("ollama"),
            Just("antropic"),
            Just("auto"),
            Just("off"),
            Just("transitions"),
            Just("qwen"),
            Just("http://127.0.0.1:1/v1"),
            Just("not a url"),
            Just("**/*.rs"),
            Just("[invalid glob"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(keys).prop_map(str::to_string),
        1 => "[a-z_]{0,8}",
    ]
}

fn config_value() -> impl Strategy<Value = Value> {
    config_leaf().prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(SECTION_KEYS), inner.clone(), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            prop::collection::btree_map(key(PROVIDER_KEYS), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn provider_entry() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(PROVIDER_KEYS), config_leaf(), 0..9).prop_map(|mut m| {
        // Mostly well-formed enough to get past the first checks.
        m.entry("model".to_string())
            .or_insert_with(|| Value::String("m".into()));
        Value::Object(m.into_iter().collect::<Map<_, _>>())
    })
}

fn editor_settings() -> impl Strategy<Value = Value> {
    let section = prop::collection::btree_map(key(SECTION_KEYS), config_value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    let providers = prop_oneof![
        3 => prop::collection::vec(provider_entry(), 0..4).prop_map(Value::Array),
        1 => config_value(),
    ];
    let top = prop::collection::btree_map(key(TOP_KEYS), section, 0..4);
    prop_oneof![
        8 => (top, prop::option::of(providers)).prop_map(|(top, providers)| {
            let mut map: BTreeMap<String, Value> = top;
            if let Some(p) = providers {
                map.insert("provider".into(), p);
            }
            Value::Object(map.into_iter().collect())
        }),
        1 => config_value(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_loading_never_panics_and_ends_in_local(editor in editor_settings()) {
        let loaded = load(&ConfigSources {
            editor: Some(editor.clone()),
            ..Default::default()
        });
        let chain: Vec<&ProviderConfig> = loaded.config.providers.iter().collect();
        prop_assert!(
            chain.iter().any(|p| p.kind == ProviderKind::Local),
            "no local provider in {:?} for {}",
            chain.iter().map(|p| &p.name).collect::<Vec<_>>(),
            editor
        );
        // Unless a local provider is listed explicitly or named in `routing.order`,
        // the one appended is last (see `a_local_provider_stays_last_whatever_the_order`).
        let order = editor.pointer("/routing/order").and_then(Value::as_array);
        let named_in_order = |name: &str| {
            order.is_some_and(|o| o.iter().any(|n| n.as_str() == Some(name)))
        };
        let listed = editor
            .pointer("/provider")
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|p| p.get("kind") == Some(&Value::from("local"))));
        if !listed && !chain.iter().any(|p| p.kind == ProviderKind::Local && named_in_order(&p.name)) {
            prop_assert!(
                chain.last().is_some_and(|p| p.kind == ProviderKind::Local),
                "chain {:?} for {}",
                chain.iter().map(|p| &p.name).collect::<Vec<_>>(),
                editor
            );
        }
        for problem in &loaded.problems {
            prop_assert!(!problem.message.is_empty());
        }
    }
}

/// Found by the `config_json` fuzzer: `routing.order`, or a local provider listed
/// before cloud ones, puts it ahead of them in the chain (and so in `config`,
/// `status` and the `switchboard/status` list), although the router always asks it
/// last. ARCHITECTURE.md: "The built-in `local` engine is always last".
#[test]
fn a_local_provider_stays_last_whatever_the_order() {
    for editor in [
        serde_json::json!({
            "provider": [{"name": "a", "kind": "openai-fim", "model": "m"}],
            "routing": {"order": ["local", "a"]},
        }),
        serde_json::json!({
            "provider": [
                {"name": "a", "kind": "openai-fim", "model": "m"},
                {"name": "offline", "kind": "local", "model": "local"},
            ],
            "routing": {"order": ["offline"]},
        }),
        serde_json::json!({
            "provider": [
                {"name": "offline", "kind": "local", "model": "local"},
                {"name": "a", "kind": "openai-fim", "model": "m"},
            ],
        }),
    ] {
        let loaded = load(&ConfigSources {
            editor: Some(editor.clone()),
            ..Default::default()
        });
        let names: Vec<&str> = loaded
            .config
            .providers
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            loaded.config.providers.last().map(|p| p.kind),
            Some(ProviderKind::Local),
            "{names:?} for {editor}"
        );
    }
}

// ---------------------------------------------------------------------------
// The local engine

/// Polls a future that is ready at once (the local engine never awaits).
fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the local engine awaited"),
    }
}

fn local_request(document: &str, cursor: usize, neighbours: Vec<Arc<str>>) -> ProviderRequest {
    let at = cursor.min(document.len());
    let at = (0..=at)
        .rev()
        .find(|i| document.is_char_boundary(*i))
        .unwrap_or(0);
    ProviderRequest {
        prefix: document[..at].to_string(),
        suffix: document[at..].to_string(),
        language: "rust".into(),
        path: None,
        max_tokens: 64,
        single_line: false,
        document: Arc::from(document),
        cursor,
        neighbours: neighbours.into(),
    }
}

fn code_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => Just("let x = foo(a, b);\n"),
        2 => Just("self.width = width;\n"),
        2 => Just("fo"),
        1 => Just("日本語"),
        1 => Just("😀"),
        1 => Just("\r\n"),
        1 => Just("\r"),
        1 => Just("    "),
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 0..30).prop_map(|p| p.concat()),
        1 => "\\PC{0,200}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_local_engine_never_panics(
        document in code_text(),
        cursor in prop_oneof![0usize..400, Just(usize::MAX)],
        neighbours in prop::collection::vec(code_text(), 0..3),
    ) {
        let engine = LocalEngine::new(ProviderConfig::local());
        let attempt = Attempt::new(Duration::from_secs(1), Duration::from_secs(1));
        let neighbours: Vec<Arc<str>> = neighbours.iter().map(|n| Arc::from(n.as_str())).collect();
        let request = local_request(&document, cursor, neighbours);
        let text = ready(engine.complete(&request, &attempt));
        let text = text.expect("the local engine never fails");
        prop_assert!(!text.contains('\n'), "one line at most: {:?}", text);
    }
}

// ---------------------------------------------------------------------------
// Typing through a cached suggestion

proptest! {
    #![proptest_config(config())]

    #[test]
    fn typing_through_never_panics_and_returns_a_suffix_of_the_text(
        prefix in tricky_text(20),
        text in tricky_text(10),
        tail in tricky_text(10),
        long_tail in any::<bool>(),
    ) {
        let prefix_tail = if long_tail { tail.repeat(PREFIX_TAIL_BYTES) } else { tail };
        let entry = Entry {
            text: text.clone(),
            provider: "p".into(),
            model: "m".into(),
            created: 0,
            suffix_hash: 0,
            prefix: PrefixTail::of(&prefix_tail),
            persist: false,
        };
        if let Some(rest) = typed_through(&prefix, &entry) {
            prop_assert!(text.ends_with(&rest) && rest.len() < text.len());
        }
        // Typing exactly the start of the text after the cached prefix is seen through.
        if !text.is_empty() && prefix_tail.len() < PREFIX_TAIL_BYTES {
            let first = text.chars().next().map_or(0, char::len_utf8);
            if first < text.len() {
                let typed = format!("{prefix_tail}{}", &text[..first]);
                prop_assert_eq!(typed_through(&typed, &entry), Some(text[first..].to_string()));
            }
        }
    }
}
