//! `openai`: `POST {base}/chat/completions` with `Authorization: Bearer`.
//!
//! Text is `choices[0].message.content`, or `choices[0].delta.content` in SSE chunks
//! that end with `data: [DONE]`. Newer OpenAI models take `max_completion_tokens` and
//! refuse a `temperature`; OpenAI-compatible servers elsewhere take `max_tokens`.

use serde_json::{Value, json};

use super::http::{Attempt, KeyHeader, post_json};
use super::stream::read_chat_shaped;
use super::{Dialect, ProviderError, ProviderRequest, chat_prompt};
use crate::config::ProviderConfig;

pub struct OpenAiChat {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl OpenAiChat {
    pub fn new(config: ProviderConfig, client: reqwest::Client) -> Self {
        OpenAiChat { config, client }
    }

    fn is_official_api(&self) -> bool {
        reqwest::Url::parse(&self.config.base_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h == "api.openai.com"))
            .unwrap_or(false)
    }

    /// Reasoning models (o-series, gpt-5) accept only the default temperature.
    fn fixed_temperature(&self) -> bool {
        let model = self.config.model.as_str();
        model.starts_with('o') && model.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
            || model.starts_with("gpt-5")
    }

    fn body(&self, request: &ProviderRequest) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": chat_prompt::system(request)},
                {"role": "user", "content": chat_prompt::user(request)},
            ],
            "stream": self.config.stream,
        });
        let tokens_field = if self.is_official_api() {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body[tokens_field] = json!(request.max_tokens);
        if !self.fixed_temperature() {
            body["temperature"] = json!(0);
        }
        body
    }
}

impl Dialect for OpenAiChat {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let url = format!("{}/chat/completions", self.config.base_url);
        let key = self.config.api_key.as_ref().map(|k| (k, KeyHeader::Bearer));
        let body = post_json(&self.client, url, &self.body(request), key, &[], attempt).await?;
        read_chat_shaped(body, self.config.stream, request.single_line).await
    }
}
