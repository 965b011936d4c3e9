//! The completion cache through the real binary: exact hits, typing through a shown
//! suggestion, coalescing identical requests, stale answers during an outage,
//! persistence across restarts, and a corrupt cache file.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::fim_options;
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/main.rs";
const TEXT: &str = "fn add(a: i32, b: i32) -> i32 {\n    \n}\n";

fn item(client: &mut LspClient, line: u32, col: u32) -> Value {
    client.completion(URI, line, col)["items"][0].clone()
}

fn type_text(client: &mut LspClient, version: i32, line: u32, col: u32, text: &str) {
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [
            {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": text}
        ]}),
    );
}

fn options(fake: &FakeProvider, cache: Value) -> Value {
    let mut options = fim_options(fake);
    options["cache"] = cache;
    options
}

#[test]
fn a_repeated_request_is_served_from_the_cache() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(options(&fake, json!({"path": "off"})));
    client.open(URI, "rust", TEXT);
    let first = item(&mut client, 1, 4);
    assert_eq!(first["data"]["cached"], false);
    let second = item(&mut client, 1, 4);
    assert_eq!(second["textEdit"]["newText"], "a + b");
    assert_eq!(second["data"]["cached"], true);
    assert_eq!(second["data"]["provider"], "fake");
    assert_eq!(second["detail"], "cache");
    assert_eq!(fake.completion_requests().len(), 1);
    let status = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status"}),
    );
    assert_eq!(
        status["cache"],
        json!({"entries": 1, "hits": 1, "misses": 1})
    );
}

#[test]
fn typing_through_a_suggestion_serves_the_rest_without_asking_again() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("return a + b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(options(&fake, json!({"path": "off"})));
    client.open(URI, "rust", TEXT);
    assert_eq!(
        client.inline_completion(URI, 1, 4)["items"][0]["insertText"],
        "return a + b"
    );

    type_text(&mut client, 2, 1, 4, "ret");
    let inline = client.inline_completion(URI, 1, 7);
    assert_eq!(inline["items"][0]["insertText"], "urn a + b");
    let completion = item(&mut client, 1, 7);
    assert_eq!(completion["textEdit"]["newText"], "return a + b");
    assert_eq!(completion["data"]["cached"], true);
    assert_eq!(
        fake.completion_requests().len(),
        1,
        "typing through asks no provider"
    );

    // Backspacing to the shown prefix is an exact hit again.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 7}}, "text": ""}
        ]}),
    );
    assert_eq!(
        client.inline_completion(URI, 1, 4)["items"][0]["insertText"],
        "return a + b"
    );
    assert_eq!(fake.completion_requests().len(), 1);

    // A keystroke that does not match the suggestion asks again.
    type_text(&mut client, 4, 1, 4, "x");
    client.inline_completion(URI, 1, 5);
    assert_eq!(fake.completion_requests().len(), 2);
}

#[test]
fn ten_concurrent_identical_requests_make_one_upstream_request() {
    let fake = FakeProvider::start();
    // Slow enough that all ten arrive while the first is upstream.
    fake.set_default(Reply::delayed("a + b", Duration::from_millis(1500)));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut opts = options(&fake, json!({"path": "off"}));
    opts["completion"] = json!({"deadline_ms": 20000});
    opts["provider"][0]["timeout_ms"] = json!(20000);
    // No hedge point: with one provider, waiting past it would serve the local engine.
    opts["routing"] = json!({"hedge_ms": "off"});
    client.initialize(opts);
    // Ten documents with the same text: the same context, whatever the file.
    let ids: Vec<i64> = (0..10)
        .map(|i| {
            let uri = format!("file:///project/copy{i}.rs");
            client.open(&uri, "rust", TEXT);
            client.send_request(
                "textDocument/completion",
                json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}}),
            )
        })
        .collect();
    for id in ids {
        let response = client.wait_response(id);
        assert_eq!(
            response["result"]["items"][0]["textEdit"]["newText"],
            "a + b"
        );
    }
    assert_eq!(fake.completion_requests().len(), 1);
}

#[test]
fn a_stale_entry_is_served_when_every_provider_fails() {
    let fake = FakeProvider::start();
    fake.push(Reply::ok("a + b"));
    fake.set_default(Reply::status(529));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    // Nothing is ever fresh: only an outage serves from the cache.
    client.initialize(options(&fake, json!({"path": "off", "ttl_secs": 0})));
    client.open(URI, "rust", TEXT);
    assert_eq!(item(&mut client, 1, 4)["data"]["cached"], false);
    let stale = item(&mut client, 1, 4);
    assert_eq!(stale["textEdit"]["newText"], "a + b");
    assert_eq!(stale["data"]["stale"], true);
    assert_eq!(stale["data"]["cached"], true);
    assert_eq!(stale["data"]["provider"], "fake");
    assert!(
        fake.completion_requests().len() >= 2,
        "the provider was asked first"
    );
}

#[test]
fn entries_survive_a_restart_with_the_same_cache_path() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let env = TestEnv::new();
    let path = env.path().join("cache").join("completions.jsonl");
    let cache = json!({"path": path.display().to_string()});
    {
        let mut client = LspClient::spawn(&env);
        client.initialize(options(&fake, cache.clone()));
        client.open(URI, "rust", TEXT);
        assert_eq!(item(&mut client, 1, 4)["data"]["cached"], false);
        assert!(client.shutdown().success());
    }
    assert!(path.exists(), "written at shutdown");
    let mut client = LspClient::spawn(&env);
    client.initialize(options(&fake, cache));
    client.open(URI, "rust", TEXT);
    let again = item(&mut client, 1, 4);
    assert_eq!(again["data"]["cached"], true);
    assert_eq!(fake.completion_requests().len(), 1);
}

#[test]
fn the_default_cache_file_lives_under_xdg_cache_home() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(fim_options(&fake));
    client.open(URI, "rust", TEXT);
    item(&mut client, 1, 4);
    assert!(client.shutdown().success());
    let file = env.path().join("cache/switchboard/completions-v2.jsonl");
    let text = std::fs::read_to_string(&file).expect("default cache file");
    assert!(text.starts_with("{\"format\":\"switchboard-cache\",\"version\":2}"));
}

#[test]
fn a_corrupt_cache_file_is_ignored_with_a_warning_and_replaced() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let env = TestEnv::new();
    let path = env.path().join("completions.jsonl");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n not a cache at all").unwrap();
    let mut client = LspClient::spawn(&env);
    client.initialize(options(&fake, json!({"path": path.display().to_string()})));
    client.open(URI, "rust", TEXT);
    assert_eq!(item(&mut client, 1, 4)["textEdit"]["newText"], "a + b");
    assert!(
        client
            .stderr()
            .contains("not a version 2 switchboard cache"),
        "{}",
        client.stderr()
    );
    assert!(client.shutdown().success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("{\"format\":\"switchboard-cache\""),
        "replaced: {text}"
    );
}

#[test]
fn clear_cache_empties_it() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("a + b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(options(&fake, json!({"path": "off"})));
    client.open(URI, "rust", TEXT);
    item(&mut client, 1, 4);
    let status = client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.clearCache"}),
    );
    assert_eq!(status["cache"]["entries"], 0);
    assert_eq!(item(&mut client, 1, 4)["data"]["cached"], false);
    assert_eq!(fake.completion_requests().len(), 2);
}
