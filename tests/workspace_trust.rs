//! DESIGN.md §6: a cloned repository's `.switchboard.toml` may tune completion, cache and
//! routing, but never add providers, choose where keys are sent or move the cache; and
//! files matching `completion.exclude` never leave the machine.

mod support;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv, file_uri};

#[test]
fn a_workspace_file_cannot_send_your_key_or_code_to_its_own_server() {
    let (yours, theirs) = (FakeProvider::start(), FakeProvider::start());
    yours.set_default(Reply::ok("from yours"));
    theirs.set_default(Reply::ok("from theirs"));
    let env = TestEnv::new().with("MY_KEY", "sk-MINE-do-not-send");
    env.write_user_config(&format!(
        "[[provider]]\nname = \"mine\"\nkind = \"openai-fim\"\nmodel = \"m\"\nbase_url = \"{}/v1\"\napi_key_env = \"MY_KEY\"\n",
        yours.url()
    ));
    let workspace = env.path().join("cloned-repo");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::write(
        workspace.join(".switchboard.toml"),
        format!(
            "[completion]\nmax_tokens = 33\n\n[cache]\npath = \"/tmp/evil-cache\"\n\n[[provider]]\nname = \"mine\"\nkind = \"openai-fim\"\nmodel = \"m\"\nbase_url = \"{0}/v1\"\napi_key_env = \"MY_KEY\"\nstatus_page = \"{0}\"\n",
            theirs.url()
        ),
    )
    .unwrap();

    let mut client = LspClient::spawn(&env);
    client.initialize_with(json!({
        "processId": null,
        "rootUri": file_uri(&workspace),
        "capabilities": {},
    }));
    let uri = file_uri(&workspace.join("main.rs"));
    client.open(&uri, "rust", "let x = ");
    let item = client.completion(&uri, 0, 8)["items"][0].clone();
    assert_eq!(item["textEdit"]["newText"], "from yours");
    // The tuning that is allowed took effect.
    assert_eq!(yours.completion_requests()[0].body["max_tokens"], 33);
    assert!(
        theirs.requests().is_empty(),
        "the workspace's server must receive nothing"
    );

    let diagnostics = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["code"] == "config-error"))
    });
    let message = diagnostics["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "config-error")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    for key in ["base_url", "api_key_env", "status_page", "cache.path"] {
        assert!(message.contains(key), "{key} not named: {message}");
    }
    assert!(!std::path::Path::new("/tmp/evil-cache").exists());
}

fn excluded_case(path: &str) -> (Value, usize, String) {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("SECRET_FROM_CLOUD"));
    let env = TestEnv::new();
    let cache = env.path().join("cache.jsonl");
    let mut client = LspClient::spawn(&env);
    let mut options = support::fim_options(&fake);
    options["cache"] = json!({"path": cache.display().to_string()});
    client.initialize(options);
    let uri = format!("file:///project/{path}");
    client.open(&uri, "plaintext", "API_TOKEN=abc123\nAPI_TOK");
    let item = client.completion(&uri, 1, 7)["items"][0].clone();
    assert!(client.shutdown().success());
    let written = std::fs::read_to_string(&cache).unwrap_or_default();
    (item, fake.completion_requests().len(), written)
}

#[test]
fn excluded_files_never_reach_a_cloud_provider_or_the_cache_file() {
    for path in [
        ".env",
        "config/.env.local",
        "certs/server.pem",
        "app/secrets/db.txt",
        "home/.ssh/id_rsa",
    ] {
        let (item, upstream, written) = excluded_case(path);
        assert_eq!(upstream, 0, "{path} was sent upstream");
        // The local engine still serves it.
        assert_eq!(item["data"]["provider"], "local", "{path}");
        assert_eq!(item["textEdit"]["newText"], "API_TOKEN=abc123", "{path}");
        assert!(!written.contains("abc123"), "{path} reached the cache file");
    }
    // The same text in an ordinary file goes to the provider.
    let (item, upstream, _) = excluded_case("src/settings.txt");
    assert_eq!(upstream, 1);
    assert_eq!(item["data"]["provider"], "fake");
}

#[test]
fn editors_settings_files_never_reach_a_cloud_provider_even_with_excludes_replaced() {
    for path in [
        "home/ada/.config/Code/User/settings.json",
        "home/ada/.config/Code - Insiders/User/keybindings.json",
        "home/ada/.local/share/code-server/User/settings.json",
        "home/ada/.vscode-server/data/Machine/settings.json",
        "home/ada/.config/VSCodium/User/globalStorage/state.json",
    ] {
        let fake = FakeProvider::start();
        fake.set_default(Reply::ok("SECRET_FROM_CLOUD"));
        let env = TestEnv::new();
        let mut client = LspClient::spawn(&env);
        let mut options = support::fim_options(&fake);
        // A user who replaces the exclude list does not lose this protection.
        options["completion"] = json!({"exclude": []});
        options["cache"] = json!({"path": "off"});
        client.initialize(options);
        let uri = format!("file:///{}", path.replace(' ', "%20"));
        client.open(
            &uri,
            "jsonc",
            "{\n  \"github.token\": \"ghp_abc\",\n  \"git",
        );
        let item = client.completion(&uri, 2, 7)["items"][0].clone();
        assert!(client.shutdown().success());
        assert_eq!(
            fake.completion_requests().len(),
            0,
            "{path} was sent upstream"
        );
        assert_ne!(item["data"]["provider"], "fake", "{path}");
    }
}
