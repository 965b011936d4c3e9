//! `anthropic`: `POST {base}/v1/messages` with `x-api-key` and
//! `anthropic-version: 2023-06-01`.
//!
//! Streams are SSE: text arrives in `content_block_delta` / `text_delta` events and
//! the answer ends at `message_stop` (there is no `[DONE]`); `ping` is ignored and an
//! `event: error` inside the 200 stream is an error.

use serde_json::{Value, json};

use super::http::{Attempt, KeyHeader, post_json};
use super::stream::{SseDecoder, Step, read_sse};
use super::{Dialect, ProviderError, ProviderRequest, SseEvent, chat_prompt};
use crate::config::ProviderConfig;

pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl Anthropic {
    pub fn new(config: ProviderConfig, client: reqwest::Client) -> Self {
        Anthropic { config, client }
    }

    fn body(&self, request: &ProviderRequest) -> Value {
        json!({
            "model": self.config.model,
            "max_tokens": request.max_tokens,
            "system": chat_prompt::system(request),
            "messages": [{"role": "user", "content": chat_prompt::user(request)}],
            "temperature": 0,
            "stream": self.config.stream,
        })
    }
}

impl Dialect for Anthropic {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let url = format!("{}/v1/messages", self.config.base_url);
        let key = self
            .config
            .api_key
            .as_ref()
            .map(|k| (k, KeyHeader::Named("x-api-key")));
        let headers = [("anthropic-version", API_VERSION)];
        let body = post_json(
            &self.client,
            url,
            &self.body(request),
            key,
            &headers,
            attempt,
        )
        .await?;
        if self.config.stream {
            read_sse(body, request.single_line, AnthropicStream).await
        } else {
            message_text(&body.json().await?)
        }
    }
}

/// The text blocks of a non-streaming Messages response.
pub fn message_text(value: &Value) -> Result<String, ProviderError> {
    let content = value
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::malformed("no content array"))?;
    Ok(content
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect())
}

pub struct AnthropicStream;

impl SseDecoder for AnthropicStream {
    fn event(&mut self, event: &SseEvent) -> Result<Step, ProviderError> {
        let value: Value = match serde_json::from_str(&event.data) {
            Ok(value) => value,
            Err(err) if event.event.as_deref() == Some("error") => {
                return Err(ProviderError::in_stream(
                    &json!({"error": {"message": err.to_string()}}),
                ));
            }
            Err(err) => return Err(ProviderError::malformed(err)),
        };
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or("");
        Ok(match kind {
            "content_block_delta" => {
                let delta = &value["delta"];
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        Step::Text(delta["text"].as_str().unwrap_or("").to_string())
                    }
                    _ => Step::Skip,
                }
            }
            "message_stop" => Step::Done,
            "error" => return Err(ProviderError::in_stream(&value)),
            _ => Step::Skip,
        })
    }

    fn eof(&self) -> Result<(), ProviderError> {
        Err(ProviderError::truncated("event: message_stop"))
    }
}
