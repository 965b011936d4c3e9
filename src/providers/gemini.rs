//! `gemini`: `POST {base}/v1beta/models/{model}:generateContent`, or
//! `:streamGenerateContent?alt=sse`, with `x-goog-api-key`.
//!
//! Text is in `candidates[0].content.parts[].text` (parts marked `thought` are
//! skipped). A stream has no terminator: it ends after the chunk that carries a
//! `finishReason`, and events are framed with CRLF. An error can arrive as a
//! `{"error": …}` chunk inside the 200 stream. Flash models think by default, which
//! spends the output budget before any code is written, so thinking is turned off.

use serde_json::{Value, json};

use super::http::{Attempt, KeyHeader, post_json};
use super::stream::{SseDecoder, Step, read_sse};
use super::{Dialect, ProviderError, ProviderRequest, SseEvent, chat_prompt};
use crate::config::ProviderConfig;

pub struct Gemini {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl Gemini {
    pub fn new(config: ProviderConfig, client: reqwest::Client) -> Self {
        Gemini { config, client }
    }

    fn body(&self, request: &ProviderRequest) -> Value {
        let mut generation = json!({
            "maxOutputTokens": request.max_tokens,
            "temperature": 0,
        });
        if self.config.model.contains("flash") {
            generation["thinkingConfig"] = json!({"thinkingBudget": 0});
        }
        json!({
            "systemInstruction": {"parts": [{"text": chat_prompt::system(request)}]},
            "contents": [{"role": "user", "parts": [{"text": chat_prompt::user(request)}]}],
            "generationConfig": generation,
        })
    }

    fn url(&self) -> String {
        let model = self.config.model.trim_start_matches("models/");
        if self.config.stream {
            format!(
                "{}/v1beta/models/{model}:streamGenerateContent?alt=sse",
                self.config.base_url
            )
        } else {
            format!(
                "{}/v1beta/models/{model}:generateContent",
                self.config.base_url
            )
        }
    }
}

impl Dialect for Gemini {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let key = self
            .config
            .api_key
            .as_ref()
            .map(|k| (k, KeyHeader::Named("x-goog-api-key")));
        let body = post_json(
            &self.client,
            self.url(),
            &self.body(request),
            key,
            &[],
            attempt,
        )
        .await?;
        if self.config.stream {
            read_sse(body, request.single_line, GeminiStream::default()).await
        } else {
            let value = body.json().await?;
            if value.get("error").is_some() {
                return Err(ProviderError::in_stream(&value));
            }
            if value.get("candidates").is_none() && value.get("promptFeedback").is_none() {
                return Err(ProviderError::malformed("no candidates"));
            }
            Ok(candidate_text(&value))
        }
    }
}

/// The non-thought text parts of the first candidate (empty when it was blocked).
pub fn candidate_text(value: &Value) -> String {
    value
        .get("candidates")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("content"))
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|part| {
            !part
                .get("thought")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect()
}

#[derive(Default)]
pub struct GeminiStream {
    finished: bool,
}

impl SseDecoder for GeminiStream {
    fn event(&mut self, event: &SseEvent) -> Result<Step, ProviderError> {
        let value: Value = serde_json::from_str(&event.data).map_err(ProviderError::malformed)?;
        // A failed request's body is sometimes a one-element array.
        let value = match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        if value.get("error").is_some() {
            return Err(ProviderError::in_stream(&value));
        }
        let text = candidate_text(&value);
        let finished = value
            .get("candidates")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("finishReason"))
            .is_some_and(|r| !r.is_null());
        // A finish reason does not end the stream: the 2024 framing put
        // `finishReason: "STOP"` on every chunk. Only the end of the body does.
        self.finished |= finished;
        Ok(Step::Text(text))
    }

    fn eof(&self) -> Result<(), ProviderError> {
        if self.finished {
            Ok(())
        } else {
            Err(ProviderError::truncated("a chunk with finishReason"))
        }
    }
}
