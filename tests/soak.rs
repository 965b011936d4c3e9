//! Soak under faults (issue #9): the real binary over stdio, a chain of three fake
//! providers (three dialects) whose replies flip at random between ok, 529, 429 with
//! a retry hint, hang, mid-stream error, dropped connection and malformed body.
//!
//! Checked: every request is answered (never with an error), the server's RSS stays
//! flat after warm-up, every hung upstream handler is let go and the fakes' open
//! connections come back down, and the health board ends consistent.
//!
//! `soak_short` runs in the normal suite (300 requests). The long run is
//! `SWITCHBOARD_SOAK_REQUESTS=20000 cargo test --release --test soak -- --ignored --nocapture`.
//!
//! The client here is a small one of its own (not `LspClient`): it needs the child's
//! pid for `/proc/PID/status`, and it must not keep every notification of a run of
//! twenty thousand requests.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::TestEnv;

/// Completions kept in flight at once, each on its own document.
const IN_FLIGHT: usize = 8;
/// How long one request may take before it counts as unanswered (its deadline is 400 ms).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// A seeded PRNG (xorshift64*), so a failing schedule can be replayed.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Ok,
    Overloaded,
    RateLimited,
    Hang,
    MidStream,
    Drop,
    Malformed,
}

fn random_reply(rng: &mut Rng) -> (Fault, Reply) {
    match rng.below(14) {
        0..=6 => (
            Fault::Ok,
            Reply::delayed("soak_answer()", Duration::from_millis(rng.below(40))),
        ),
        7 => (Fault::Overloaded, Reply::status(529)),
        8 => {
            let hint = if rng.below(2) == 0 {
                ("retry-after-ms", "150")
            } else {
                ("retry-after", "1")
            };
            (
                Fault::RateLimited,
                Reply::status_with(429, "rate_limit_exceeded", &[hint]),
            )
        }
        9 => (Fault::Hang, Reply::Hang),
        10 => (
            Fault::MidStream,
            Reply::MidStreamError {
                text: "half an ans".into(),
            },
        ),
        11 => (Fault::Drop, Reply::Drop),
        12 => (Fault::Malformed, Reply::Malformed),
        _ => (
            Fault::Ok,
            Reply::Ok {
                text: "streamed slowly".into(),
                delay_ms: 0,
                chunk_delay_ms: 5,
            },
        ),
    }
}

/// One fake and the schedule queued on it, in order.
struct Upstream {
    name: &'static str,
    fake: FakeProvider,
    schedule: Vec<Fault>,
}

impl Upstream {
    /// The faults of the replies the fake has used so far (queue first, then the ok default).
    fn served(&self) -> BTreeMap<Fault, usize> {
        let used = self.fake.completion_requests().len();
        let mut counts = BTreeMap::new();
        for i in 0..used {
            let fault = self.schedule.get(i).copied().unwrap_or(Fault::Ok);
            *counts.entry(fault).or_insert(0) += 1;
        }
        counts
    }
}

// ---------------------------------------------------------------------------
// A minimal LSP client that keeps counts, not transcripts.

struct Server {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Option<Value>>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
    next_id: i64,
    /// Responses received and not yet claimed.
    responses: HashMap<i64, Value>,
    notifications: BTreeMap<String, usize>,
    closed: bool,
}

