//! Provider errors, classified once, here, per DESIGN.md §4.
//!
//! Every way an attempt can fail becomes a [`ProviderError`] with an [`ErrorClass`]
//! that the router acts on, the provider's own code and message kept for the user
//! ("529 overloaded_error: Overloaded"), and any retry hint found in the headers or
//! the body.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// What the router should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Worth another attempt: connect/reset/TLS/timeout, time-to-first-byte exceeded,
    /// 408, 409, 5xx, 529, an error inside a stream, a malformed body.
    Retryable,
    /// 429: skip this provider until its retry hint has passed.
    RateLimited,
    /// 401, 402, 403, `insufficient_quota`, an invalid key: the provider is unusable
    /// until the user fixes the key or account.
    Auth,
    /// 404: the model (or endpoint) does not exist here.
    ModelNotFound,
    /// 400, 413, 422: this request was refused; the provider itself is fine.
    Rejected,
}

impl ErrorClass {
    pub fn is_retryable(self) -> bool {
        self == ErrorClass::Retryable
    }

    /// Errors that take the provider out of the chain until the user acts.
    pub fn disables(self) -> bool {
        matches!(self, ErrorClass::Auth | ErrorClass::ModelNotFound)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub class: ErrorClass,
    /// The HTTP status, when the failure came with one.
    pub status: Option<u16>,
    /// The provider's own error code or type (`overloaded_error`, `insufficient_quota`).
    pub code: Option<String>,
    /// The provider's own message, or a description of the transport failure.
    pub message: String,
    /// From `retry-after-ms`, `retry-after`, or a `RetryInfo` in the body.
    pub retry_after: Option<Duration>,
}

impl std::error::Error for ProviderError {}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.status, &self.code) {
            (Some(status), Some(code)) => write!(f, "{status} {code}: {}", self.message),
            (Some(status), None) => write!(f, "{status}: {}", self.message),
            (None, Some(code)) => write!(f, "{code}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// The most a response body may be, read from the wire.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What to check for the two network failures a user can fix in `[network]`.
fn network_hint(message: &str) -> &'static str {
    if message.contains("invalid peer certificate") || message.contains("UnknownIssuer") {
        " — if a proxy or firewall re-signs TLS, add its root certificate with [network] ca_file"
    } else if message.contains("tunnel error") {
        " — the proxy refused the tunnel: check [network] proxy (or HTTPS_PROXY) and its credentials"
    } else {
        ""
    }
}

impl ProviderError {
    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            status: None,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A short form for status lines: `529 overloaded_error`, `timeout`.
    pub fn short(&self) -> String {
        match (self.status, &self.code) {
            (Some(status), Some(code)) => format!("{status} {code}"),
            (Some(status), None) => status.to_string(),
            (None, Some(code)) => code.clone(),
            (None, None) => self.message.clone(),
        }
    }

    pub fn timeout(what: &str, after: Duration) -> Self {
        let mut err = Self::new(
            ErrorClass::Retryable,
            format!("{what} within {} ms", after.as_millis()),
        );
        err.code = Some("timeout".into());
        err
    }

    pub fn malformed(detail: impl fmt::Display) -> Self {
        let mut err = Self::new(
            ErrorClass::Retryable,
            format!("malformed response: {detail}"),
        );
        err.code = Some("malformed".into());
        err
    }

    pub fn too_large() -> Self {
        let mut err = Self::new(
            ErrorClass::Retryable,
            format!("response body over {} KiB", MAX_BODY_BYTES / 1024),
        );
        err.code = Some("too_large".into());
        err
    }

    /// A stream that ended before its terminator.
    pub fn truncated(terminator: &str) -> Self {
        let mut err = Self::new(
            ErrorClass::Retryable,
            format!("stream ended before {terminator}"),
        );
        err.code = Some("truncated".into());
        err
    }

    /// An error the provider sent inside a 200 stream.
    pub fn in_stream(payload: &Value) -> Self {
        let envelope = Envelope::read(payload);
        let mut err = Self::new(
            ErrorClass::Retryable,
            envelope
                .message
                .unwrap_or_else(|| "error inside the stream".to_string()),
        );
        err.code = envelope.code.or_else(|| Some("stream_error".into()));
        err
    }

    /// Removes `key` and anything shaped like an API key from the message: providers
    /// echo keys back in their errors ("Incorrect API key provided: sk-…"), and the
    /// message reaches logs, the status notification and the CLI.
    pub fn redact(mut self, key: Option<&str>) -> Self {
        self.message = redact_secrets(&self.message, key);
        self.code = self.code.map(|code| redact_secrets(&code, key));
        self
    }

