//! Figure 7, start (DESIGN.md §7): spawn → `initialize` answered, and spawn → the first
//! completion answered from a full cache file (4096 entries), next to the same run's
//! baselines: spawning `/bin/true`, and the binary with `--version` (exec, dynamic
//! linking, argument parsing and the exit: what any process pays before its first line).
//!
//! The cache file is made the way a user's is: a server fills 4096 entries against the
//! fake (each completion at its own line) and writes the file on `shutdown`. Every timed
//! run gets a fresh HOME with a copy of that file, and its first completion asks for one
//! of those contexts: the answer must say `cached: true`, else the run fails. The clock
//! starts just before the spawn and stops when the response frame has been read.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ANSWER, Doc, Run, Table, fim_provider, options, provider_of, verdict};
use crate::fake_provider::{FakeProvider, Reply};
use crate::support::lsp::{Server, binary};
use crate::support::stats::{Samples, fmt, fmt_diff};

/// The default `cache.capacity` (DESIGN.md §3): a full file holds this many entries.
const ENTRIES: usize = 4096;
/// Documents the cache is filled from, and the completions asked in each.
const DOCS: usize = 8;
const PER_DOC: usize = ENTRIES / DOCS;

pub fn start(run: &Run, table: &mut Table) {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok(ANSWER));
    let settings = options(vec![fim_provider("a", &fake)], json!({}));
    let docs: Vec<Doc> = (0..DOCS)
        .map(|d| Doc::new(&format!("start{d}"), PER_DOC + 8))
        .collect();
    let prepared = tempfile::tempdir().expect("tempdir");
    let cache_file = fill_cache(&settings, &docs, prepared.path());

    let n = run.n(100, 5);
    let (mut true_exit, mut version_exit) = (Vec::new(), Vec::new());
    let (mut initialize_cold, mut initialize_full, mut first_completion) =
        (Vec::new(), Vec::new(), Vec::new());
    // Interleaved, so drift in the machine's speed hits every figure alike.
    for i in 0..n {
        true_exit.push(spawn_to_exit(Path::new("/bin/true"), &[]));
        version_exit.push(spawn_to_exit(&binary(), &["--version"]));
        initialize_cold.push(Started::spawn(None).initialize(&settings).1);
        initialize_full.push(Started::spawn(Some(&cache_file)).initialize(&settings).1);
        // A context from every part of the file: the oldest entries as well as the newest.
        let doc = &docs[i % DOCS];
        let line = 1 + (i * 37) % PER_DOC;
        let (data, took) = Started::spawn(Some(&cache_file)).first_completion(&settings, doc, line);
        assert_eq!(
            data["cached"],
            json!(true),
            "the first completion did not hit the cache file: {data}"
        );
        assert_eq!(provider_of(&data), "a", "{data}");
        first_completion.push(took);
    }
    let true_exit = Samples::new(true_exit);
    let version_exit = Samples::new(version_exit);
    table.timed(
        "7. spawn → exit, `/bin/true`",
        &true_exit,
        "—",
        "baseline: any process".into(),
    );
    table.timed(
        "7. spawn → exit, `switchboard-ls --version`",
        &version_exit,
        "—",
        "baseline: this binary's exec, linking, arguments and exit".into(),
    );
    let over_version = |s: &Samples| {
        format!(
            "p50 {} p99 {} over `--version`",
            fmt_diff(s.p50(), version_exit.p50()),
            fmt_diff(s.p99(), version_exit.p99())
        )
    };
    let cold = Samples::new(initialize_cold);
    table.timed(
        "7. spawn → `initialize` answered, no cache file",
        &cold,
        "≤ 20 ms",
        verdict(cold.p50() <= Duration::from_millis(20), over_version(&cold)),
    );
    let full = Samples::new(initialize_full);
    table.timed(
        &format!("7. spawn → `initialize` answered, {ENTRIES}-entry cache file"),
        &full,
        "≤ 20 ms",
        verdict(full.p50() <= Duration::from_millis(20), over_version(&full)),
    );
    let first = Samples::new(first_completion);
    table.timed(
        &format!("7. spawn → first completion answered from a {ENTRIES}-entry cache file"),
        &first,
        "≤ 50 ms",
        verdict(
            first.p50() <= Duration::from_millis(50),
            format!(
                "{}; all {n} answered `cached: true`; file {} KB",
                over_version(&first),
                std::fs::metadata(&cache_file).map_or(0, |m| m.len() / 1024)
            ),
        ),
    );
    println!(
        "   (`--version` p50 {} is {} over `/bin/true`)",
        fmt(version_exit.p50()),
        fmt_diff(version_exit.p50(), true_exit.p50())
    );
}