impl Server {
    fn spawn(env: &TestEnv) -> Server {
        let mut child = env
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard-ls");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let stdin = child.stdin.take().expect("stdin");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_frame(&mut reader) {
                if tx.send(Some(message)).is_err() {
                    return;
                }
            }
            let _ = tx.send(None);
        });
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr_tail.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut tail = sink.lock().unwrap();
                tail.extend_from_slice(&buf[..n]);
                let excess = tail.len().saturating_sub(64 << 10);
                tail.drain(..excess);
            }
        });
        Server {
            child,
            stdin,
            incoming,
            stderr_tail,
            next_id: 1,
            responses: HashMap::new(),
            notifications: BTreeMap::new(),
            closed: false,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_tail(&self) -> String {
        String::from_utf8_lossy(&self.stderr_tail.lock().unwrap()).to_string()
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    fn accept(&mut self, message: Value) {
        match (message.get("method"), message.get("id")) {
            (Some(method), Some(id)) => {
                // A request from the server: answer it so it never waits on us.
                let result = match method.as_str() {
                    Some("workspace/configuration") => json!([null]),
                    Some("window/showDocument") => json!({"success": true}),
                    _ => Value::Null,
                };
                let id = id.clone();
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
            }
            (Some(method), None) => {
                let method = method.as_str().unwrap_or("?").to_string();
                *self.notifications.entry(method).or_insert(0) += 1;
            }
            (None, Some(id)) => {
                if let Some(id) = id.as_i64() {
                    self.responses.insert(id, message);
                }
            }
            (None, None) => {}
        }
    }

    /// The response to `id`, or `None` after `timeout`.
    fn wait_response(&mut self, id: i64, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(response) = self.responses.remove(&id) {
                return Some(response);
            }
            if self.closed {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            match self.incoming.recv_timeout(deadline - now) {
                Ok(Some(message)) => self.accept(message),
                Ok(None) | Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        let response = self
            .wait_response(id, ANSWER_TIMEOUT)
            .unwrap_or_else(|| panic!("no answer to {method}\n{}", self.stderr_tail()));
        assert!(
            response.get("error").is_none(),
            "{method}: {response}\n{}",
            self.stderr_tail()
        );
        response["result"].clone()
    }

    /// VmRSS of the server, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    fn shutdown(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        // The process closes its stdout when it ends: wait for that, then reap it.
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        while !self.closed {
            let now = Instant::now();
            assert!(now < deadline, "server did not exit after exit");
            match self.incoming.recv_timeout(deadline - now) {
                Ok(Some(message)) => self.accept(message),
                Ok(None) | Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("server wrote invalid JSON on stdout"))
}

// ---------------------------------------------------------------------------
// The soak

struct Figures {
    requests: usize,
    answered: usize,
    unanswered: Vec<i64>,
    error_answers: usize,
    from_provider: BTreeMap<String, usize>,
    faults: BTreeMap<Fault, usize>,
    upstream_requests: usize,
    rss_warm_kib: u64,
    rss_end_kib: u64,
    rss_peak_kib: u64,
    elapsed: Duration,
}

fn provider(name: &str, kind: &str, fake: &FakeProvider) -> Value {
    let base = match kind {
        "openai-fim" => format!("{}/v1", fake.url()),
        _ => fake.url().to_string(),
    };
    json!({"name": name, "kind": kind, "model": "m", "base_url": base, "timeout_ms": 200})
}

fn document_text(i: usize) -> (String, u32, u32) {
    // Unique per request, so no two requests share a context (no coalescing, no cache).
    let text = format!(
        "fn handler_{i}(input: &str) -> usize {{\n    let total_{i} = input.len() * {i};\n    let again_{i} = input.l"
    );
    let last = text.lines().last().unwrap_or("");
    (text.clone(), 2, last.encode_utf16().count() as u32)
}

fn soak(requests: usize, seed: u64) -> Figures {
    let mut rng = Rng::new(seed);
    let kinds = [("a", "openai-fim"), ("b", "anthropic"), ("c", "ollama")];
    let upstreams: Vec<Upstream> = kinds
        .iter()
        .map(|(name, _)| {
            let fake = FakeProvider::start();
            // Retries and hedges take more replies than there are requests.
            let schedule: Vec<Fault> = (0..requests * 2)
                .map(|_| {
                    let (fault, reply) = random_reply(&mut rng);
                    fake.push(reply);
                    fault
                })
                .collect();
            fake.set_default(Reply::ok("soak_default()"));
            Upstream {
                name,
                fake,
                schedule,
            }
        })
        .collect();

    let env = TestEnv::new()
        .with("SWITCHBOARD_LOG", "switchboard_ls=warn")
        .with("ANTHROPIC_API_KEY", "soak-key");
    let mut server = Server::spawn(&env);
    let providers: Vec<Value> = kinds
        .iter()
        .zip(&upstreams)
        .map(|((name, kind), up)| provider(name, kind, &up.fake))
        .collect();
    server.request(
        "initialize",
        json!({
            "processId": null, "rootUri": null, "capabilities": {},
            "initializationOptions": {
                "provider": providers,
                "routing": {"hedge_ms": 50, "breaker_cooldown_ms": 100, "retries": 1, "status_poll_secs": 0},
                "completion": {"deadline_ms": 400},
                "cache": {"ttl_secs": 0, "path": "off"},
            },
        }),
    );
    server.notify("initialized", json!({}));
    let uris: Vec<String> = (0..IN_FLIGHT)
        .map(|k| format!("file:///soak/src/doc_{k}.rs"))
        .collect();
    for uri in &uris {
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": ""}}),
        );
    }

    let started = Instant::now();
    let warm_up = (requests / 10).max(20).min(requests);
    let mut figures = Figures {
        requests,
        answered: 0,
        unanswered: Vec::new(),
        error_answers: 0,
        from_provider: BTreeMap::new(),
        faults: BTreeMap::new(),
        upstream_requests: 0,
        rss_warm_kib: 0,
        rss_end_kib: 0,
        rss_peak_kib: 0,
        elapsed: Duration::ZERO,
    };
    let mut pending: Vec<Option<i64>> = vec![None; IN_FLIGHT];
    let collect = |server: &mut Server, figures: &mut Figures, id: i64| match server
        .wait_response(id, ANSWER_TIMEOUT)
    {
        None => figures.unanswered.push(id),
        Some(response) => {
            figures.answered += 1;
            if response.get("error").is_some() {
                figures.error_answers += 1;
            }
            let result = &response["result"];
            let provider = result["items"][0]["data"]["provider"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    if result["items"].as_array().is_some_and(|i| i.is_empty()) {
                        "(nothing)".into()
                    } else {
                        "(inline)".into()
                    }
                });
            *figures.from_provider.entry(provider).or_insert(0) += 1;
        }
    };
    for i in 0..requests {
        let slot = i % IN_FLIGHT;
        if let Some(id) = pending[slot].take() {
            collect(&mut server, &mut figures, id);
        }
        if i == warm_up {
            figures.rss_warm_kib = server.rss_kib();
        }
        if i % 100 == 0 {
            figures.rss_peak_kib = figures.rss_peak_kib.max(server.rss_kib());
        }
        let (text, line, col) = document_text(i);
        server.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uris[slot], "version": i + 2},
                "contentChanges": [{"text": text}],
            }),
        );
        let method = if i % 3 == 0 {
            "textDocument/inlineCompletion"
        } else {
            "textDocument/completion"
        };
        let id = server.send_request(
            method,
            json!({
                "textDocument": {"uri": uris[slot]},
                "position": {"line": line, "character": col},
                "context": {"triggerKind": if i % 3 == 0 { 2 } else { 1 }},
            }),
        );
        pending[slot] = Some(id);
    }
    for id in pending.iter_mut().filter_map(Option::take) {
        collect(&mut server, &mut figures, id);
    }
    figures.elapsed = started.elapsed();
    figures.rss_end_kib = server.rss_kib();
    figures.rss_peak_kib = figures.rss_peak_kib.max(figures.rss_end_kib);

    // Quiet: every hung handler is let go and the connections come back down to the
    // idle pool (at most one per request that was ever in flight at once, twice for
    // hedges).
    for up in &upstreams {
        let served = up.served();
        figures.upstream_requests += served.values().sum::<usize>();
        for (fault, n) in &served {
            *figures.faults.entry(*fault).or_insert(0) += n;
        }
        let hangs = served.get(&Fault::Hang).copied().unwrap_or(0);
        up.fake.wait_until(
            SETTLE_TIMEOUT,
            || up.fake.abandoned() >= hangs,
            &format!("{}: all {hangs} hung handlers abandoned", up.name),
        );
        up.fake.wait_until(
            SETTLE_TIMEOUT,
            || up.fake.open_connections() <= 2 * IN_FLIGHT + 2,
            &format!(
                "{}: open connections back down (now {})",
                up.name,
                up.fake.open_connections()
            ),
        );
    }

    // The health board ends consistent: every provider, each in a valid state.
    let status = server.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    );
    let providers = status["providers"].as_array().expect("providers");
    let names: Vec<&str> = providers
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["a", "b", "c", "local"], "{status}");
    for p in providers {
        let state = p["state"].as_str().unwrap_or("");
        assert!(
            ["healthy", "degraded", "down"].contains(&state),
            "no fault here disables a provider: {p}"
        );
    }
    assert!(
        names.contains(&status["serving"].as_str().unwrap_or("?")),
        "{status}"
    );
    server.shutdown();
    figures
}

