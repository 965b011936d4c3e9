//! Nothing an editor sends crashes or wedges the server: each case is followed by a
//! request that must still be answered.

mod support;

use serde_json::{Value, json};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/notes.txt";

fn started() -> LspClient {
    let env = Box::leak(Box::new(TestEnv::new()));
    let mut client = LspClient::spawn(env);
    client.initialize(Value::Null);
    client
}

/// The server still answers a real request.
fn assert_alive(client: &mut LspClient) {
    client.open("file:///alive.rs", "rust", "alive_marker(1);\nalive_ma");
    let list = client.completion("file:///alive.rs", 1, 8);
    assert_eq!(list["items"][0]["textEdit"]["newText"], "alive_marker(1);");
    assert!(client.is_running());
}

#[test]
fn malformed_json_rpc_gets_a_parse_error_and_the_server_keeps_running() {
    let mut client = started();
    let garbage = b"{\"jsonrpc\": \"2.0\", \"id\": 99, \"method\": ";
    client.send_raw(format!("Content-Length: {}\r\n\r\n", garbage.len()).as_bytes());
    client.send_raw(garbage);
    assert_alive(&mut client);
    let parse_errors: Vec<_> = client
        .seen_responses()
        .into_iter()
        .filter(|r| r["error"]["code"] == -32700)
        .collect();
    assert_eq!(parse_errors.len(), 1);
}

#[test]
fn unknown_methods_answer_method_not_found() {
    let mut client = started();
    let id = client.send_request("switchboard/noSuchThing", json!({}));
    let response = client.wait_response(id);
    assert_eq!(response["error"]["code"], -32601);
    assert_alive(&mut client);
}

#[test]
fn positions_past_the_end_of_a_line_or_the_document_are_clamped() {
    let mut client = started();
    client.open(URI, "plaintext", "abc\nabc\nab");
    for (line, character) in [(0, 999), (99, 0), (u32::MAX, u32::MAX), (2, 2)] {
        let list = client.completion(URI, line, character);
        assert_eq!(list["isIncomplete"], true);
    }
    assert_alive(&mut client);
}

#[test]
fn a_utf16_offset_inside_a_surrogate_pair_rounds_down() {
    let mut client = started();
    client.open(URI, "plaintext", "😀😀 smile\n😀😀 sm");
    // Column 1 is between the two halves of the first emoji.
    let list = client.completion(URI, 1, 1);
    assert_eq!(list["isIncomplete"], true);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 1}, "end": {"line": 1, "character": 3}}, "text": "x"}
        ]}),
    );
    assert_alive(&mut client);
}

#[test]
fn changes_to_an_unopened_document_are_ignored() {
    let mut client = started();
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///never-opened.rs", "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "x"}
        ]}),
    );
    let list = client.completion("file:///never-opened.rs", 0, 1);
    assert_eq!(list["items"], json!([]));
    assert_alive(&mut client);
    assert!(client.wait_stderr("not open").contains("not open"));
}

#[test]
fn a_ten_megabyte_document_is_served() {
    let mut client = started();
    let line = "let value = compute(input, 42);\n";
    let mut text = line.repeat(10 * 1024 * 1024 / line.len());
    text.push_str("let value = comp");
    let last_line = text.matches('\n').count() as u32;
    client.open(URI, "rust", &text);
    let list = client.completion(URI, last_line, 16);
    assert_eq!(
        list["items"][0]["textEdit"]["newText"],
        "compute(input, 42);"
    );
    assert_alive(&mut client);
}

#[test]
fn binary_content_with_nul_bytes_is_harmless() {
    let mut client = started();
    let text: String = (0u8..=255)
        .map(|b| b as char)
        .chain("\0\0\u{FFFD}\u{0}".chars())
        .collect();
    client.open(URI, "plaintext", &text);
    client.completion(URI, 0, 40);
    client.inline_completion(URI, 0, 3);
    assert_alive(&mut client);
}

#[test]
fn requests_before_initialize_and_bad_params_get_errors_not_crashes() {
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let id = client.send_request("textDocument/completion", json!({}));
    let response = client.wait_response(id);
    assert!(response["error"].is_object());
    client.initialize(Value::Null);
    let id = client.send_request("textDocument/inlineCompletion", json!({"textDocument": 5}));
    let response = client.wait_response(id);
    assert_eq!(response["error"]["code"], -32602);
    assert_alive(&mut client);
}

#[test]
fn json_that_is_not_json_rpc_gets_invalid_request() {
    let mut client = started();
    for body in [
        "[1,2,3]",
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":7}",
        "{\"jsonrpc\":\"2.0\",\"id\":6}",
    ] {
        client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }
    assert_alive(&mut client);
    let errors: Vec<_> = client
        .seen_responses()
        .into_iter()
        .filter(|r| r["error"]["code"] == -32600)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[test]
fn a_document_over_the_size_limit_is_refused_clearly() {
    let mut client = started();
    let text = "x".repeat(33 << 20);
    client.open(URI, "plaintext", &text);
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("over the 32 MB limit"))
    });
    assert_eq!(message["type"], 2);
    assert_eq!(client.completion(URI, 0, 5)["items"], json!([]));
    assert_alive(&mut client);
}

#[test]
fn more_completions_at_once_than_the_limit_are_answered_empty_at_once() {
    use support::fake_provider::{FakeProvider, Reply};
    let fake = FakeProvider::start();
    fake.set_default(Reply::Hang);
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let mut options = support::fim_options(&fake);
    options["completion"] = json!({"deadline_ms": 600000});
    options["provider"][0]["timeout_ms"] = json!(600000);
    client.initialize(options);
    let mut ids = Vec::new();
    for i in 0..70 {
        let uri = format!("file:///project/many{i}.rs");
        client.open(&uri, "rust", &format!("let v{i} = "));
        ids.push(client.send_request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 9}}),
        ));
    }
    let message = client.wait_notification("window/showMessage", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 64 completion requests at once"))
    });
    assert_eq!(message["type"], 2);
    // The requests over the limit were answered (empty) while 64 still wait upstream.
    let answered: Vec<Value> = ids[64..]
        .iter()
        .map(|id| client.wait_response(*id))
        .collect();
    assert!(answered.iter().all(|r| r["result"]["items"] == json!([])));
    fake.wait_for_requests(64, std::time::Duration::from_secs(10));
}

#[test]
fn ids_the_library_cannot_decode_and_duplicate_keys_are_refused_not_fatal() {
    let mut client = started();
    for body in [
        r#"{"jsonrpc":"2.0","id":1.5,"method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","id":77,"id":78,"method":"switchboard/none"}"#,
    ] {
        client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }
    assert_alive(&mut client);
}

#[test]
fn a_reopened_document_is_never_completed_with_its_old_text() {
    let mut client = started();
    client.open(URI, "plaintext", "ab");
    client.completion(URI, 0, 2);
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": URI}}),
    );
    // Reopened at the same client version with longer, multi-byte text: a cursor from
    // the new text must never index the old one.
    client.open(URI, "plaintext", "日本語日本語 日本");
    let list = client.completion(URI, 0, 9);
    assert_eq!(list["isIncomplete"], true);
    assert_alive(&mut client);
}
