//! The command line: `complete`, `config`, `status`, driven as a user would.

mod support;

use std::process::Output;

use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::TestEnv;

fn run(env: &TestEnv, args: &[&str]) -> Output {
    env.command()
        .args(args)
        .current_dir(env.path())
        .output()
        .expect("run switchboard-ls")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn complete_prints_the_local_engines_suggestion_offline() {
    let env = TestEnv::new();
    let file = env.path().join("demo.py");
    std::fs::write(
        &file,
        "total = compute_total(items, rate)\nagain = compute_t\n",
    )
    .unwrap();
    let location = format!("{}:2:18", file.display());
    let output = run(&env, &["complete", &location]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "otal(items, rate)\n");
    assert!(stderr(&output).contains("local"), "{}", stderr(&output));

    let output = run(&env, &["complete", "--json", &location]);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["text"], "otal(items, rate)");
    assert_eq!(json["provider"], "local");
    assert_eq!(json["cached"], false);
    assert!(json["latency_ms"].is_number());
}

#[test]
fn complete_uses_the_configured_provider() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("42"));
    let env = TestEnv::new();
    env.write_user_config(&format!(
        "[[provider]]\nname = \"fake\"\nkind = \"openai-fim\"\nmodel = \"m\"\nbase_url = \"{}/v1\"\n",
        fake.url()
    ));
    let file = env.path().join("a.rs");
    std::fs::write(&file, "let answer = ").unwrap();
    let output = run(
        &env,
        &["complete", "--json", &format!("{}:1:14", file.display())],
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["text"], "42");
    assert_eq!(json["provider"], "fake");
    assert_eq!(
        fake.completion_requests()[0].body["prompt"],
        "let answer = "
    );
}

#[test]
fn complete_rejects_a_bad_location_clearly() {
    let env = TestEnv::new();
    let output = run(&env, &["complete", "nofile.rs:zero:1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("LINE must be a number"));
    let output = run(&env, &["complete", "missing.rs:1:1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read missing.rs"));

    let file = env.path().join("short.py");
    std::fs::write(&file, "x = 1\ny = 2\n").unwrap();
    let output = run(&env, &["complete", &format!("{}:99999:1", file.display())]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("line 99999 is outside the file (2 lines)"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
    let output = run(&env, &["complete", &format!("{}:1:40", file.display())]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("column 40 is outside line 1"));
}

#[test]
fn config_shows_origins_and_never_the_key() {
    let env = TestEnv::new().with("OPENAI_API_KEY", "sk-RECOGNISABLE-secret-0001");
    env.write_user_config("[completion]\nmax_tokens = 64\n");
    std::fs::write(
        env.path().join(".switchboard.toml"),
        "[routing]\nretries = 2\n",
    )
    .unwrap();
    let output = run(&env, &["config"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(!text.contains("RECOGNISABLE"), "{text}");
    assert!(!stderr(&output).contains("RECOGNISABLE"));
    assert!(text.contains("key: set (redacted)"), "{text}");
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("max_tokens = 64").ends_with("# user file"), "{text}");
    assert!(
        line("retries = 2").ends_with("# workspace .switchboard.toml"),
        "{text}"
    );
    assert!(line("deadline_ms = 2500").ends_with("# default"), "{text}");
    assert!(text.contains("name = \"openai\""), "{text}");
    assert!(text.contains("# environment"), "{text}");
}

#[test]
fn status_exits_non_zero_without_a_usable_cloud_provider() {
    let env = TestEnv::new();
    let output = run(&env, &["status"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("no cloud provider usable"));

    let env = TestEnv::new().with("ANTHROPIC_API_KEY", "sk-ant-RECOGNISABLE");
    let output = run(&env, &["status", "--json"]);
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["providers"][0]["name"], "anthropic");
    assert_eq!(json["providers"][0]["key"], "present");
    assert_eq!(json["cloud_usable"], true);
    assert!(!stdout(&output).contains("RECOGNISABLE"));
}

#[test]
fn status_reads_the_status_page_live_and_probes_on_request() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("x"));
    fake.set_status_page(serde_json::json!({
        "status": {"indicator": "minor", "description": "Degraded"},
        "incidents": [{"name": "Elevated latency", "status": "investigating", "impact": "minor"}]
    }));
    let env = TestEnv::new();
    env.write_user_config(&format!(
        "[[provider]]\nname = \"fake\"\nkind = \"openai-fim\"\nmodel = \"m\"\nbase_url = \"{0}/v1\"\nstatus_page = \"{0}\"\n",
        fake.url()
    ));
    let output = run(&env, &["status", "--json", "--probe"]);
    assert!(output.status.success(), "{}", stdout(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = &json["providers"][0];
    assert_eq!(row["status_page"]["indicator"], "minor");
    assert_eq!(row["status_page"]["description"], "Elevated latency");
    assert_eq!(row["probe"]["ok"], true);
    assert!(row["probe"]["latency_ms"].is_u64());
    assert_eq!(fake.completion_requests()[0].body["max_tokens"], 1);

    // A provider whose probe fails with 401 is not usable: exit 1 with the reason.
    fake.set_default(Reply::status(401));
    let output = run(&env, &["status", "--probe"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("fake: probe failed: 401"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn config_names_an_ignored_user_file_the_built_in_local_and_the_cache_file_used() {
    let env = TestEnv::new();
    env.write_user_config("[completion\nbroken");
    let output = run(&env, &["config"]);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let user_file = env.path().join("config.toml");
    assert!(
        text.contains(&format!(
            "# user file: {} (ignored: it could not be read or parsed, see below)",
            user_file.display()
        )),
        "{text}"
    );
    assert!(text.contains("# problem: "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("[[provider]]") && l.ends_with("# built in (always last)")),
        "{text}"
    );
    let cache_file = env.path().join("cache/switchboard/completions-v2.jsonl");
    assert!(
        text.contains(&format!("path = \"{}\"", cache_file.display())),
        "{text}"
    );
    // Every origin comment starts in the same column.
    let columns: std::collections::BTreeSet<usize> = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(" # "))
        .filter(|l| l.find(" # ").unwrap() <= 40)
        .map(|l| l.find(" # ").unwrap())
        .collect();
    assert_eq!(columns.len(), 1, "{text}");
}
