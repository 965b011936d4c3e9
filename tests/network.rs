//! `[network]` (DESIGN.md §3, §6) with real parts: the fake provider over HTTPS with a
//! certificate from a CA made at test time, trusted only through `ca_file`, and a real
//! proxy (tinyproxy) that must carry https requests in a CONNECT tunnel and never see
//! the API key.

mod support;

use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv, cursor_at_marker};
use support::tinyproxy::Tinyproxy;

const KEY: &str = "sk-test-NEVER-IN-THE-PROXY-LOG-4242";

/// An environment with the fake's CA written to `ca.pem` and OPENAI_API_KEY set.
fn env_for(fake: &FakeProvider) -> TestEnv {
    let env = TestEnv::new().with("OPENAI_API_KEY", KEY);
    if let Some(pem) = fake.ca_pem() {
        std::fs::write(env.path().join("ca.pem"), pem).unwrap();
    }
    env
}

/// A user config with one `openai` provider at `fake`, `network` as the [network] table,
/// and no cache file (each `complete` must reach the provider).
fn write_config(env: &TestEnv, fake: &FakeProvider, network: &str) {
    env.write_user_config(&format!(
        "[cache]\npath = \"off\"\n\n[network]\n{network}\n\n[[provider]]\nname = \"fake\"\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"{}/v1\"\nstatus_page = \"\"\n",
        fake.url()
    ));
}

fn ca_file(env: &TestEnv) -> String {
    format!("ca_file = \"{}\"", env.path().join("ca.pem").display())
}

fn run(env: &TestEnv, args: &[&str]) -> Output {
    env.command()
        .args(args)
        .current_dir(env.path())
        .output()
        .expect("run switchboard-ls")
}

/// `complete --json` in a fresh file; returns (its JSON, its stderr).
fn complete(env: &TestEnv) -> (Value, String) {
    let file = env.path().join("a.rs");
    std::fs::write(&file, "let answer = ").unwrap();
    let output = run(
        env,
        &["complete", "--json", &format!("{}:1:14", file.display())],
    );
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("complete --json: {err}; stderr:\n{stderr}"));
    (json, stderr)
}

fn port_of(fake: &FakeProvider) -> u16 {
    fake.url().rsplit(':').next().unwrap().parse().unwrap()
}

/// tinyproxy allowing CONNECT to the fake; `None` (skipped loudly) without tinyproxy.
fn proxy_for(fake: &FakeProvider) -> Option<Tinyproxy> {
    Tinyproxy::start(&[port_of(fake)])
}