fn report(figures: &Figures) {
    eprintln!(
        "soak: {} requests in {:.1?}: {} answered, {} unanswered, {} error answers; served by {:?}",
        figures.requests,
        figures.elapsed,
        figures.answered,
        figures.unanswered.len(),
        figures.error_answers,
        figures.from_provider
    );
    eprintln!(
        "soak: {} upstream requests, replies {:?}",
        figures.upstream_requests, figures.faults
    );
    eprintln!(
        "soak: RSS after warm-up {} KiB, at the end {} KiB, peak {} KiB",
        figures.rss_warm_kib, figures.rss_end_kib, figures.rss_peak_kib
    );
}

fn check(figures: &Figures) {
    report(figures);
    assert!(
        figures.unanswered.is_empty(),
        "unanswered: {:?}",
        figures.unanswered
    );
    assert_eq!(figures.answered, figures.requests);
    assert_eq!(
        figures.error_answers, 0,
        "a completion never ends in an error"
    );
    let faults: usize = figures
        .faults
        .iter()
        .filter(|(f, _)| **f != Fault::Ok)
        .map(|(_, n)| n)
        .sum();
    assert!(faults > 0, "the schedule injected no fault");
    // Flat: generous, because the allocator keeps what it once used.
    assert!(
        figures.rss_end_kib <= figures.rss_warm_kib * 3 / 2 + 16 * 1024,
        "RSS grew from {} KiB to {} KiB",
        figures.rss_warm_kib,
        figures.rss_end_kib
    );
}

