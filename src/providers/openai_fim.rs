//! `openai-fim`: OpenAI-style `POST {base}/completions` with `prompt` + `suffix`
//! (DeepSeek `/beta`, OpenAI instruct models, Ollama's `/v1`), or one raw prompt
//! built from `fim_template` for servers that reject `suffix` (vLLM, llama.cpp).
//!
//! Answers: `choices[0].text`, as one JSON body or as SSE chunks ending in
//! `data: [DONE]`; `{"error": …}` data inside a 200 stream is an error.

use serde_json::{Value, json};

use super::http::{Attempt, KeyHeader, post_json};
use super::stream::{DoneStream, choice_text, read_sse};
use super::{Dialect, ProviderError, ProviderRequest, fim_prompt};
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
}

impl Dialect for OpenAiFim {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        let url = format!("{}/completions", self.config.base_url);
        let key = self.config.api_key.as_ref().map(|k| (k, KeyHeader::Bearer));
        let body = post_json(&self.client, url, &self.body(request), key, &[], attempt).await?;
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