fn assert_tunnelled_without_the_key(proxy: &Tinyproxy, fake: &FakeProvider) {
    let requests = proxy.requests();
    let connect = format!("CONNECT 127.0.0.1:{} HTTP/1.1", port_of(fake));
    assert!(
        requests.contains(&connect),
        "expected {connect:?} in {requests:?}"
    );
    assert!(
        requests.iter().all(|r| r.starts_with("CONNECT ")),
        "the proxy saw more than a tunnel: {requests:?}"
    );
    assert!(!proxy.log().contains(KEY), "the key is in the proxy's log");
    // …and the key did reach the provider, inside the tunnel.
    let seen = fake.completion_requests();
    assert_eq!(
        seen.last().unwrap().header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[test]
fn an_https_provider_is_trusted_only_through_network_ca_file() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("42"));
    let env = env_for(&fake);

    write_config(&env, &fake, "proxy = \"off\"");
    let output = run(&env, &["status", "--probe", "--json"]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let error = status["providers"][0]["probe"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a failed probe: {status}"));
    assert!(
        error.contains("invalid peer certificate: UnknownIssuer")
            && error.contains("add its root certificate with [network] ca_file"),
        "{error}"
    );
    assert!(fake.completion_requests().is_empty());
    let (json, _) = complete(&env);
    assert_eq!(json["provider"], "local");

    write_config(&env, &fake, &format!("proxy = \"off\"\n{}", ca_file(&env)));
    let output = run(&env, &["status", "--probe", "--json"]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["providers"][0]["probe"]["ok"], true, "{status}");
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_eq!(json["text"], "42");

    let output = run(&env, &["config"]);
    let shown = String::from_utf8_lossy(&output.stdout);
    let ca = env.path().join("ca.pem");
    assert!(
        shown.contains(&format!("ca_file = \"{}\"", ca.display())),
        "{shown}"
    );
    assert!(shown.contains("# 1 extra root certificate(s)"), "{shown}");
    assert!(shown.contains("proxy = \"off\""), "{shown}");
}

#[test]
fn a_bad_ca_file_is_a_config_error_that_names_the_file() {
    let fake = FakeProvider::start_tls();
    let env = env_for(&fake);
    let notes = env.path().join("notes.txt");
    std::fs::write(&notes, "not a certificate\n").unwrap();
    write_config(
        &env,
        &fake,
        &format!("ca_file = \"{}\"\nprewarm = false", notes.display()),
    );
    let output = run(&env, &["config"]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains(&format!(
            "# problem: network.ca_file: {} holds no PEM certificate",
            notes.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("prewarm = false"), "{shown}");
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "local");
    assert!(stderr.contains("config: network.ca_file: "), "{stderr}");
}

#[test]
fn a_configured_proxy_carries_https_in_a_connect_tunnel_and_never_sees_the_key() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("through the tunnel"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake);
    write_config(
        &env,
        &fake,
        &format!("proxy = \"{}\"\n{}", proxy.url(), ca_file(&env)),
    );
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_eq!(json["text"], "through the tunnel");
    assert_tunnelled_without_the_key(&proxy, &fake);
    assert!(!stderr.contains(KEY));
}

#[test]
fn status_pages_and_probes_go_through_the_proxy_too() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("x"));
    fake.set_status_page(json!({"status": {"indicator": "minor", "description": "Degraded"}}));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake);
    env.write_user_config(&format!(
        "[network]\nproxy = \"{proxy}\"\n{ca}\n\n[[provider]]\nname = \"fake\"\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"{url}/v1\"\nstatus_page = \"{url}\"\n",
        proxy = proxy.url(),
        ca = ca_file(&env),
        url = fake.url(),
    ));
    let output = run(&env, &["status", "--json", "--probe"]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = &status["providers"][0];
    assert_eq!(row["status_page"]["indicator"], "minor", "{status}");
    assert_eq!(row["probe"]["ok"], true, "{status}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/api/v2/summary.json")
    );
    assert_tunnelled_without_the_key(&proxy, &fake);
}

#[test]
fn https_proxy_from_the_environment_is_used_by_default() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("via the environment"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake).with("HTTPS_PROXY", &proxy.url());
    write_config(&env, &fake, &ca_file(&env));
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_tunnelled_without_the_key(&proxy, &fake);

    let output = run(&env, &["config"]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains(&format!(
            "# https requests go through {} (HTTPS_PROXY)",
            proxy.url()
        )),
        "{shown}"
    );
}

#[test]
fn proxy_off_connects_directly_whatever_the_environment_says() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("direct"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake)
        .with("HTTPS_PROXY", &proxy.url())
        .with("ALL_PROXY", &proxy.url());
    write_config(&env, &fake, &format!("proxy = \"off\"\n{}", ca_file(&env)));
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_eq!(fake.completion_requests().len(), 1);
    assert_eq!(proxy.requests(), Vec::<String>::new());
}

#[test]
fn no_proxy_from_the_environment_is_honoured() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("not proxied"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake)
        .with("HTTPS_PROXY", &proxy.url())
        .with("NO_PROXY", "localhost,127.0.0.1");
    write_config(&env, &fake, &ca_file(&env));
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_eq!(proxy.requests(), Vec::<String>::new());
}

#[test]
fn a_workspace_file_cannot_choose_the_proxy_or_the_roots() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("direct"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake);
    write_config(&env, &fake, &ca_file(&env));
    // A cloned repository's file: its proxy would see where the code goes, its roots
    // would let it read the code.
    std::fs::write(
        env.path().join(".switchboard.toml"),
        format!(
            "[network]\nproxy = \"{}\"\nca_file = \"/etc/hostname\"\n",
            proxy.url()
        ),
    )
    .unwrap();
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_eq!(proxy.requests(), Vec::<String>::new());
    assert!(
        stderr.contains("config: .switchboard.toml: ignored network.ca_file, network.proxy"),
        "{stderr}"
    );
}