#[test]
fn soak_short() {
    check(&soak(300, 0x5eed_0009));
}

#[test]
#[ignore = "long: minutes; SWITCHBOARD_SOAK_REQUESTS sets the count (default 20000)"]
fn soak_long() {
    let requests = std::env::var("SWITCHBOARD_SOAK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    check(&soak(requests, 0x5eed_1009));
}

/// Timeouts as large as the config accepts (any u64) must not overflow the deadline
/// arithmetic (`Instant + Duration` panics on overflow).
#[test]
fn huge_timeouts_do_not_crash_the_server() {
    use support::lsp_client::LspClient;
    let fake = FakeProvider::start();
    fake.push(Reply::status(529));
    fake.set_default(Reply::ok("still_here()"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "provider": [{"name": "a", "kind": "openai-fim", "model": "m",
                      "base_url": format!("{}/v1", fake.url()), "timeout_ms": u64::MAX}],
        "routing": {"hedge_ms": u64::MAX, "breaker_cooldown_ms": u64::MAX, "breaker_failures": 1,
                    "retries": 0, "status_poll_secs": u64::MAX},
        "completion": {"deadline_ms": u64::MAX},
        "cache": {"ttl_secs": u64::MAX, "path": "off"},
    }));
    client.open("file:///huge.rs", "rust", "let x = ");
    for _ in 0..3 {
        client.completion("file:///huge.rs", 0, 8);
    }
    assert!(client.is_running(), "{}", client.stderr());
    client.shutdown();
}

/// A provider (or a proxy in front of it) that sends an absurd retry hint: the
/// completion is still answered and the server keeps serving. (`from_http` panics on
/// such a hint, see tests/properties.rs `a_huge_retry_hint_does_not_panic`.)
#[test]
fn a_huge_retry_after_from_a_provider_does_not_break_the_server() {
    use support::lsp_client::LspClient;
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status_with(
        429,
        "rate_limit_exceeded",
        &[("retry-after", "1e20")],
    ));
    b.set_default(Reply::ok("from_b()"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "provider": [provider("a", "openai-fim", &a), provider("b", "openai-fim", &b)],
        "routing": {"retries": 0, "hedge_ms": "off", "status_poll_secs": 0},
        "cache": {"ttl_secs": 0, "path": "off"},
    }));
    for i in 0..3 {
        let uri = format!("file:///retry_{i}.rs");
        client.open(&uri, "rust", &format!("let x_{i} = "));
        let list = client.completion(&uri, 0, 8 + i.to_string().len() as u32);
        assert_eq!(list["items"][0]["data"]["provider"], "b", "{list}");
    }
    assert!(client.is_running(), "{}", client.stderr());
    client.shutdown();
}
