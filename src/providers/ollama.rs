//! `ollama`: `POST {base}/api/generate` with `prompt` + `suffix` (native FIM for
//! models that support insert), or, with `fim_template`, one raw prompt (`raw: true`)
//! built from the model family's FIM tokens. No key.
//!
//! Ollama streams unless told not to: NDJSON lines `{"response": …, "done": false}`
//! ending with `"done": true`; an `{"error": …}` line is an error inside the stream.

use serde_json::{Value, json};

use super::http::{Attempt, KeyHeader, post_json};
use super::stream::{LineDecoder, Step, read_lines};
use super::{Dialect, ErrorClass, ProviderError, ProviderRequest, fim_prompt};
use crate::config::ProviderConfig;

pub struct Ollama {
    config: ProviderConfig,
    client: reqwest::Client,
}

impl Ollama {
    pub fn new(config: ProviderConfig, client: reqwest::Client) -> Self {
        Ollama { config, client }
    }

    fn body(&self, request: &ProviderRequest) -> Value {
        let mut options = json!({"temperature": 0, "num_predict": request.max_tokens});
        let mut body = json!({
            "model": self.config.model,
            "stream": self.config.stream,
        });
        match self.config.fim_template {
            Some(template) => {
                let (prompt, stop) = fim_prompt(template, &request.prefix, &request.suffix);
                body["prompt"] = json!(prompt);
                body["raw"] = json!(true);
                options["stop"] = json!(stop);
            }
            None => {
                body["prompt"] = json!(request.prefix);
                body["suffix"] = json!(request.suffix);
            }
        }
        body["options"] = options;
        body
    }
}

/// "model does not support insert": the fix is the user's, so say what it is.
fn explain_insert(mut err: ProviderError) -> ProviderError {
    if err.class == ErrorClass::Rejected && err.message.contains("does not support insert") {
        err.message.push_str(
            " — set fim_template for this model, or use a model with fill-in-the-middle support",
        );
    }
    err
}

impl Dialect for Ollama {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    async fn ask(
        &self,
        request: &ProviderRequest,
        attempt: &Attempt,
    ) -> Result<String, ProviderError> {
        // A proxy in front of Ollama may want a key.
        let key = self.config.api_key.as_ref().map(|k| (k, KeyHeader::Bearer));
        let url = format!("{}/api/generate", self.config.base_url);
        let body = post_json(&self.client, url, &self.body(request), key, &[], attempt)
            .await
            .map_err(explain_insert)?;
        if self.config.stream {
            read_lines(body, request.single_line, OllamaStream).await
        } else {
            let value = body.json().await?;
            if value.get("error").is_some() {
                return Err(ProviderError::in_stream(&value));
            }
            value
                .get("response")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ProviderError::malformed("no response field"))
        }
    }
}

pub struct OllamaStream;

impl LineDecoder for OllamaStream {
    fn line(&mut self, line: &str) -> Result<Step, ProviderError> {
        let value: Value = serde_json::from_str(line).map_err(ProviderError::malformed)?;
        if value.get("error").is_some() {
            return Err(ProviderError::in_stream(&value));
        }
        let text = value
            .get("response")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if value.get("done").and_then(Value::as_bool).unwrap_or(false) {
            return Ok(Step::Last(text));
        }
        Ok(Step::Text(text))
    }

    fn eof(&self) -> Result<(), ProviderError> {
        Err(ProviderError::truncated("a line with \"done\": true"))
    }
}
