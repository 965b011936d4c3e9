//! Drives the built `switchboard-ls` binary over stdio, the way an editor does.
//!
//! A reader thread decodes `Content-Length` framed messages from the server's stdout;
//! requests from the server (`window/showDocument`, …) are answered automatically and
//! recorded. Every wait has a timeout and fails the test with what was seen.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const TIMEOUT: Duration = Duration::from_secs(15);

/// A hermetic environment for one server: its own config and cache dirs, no API keys
/// from the developer's shell.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_path_buf();
        let vars = vec![
            ("HOME".into(), home.display().to_string()),
            (
                "XDG_CONFIG_HOME".into(),
                home.join("config").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".into(),
                home.join("cache").display().to_string(),
            ),
            (
                "SWITCHBOARD_CONFIG".into(),
                home.join("config.toml").display().to_string(),
            ),
            ("SWITCHBOARD_LOG".into(), "switchboard_ls=debug".into()),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ];
        TestEnv { dir, vars }
    }

    pub fn with(mut self, key: &str, value: &str) -> TestEnv {
        self.set(key, value);
        self
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value.to_string()));
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the user config file (`$SWITCHBOARD_CONFIG`).
    pub fn write_user_config(&self, toml: &str) {
        std::fs::write(self.dir.path().join("config.toml"), toml).expect("write config");
    }

    /// A command for the binary with exactly this environment.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard-ls"));
        command.env_clear();
        for (k, v) in &self.vars {
            command.env(k, v);
        }
        command
    }
}

enum Incoming {
    Message(Value),
    Closed,
}

pub struct LspClient {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Incoming>,
    /// Messages received but not yet claimed by a wait.
    backlog: VecDeque<Value>,
    /// Every notification and server request seen, in order.
    pub seen: Vec<Value>,
    next_id: i64,
    /// What the server wrote to stderr, and a signal for each new chunk of it.
    stderr: Arc<(Mutex<Vec<u8>>, Condvar)>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    closed: bool,
}

