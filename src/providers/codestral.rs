//! `codestral`: Mistral's fill-in-the-middle endpoint, `POST {base}/v1/fim/completions`
//! with `prompt` + `suffix` and `Authorization: Bearer`.
//!
//! Although it is a completion endpoint, its answers are chat-shaped:
//! `choices[0].message.content`, or `choices[0].delta.content` chunks ending in
//! `data: [DONE]`. It rejects unknown parameters with 422, so only documented ones are
//! sent.

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::http::{self, Attempt, Body};
use super::stream::{DoneStream, chat_body_text, delta_content, read_sse};
use super::{Provider, ProviderError, ProviderRequest};
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

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let mut builder = self
            .client
            .post(format!("{}/v1/fim/completions", self.config.base_url))
            .json(&self.body(request));
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let body = Body::new(http::send(builder, attempt).await?, attempt);
        if self.config.stream {
            read_sse(
                body,
                request.single_line,
                DoneStream {
                    text_of: delta_content,
                },
            )
            .await
        } else {
            chat_body_text(&body.json().await?)
        }
    }
}

impl Provider for Codestral {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn complete<'a>(
        &'a self,
        request: &'a ProviderRequest,
        attempt: &'a Attempt,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(self.ask(request, attempt))
    }
}
