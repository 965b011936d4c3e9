//! The foundation end to end: the real binary over stdio, a real HTTP fake provider.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::fim_options;
use support::lsp_client::{LspClient, TestEnv, cursor_at_marker};

const URI: &str = "file:///project/src/main.rs";

#[test]
fn initialize_advertises_completion_inline_completion_and_incremental_sync() {
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let result = client.initialize(Value::Null);
    let caps = &result["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"]["change"], 2);
    assert_eq!(caps["textDocumentSync"]["openClose"], true);
    assert_eq!(caps["inlineCompletionProvider"], true);
    assert!(caps["completionProvider"].is_object());
    assert_eq!(result["serverInfo"]["name"], "switchboard-ls");
    assert!(client.shutdown().success());
}

#[test]
fn utf8_is_negotiated_when_the_client_offers_it() {
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let result = client.initialize_with(json!({
        "processId": null, "rootUri": null,
        "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]}}
    }));
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
}

#[test]
fn inline_completion_comes_from_the_provider_with_the_prefix_ending_at_the_cursor() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("return a + b"));
    let env = TestEnv::new().with("OPENAI_FIM_API_KEY", "sk-test-fim-key");
    let mut client = LspClient::spawn(&env);
    client.initialize(fim_options(&fake));
    // Emoji (a surrogate pair in UTF-16) and CJK before the cursor.
    let (text, line, col) =
        cursor_at_marker("// 合計 😀 sum\nfn add(a: i32, b: i32) -> i32 { /* 😀 */ |\n}\n");
    client.open(URI, "rust", &text);
    let result = client.inline_completion(URI, line, col);
    assert_eq!(result["items"][0]["insertText"], "return a + b");
    assert_eq!(
        result["items"][0]["range"],
        json!({"start": {"line": line, "character": col}, "end": {"line": line, "character": col}})
    );

    let requests = fake.completion_requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/completions");
    assert_eq!(
        sent.body["prompt"],
        "// 合計 😀 sum\nfn add(a: i32, b: i32) -> i32 { /* 😀 */ "
    );
    assert_eq!(sent.body["suffix"], "\n}\n");
    assert_eq!(sent.body["model"], "fake-model");
    assert_eq!(sent.body["max_tokens"], 128);
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-fim-key"));
}

#[test]
fn completion_item_replaces_the_typed_word_and_reports_provenance() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("turn a + b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(fim_options(&fake));
    let (text, line, col) = cursor_at_marker("fn add(a: i32, b: i32) -> i32 {\n    re|\n}\n");
    client.open(URI, "rust", &text);
    let list = client.completion(URI, line, col);
    assert_eq!(list["isIncomplete"], true);
    let item = &list["items"][0];
    assert_eq!(item["label"], "return a + b");
    assert_eq!(item["filterText"], "return a + b");
    assert_eq!(item["textEdit"]["newText"], "return a + b");
    assert_eq!(
        item["textEdit"]["range"],
        json!({"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 6}})
    );
    assert!(
        item["detail"].as_str().unwrap().starts_with("fake · "),
        "{item}"
    );
    assert_eq!(item["data"]["provider"], "fake");
    assert_eq!(item["data"]["cached"], false);
    assert_eq!(item["data"]["stale"], false);
    assert!(item["data"]["latency_ms"].is_u64());
}

#[test]
fn non_streaming_providers_are_read_as_one_json_body() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("x + 1"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut options = fim_options(&fake);
    options["provider"][0]["stream"] = json!(false);
    client.initialize(options);
    client.open(URI, "rust", "let y = ");
    let result = client.inline_completion(URI, 0, 8);
    assert_eq!(result["items"][0]["insertText"], "x + 1");
    assert_eq!(fake.completion_requests()[0].body["stream"], false);
}

#[test]
fn offline_engine_answers_with_no_config_and_no_keys() {
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(Value::Null);
    let (text, line, col) = cursor_at_marker(
        "let total = compute_total(&items, tax_rate);\nlog(total);\nlet again = compute_to|\n",
    );
    client.open(URI, "rust", &text);
    let list = client.completion(URI, line, col);
    let item = &list["items"][0];
    assert_eq!(
        item["textEdit"]["newText"],
        "compute_total(&items, tax_rate);"
    );
    assert_eq!(item["data"]["provider"], "local");
    let inline = client.inline_completion(URI, line, col);
    assert_eq!(inline["items"][0]["insertText"], "tal(&items, tax_rate);");
}

#[test]
fn incremental_edits_are_applied_before_the_next_completion() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("done"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(fim_options(&fake));
    client.open(URI, "rust", "fn a() {}\n😀 x\n");
    // Replace "x" (after a surrogate pair: UTF-16 column 3) with "yz", then append a line.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 3}, "end": {"line": 1, "character": 4}}, "text": "yz"},
            {"range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}}, "text": "let q = "}
        ]}),
    );
    client.inline_completion(URI, 2, 8);
    let sent = &fake.completion_requests()[0];
    assert_eq!(sent.body["prompt"], "fn a() {}\n😀 yz\nlet q = ");
    assert_eq!(sent.body["suffix"], "");
}

