//! The stdio transport as editors and people use it: an editor that stops reading the
//! server's output (the output queue is bounded, so the stall reaches back to the
//! editor's writes instead of growing the server's memory, and nothing is lost when it
//! reads again); pipes and sockets, which the runtime polls; and plain files, which
//! it reads and writes on blocking threads.

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::lsp_client::TestEnv;

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Reads one framed message.
fn read_message(reader: &mut impl BufRead) -> Value {
    let mut length = None;
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "stdout closed");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.expect("Content-Length")];
    reader.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Reads messages until the response to `id` (notifications are skipped).
fn read_response(reader: &mut impl BufRead, id: i64) -> Value {
    loop {
        let message = read_message(reader);
        if message["id"] == id {
            return message;
        }
    }
}

/// Waits until `written` stops moving for a whole second (the writer is blocked), or
/// gives up after a minute. Returns the count it settled at.
fn settled(written: &AtomicUsize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (written.load(Ordering::SeqCst), Instant::now());
    while Instant::now() < deadline {
        std::thread::park_timeout(Duration::from_millis(50));
        let now = written.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(1) {
            break;
        }
    }
    last.0
}

#[test]
fn an_editor_that_stops_reading_stalls_its_own_writes_and_loses_nothing() {
    let env = TestEnv::new();
    let (stderr, log) = log_file(&env);
    let mut child = env
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn switchboard-ls");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin
        .write_all(&frame(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"processId": null, "rootUri": null, "capabilities": {}}}),
        ))
        .unwrap();
    assert_eq!(read_message(&mut stdout)["id"], 0);

    // 20 000 requests, each answered at once (an unknown method): ~1.6 MB in, ~2 MB out,
    // far more than the pipes, the queues and the library's buffers hold together.
    const REQUESTS: usize = 20_000;
    let requests: Vec<Vec<u8>> = (1..=REQUESTS)
        .map(|id| frame(&json!({"jsonrpc": "2.0", "id": id, "method": "switchboard/none"})))
        .collect();
    let total: usize = requests.iter().map(Vec::len).sum();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let writer = std::thread::spawn(move || {
        for request in requests {
            stdin.write_all(&request).unwrap();
            counter.fetch_add(request.len(), Ordering::SeqCst);
        }
        stdin
    });

    // Nobody reads stdout: the server must stop taking input well before the end.
    let stalled_at = settled(&written);
    assert!(
        stalled_at < total / 2,
        "the server took {stalled_at} of {total} bytes while its output was not read"
    );

    // Reading again: every request is answered once, and the writer finishes.
    let mut answered = vec![false; REQUESTS + 1];
    for _ in 1..=REQUESTS {
        let response = read_message(&mut stdout);
        assert_eq!(response["error"]["code"], -32601, "{response}");
        let id = response["id"].as_u64().expect("an id") as usize;
        assert!(!std::mem::replace(&mut answered[id], true), "{id} twice");
    }
    let mut stdin = writer.join().unwrap();
    stdin
        .write_all(&frame(
            &json!({"jsonrpc": "2.0", "id": -1, "method": "shutdown"}),
        ))
        .unwrap();
    assert_eq!(read_message(&mut stdout)["id"], -1);
    stdin
        .write_all(&frame(&json!({"jsonrpc": "2.0", "method": "exit"})))
        .unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("stdin polled, stdout polled"), "pipes: {log}");
}

/// A file for the server's stderr (its log says how it reads and writes stdio).
fn log_file(env: &TestEnv) -> (Stdio, std::path::PathBuf) {
    let path = env.path().join("stderr.log");
    (Stdio::from(std::fs::File::create(&path).unwrap()), path)
}

fn initialize() -> Vec<u8> {
    frame(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"processId": null, "rootUri": null, "capabilities": {}}}))
}

/// After `initialize`: a document and a completion in it (id 2).
fn completion(uri: &str) -> Vec<u8> {
    [
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": uri, "languageId": "rust", "version": 1, "text": "alive_marker(1);\nalive_ma"}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/completion",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 8}}}),
    ]
    .iter()
    .flat_map(frame)
    .collect()
}

/// Every response in `output`.
fn responses(output: &[u8]) -> Vec<Value> {
    let mut reader = BufReader::new(output);
    let mut all = Vec::new();
    while !reader.fill_buf().unwrap().is_empty() {
        let message = read_message(&mut reader);
        if message.get("id").is_some() {
            all.push(message);
        }
    }
    all
}

#[test]
fn files_on_stdin_and_stdout_are_served_too() {
    let env = TestEnv::new();
    let input = env.path().join("input.lsp");
    let output = env.path().join("output.lsp");
    // A file cannot wait for answers: initialize and an unknown method, then the end
    // of input, after which the server answers what it has and ends.
    let unknown = frame(&json!({"jsonrpc": "2.0", "id": 2, "method": "switchboard/none"}));
    std::fs::write(&input, [initialize(), unknown].concat()).unwrap();
    let (stderr, log) = log_file(&env);
    let status = env
        .command()
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(stderr)
        .status()
        .unwrap();
    assert!(status.success());
    let mut responses = responses(&std::fs::read(&output).unwrap());
    responses.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert!(
        responses[0]["result"]["capabilities"].is_object(),
        "{}",
        responses[0]
    );
    assert_eq!(responses[1]["error"]["code"], -32601, "{}", responses[1]);
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("stdin on a blocking thread, stdout on a blocking thread"),
        "{log}"
    );
}

#[test]
fn sockets_on_stdin_and_stdout_are_served_as_editors_built_on_libuv_give_them() {
    use std::os::unix::net::UnixStream;
    let env = TestEnv::new();
    let (ours, theirs) = UnixStream::pair().unwrap();
    let (stderr, log) = log_file(&env);
    let mut child = env
        .command()
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(
            theirs.try_clone().unwrap(),
        )))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut writer = ours.try_clone().unwrap();
    let mut reader = BufReader::new(ours);
    writer.write_all(&initialize()).unwrap();
    read_response(&mut reader, 1);
    writer.write_all(&completion("file:///socket.rs")).unwrap();
    let answer = read_response(&mut reader, 2);
    assert_eq!(
        answer["result"]["items"][0]["textEdit"]["newText"], "alive_marker(1);",
        "{answer}"
    );
    writer
        .write_all(&frame(
            &json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        ))
        .unwrap();
    read_response(&mut reader, 3);
    writer
        .write_all(&frame(&json!({"jsonrpc": "2.0", "method": "exit"})))
        .unwrap();
    assert!(child.wait().unwrap().success());
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("stdin polled, stdout polled"), "{log}");
}
