//! Completion providers: one trait, one implementation per kind, each in its own file.
//!
//! Architecture invariant: a provider knows HTTP and its own wire format, nothing
//! about health, caching, routing or LSP. It turns a [`ProviderRequest`] into text or
//! a classified [`ProviderError`]; the router decides what a failure means.

pub mod anthropic;
mod chat_prompt;
mod client;
pub mod codestral;
mod error;
mod fim;
pub mod gemini;
mod http;
mod local;
pub mod ollama;
pub mod openai_chat;
pub mod openai_fim;
pub mod prewarm;
mod sse;
pub mod stream;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::config::{ProviderConfig, ProviderKind};

pub use client::{client_for, environment_proxy};
pub use error::{ErrorClass, MAX_BODY_BYTES, ProviderError, redact_secrets};
pub use fim::fim_prompt;
pub use http::{Attempt, FirstByte, KeyHeader, StreamedText, post_json, shared_client};
pub use local::LocalEngine;
pub use sse::{LineSplitter, SseEvent, SseParser};

/// What a provider is asked: the code around the cursor and how much to write.
#[derive(Debug, Clone)]
pub struct ProviderRequest {
    /// The window of text before the cursor (`max_prefix_chars`).
    pub prefix: String,
    /// The window of text after the cursor (`max_suffix_chars`).
    pub suffix: String,
    pub language: String,
    /// The file's path, when known, for prompts that name it.
    pub path: Option<String>,
    pub max_tokens: u32,
    /// The cursor is mid-line: only the rest of this line is wanted.
    pub single_line: bool,
    /// The whole document and the cursor's byte offset in it, for the local engine.
    pub document: Arc<str>,
    pub cursor: usize,
    /// Other open documents, for the local engine.
    pub neighbours: Neighbours,
}

#[cfg(test)]
impl ProviderRequest {
    /// A request with this code around the cursor and nothing else, for unit tests.
    pub fn around(prefix: &str, suffix: &str, language: &str) -> ProviderRequest {
        ProviderRequest {
            prefix: prefix.into(),
            suffix: suffix.into(),
            language: language.into(),
            path: None,
            max_tokens: 64,
            single_line: false,
            document: Arc::from(""),
            cursor: 0,
            neighbours: Default::default(),
        }
    }
}

/// Other open documents for the local engine, fetched only if it runs: a cloud
/// answer or a cache hit never pays for copying them.
#[derive(Clone, Default)]
pub struct Neighbours(Option<Arc<dyn Fn() -> Vec<Arc<str>> + Send + Sync>>);

impl Neighbours {
    pub fn none() -> Self {
        Neighbours(None)
    }

    /// Texts produced by `source` when first needed.
    pub fn lazy(source: impl Fn() -> Vec<Arc<str>> + Send + Sync + 'static) -> Self {
        Neighbours(Some(Arc::new(source)))
    }

    pub fn get(&self) -> Vec<Arc<str>> {
        self.0.as_ref().map(|source| source()).unwrap_or_default()
    }
}

impl From<Vec<Arc<str>>> for Neighbours {
    fn from(texts: Vec<Arc<str>>) -> Self {
        Neighbours::lazy(move || texts.clone())
    }
}

impl std::fmt::Debug for Neighbours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Neighbours(..)"
        } else {
            "Neighbours(none)"
        })
    }
}

/// A completion provider.
///
/// ```
/// # use switchboard_ls::providers::*;
/// # use switchboard_ls::config::ProviderConfig;
/// # async fn ask(request: &ProviderRequest) -> Result<String, ProviderError> {
/// let local = LocalEngine::new(ProviderConfig::local());
/// let attempt = Attempt::new(std::time::Duration::from_secs(1), std::time::Duration::from_secs(1));
/// local.complete(request, &attempt).await
/// # }
/// ```
pub trait Provider: Send + Sync {
    fn config(&self) -> &ProviderConfig;

    /// The completion text for `request`, raw (post-processing is the engine's).
    fn complete<'a>(
        &'a self,
        request: &'a ProviderRequest,
        attempt: &'a Attempt,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;
}

/// What each provider kind implements: its config and how to ask it. [`Provider`]
/// (object-safe, boxed futures) follows for every `Dialect`.
pub trait Dialect: Send + Sync {
    fn config(&self) -> &ProviderConfig;

    fn ask<'a>(
        &'a self,
        request: &'a ProviderRequest,
        attempt: &'a Attempt,
    ) -> impl std::future::Future<Output = Result<String, ProviderError>> + Send + 'a;
}

impl<T: Dialect> Provider for T {
    fn config(&self) -> &ProviderConfig {
        Dialect::config(self)
    }

    fn complete<'a>(
        &'a self,
        request: &'a ProviderRequest,
        attempt: &'a Attempt,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(self.ask(request, attempt))
    }
}

/// Asks `provider`, with any key it echoes back removed from the error.
pub async fn ask(
    provider: &dyn Provider,
    request: &ProviderRequest,
    attempt: &Attempt,
) -> Result<String, ProviderError> {
    let key = provider
        .config()
        .api_key
        .as_ref()
        .map(|k| k.expose().to_string());
    provider
        .complete(request, attempt)
        .await
        .map_err(|err| err.redact(key.as_deref()))
}

/// The provider for a validated config entry.
pub fn build(config: ProviderConfig, client: reqwest::Client) -> Arc<dyn Provider> {
    match config.kind {
        ProviderKind::Local => Arc::new(LocalEngine::new(config)),
        ProviderKind::OpenAiFim => Arc::new(openai_fim::OpenAiFim::new(config, client)),
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic::new(config, client)),
        ProviderKind::OpenAi => Arc::new(openai_chat::OpenAiChat::new(config, client)),
        ProviderKind::Gemini => Arc::new(gemini::Gemini::new(config, client)),
        ProviderKind::Codestral => Arc::new(codestral::Codestral::new(config, client)),
        ProviderKind::Ollama => Arc::new(ollama::Ollama::new(config, client)),
    }
}

/// A chat model's line of prose that introduces code ("Here is the completion:",
/// "Sure! Here's the rest of the line:"): a sentence of three or more words that
/// starts with a capital letter and ends with a colon.
pub fn is_prose_intro(line: &str) -> bool {
    let line = line.trim();
    line.ends_with(':')
        && line.chars().next().is_some_and(char::is_uppercase)
        && line.split_whitespace().count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_is_object_safe() {
        fn _takes(_: &dyn Provider) {}
    }
}