/// Fills a server's cache with one entry per line of `docs` (a 0 ms fake: each is a
/// miss answered upstream), lets `shutdown` write the file, and keeps a copy in `dir`.
fn fill_cache(settings: &Value, docs: &[Doc], dir: &Path) -> PathBuf {
    let server = Arc::new(Server::start(settings.clone()));
    for doc in docs {
        server.open(&doc.uri, &doc.text);
    }
    std::thread::scope(|scope| {
        for chunk in docs.chunks(DOCS / 4) {
            let server = server.clone();
            scope.spawn(move || {
                for doc in chunk {
                    for line in 1..=PER_DOC {
                        let (l, c) = doc.end_of_line(line);
                        let (data, _) = server.completion(&doc.uri, l, c);
                        assert_eq!(provider_of(&data), "a", "{data}");
                    }
                }
            });
        }
    });
    let server = Arc::into_inner(server).expect("threads done");
    // `shutdown` answers once the cache file is written.
    server.request("shutdown", Value::Null);
    let written = cache_path(server.dir());
    let copy = dir.join(written.file_name().expect("a file name"));
    std::fs::copy(&written, &copy)
        .unwrap_or_else(|e| panic!("no cache file at {}: {e}", written.display()));
    server.notify("exit", Value::Null);
    drop(server);
    let entries = std::fs::read_to_string(&copy)
        .map(|text| text.lines().count().saturating_sub(1))
        .unwrap_or(0);
    assert_eq!(entries, ENTRIES, "the cache file is not full");
    copy
}

/// Where a server started with HOME = `home` keeps its cache (`XDG_CACHE_HOME` is
/// `home/cache`, as `support::lsp::Server` sets it): `completions-vN.jsonl`, N the
/// file format's version.
fn cache_path(home: &Path) -> PathBuf {
    let dir = home.join("cache").join("switchboard");
    let name = format!("completions-v{}.jsonl", switchboard_ls::cache::FILE_VERSION);
    dir.join(name)
}

/// Spawn to exit, output read and thrown away.
fn spawn_to_exit(program: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    let took = started.elapsed();
    assert!(output.status.success(), "{} failed", program.display());
    took
}

/// A server process timed from just before its spawn; the client here is synchronous
/// (one thread writes, then reads), so nothing else runs in the timed region.
struct Started {
    started: Instant,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The run's HOME (its cache dir, and the server's stderr).
    home: tempfile::TempDir,
}

impl Started {
    /// A fresh HOME, with a copy of `cache_file` where the server looks for it; the
    /// copy is made before the clock starts.
    fn spawn(cache_file: Option<&Path>) -> Started {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path();
        if let Some(file) = cache_file {
            let target = cache_path(dir);
            std::fs::create_dir_all(target.parent().expect("cache dir")).expect("cache dir");
            std::fs::copy(file, &target).expect("copy the cache file");
        }
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr log");
        let started = Instant::now();
        let mut child = Command::new(binary())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("SWITCHBOARD_CONFIG", dir.join("no-such-config.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary().display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Started {
            started,
            child,
            stdin,
            stdout,
            home,
        }
    }

    /// `initialize`; the server (initialized) and the time from spawn to its answer.
    fn initialize(mut self, settings: &Value) -> (Started, Duration) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "processId": null,
                "rootUri": null,
                "capabilities": {},
                "initializationOptions": settings,
            }}),
        );
        let response = self.answer(1);
        let took = self.started.elapsed();
        assert!(response.get("result").is_some(), "initialize: {response}");
        (self, took)
    }

    /// `initialize`, `initialized`, `didOpen` of `doc` and a completion at the end of
    /// `line`; its first item's `data` and the time from spawn to its answer.
    fn first_completion(self, settings: &Value, doc: &Doc, line: usize) -> (Value, Duration) {
        let (mut server, _) = self.initialize(settings);
        server.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
        server.send(&json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": doc.uri, "languageId": "rust", "version": 1, "text": doc.text}
        }}));
        let (l, c) = doc.end_of_line(line);
        server.send(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/completion",
            "params": {"textDocument": {"uri": doc.uri}, "position": {"line": l, "character": c},
                       "context": {"triggerKind": 1}}}),
        );
        let response = server.answer(2);
        let took = server.started.elapsed();
        server.close();
        (response["result"]["items"][0]["data"].clone(), took)
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Reads until the response to `id`, answering the server's own requests (e.g.
    /// `workspace/configuration`) on the way.
    fn answer(&mut self, id: i64) -> Value {
        loop {
            let message = self.read().unwrap_or_else(|| {
                panic!(
                    "the server ended before answering request {id}; stderr:\n{}",
                    std::fs::read_to_string(self.home.path().join("stderr.log"))
                        .unwrap_or_default()
                )
            });
            match (message.get("id"), message.get("method")) {
                (Some(got), None) if got.as_i64() == Some(id) => return message,
                (Some(request), Some(_)) => {
                    let reply = json!({"jsonrpc": "2.0", "id": request, "result": null});
                    self.send(&reply);
                }
                _ => {}
            }
        }
    }

    fn read(&mut self) -> Option<Value> {
        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length?];
        self.stdout.read_exact(&mut body).ok()?;
        serde_json::from_slice(&body).ok()
    }

    /// `shutdown` and `exit`, then waits for the process (outside any timed region).
    fn close(&mut self) {
        self.send(&json!({"jsonrpc": "2.0", "id": 99, "method": "shutdown", "params": null}));
        self.answer(99);
        self.send(&json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
        let _ = self.child.wait();
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
