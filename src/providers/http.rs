//! The HTTP mechanics every cloud provider shares: one client, the time-to-first-byte
//! and total timeouts of an attempt, the status check before any parsing, and bodies
//! read with a 1 MiB cap.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::timeout_at;

use super::error::{MAX_BODY_BYTES, ProviderError};

/// One HTTP client for every provider: connections are reused across requests,
/// which is most of the latency budget. This is the client for the default `[network]`
/// settings; a runtime uses [`super::client_for`] its own.
pub fn shared_client() -> reqwest::Client {
    super::client_for(&crate::config::NetworkSettings::default())
}

/// Set once, when an attempt's response starts arriving; the router's hedging waits on it.
#[derive(Debug, Clone, Default)]
pub struct FirstByte(Arc<FirstByteInner>);

#[derive(Debug, Default)]
struct FirstByteInner {
    at: OnceLock<Instant>,
    notify: Notify,
}

impl FirstByte {
    pub fn mark(&self) {
        if self.0.at.set(Instant::now()).is_ok() {
            self.0.notify.notify_waiters();
        }
    }

    pub fn at(&self) -> Option<Instant> {
        self.0.at.get().copied()
    }

    /// Resolves once the first byte has arrived.
    pub async fn arrived(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.at().is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// The time limits of one attempt at one provider.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub started: Instant,
    /// The response must have started by then.
    pub first_byte_deadline: Instant,
    /// The whole answer must have arrived by then.
    pub deadline: Instant,
    pub first_byte: FirstByte,
}

impl Attempt {
    pub fn new(first_byte_timeout: Duration, timeout: Duration) -> Self {
        let started = Instant::now();
        Attempt {
            started,
            first_byte_deadline: started + first_byte_timeout.min(timeout),
            deadline: started + timeout,
            first_byte: FirstByte::default(),
        }
    }
}

/// Sends a request and returns the response once its status says success; any
/// other status is read (capped) and classified.
pub async fn send(
    request: reqwest::RequestBuilder,
    attempt: &Attempt,
) -> Result<reqwest::Response, ProviderError> {
    let response = match timeout_at(attempt.first_byte_deadline.into(), request.send()).await {
        Err(_) => {
            return Err(ProviderError::timeout(
                "no response",
                attempt.first_byte_deadline - attempt.started,
            ));
        }
        Ok(Err(err)) => return Err(ProviderError::transport(&err)),
        Ok(Ok(response)) => response,
    };
    attempt.first_byte.mark();
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    // The error body is best-effort: a status alone is enough to classify.
    let body = Body::new(response, attempt).all().await.unwrap_or_default();
    Err(ProviderError::from_http(status, &headers, &body))
}

/// How a provider's API key travels.
#[derive(Debug, Clone, Copy)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// A header of its own (`x-api-key`, `x-goog-api-key`).
    Named(&'static str),
}

/// POSTs `body` as JSON to `url`, with the key (when there is one) and `headers`, and
/// returns the body of a successful response.
pub async fn post_json(
    client: &reqwest::Client,
    url: String,
    body: &serde_json::Value,
    key: Option<(&crate::config::Secret, KeyHeader)>,
    headers: &[(&'static str, &'static str)],
    attempt: &Attempt,
) -> Result<Body, ProviderError> {
    let mut builder = client.post(url).json(body);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder = match key {
        Some((key, KeyHeader::Bearer)) => builder.bearer_auth(key.expose()),
        Some((key, KeyHeader::Named(name))) => builder.header(name, key.expose()),
        None => builder,
    };
    Ok(Body::new(send(builder, attempt).await?, attempt))
}

/// A response body read chunk by chunk, within the attempt's deadline and the size cap.
pub struct Body {
    response: reqwest::Response,
    started: Instant,
    deadline: Instant,
    read: usize,
}

impl Body {
    pub fn new(response: reqwest::Response, attempt: &Attempt) -> Self {
        Body {
            response,
            started: attempt.started,
            deadline: attempt.deadline,
            read: 0,
        }
    }

    /// The next chunk, or `None` at the end of the body.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ProviderError> {
        match timeout_at(self.deadline.into(), self.response.chunk()).await {
            Err(_) => Err(ProviderError::timeout(
                "response not complete",
                self.deadline - self.started,
            )),
            Ok(Err(err)) => Err(ProviderError::transport(&err)),
            Ok(Ok(None)) => Ok(None),
            Ok(Ok(Some(chunk))) => {
                self.read += chunk.len();
                if self.read > MAX_BODY_BYTES {
                    return Err(ProviderError::too_large());
                }
                Ok(Some(chunk))
            }
        }
    }

    /// The whole body.
    pub async fn all(mut self) -> Result<Vec<u8>, ProviderError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The whole body as JSON.
    pub async fn json(self) -> Result<serde_json::Value, ProviderError> {
        let bytes = self.all().await?;
        serde_json::from_slice(&bytes).map_err(ProviderError::malformed)
    }
}

/// Text gathered from a stream; knows when a single-line answer is complete.
#[derive(Debug, Default)]
pub struct StreamedText {
    text: String,
    single_line: bool,
}

impl StreamedText {
    pub fn new(single_line: bool) -> Self {
        StreamedText {
            text: String::new(),
            single_line,
        }
    }

    /// Appends a piece; `true` once no more is needed (a single-line answer has
    /// reached the end of its first non-blank line).
    pub fn push(&mut self, piece: &str) -> bool {
        self.text.push_str(piece);
        self.single_line && has_complete_code_line(&self.text)
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

/// Whether `text` holds a whole first line of code: blank lines, an opening code
/// fence and a chat model's "Here is the rest of the line:" do not count, so a
/// single-line answer is not cut before its code arrives.
fn has_complete_code_line(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(['\n', '\r']);
        let Some(end) = rest.find('\n') else {
            return false;
        };
        let line = rest[..end].trim();
        if !(line.starts_with("```") || crate::providers::is_prose_intro(line)) {
            return true;
        }
        rest = &rest[end + 1..];
    }
}
