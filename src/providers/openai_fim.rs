//! `openai-fim`: OpenAI-style `POST {base}/completions` with `prompt` + `suffix`
//! (DeepSeek `/beta`, OpenAI instruct models, Ollama's `/v1`), or one raw prompt
//! built from `fim_template` for servers that reject `suffix` (vLLM, llama.cpp).
//!
//! Answers: `choices[0].text`, as one JSON body or as SSE chunks ending in
//! `data: [DONE]`; `{"error": …}` data inside a 200 stream is an error.

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::http::{self, Attempt, Body, StreamedText};
use super::{Provider, ProviderError, ProviderRequest, SseParser, fim_prompt};
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
            read_stream(body, request.single_line).await
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

fn choice_text(value: &Value) -> Option<&str> {
    value.get("choices")?.get(0)?.get("text")?.as_str()
}

/// Reads `data:` chunks until `[DONE]`; text is `choices[0].text` of each.
pub(super) async fn read_stream(
    mut body: Body,
    single_line: bool,
) -> Result<String, ProviderError> {
    let mut parser = SseParser::new();
    let mut text = StreamedText::new(single_line);
    while let Some(chunk) = body.chunk().await? {
        for event in parser.push(&chunk) {
            if event.event.as_deref() == Some("error") {
                let payload = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                return Err(ProviderError::in_stream(&payload));
            }
            let data = event.data.trim();
            if data == "[DONE]" {
                return Ok(text.into_text());
            }
            let value: Value = serde_json::from_str(data).map_err(ProviderError::malformed)?;
            if value.get("error").is_some() {
                return Err(ProviderError::in_stream(&value));
            }
            // A usage-only chunk has `choices: []`.
            if let Some(piece) = choice_text(&value)
                && text.push(piece)
            {
                return Ok(text.into_text());
            }
        }
    }
    Err(ProviderError::truncated("data: [DONE]"))
}