    pub fn transport(err: &reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "connect"
        } else if err.is_body() || err.is_decode() {
            "connection"
        } else {
            "request"
        };
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            source = inner.source();
        }
        message.push_str(network_hint(&message));
        let mut e = Self::new(ErrorClass::Retryable, message);
        e.code = Some(kind.to_string());
        e
    }

    /// A non-success HTTP response, classified from its status, headers and body.
    pub fn from_http(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let envelope = parsed.as_ref().map(Envelope::read).unwrap_or_default();
        let message = envelope.message.clone().unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            // A JSON envelope without words, an HTML page or nothing: the status says it.
            if text.is_empty() || text.starts_with('<') || parsed.is_some() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text.chars().take(200).collect()
            }
        });
        let code_is = |needle: &str| {
            envelope.code.as_deref() == Some(needle) || envelope.reasons.iter().any(|r| r == needle)
        };
        let class = match status.as_u16() {
            401..=403 => ErrorClass::Auth,
            404 => ErrorClass::ModelNotFound,
            429 if code_is("insufficient_quota") => ErrorClass::Auth,
            429 => ErrorClass::RateLimited,
            400 if code_is("API_KEY_INVALID") || code_is("invalid_api_key") => ErrorClass::Auth,
            408 | 409 => ErrorClass::Retryable,
            s if s >= 500 => ErrorClass::Retryable,
            _ => ErrorClass::Rejected,
        };
        let retry_after = retry_after_header(headers)
            .or(envelope.retry_delay)
            .or_else(|| retry_hint_in_prose(&message));
        ProviderError {
            class,
            status: Some(status.as_u16()),
            code: envelope.code,
            message,
            retry_after,
        }
    }
}

/// The fields every provider's error envelope shares, wherever it keeps them.
#[derive(Debug, Default)]
struct Envelope {
    code: Option<String>,
    message: Option<String>,
    /// Gemini `ErrorInfo.reason`s such as `API_KEY_INVALID`.
    reasons: Vec<String>,
    retry_delay: Option<Duration>,
}

impl Envelope {
    fn read(value: &Value) -> Envelope {
        // Gemini sometimes wraps the error in a one-element array.
        let value = match value {
            Value::Array(items) => items.first().unwrap_or(value),
            _ => value,
        };
        let mut out = Envelope::default();
        match value.get("error") {
            // Ollama: {"error": "model does not support insert"}
            Some(Value::String(message)) => out.message = Some(message.clone()),
            // Anthropic {"type":"error","error":{type,message}}, OpenAI {"error":{message,type,code}},
            // Gemini {"error":{code:int,message,status,details}}, vLLM/llama.cpp {"error":{...,code:int}}.
            Some(Value::Object(error)) => {
                out.message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                out.code = error
                    .get("code")
                    .and_then(Value::as_str)
                    .or_else(|| error.get("status").and_then(Value::as_str))
                    .or_else(|| error.get("type").and_then(Value::as_str))
                    .map(str::to_string);
                for detail in error
                    .get("details")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(reason) = detail.get("reason").and_then(Value::as_str) {
                        out.reasons.push(reason.to_string());
                    }
                    if let Some(delay) = detail.get("retryDelay").and_then(Value::as_str) {
                        out.retry_delay = parse_duration_text(delay);
                    }
                }
            }
            _ => {
                // Mistral: {message, request_id} | {detail} | {object:"error", message, type, code}
                out.message = value
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| match value.get("detail") {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(detail @ Value::Array(_)) => Some(summarise_validation(detail)),
                        _ => None,
                    });
                out.code = value
                    .get("type")
                    .and_then(Value::as_str)
                    .filter(|t| *t != "error")
                    .map(str::to_string);
            }
        }
        // A blank message says nothing: fall back to the body or the status.
        out.message = out.message.filter(|m| !m.trim().is_empty());
        out
    }
}