impl LspClient {
    pub fn spawn(env: &TestEnv) -> LspClient {
        let mut child = env
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard-ls");
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let stdin = child.stdin.take().expect("stdin");
        let (tx, rx) = channel();
        std::thread::spawn(move || read_messages(stdout, tx));
        let stderr = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0.lock().unwrap().extend_from_slice(&buf[..n]);
                sink.1.notify_all();
            }
        });
        LspClient {
            child,
            stdin: Some(stdin),
            incoming: rx,
            backlog: VecDeque::new(),
            seen: Vec::new(),
            next_id: 1,
            stderr,
            stderr_reader: Some(stderr_reader),
            closed: false,
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.0.lock().unwrap()).to_string()
    }

    /// Waits (10 s at most) until the server's stderr, read on another thread, contains
    /// `needle`; its stderr so far either way.
    pub fn wait_stderr(&self, needle: &str) -> String {
        let (text, written) = &*self.stderr;
        let (text, _) = written
            .wait_timeout_while(text.lock().unwrap(), Duration::from_secs(10), |text| {
                !String::from_utf8_lossy(text).contains(needle)
            })
            .unwrap();
        String::from_utf8_lossy(&text).to_string()
    }

    pub fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to server");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its id without waiting.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// The whole response message (`result` or `error`) for request `id`.
    pub fn wait_response(&mut self, id: i64) -> Value {
        self.wait_message(
            |m| m.get("id") == Some(&json!(id)) && m.get("method").is_none(),
            TIMEOUT,
            &format!("the response to request {id}"),
        )
    }

    /// Sends a request and returns its `result`, failing on an error response.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        let response = self.wait_response(id);
        if let Some(error) = response.get("error") {
            panic!("{method} failed: {error}\nstderr:\n{}", self.stderr());
        }
        response["result"].clone()
    }

    /// Waits for a notification `method` whose params satisfy `matches`.
    pub fn wait_notification(&mut self, method: &str, matches: impl Fn(&Value) -> bool) -> Value {
        self.wait_notification_for(method, matches, TIMEOUT)
    }

    pub fn wait_notification_for(
        &mut self,
        method: &str,
        matches: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Value {
        let message = self.wait_message(
            |m| {
                m.get("method") == Some(&json!(method))
                    && m.get("id").is_none()
                    && matches(&m["params"])
            },
            timeout,
            &format!("a {method} notification"),
        );
        message["params"].clone()
    }

    /// Notifications of `method` seen so far (claimed or not).
    pub fn notifications(&mut self, method: &str) -> Vec<Value> {
        self.drain();
        self.seen
            .iter()
            .filter(|m| m.get("method") == Some(&json!(method)) && m.get("id").is_none())
            .map(|m| m["params"].clone())
            .collect()
    }

    /// Responses received so far that no wait has claimed (e.g. errors with a null id).
    pub fn seen_responses(&mut self) -> Vec<Value> {
        self.drain();
        self.backlog
            .iter()
            .filter(|m| m.get("method").is_none())
            .cloned()
            .collect()
    }

    fn drain(&mut self) {
        while let Ok(incoming) = self.incoming.try_recv() {
            self.accept(incoming);
        }
    }

    fn accept(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Closed => self.closed = true,
            Incoming::Message(message) => {
                if message.get("method").is_some() {
                    self.seen.push(message.clone());
                    if let Some(id) = message.get("id").cloned() {
                        let result = match message["method"].as_str() {
                            Some("window/showDocument") => json!({"success": true}),
                            Some("workspace/configuration") => json!([null]),
                            _ => Value::Null,
                        };
                        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
                    }
                }
                self.backlog.push_back(message);
            }
        }
    }

    fn wait_message(
        &mut self,
        matches: impl Fn(&Value) -> bool,
        timeout: Duration,
        what: &str,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            if let Some(at) = self.backlog.iter().position(&matches) {
                return self.backlog.remove(at).expect("present");
            }
            if self.closed {
                panic!(
                    "server closed stdout while waiting for {what}\nstderr:\n{}",
                    self.stderr()
                );
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\nunclaimed: {:?}\nstderr:\n{}",
                    self.backlog,
                    self.stderr()
                );
            }
            match self.incoming.recv_timeout(deadline - now) {
                Ok(incoming) => self.accept(incoming),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
            }
        }
    }

    /// `initialize` with common client capabilities and `options` as
    /// `initializationOptions`, then `initialized`. Returns the initialize result.
    pub fn initialize(&mut self, options: Value) -> Value {
        self.initialize_with(json!({
            "processId": null,
            "rootUri": null,
            "capabilities": {
                "textDocument": {
                    "completion": {"completionItem": {"snippetSupport": false}},
                    "inlineCompletion": {"dynamicRegistration": false}
                },
                "window": {"showDocument": {"support": true}}
            },
            "initializationOptions": options,
        }))
    }

    pub fn initialize_with(&mut self, params: Value) -> Value {
        let result = self.request("initialize", params);
        self.notify("initialized", json!({}));
        result
    }

    pub fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        );
    }

    pub fn inline_completion(&mut self, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/inlineCompletion",
            json!({
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 2}
            }),
        )
    }

    pub fn completion(&mut self, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/completion",
            json!({
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1}
            }),
        )
    }

    /// `shutdown`, `exit`, and the process's exit status.
    pub fn shutdown(mut self) -> ExitStatus {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.stdin.take();
        // The process closes its stdout when it ends: wait for that, then reap it.
        let deadline = Instant::now() + TIMEOUT;
        while !self.closed {
            let now = Instant::now();
            assert!(now < deadline, "server did not exit after exit");
            match self.incoming.recv_timeout(deadline - now) {
                Ok(incoming) => self.accept(incoming),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
            }
        }
        self.child.wait().expect("wait for the server")
    }

    /// Closes the server's stdin without `shutdown` or `exit` (an editor that crashed)
    /// and waits for the process to end.
    pub fn hang_up(mut self) -> ExitStatus {
        self.stdin.take();
        let deadline = Instant::now() + TIMEOUT;
        while !self.closed {
            let now = Instant::now();
            assert!(now < deadline, "server did not exit when its stdin closed");
            match self.incoming.recv_timeout(deadline - now) {
                Ok(incoming) => self.accept(incoming),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
            }
        }
        self.child.wait().expect("wait for the server")
    }

    /// `shutdown` and `exit`, then everything the server wrote to stderr, to its end.
    pub fn shutdown_with_stderr(mut self) -> (ExitStatus, String) {
        let reader = self.stderr_reader.take();
        let stderr = self.stderr.clone();
        let status = self.shutdown();
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        let text = String::from_utf8_lossy(&stderr.0.lock().unwrap()).to_string();
        (status, text)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().map(|s| s.is_none()).unwrap_or(false)
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_messages(stdout: impl Read, tx: Sender<Incoming>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Incoming::Closed);
                    return;
                }
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else {
            let _ = tx.send(Incoming::Closed);
            return;
        };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            let _ = tx.send(Incoming::Closed);
            return;
        }
        match serde_json::from_slice(&body) {
            Ok(message) => {
                if tx.send(Incoming::Message(message)).is_err() {
                    return;
                }
            }
            Err(err) => panic!("server wrote invalid JSON on stdout: {err}"),
        }
    }
}

/// A `file://` URI for a path.
pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Where a text's `|` marker is, as (line, UTF-16 column), and the text without it.
pub fn cursor_at_marker(text_with_marker: &str) -> (String, u32, u32) {
    let at = text_with_marker.find('|').expect("marker");
    let before = &text_with_marker[..at];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].encode_utf16().count() as u32;
    (text_with_marker.replacen('|', "", 1), line, col)
}

pub fn temp_path(env: &TestEnv, name: &str) -> PathBuf {
    env.path().join(name)
}
