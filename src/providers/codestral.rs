//! `codestral`: Mistral's fill-in-the-middle endpoint, `POST {base}/v1/fim/completions`
//! with `prompt` + `suffix` and `Authorization: Bearer`.
//!
//! Although it is a completion endpoint, its answers are chat-shaped:
//! `choices[0].message.content`, or `choices[0].delta.content` chunks ending in
//! `data: [DONE]`. It rejects unknown parameters with 422, so only documented ones are
//! sent.

use serde_json::{Value, json};

use super::http::{Attempt, KeyHeader, post_json};
use super::stream::read_chat_shaped;
use super::{Dialect, ProviderError, ProviderRequest};
use crate::config::ProviderConfig;

pub struct Codestral {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl Codestral {
    pub fn new(config: ProviderConfig, client: reqwest::Client) -> Self {
        Codestral { config, client }
    }

    fn body(&self, request: &ProviderRequest) -> Value {
        json!({
            "model": self.config.model,
            "prompt": request.prefix,
            "suffix": request.suffix,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "stream": self.config.stream,
        })
    }
}

impl Dialect for Codestral {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let url = format!("{}/v1/fim/completions", self.config.base_url);
        let key = self.config.api_key.as_ref().map(|k| (k, KeyHeader::Bearer));
        let body = post_json(&self.client, url, &self.body(request), key, &[], attempt).await?;
        read_chat_shaped(body, self.config.stream, request.single_line).await
    }
}
