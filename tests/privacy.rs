//! A provider is told the file's path relative to the workspace (its name alone outside
//! one), never the absolute path: user names and folder layouts stay on the machine
//! (DESIGN.md §6). Checked through the binary for every kind, on what the fake provider
//! received.

mod support;

use serde_json::json;
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv, file_uri};

/// (kind, what `base_url` needs after the fake's URL)
const KINDS: &[(&str, &str)] = &[
    ("anthropic", ""),
    ("openai", "/v1"),
    ("gemini", ""),
    ("codestral", ""),
    ("openai-fim", "/v1"),
    ("ollama", ""),
];

/// Completes once in `file` (absolute) with `root` as the workspace, and returns every
/// request body the fake received, as text.
fn bodies_for(kind: &str, base_suffix: &str, root: Option<&str>, file: &str) -> Vec<String> {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("x + 1"));
    let env = TestEnv::new().with("PRIVACY_KEY", "k");
    let mut client = LspClient::spawn(&env);
    client.initialize_with(json!({
        "processId": null,
        "rootUri": root,
        "capabilities": {},
        "initializationOptions": {
            "cache": {"path": "off"},
            "provider": [{"name": "p", "kind": kind, "model": "m", "api_key_env": "PRIVACY_KEY",
                          "base_url": format!("{}{base_suffix}", fake.url()), "status_page": ""}]
        }
    }));
    client.open(file, "python", "def f(x):\n    return \n");
    let item = client.completion(file, 1, 11);
    assert_eq!(item["items"][0]["data"]["provider"], "p", "{kind}: {item}");
    client.shutdown();
    fake.completion_requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect()
}

#[test]
fn prompts_carry_the_workspace_relative_path_never_the_absolute_one() {
    let home = "/home/ada.lovelace/work/secret-project";
    let root = format!("file://{home}");
    let file = format!("file://{home}/src/app.py");
    for (kind, suffix) in KINDS {
        let bodies = bodies_for(kind, suffix, Some(&root), &file);
        assert!(!bodies.is_empty(), "{kind}: no request");
        for body in &bodies {
            assert!(
                !body.contains("/home/"),
                "{kind}: absolute path sent: {body}"
            );
            assert!(
                !body.contains("ada.lovelace"),
                "{kind}: user name sent: {body}"
            );
        }
        // Chat kinds name the file in the prompt: by its path in the workspace.
        if matches!(*kind, "anthropic" | "openai" | "gemini") {
            assert!(
                bodies.iter().any(|b| b.contains("File: src/app.py")),
                "{kind}: {bodies:?}"
            );
        }
    }
}

#[test]
fn outside_a_workspace_the_file_is_named_alone() {
    let env = TestEnv::new();
    let file = file_uri(&env.path().join("scratch").join("notes.py"));
    let bodies = bodies_for("anthropic", "", None, &file);
    let dir = env.path().display().to_string();
    for body in &bodies {
        assert!(!body.contains(&dir), "absolute path sent: {body}");
    }
    assert!(
        bodies.iter().any(|b| b.contains("File: notes.py")),
        "{bodies:?}"
    );
}
