//! `openai-fim`: OpenAI-style `POST {base}/completions` with `prompt` + `suffix`
//! (DeepSeek `/beta`, OpenAI instruct models, Ollama's `/v1`), or one raw prompt
//! built from `fim_template` for servers that reject `suffix` (vLLM, llama.cpp).
//!
//! Answers: `choices[0].text`, as one JSON body or as SSE chunks ending in
//! `data: [DONE]`; `{"error": …}` data inside a 200 stream is an error.

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::http::{self, Attempt, Body};
use super::stream::{DoneStream, choice_text, read_sse};
use super::{Provider, ProviderError, ProviderRequest, fim_prompt};
use crate::config::ProviderConfig;

pub struct OpenAiFim {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl OpenAiFim {
    pub fn new(config: ProviderConfig, client: reqwest::Client) -> Self {
        OpenAiFim { config, client }
    }

    fn body(&self, request: &ProviderRequest) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "stream": self.config.stream,
        });
        match self.config.fim_template {
            Some(template) => {
                let (prompt, stop) = fim_prompt(template, &request.prefix, &request.suffix);
                body["prompt"] = json!(prompt);
                body["stop"] = json!(stop);
            }
            None => {
                body["prompt"] = json!(request.prefix);
                body["suffix"] = json!(request.suffix);
            }
        }
        body
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let mut builder = self
            .client
            .post(format!("{}/completions", self.config.base_url))
            .json(&self.body(request));
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let response = http::send(builder, attempt).await?;
        let body = Body::new(response, attempt);
        if self.config.stream {
            read_sse(
                body,
                request.single_line,
                DoneStream {
                    text_of: choice_text,
                },
            )
            .await
        } else {
            let value = body.json().await?;
            choice_text(&value)
                .map(str::to_string)
                .ok_or_else(|| ProviderError::malformed("no choices[0].text"))
        }
    }
}

impl Provider for OpenAiFim {
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
