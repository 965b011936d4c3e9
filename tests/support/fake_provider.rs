//! A fake AI provider for tests and benchmarks: an axum server on 127.0.0.1:0 that
//! speaks each provider's real wire format at its real path, answers from a fault
//! schedule, and records every request.
//!
//! Dialect by path: `/v1/messages` Anthropic, `/chat/completions` OpenAI chat,
//! `/fim/completions` Codestral, `/completions` OpenAI legacy / FIM servers,
//! `:generateContent` / `:streamGenerateContent` Gemini, `/api/generate` Ollama,
//! `/api/v2/summary.json` a Statuspage v2 status page.
//!
//! It runs on its own runtime thread, so tests can stay synchronous. Control it from
//! Rust ([`FakeProvider::push`], [`FakeProvider::set_default`]) or over HTTP on the same
//! port (`POST /_control/push`, `/_control/default`, `/_control/reset`,
//! `/_control/status_page`, `GET /_control/requests`), which is how the editor tests
//! drive it.
//!
//! Over HTTPS ([`FakeProvider::start_tls`]) it offers `h2` and `http/1.1` in ALPN, as
//! providers do ([`FakeProvider::start_tls_http1`]: `http/1.1` only); plain HTTP is
//! HTTP/1.1. It counts the connections it accepted and records the HTTP version of
//! every request ([`FakeProvider::arrivals`]), so a test can see what shared a connection.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the fake does with one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// A successful answer with `text`, streamed if the request asked for a stream.
    Ok {
        text: String,
        #[serde(default)]
        delay_ms: u64,
        /// Pause between streamed chunks.
        #[serde(default)]
        chunk_delay_ms: u64,
    },
    /// An error status with the dialect's real error body (or `body` verbatim).
    Error {
        status: u16,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        body: Option<String>,
    },
    /// Never answers (until the client gives up and closes the connection).
    Hang,
    /// Starts a 200 answer, then closes the connection mid-body.
    Drop,
    /// A 200 whose body is not what the dialect promises.
    Malformed,
    /// A 200 stream that sends `text`, then the dialect's in-stream error.
    MidStreamError {
        #[serde(default)]
        text: String,
    },
    /// One of `choices` per request, by weight, pseudo-randomly but the same every run
    /// (seeded by the request's number): a 529 storm where some requests get through.
    Mix { choices: Vec<Weighted> },
}

/// One choice of a [`Reply::Mix`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Weighted {
    pub weight: u32,
    pub reply: Reply,
}

impl Reply {
    /// The reply for request number `n`: a `Mix` picks one of its choices.
    fn resolve(self, n: u64) -> Reply {
        let Reply::Mix { choices } = self else {
            return self;
        };
        let total: u64 = choices.iter().map(|c| u64::from(c.weight)).sum();
        if total == 0 {
            return Reply::ok("");
        }
        // splitmix64 of the request number.
        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let mut pick = (z ^ (z >> 31)) % total;
        for choice in choices {
            if pick < u64::from(choice.weight) {
                return choice.reply.resolve(n);
            }
            pick -= u64::from(choice.weight);
        }
        Reply::ok("")
    }
}

impl Reply {
    pub fn ok(text: &str) -> Reply {
        Reply::Ok {
            text: text.to_string(),
            delay_ms: 0,
            chunk_delay_ms: 0,
        }
    }