#[test]
fn config_errors_are_reported_and_the_rest_of_the_chain_serves() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("from the good one"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "completion": {"max_tokens": "many"},
        "provider": [
            {"name": "typo", "kind": "antropic", "model": "m"},
            {"name": "fake", "kind": "openai-fim", "model": "fake-model", "base_url": format!("{}/v1", fake.url())}
        ]
    }));
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown kind \"antropic\""))
    });
    assert_eq!(message["type"], 1);
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("completion.max_tokens")
    );
    client.open(URI, "rust", "let x = ");
    let result = client.inline_completion(URI, 0, 8);
    assert_eq!(result["items"][0]["insertText"], "from the good one");
    assert_eq!(fake.completion_requests()[0].body["max_tokens"], 128);
}

#[test]
fn did_change_configuration_replaces_the_editor_layer() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("after reload"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(Value::Null);
    client.open(URI, "rust", "zzz_unique ");
    assert_eq!(client.inline_completion(URI, 0, 11), json!([]));
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"switchboard": fim_options(&fake)}}),
    );
    let result = client.inline_completion(URI, 0, 11);
    assert_eq!(result["items"][0]["insertText"], "after reload");
}

#[test]
fn a_failing_provider_falls_back_to_the_local_engine() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::status(529));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(fim_options(&fake));
    let (text, line, col) = cursor_at_marker("print_report(data)\nprint_re|");
    client.open(URI, "python", &text);
    let list = client.completion(URI, line, col);
    assert_eq!(list["items"][0]["data"]["provider"], "local");
    assert_eq!(
        list["items"][0]["textEdit"]["newText"],
        "print_report(data)"
    );
    assert!(!fake.completion_requests().is_empty());
}

#[test]
fn a_newer_request_supersedes_a_hanging_one_and_its_connection_is_closed() {
    let fake = FakeProvider::start();
    fake.push(Reply::Hang);
    fake.set_default(Reply::ok("second"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut options = fim_options(&fake);
    options["completion"] = json!({"deadline_ms": 60000});
    options["provider"][0]["timeout_ms"] = json!(60000);
    client.initialize(options);
    client.open(URI, "rust", "let v = ");
    let first = client.send_request(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 8}, "context": {"triggerKind": 2}}),
    );
    fake.wait_for_requests(1, Duration::from_secs(10));
    // The user moved on: a different context, so not coalesced with the first.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "let w = "}]}),
    );
    let second = client.inline_completion(URI, 0, 8);
    assert_eq!(second["items"][0]["insertText"], "second");
    let first = client.wait_response(first);
    assert_eq!(first["result"], json!([]));
    fake.wait_for_abandoned(1, Duration::from_secs(10));
}

#[test]
fn cancel_request_answers_request_cancelled_and_drops_the_upstream_call() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::Hang);
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut options = fim_options(&fake);
    options["completion"] = json!({"deadline_ms": 60000});
    options["provider"][0]["timeout_ms"] = json!(60000);
    client.initialize(options);
    client.open(URI, "rust", "let v = ");
    let id = client.send_request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 8}}),
    );
    fake.wait_for_requests(1, Duration::from_secs(10));
    client.notify("$/cancelRequest", json!({"id": id}));
    let response = client.wait_response(id);
    assert_eq!(response["error"]["code"], -32800);
    fake.wait_for_abandoned(1, Duration::from_secs(10));
}
