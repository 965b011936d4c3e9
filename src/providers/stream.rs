//! Reading streamed answers: one driver for SSE and one for NDJSON, each fed by a
//! per-dialect decoder that turns an event or a line into text, the end of the
//! answer, or an error. Decoders are pure, so the wire samples and the fuzzers feed
//! them bytes directly.

use serde_json::Value;

use super::http::{Body, StreamedText};
use super::{LineSplitter, ProviderError, SseEvent, SseParser};

/// What one event or line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// More text.
    Text(String),
    /// The last piece of text: the answer is complete.
    Last(String),
    /// The terminator: the answer is complete.
    Done,
    /// Nothing for us (ping, metadata, usage).
    Skip,
}

pub trait SseDecoder {
    fn event(&mut self, event: &SseEvent) -> Result<Step, ProviderError>;
    /// The stream ended without a terminator.
    fn eof(&self) -> Result<(), ProviderError>;
}

pub trait LineDecoder {
    fn line(&mut self, line: &str) -> Result<Step, ProviderError>;
    fn eof(&self) -> Result<(), ProviderError>;
}

/// Accumulates `step` into `text`; `true` when reading can stop.
fn take(step: Step, text: &mut StreamedText) -> bool {
    match step {
        Step::Text(piece) => text.push(&piece),
        Step::Last(piece) => {
            text.push(&piece);
            true
        }
        Step::Done => true,
        Step::Skip => false,
    }
}

pub async fn read_sse(
    mut body: Body,
    single_line: bool,
    mut decoder: impl SseDecoder,
) -> Result<String, ProviderError> {
    let mut parser = SseParser::new();
    let mut text = StreamedText::new(single_line);
    while let Some(chunk) = body.chunk().await? {
        for event in parser.push(&chunk) {
            if take(decoder.event(&event)?, &mut text) {
                return Ok(text.into_text());
            }
        }
    }
    if let Some(event) = parser.finish()
        && take(decoder.event(&event)?, &mut text)
    {
        return Ok(text.into_text());
    }
    decoder.eof()?;
    Ok(text.into_text())
}

pub async fn read_lines(
    mut body: Body,
    single_line: bool,
    mut decoder: impl LineDecoder,
) -> Result<String, ProviderError> {
    let mut splitter = LineSplitter::new();
    let mut text = StreamedText::new(single_line);
    while let Some(chunk) = body.chunk().await? {
        for line in splitter.push(&chunk) {
            if take(decoder.line(&line)?, &mut text) {
                return Ok(text.into_text());
            }
        }
    }
    if let Some(line) = splitter.finish()
        && take(decoder.line(&line)?, &mut text)
    {
        return Ok(text.into_text());
    }
    decoder.eof()?;
    Ok(text.into_text())
}

/// A whole SSE body decoded at once (wire samples, fuzzing).
pub fn decode_sse(bytes: &[u8], mut decoder: impl SseDecoder) -> Result<String, ProviderError> {
    let mut text = StreamedText::new(false);
    let mut parser = SseParser::new();
    for event in parser.push(bytes).into_iter().chain(parser.finish()) {
        if take(decoder.event(&event)?, &mut text) {
            return Ok(text.into_text());
        }
    }
    decoder.eof()?;
    Ok(text.into_text())
}

/// A whole NDJSON body decoded at once (wire samples, fuzzing).
pub fn decode_lines(bytes: &[u8], mut decoder: impl LineDecoder) -> Result<String, ProviderError> {
    let mut text = StreamedText::new(false);
    let mut splitter = LineSplitter::new();
    let lines = splitter.push(bytes).into_iter().chain(splitter.finish());
    for line in lines {
        if take(decoder.line(&line)?, &mut text) {
            return Ok(text.into_text());
        }
    }
    decoder.eof()?;
    Ok(text.into_text())
}

/// `data: {…}` chunks ending in `data: [DONE]`: OpenAI chat and legacy completions,
/// Codestral, DeepSeek, vLLM, llama.cpp. `{"error": …}` data (or a non-standard
/// `error:` field) is an error inside the stream.
pub struct DoneStream {
    pub text_of: fn(&Value) -> Option<&str>,
}

impl SseDecoder for DoneStream {
    fn event(&mut self, event: &SseEvent) -> Result<Step, ProviderError> {
        let data = event.data.trim();
        if event.event.as_deref() == Some("error") {
            let payload = serde_json::from_str(data).unwrap_or(Value::Null);
            return Err(ProviderError::in_stream(&payload));
        }
        if data == "[DONE]" {
            return Ok(Step::Done);
        }
        if data.is_empty() {
            return Ok(Step::Skip);
        }
        let value: Value = serde_json::from_str(data).map_err(ProviderError::malformed)?;
        if value.get("error").is_some_and(|e| !e.is_null()) {
            return Err(ProviderError::in_stream(&value));
        }
        Ok((self.text_of)(&value).map_or(Step::Skip, |t| Step::Text(t.to_string())))
    }

    fn eof(&self) -> Result<(), ProviderError> {
        Err(ProviderError::truncated("data: [DONE]"))
    }
}

/// `choices[0].text` (legacy completions).
pub fn choice_text(value: &Value) -> Option<&str> {
    value.get("choices")?.get(0)?.get("text")?.as_str()
}

/// `choices[0].delta.content` (chat-shaped chunks).
pub fn delta_content(value: &Value) -> Option<&str> {
    value
        .get("choices")?
        .get(0)?
        .get("delta")?
        .get("content")?
        .as_str()
}

/// `choices[0].message.content` (chat-shaped bodies).
pub fn message_content(value: &Value) -> Option<&str> {
    value
        .get("choices")?
        .get(0)?
        .get("message")?
        .get("content")?
        .as_str()
}

/// A chat-shaped answer (OpenAI chat, Codestral FIM): SSE `delta.content` chunks ending
/// in `[DONE]`, or one body with `message.content`.
pub async fn read_chat_shaped(
    body: Body,
    stream: bool,
    single_line: bool,
) -> Result<String, ProviderError> {
    if stream {
        read_sse(
            body,
            single_line,
            DoneStream {
                text_of: delta_content,
            },
        )
        .await
    } else {
        chat_body_text(&body.json().await?)
    }
}

/// A chat-shaped non-streaming body's text; a body without choices is malformed, a
/// choice with `content: null` (a refusal, a tool call) is an empty answer.
pub fn chat_body_text(value: &Value) -> Result<String, ProviderError> {
    let choice = value
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| ProviderError::malformed("no choices[0]"))?;
    Ok(choice
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}