    pub fn delayed(text: &str, delay: Duration) -> Reply {
        Reply::Ok {
            text: text.to_string(),
            delay_ms: delay.as_millis() as u64,
            chunk_delay_ms: 0,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::Error {
            status,
            code: None,
            message: None,
            headers: BTreeMap::new(),
            body: None,
        }
    }

    pub fn status_with(status: u16, code: &str, headers: &[(&str, &str)]) -> Reply {
        Reply::Error {
            status,
            code: Some(code.to_string()),
            message: None,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: None,
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Lower-cased header names.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, or the body as a string when it is not JSON.
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Any request as it arrived (completions, warming `HEAD`s, status pages; not the
/// `/_control/` API), with the HTTP version it came over.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub version: Version,
}

#[derive(Default)]
struct Schedule {
    queue: VecDeque<Reply>,
    default: Option<Reply>,
    requests: Vec<Recorded>,
    arrivals: Vec<Arrival>,
    status_page: Option<Value>,
}

struct Shared {
    schedule: Mutex<Schedule>,
    changed: Condvar,
    /// Handlers that ended without finishing their answer (the client went away).
    abandoned: AtomicUsize,
    open_connections: AtomicUsize,
    closed_connections: AtomicUsize,
    /// TCP connections accepted (over HTTPS, each carries one TLS session).
    accepted_connections: AtomicUsize,
    /// While `true`, completion requests are recorded but not answered ([`FakeProvider::hold`]).
    held: tokio::sync::watch::Sender<bool>,
}

pub struct FakeProvider {
    url: String,
    /// The PEM of the test CA that signed the fake's certificate, when it serves HTTPS.
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeProvider {
    /// Starts a fake on 127.0.0.1 with an ephemeral port; answers `Reply::ok("")` by default.
    pub fn start() -> FakeProvider {
        Self::start_with(None)
    }

    /// Starts a fake that serves HTTPS (`https://127.0.0.1:PORT`) with a certificate
    /// signed by a CA made for it alone: only a client given [`FakeProvider::ca_pem`]
    /// trusts it. It offers `h2` and `http/1.1` in ALPN.
    pub fn start_tls() -> FakeProvider {
        Self::start_with(Some(TestTls::generate(&[b"h2", b"http/1.1"])))
    }

    /// Like [`FakeProvider::start_tls`], but a server that offers only `http/1.1` in ALPN
    /// (one that does not speak HTTP/2).
    pub fn start_tls_http1() -> FakeProvider {
        Self::start_with(Some(TestTls::generate(&[b"http/1.1"])))
    }

    fn start_with(tls: Option<TestTls>) -> FakeProvider {
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let shared = Arc::new(Shared {
            schedule: Mutex::new(Schedule::default()),
            changed: Condvar::new(),
            abandoned: AtomicUsize::new(0),
            open_connections: AtomicUsize::new(0),
            closed_connections: AtomicUsize::new(0),
            accepted_connections: AtomicUsize::new(0),
            held: tokio::sync::watch::Sender::new(false),
        });
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-provider".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake provider runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind fake provider");
                    let addr = listener.local_addr().expect("local addr");
                    let scheme = if tls.is_some() { "https" } else { "http" };
                    url_tx.send(format!("{scheme}://{addr}")).ok();
                    let app = Router::new()
                        .fallback(handle)
                        .with_state(thread_shared.clone());
                    let listener = CountingListener {
                        inner: listener,
                        shared: thread_shared,
                    };
                    let shutdown = async {
                        let _ = shutdown_rx.await;
                    };
                    match tls {
                        None => axum::serve(listener, app)
                            .with_graceful_shutdown(shutdown)
                            .await
                            .ok(),
                        Some(tls) => {
                            let listener = TlsListener {
                                inner: listener,
                                acceptor: tokio_rustls::TlsAcceptor::from(tls.server),
                            };
                            axum::serve(listener, app)
                                .with_graceful_shutdown(shutdown)
                                .await
                                .ok()
                        }
                    };
                });
                // Hung handlers are abandoned with the runtime.
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("spawn fake provider");
        let url = url_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("fake provider did not start");
        FakeProvider {
            url,
            ca_pem,
            shared,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`FakeProvider::start_tls`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PEM of the CA that signed an HTTPS fake's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Queues one reply; queued replies are used first, in order.
    pub fn push(&self, reply: Reply) {
        self.shared.schedule.lock().unwrap().queue.push_back(reply);
    }

    /// The reply used whenever the queue is empty.
    pub fn set_default(&self, reply: Reply) {
        self.shared.schedule.lock().unwrap().default = Some(reply);
    }

    pub fn set_status_page(&self, summary: Value) {
        self.shared.schedule.lock().unwrap().status_page = Some(summary);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.schedule.lock().unwrap().requests.clone()
    }

    /// Requests other than status-page polls.
    pub fn completion_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| !r.path.contains("/api/v2/"))
            .collect()
    }

    /// Waits until at least `count` completion requests have arrived.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        let mut schedule = self.shared.schedule.lock().unwrap();
        loop {
            let seen: Vec<Recorded> = schedule
                .requests
                .iter()
                .filter(|r| !r.path.contains("/api/v2/"))
                .cloned()
                .collect();
            if seen.len() >= count {
                return seen;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "fake provider: waited {timeout:?} for {count} requests, got {}",
                seen.len()
            );
            schedule = self
                .shared
                .changed
                .wait_timeout(schedule, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Every request as it arrived, with its HTTP version, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared.schedule.lock().unwrap().arrivals.clone()
    }

    /// Completion requests from now on are recorded but held unanswered until
    /// [`FakeProvider::release`]: a test can see several of them in flight at once.
    pub fn hold(&self) {
        self.shared.held.send_replace(true);
    }

    /// Answers the held requests (and every later one) as scheduled.
    pub fn release(&self) {
        self.shared.held.send_replace(false);
    }

    /// Handlers dropped before their answer finished (the client closed the connection).
    pub fn abandoned(&self) -> usize {
        self.shared.abandoned.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` handlers were abandoned.
    pub fn wait_for_abandoned(&self, count: usize, timeout: Duration) {
        self.wait_until(timeout, || self.abandoned() >= count, "abandoned handlers");
    }

    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::SeqCst)
    }

    pub fn closed_connections(&self) -> usize {
        self.shared.closed_connections.load(Ordering::SeqCst)
    }

    /// TCP connections accepted since the start (open or closed since).
    pub fn accepted_connections(&self) -> usize {
        self.shared.accepted_connections.load(Ordering::SeqCst)
    }

    /// Waits until `condition` holds (re-checked whenever a request arrives or a
    /// connection closes); fails the test after `timeout`.
    pub fn wait_until(&self, timeout: Duration, condition: impl Fn() -> bool, what: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            if condition() {
                return;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "fake provider: waited {timeout:?} for {what}"
            );
            let schedule = self.shared.schedule.lock().unwrap();
            // The condition may have changed between the check and the lock: wake
            // up now and then regardless.
            let _ = self
                .shared
                .changed
                .wait_timeout(schedule, (deadline - now).min(Duration::from_millis(20)))
                .unwrap();
        }
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Connection counting

struct CountingListener {
    inner: tokio::net::TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for CountingListener {
    type Io = CountedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    self.shared.open_connections.fetch_add(1, Ordering::SeqCst);
                    self.shared
                        .accepted_connections
                        .fetch_add(1, Ordering::SeqCst);
                    return (
                        CountedStream {
                            inner: stream,
                            shared: self.shared.clone(),
                        },
                        addr,
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

struct CountedStream {
    inner: tokio::net::TcpStream,
    shared: Arc<Shared>,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.shared.open_connections.fetch_sub(1, Ordering::SeqCst);
        self.shared
            .closed_connections
            .fetch_add(1, Ordering::SeqCst);
        self.shared.changed.notify_all();
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------
// HTTPS

/// A CA made at test time and the server configuration for a certificate it signed for
/// `127.0.0.1` and `localhost`, offering `alpn` (most preferred first).
struct TestTls {
    ca_pem: String,
    server: Arc<tokio_rustls::rustls::ServerConfig>,
}

impl TestTls {
    fn generate(alpn: &[&[u8]]) -> TestTls {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "switchboard test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let server_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("server params");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut server = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)
        .expect("server TLS config");
        // axum's server reads which protocol the client speaks from its first bytes; ALPN
        // is what tells the client it may speak h2.
        server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TestTls {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}

/// Accepts TCP connections (counted) and completes each TLS handshake before handing
/// the stream to axum; a client that refuses the certificate is simply not served.
struct TlsListener {
    inner: CountingListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<CountedStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = self.inner.accept().await;
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(5), handshake).await {
                return (stream, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Counts a handler as abandoned unless it is disarmed when its answer is complete.
struct AbandonGuard {
    shared: Arc<Shared>,
    armed: bool,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.armed {
            self.shared.abandoned.fetch_add(1, Ordering::SeqCst);
            self.shared.changed.notify_all();
        }
    }
}

// ---------------------------------------------------------------------------
// Dialects

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Anthropic,
    OpenAiChat,
    OpenAiCompletions,
    Codestral,
    Gemini,
    Ollama,
}

fn dialect_of(path: &str) -> Option<Dialect> {
    let path = path.split('?').next().unwrap_or(path);
    if path.ends_with("/v1/messages") {
        Some(Dialect::Anthropic)
    } else if path.ends_with("/chat/completions") {
        Some(Dialect::OpenAiChat)
    } else if path.ends_with("/fim/completions") {
        Some(Dialect::Codestral)
    } else if path.ends_with("/completions") {
        Some(Dialect::OpenAiCompletions)
    } else if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
        Some(Dialect::Gemini)
    } else if path.ends_with("/api/generate") {
        Some(Dialect::Ollama)
    } else {
        None
    }
}

fn wants_stream(dialect: Dialect, path: &str, body: &Value) -> bool {
    match dialect {
        Dialect::Gemini => path.contains(":streamGenerateContent"),
        // Ollama streams unless told not to.
        Dialect::Ollama => body.get("stream").and_then(Value::as_bool).unwrap_or(true),
        _ => body.get("stream").and_then(Value::as_bool).unwrap_or(false),
    }
}

/// Splits text into small pieces, the way models stream.
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' || c == '\n' || current.chars().count() >= 4 {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn whole_body(dialect: Dialect, model: &str, text: &str) -> Value {
    match dialect {
        Dialect::Anthropic => json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5}
        }),
        Dialect::OpenAiChat | Dialect::Codestral => json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }),
        Dialect::OpenAiCompletions => json!({
            "id": "cmpl-fake", "object": "text_completion", "created": 1700000000, "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }),
        Dialect::Gemini => json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": model
        }),
        Dialect::Ollama => json!({
            "model": model, "created_at": "2024-08-01T00:00:00Z", "response": text, "done": true,
            "done_reason": "stop", "total_duration": 1000000, "eval_count": 5
        }),
    }
}

/// The stream events for `pieces`, each one framed and ready to send.
fn stream_frames(dialect: Dialect, model: &str, pieces: &[String]) -> (Vec<String>, String) {
    let data = |v: Value| format!("data: {v}\n\n");
    match dialect {
        Dialect::Anthropic => {
            let mut frames = vec![
                format!(
                    "event: message_start\ndata: {}\n\n",
                    json!({"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant","model":model,"content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}})
                ),
                format!(
                    "event: content_block_start\ndata: {}\n\n",
                    json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})
                ),
                "event: ping\ndata: {\"type\": \"ping\"}\n\n".to_string(),
            ];
            for p in pieces {
                frames.push(format!("event: content_block_delta\ndata: {}\n\n", json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":p}})));
            }
            frames.push("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".to_string());
            frames.push(format!("event: message_delta\ndata: {}\n\n", json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}})));
            (
                frames,
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string(),
            )
        }
        Dialect::OpenAiChat | Dialect::Codestral => {
            let mut frames = vec![data(
                json!({"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":model,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}),
            )];
            for p in pieces {
                frames.push(data(json!({"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":model,"choices":[{"index":0,"delta":{"content":p},"finish_reason":null}]})));
            }
            frames.push(data(json!({"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":model,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})));
            (frames, "data: [DONE]\n\n".to_string())
        }
        Dialect::OpenAiCompletions => {
            let mut frames: Vec<String> = pieces
                .iter()
                .map(|p| data(json!({"id":"cmpl-fake","object":"text_completion","created":1700000000,"model":model,"choices":[{"text":p,"index":0,"logprobs":null,"finish_reason":null}]})))
                .collect();
            frames.push(data(json!({"id":"cmpl-fake","object":"text_completion","created":1700000000,"model":model,"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]})));
            (frames, "data: [DONE]\n\n".to_string())
        }
        Dialect::Gemini => {
            // Gemini frames events with CRLF and has no terminator: the last chunk
            // carries finishReason.
            let mut frames = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                let mut candidate =
                    json!({"content":{"parts":[{"text":p}],"role":"model"},"index":0});
                if i + 1 == pieces.len() {
                    candidate["finishReason"] = json!("STOP");
                }
                frames.push(format!("data: {}\r\n\r\n", json!({"candidates":[candidate],"usageMetadata":{"promptTokenCount":10},"modelVersion":model})));
            }
            if pieces.is_empty() {
                frames.push(format!("data: {}\r\n\r\n", json!({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}]})));
            }
            (frames, String::new())
        }
        Dialect::Ollama => {
            let frames = pieces
                .iter()
                .map(|p| format!("{}\n", json!({"model":model,"created_at":"2024-08-01T00:00:00Z","response":p,"done":false})))
                .collect();
            (
                frames,
                format!(
                    "{}\n",
                    json!({"model":model,"created_at":"2024-08-01T00:00:00Z","response":"","done":true,"done_reason":"stop","total_duration":1000000,"eval_count":5})
                ),
            )
        }
    }
}

fn in_stream_error(dialect: Dialect) -> String {
    match dialect {
        Dialect::Anthropic => "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".to_string(),
        Dialect::Gemini => "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n".to_string(),
        Dialect::Ollama => "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n".to_string(),
        _ => "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\ndata: [DONE]\n\n".to_string(),
    }
}

fn default_error(
    dialect: Dialect,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
) -> Value {
    let (anthropic_type, default_message) = match status {
        400 => ("invalid_request_error", "Invalid request"),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => ("not_found_error", "model: fake-model"),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "Internal server error"),
    };
    let message = message.unwrap_or(default_message);
    match dialect {
        Dialect::Anthropic => {
            json!({"type":"error","error":{"type": code.unwrap_or(anthropic_type),"message":message},"request_id":"req_fake"})
        }
        Dialect::Gemini => {
            let status_name = match status {
                400 => "INVALID_ARGUMENT",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                _ => "INTERNAL",
            };
            json!({"error":{"code":status,"message":message,"status": code.unwrap_or(status_name)}})
        }
        Dialect::Ollama => json!({"error": message}),
        Dialect::Codestral if status == 401 => {
            json!({"message":"Unauthorized","request_id":"fake"})
        }
        _ => {
            let openai_code = code.unwrap_or(match status {
                401 => "invalid_api_key",
                429 => "rate_limit_exceeded",
                _ => "server_error",
            });
            json!({"error":{"message":message,"type":openai_code,"param":null,"code":openai_code}})
        }
    }
}

// ---------------------------------------------------------------------------
// Handler

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().to_string();
    let version = request.version();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).to_string(),
            )
        })
        .collect();
    let bytes = axum::body::to_bytes(request.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).to_string()));

    if let Some(control) = path.strip_prefix("/_control/") {
        return control_api(&shared, control, body);
    }
    shared.schedule.lock().unwrap().arrivals.push(Arrival {
        method: method.clone(),
        path: path.clone(),
        version,
    });
    shared.changed.notify_all();
    if path.ends_with("/api/v2/summary.json") {
        let page = {
            let mut schedule = shared.schedule.lock().unwrap();
            schedule.requests.push(Recorded {
                method,
                path,
                headers,
                body,
            });
            schedule.status_page.clone()
        };
        shared.changed.notify_all();
        return match page {
            Some(page) => json_response(StatusCode::OK, &page),
            None => json_response(StatusCode::NOT_FOUND, &json!({"error": "no status page"})),
        };
    }

    let Some(dialect) = dialect_of(&path) else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("fake provider: no route for {path}")}),
        );
    };
    let stream = wants_stream(dialect, &path, &body);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model")
        .to_string();
    let reply = {
        let mut schedule = shared.schedule.lock().unwrap();
        schedule.requests.push(Recorded {
            method,
            path,
            headers,
            body,
        });
        let reply = schedule.queue.pop_front();
        let n = schedule.requests.len() as u64;
        reply
            .or_else(|| schedule.default.clone())
            .unwrap_or_else(|| Reply::ok(""))
            .resolve(n)
    };
    shared.changed.notify_all();

    let mut guard = AbandonGuard {
        shared: shared.clone(),
        armed: true,
    };
    let _ = shared.held.subscribe().wait_for(|held| !held).await;
    match reply {
        // Resolved when the request arrived.
        Reply::Mix { .. } => {
            guard.armed = false;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            guard.armed = false;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Reply::Ok {
            text,
            delay_ms,
            chunk_delay_ms,
        } => {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            if !stream {
                guard.armed = false;
                return json_response(StatusCode::OK, &whole_body(dialect, &model, &text));
            }
            let (frames, terminator) = stream_frames(dialect, &model, &pieces(&text));
            let mut all = frames;
            if !terminator.is_empty() {
                all.push(terminator);
            }
            stream_response(
                dialect,
                all,
                Duration::from_millis(chunk_delay_ms),
                None,
                guard,
            )
        }
        Reply::Error {
            status,
            code,
            message,
            headers,
            body,
        } => {
            guard.armed = false;
            let status_code =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = body.unwrap_or_else(|| {
                default_error(dialect, status, code.as_deref(), message.as_deref()).to_string()
            });
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status_code;
            let content_type = if stream && dialect == Dialect::Gemini {
                // Gemini answers a failed alt=sse request with a JSON body under an SSE type.
                "text/event-stream"
            } else {
                "application/json"
            };
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    axum::http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Reply::Malformed => {
            guard.armed = false;
            let mut response = Response::new(Body::from(if stream {
                "data: {\"choices\": [{\"text\": \"unterminated\n\n".to_string()
            } else {
                "{\"unexpected\": true, \"choices\": \"nope\"".to_string()
            }));
            response.headers_mut().insert(
                "content-type",
                HeaderValue::from_static(if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }),
            );
            response
        }
        Reply::MidStreamError { text } => {
            let (mut frames, _) = stream_frames(dialect, &model, &pieces(&text));
            if dialect == Dialect::Gemini {
                // Keep finishReason off: the error is what ends this stream.
                frames = pieces(&text)
                    .iter()
                    .map(|p| format!("data: {}\r\n\r\n", json!({"candidates":[{"content":{"parts":[{"text":p}],"role":"model"},"index":0}]})))
                    .collect();
            }
            frames.push(in_stream_error(dialect));
            if !stream {
                // Without a stream there is nowhere to put the error: a truncated body.
                guard.armed = false;
                let whole = whole_body(dialect, &model, &text).to_string();
                return Response::new(Body::from(whole[..whole.len() / 2].to_string()));
            }
            stream_response(dialect, frames, Duration::ZERO, None, guard)
        }
        Reply::Drop => {
            let (frames, _) = stream_frames(dialect, &model, &pieces("partial answer that never"));
            stream_response(dialect, frames, Duration::ZERO, Some(()), guard)
        }
    }
}

fn stream_response(
    dialect: Dialect,
    frames: Vec<String>,
    pause: Duration,
    fail_at_end: Option<()>,
    guard: AbandonGuard,
) -> Response {
    let state = (frames.into_iter(), Some(guard), fail_at_end);
    let stream =
        futures_util::stream::unfold(state, move |(mut frames, mut guard, fail)| async move {
            match frames.next() {
                Some(frame) => {
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    Some((
                        Ok::<Bytes, std::io::Error>(Bytes::from(frame)),
                        (frames, guard, fail),
                    ))
                }
                None => {
                    if let Some(mut g) = guard.take() {
                        g.armed = false;
                    }
                    if fail.is_some() {
                        Some((
                            Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "fake drop",
                            )),
                            (frames, None, None),
                        ))
                    } else {
                        None
                    }
                }
            }
        });
    let mut response = Response::new(Body::from_stream(stream));
    let content_type = if dialect == Dialect::Ollama {
        "application/x-ndjson"
    } else {
        "text/event-stream"
    };
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn control_api(shared: &Shared, action: &str, body: Value) -> Response {
    let parse = |body: Value| serde_json::from_value::<Reply>(body);
    let mut schedule = shared.schedule.lock().unwrap();
    let result = match action {
        "push" => parse(body).map(|r| schedule.queue.push_back(r)),
        "default" => parse(body).map(|r| schedule.default = Some(r)),
        "reset" => {
            *schedule = Schedule::default();
            Ok(())
        }
        "status_page" => {
            schedule.status_page = Some(body).filter(|b| !b.is_null());
            Ok(())
        }
        "requests" => {
            let requests = serde_json::to_value(&schedule.requests).unwrap_or(Value::Null);
            return json_response(StatusCode::OK, &requests);
        }
        other => {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": format!("unknown control action {other}")}),
            );
        }
    };
    match result {
        Ok(()) => json_response(StatusCode::OK, &json!({"ok": true})),
        Err(err) => json_response(StatusCode::BAD_REQUEST, &json!({"error": err.to_string()})),
    }
}

#[allow(unused)]
fn unused(_: HeaderMap, _: Infallible) {}
