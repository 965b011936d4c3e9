//! A small stdio LSP client for the benchmark: spawns the release binary the way an
//! editor does, frames messages with `Content-Length`, and times each request from
//! just before its frame is written to just after its response frame is read (the
//! reader thread stamps the time before parsing, so handing the response to the
//! waiting thread is not counted).
//!
//! It is `Sync`: several threads may drive one server, each on its own documents (a
//! newer completion for a document supersedes an older one).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The binary under test: `$SWITCHBOARD_LS_BIN`, else the one cargo built for this
/// bench (`target/release/switchboard-ls` under `cargo bench`).
pub fn binary() -> PathBuf {
    std::env::var_os("SWITCHBOARD_LS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_switchboard-ls")))
}

type Pending = Arc<Mutex<HashMap<i64, Sender<(Value, Instant)>>>>;

pub struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    pending: Pending,
    next_id: AtomicI64,
    /// Holds the isolated HOME, config and cache dirs (and stderr.log) until drop.
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with no config but `options` (as `initializationOptions`), no
    /// API keys and its own HOME, config and cache dirs; returns it initialized.
    pub fn start(options: Value) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path();
        let stderr = std::fs::File::create(home.join("stderr.log")).expect("stderr log");
        let mut child = Command::new(binary())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("SWITCHBOARD_CONFIG", home.join("no-such-config.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary().display()));
        let stdout = child.stdout.take().expect("stdout");
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let pending: Pending = Arc::default();
        let (reader_stdin, reader_pending) = (stdin.clone(), pending.clone());
        std::thread::spawn(move || read_messages(stdout, reader_stdin, reader_pending));
        let server = Server {
            child,
            stdin,
            pending,
            next_id: AtomicI64::new(1),
            dir,
        };
        server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {
                    "textDocument": {"completion": {"completionItem": {"snippetSupport": false}}},
                    "window": {"showDocument": {"support": true}}
                },
                "initializationOptions": options,
            }),
        );
        server.notify("initialized", json!({}));
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, message: &Value) -> Instant {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let mut stdin = self.stdin.lock().unwrap();
        let sent = Instant::now();
        stdin.write_all(frame.as_bytes()).expect("write to server");
        stdin.flush().expect("flush");
        sent
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response: the whole response message and the
    /// round trip.
    pub fn request(&self, method: &str, params: Value) -> (Value, Duration) {
        let (response, sent, received) = self.call(method, params);
        (response, received.saturating_duration_since(sent))
    }

    /// Sends a notification, then a request; the response and the time from the
    /// notification's write to the response (an LSP notification has no answer of its
    /// own, so a cheap request after it shows when it was handled).
    pub fn request_after(
        &self,
        note: (&str, Value),
        method: &str,
        params: Value,
    ) -> (Value, Duration) {
        let noted = self.write(&json!({"jsonrpc": "2.0", "method": note.0, "params": note.1}));
        let (response, _, received) = self.call(method, params);
        (response, received.saturating_duration_since(noted))
    }

    fn call(&self, method: &str, params: Value) -> (Value, Instant, Instant) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = channel();
        self.pending.lock().unwrap().insert(id, tx);
        let sent =
            self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let (response, received) = rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            panic!(
                "no response to {method} within {TIMEOUT:?}; server stderr:\n{}",
                self.stderr_tail()
            )
        });
        (response, sent, received)
    }

    pub fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        );
    }

    /// `textDocument/completion`; the `data` of its first item (`Null` when there is
    /// none) and the round trip.
    pub fn completion(&self, uri: &str, line: u32, character: u32) -> (Value, Duration) {
        let (response, took) = self.request(
            "textDocument/completion",
            json!({
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1}
            }),
        );
        if let Some(error) = response.get("error") {
            panic!("completion failed: {error}");
        }
        (response["result"]["items"][0]["data"].clone(), took)
    }

    /// A line of `/proc/PID/status` in kB (`VmHWM` peak RSS, `VmRSS` current).
    pub fn memory_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn stderr_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let mut start = log.len().saturating_sub(4000);
        while !log.is_char_boundary(start) {
            start += 1;
        }
        log[start..].to_string()
    }

    /// `shutdown` then `exit`; waits for the process.
    pub fn shutdown(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_messages(stdout: impl Read, stdin: Arc<Mutex<ChildStdin>>, pending: Pending) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = String::new();
    loop {
        let mut length = None;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let received = Instant::now();
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        match (
            message.get("id").and_then(Value::as_i64),
            message.get("method"),
        ) {
            (Some(id), None) => {
                if let Some(waiter) = pending.lock().unwrap().remove(&id) {
                    let _ = waiter.send((message, received));
                }
            }
            // A request from the server (workspace/configuration, showDocument, …).
            (_, Some(method)) if message.get("id").is_some() => {
                let result = match method.as_str() {
                    Some("workspace/configuration") => json!([null]),
                    Some("window/showDocument") => json!({"success": true}),
                    _ => Value::Null,
                };
                let reply =
                    json!({"jsonrpc": "2.0", "id": message["id"], "result": result}).to_string();
                let frame = format!("Content-Length: {}\r\n\r\n{reply}", reply.len());
                let _ = stdin.lock().unwrap().write_all(frame.as_bytes());
            }
            _ => {}
        }
    }
}