#[test]
fn a_plain_http_provider_is_never_sent_through_a_proxy() {
    // Over plain HTTP a proxy would read the request and its key: such providers (local
    // servers) are always reached directly.
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("local server"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake)
        .with("HTTP_PROXY", &proxy.url())
        .with("ALL_PROXY", &proxy.url());
    write_config(&env, &fake, &format!("proxy = \"{}\"", proxy.url()));
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_eq!(proxy.requests(), Vec::<String>::new());
    assert!(!proxy.log().contains(KEY));

    write_config(&env, &fake, "");
    let env = env.with("HTTPS_PROXY", "");
    let output = run(&env, &["config"]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("# HTTP_PROXY is not used: plain http:// providers are reached directly"),
        "{shown}"
    );
}

#[test]
fn a_proxy_password_is_used_but_never_shown() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("authenticated"));
    let password = "pr0xy-PASSWORD-never-shown";
    let Some(proxy) = Tinyproxy::start_with_auth(&[port_of(&fake)], "alice", password) else {
        return;
    };
    let env = env_for(&fake);
    let with_password = proxy
        .url()
        .replace("http://", &format!("http://alice:{password}@"));
    write_config(
        &env,
        &fake,
        &format!("proxy = \"{with_password}\"\n{}", ca_file(&env)),
    );
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert_tunnelled_without_the_key(&proxy, &fake);
    assert!(!stderr.contains(password), "{stderr}");

    let output = run(&env, &["config"]);
    let shown = String::from_utf8_lossy(&output.stdout);
    let redacted = proxy.url().replace("http://", "http://alice:***@");
    assert!(
        shown.contains(&format!("proxy = \"{redacted}\"")),
        "{shown}"
    );
    assert!(!shown.contains(password), "{shown}");

    // A wrong password: the proxy refuses the tunnel, the completion falls back, and
    // the password is still never shown.
    let wrong = proxy
        .url()
        .replace("http://", "http://alice:wrong-PASSWORD@");
    write_config(
        &env,
        &fake,
        &format!("proxy = \"{wrong}\"\n{}", ca_file(&env)),
    );
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "local", "{stderr}");
    assert!(stderr.contains("the proxy refused the tunnel"), "{stderr}");
    assert!(!stderr.contains("wrong-PASSWORD"), "{stderr}");

    // The same from the environment, written the way curl users often do (no scheme).
    let from_env = with_password.replace("http://", "");
    let env = env.with("HTTPS_PROXY", &from_env);
    write_config(&env, &fake, &ca_file(&env));
    let (json, stderr) = complete(&env);
    assert_eq!(json["provider"], "fake", "{stderr}");
    assert!(!stderr.contains(password), "{stderr}");
    let output = run(&env, &["config"]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains(&format!(
            "# https requests go through {} (HTTPS_PROXY)",
            redacted.replace("http://", "")
        )),
        "{shown}"
    );
    assert!(!shown.contains(password), "{shown}");
}

#[test]
fn changing_network_in_the_editor_settings_rebuilds_the_client() {
    let fake = FakeProvider::start_tls();
    fake.set_default(Reply::ok("served"));
    let Some(proxy) = proxy_for(&fake) else {
        return;
    };
    let env = env_for(&fake);
    let ca = env.path().join("ca.pem").display().to_string();
    let options = |proxy_setting: &str| {
        json!({
            "network": {"proxy": proxy_setting, "ca_file": ca},
            "provider": [{
                "name": "fake", "kind": "openai", "model": "m",
                "base_url": format!("{}/v1", fake.url()), "status_page": ""
            }]
        })
    };
    let mut client = LspClient::spawn(&env);
    client.initialize(options("off"));
    let uri = support::lsp_client::file_uri(&env.path().join("a.rs"));
    let (text, line, col) = cursor_at_marker("let first = |");
    client.open(&uri, "rust", &text);
    let list = client.completion(&uri, line, col);
    assert_eq!(list["items"][0]["data"]["provider"], "fake", "{list}");
    assert_eq!(proxy.requests(), Vec::<String>::new());

    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"switchboard": options(&proxy.url())}}),
    );
    let (text, line, col) = cursor_at_marker("let second = |");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{"text": text}]
        }),
    );
    let list = client.completion(&uri, line, col);
    assert_eq!(list["items"][0]["data"]["provider"], "fake", "{list}");
    proxy.wait_for_log("CONNECT 127.0.0.1", Duration::from_secs(5));
    assert_tunnelled_without_the_key(&proxy, &fake);
    assert!(!client.stderr().contains(KEY));
    client.shutdown();
}