/// `text` with `key` and API-key-shaped tokens (`sk-…`, `AIza…`) replaced.
pub fn redact_secrets(text: &str, key: Option<&str>) -> String {
    let mut out = match key.map(str::trim).filter(|k| k.len() >= 4) {
        Some(key) => text.replace(key, "[redacted]"),
        None => text.to_string(),
    };
    for prefix in ["sk-", "AIza"] {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(prefix) {
            let boundary = at == 0 || !rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric());
            let token_len = rest[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*')))
                .unwrap_or(rest.len() - at);
            result.push_str(&rest[..at]);
            if boundary && token_len >= prefix.len() + 8 {
                result.push_str("[redacted]");
            } else {
                result.push_str(&rest[at..at + token_len]);
            }
            rest = &rest[at + token_len..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// FastAPI-style `detail: [{loc, msg, type}]` → "body.suffix: Extra inputs are not permitted".
fn summarise_validation(detail: &Value) -> String {
    detail
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let msg = item.get("msg").and_then(Value::as_str)?;
            let loc = item
                .get("loc")
                .and_then(Value::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .map(|p| {
                            p.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| p.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            Some(if loc.is_empty() {
                msg.to_string()
            } else {
                format!("{loc}: {msg}")
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `retry-after-ms` (milliseconds), then `retry-after` (seconds).
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return seconds(ms / 1000.0);
    }
    let secs = header("retry-after")?.parse::<f64>().ok()?;
    seconds(secs)
}

/// `"7s"`, `"0.5s"`, `"12ms"`, `"1m30s"`.
fn parse_duration_text(text: &str) -> Option<Duration> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        let scale = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += value * scale;
        any = true;
    }
    if !number.is_empty() || !any || !total.is_finite() {
        return None;
    }
    seconds(total)
}

/// A retry hint as a duration, capped at a day: a provider (or a proxy) can send any
/// number, and an absurd one must never panic or overflow.
fn seconds(value: f64) -> Option<Duration> {
    const DAY: f64 = 86_400.0;
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value.min(DAY)))
}

/// OpenAI's prose hint: "Please try again in 1.772s." / "in 20ms".
fn retry_hint_in_prose(message: &str) -> Option<Duration> {
    let at = message.find("try again in ")? + "try again in ".len();
    let rest = &message[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or(rest.len());
    parse_duration_text(rest[..end].trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn classify(status: u16, headers: &[(&'static str, &str)], body: &str) -> ProviderError {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        ProviderError::from_http(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
    }

    #[test]
    fn anthropic_overload_keeps_the_providers_words() {
        let err = classify(
            529,
            &[],
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(err.class, ErrorClass::Retryable);
        assert_eq!(err.to_string(), "529 overloaded_error: Overloaded");
    }

    #[test]
    fn openai_quota_is_not_retryable_but_rate_limit_is() {
        let quota = classify(
            429,
            &[],
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert_eq!(quota.class, ErrorClass::Auth);
        let limit = classify(
            429,
            &[("retry-after", "30")],
            r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(limit.class, ErrorClass::RateLimited);
        assert_eq!(limit.retry_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_hints_come_from_headers_body_or_prose() {
        let ms = classify(
            429,
            &[("retry-after-ms", "1500"), ("retry-after", "9")],
            "{}",
        );
        assert_eq!(ms.retry_after, Some(Duration::from_millis(1500)));
        let gemini = classify(
            429,
            &[],
            r#"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}"#,
        );
        assert_eq!(gemini.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(gemini.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
        let prose = classify(
            429,
            &[],
            r#"{"error":{"message":"Please try again in 1.772s. Visit","type":"tokens","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(prose.retry_after, Some(Duration::from_millis(1772)));
    }

    #[test]
    fn gemini_invalid_key_is_an_auth_error_despite_400() {
        let err = classify(
            400,
            &[],
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        );
        assert_eq!(err.class, ErrorClass::Auth);
    }

    #[test]
    fn status_classes_follow_the_contract() {
        for (status, class) in [
            (400, ErrorClass::Rejected),
            (401, ErrorClass::Auth),
            (402, ErrorClass::Auth),
            (403, ErrorClass::Auth),
            (404, ErrorClass::ModelNotFound),
            (408, ErrorClass::Retryable),
            (409, ErrorClass::Retryable),
            (413, ErrorClass::Rejected),
            (422, ErrorClass::Rejected),
            (500, ErrorClass::Retryable),
            (503, ErrorClass::Retryable),
            (529, ErrorClass::Retryable),
        ] {
            assert_eq!(classify(status, &[], "").class, class, "{status}");
        }
    }

    #[test]
    fn keys_and_key_shaped_tokens_are_redacted() {
        let err = classify(401, &[], r#"{"error":{"message":"Incorrect API key provided: sk-proj-abcdef1234567890. Also AIzaSyA1234567890abcdef and secret-XYZ-123.","type":"invalid_request_error","code":"invalid_api_key"}}"#)
            .redact(Some("secret-XYZ-123"));
        assert_eq!(
            err.message,
            "Incorrect API key provided: [redacted]. Also [redacted] and [redacted]."
        );
        assert_eq!(
            redact_secrets("task-runner sk-1 ask-me", None),
            "task-runner sk-1 ask-me"
        );
    }

    #[test]
    fn absurd_retry_hints_are_capped_not_a_panic() {
        let err = classify(429, &[("retry-after", "1e20")], "{}");
        assert_eq!(err.retry_after, Some(Duration::from_secs(86_400)));
        let err = classify(429, &[("retry-after-ms", "1e30")], "{}");
        assert_eq!(err.retry_after, Some(Duration::from_secs(86_400)));
        assert_eq!(
            parse_duration_text("99999999999999999999s"),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn a_blank_provider_message_falls_back_to_the_status() {
        assert_eq!(
            classify(502, &[], r#"{"error":{"message":""}}"#).message,
            "Bad Gateway"
        );
        assert_eq!(
            classify(500, &[], r#"{"error":"  "}"#).message,
            "Internal Server Error"
        );
    }

    #[test]
    fn ollama_and_mistral_envelopes() {
        let ollama = classify(
            400,
            &[],
            r#"{"error":"registry.ollama.ai/library/llama3:latest does not support insert"}"#,
        );
        assert_eq!(
            ollama.to_string(),
            "400: registry.ollama.ai/library/llama3:latest does not support insert"
        );
        let mistral = classify(
            422,
            &[],
            r#"{"detail":[{"type":"extra_forbidden","loc":["body","foo"],"msg":"Extra inputs are not permitted"}]}"#,
        );
        assert_eq!(mistral.message, "body.foo: Extra inputs are not permitted");
        let html = classify(403, &[], "<html>cloudflare</html>");
        assert_eq!(html.message, "Forbidden");
    }
}
