//! Issue 16 through the real binary: every suggestion carries `switchboard.accepted`
//! with an opaque id, accepts are counted once per id for the provider that produced
//! the suggestion, and what lands in the stats file.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};

const URI: &str = "file:///project/src/main.rs";

fn provider(name: &str, fake: &FakeProvider) -> Value {
    json!({"name": name, "kind": "openai-fim", "model": "m", "base_url": format!("{}/v1", fake.url())})
}

fn stats_file(env: &TestEnv) -> PathBuf {
    env.path().join(".local/state/switchboard/stats-v1.jsonl")
}

/// The stats file's hour lines added up per provider: field → total.
fn totals(env: &TestEnv, provider: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(stats_file(env)).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "hour" && l["provider"] == provider)
        .map(|l| l[field].as_u64().unwrap_or(0))
        .sum()
}

fn accept(client: &mut LspClient, arguments: Value) -> Value {
    let id = client.send_request(
        "workspace/executeCommand",
        json!({"command": "switchboard.accepted", "arguments": arguments}),
    );
    client.wait_response(id)
}

#[test]
fn every_item_carries_the_accepted_command_and_accepts_count_once_per_id() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("from_a"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    let init = client.initialize(json!({
        "cache": {"ttl_secs": 0},
        "provider": [provider("a", &fake)],
    }));
    let commands = &init["capabilities"]["executeCommandProvider"]["commands"];
    assert!(
        commands
            .as_array()
            .unwrap()
            .contains(&json!("switchboard.accepted")),
        "{commands}"
    );
    client.open(URI, "rust", "let x = ");

    let item = client.completion(URI, 0, 8)["items"][0].clone();
    assert_eq!(item["data"]["provider"], "a");
    assert_eq!(item["command"]["command"], "switchboard.accepted");
    let popup_id = item["command"]["arguments"][0].clone();
    assert!(popup_id.is_string(), "{item}");

    let inline = client.inline_completion(URI, 0, 8)["items"][0].clone();
    assert_eq!(inline["insertText"], "from_a");
    assert_eq!(inline["command"]["command"], "switchboard.accepted");
    let inline_id = inline["command"]["arguments"][0].clone();
    assert!(inline_id.is_string(), "{inline}");
    assert_ne!(popup_id, inline_id);

    // Accepted word by word: the same id three times is one accept.
    for _ in 0..3 {
        let response = accept(&mut client, json!([inline_id]));
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
    }
    // Unknown, missing or malformed ids answer null too: no error for the user to see.
    for arguments in [json!(["no-such-id"]), json!([]), json!([42])] {
        let response = accept(&mut client, arguments);
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
    }
    // The popup item was shown but not accepted.
    assert!(client.shutdown().success());

    assert_eq!(totals(&env, "a", "served"), 2);
    assert_eq!(totals(&env, "a", "accepted"), 1);
}

#[test]
fn an_accept_is_counted_for_the_provider_that_served_after_a_failover() {
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status(529));
    b.set_default(Reply::ok("from_b"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "routing": {"retries": 0, "hedge_ms": "off"},
        "cache": {"ttl_secs": 0},
        "provider": [provider("a", &a), provider("b", &b)],
    }));
    client.open(URI, "rust", "let x = ");
    let item = client.completion(URI, 0, 8)["items"][0].clone();
    assert_eq!(item["data"]["provider"], "b");
    let id = item["command"]["arguments"][0].clone();
    accept(&mut client, json!([id]));
    assert!(client.shutdown().success());

    assert_eq!(totals(&env, "b", "accepted"), 1);
    assert_eq!(totals(&env, "b", "accepted_failover"), 1);
    assert_eq!(totals(&env, "b", "failovers"), 1);
    assert_eq!(totals(&env, "a", "accepted"), 0);
    let text = std::fs::read_to_string(stats_file(&env)).unwrap();
    let a_failures: u64 = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "hour" && l["provider"] == "a")
        .map(|l| l["failures"]["retryable"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(a_failures, 1, "{text}");
}

// --- `switchboard-ls stats` ---------------------------------------------------------------

/// 2026-12-04T12:30:00Z.
const NOW: u64 = 1_796_387_400;
const H: u64 = 3600;

/// A latency histogram with `n` samples in the bucket whose upper bound is `bound_ms`.
fn latency(bound_ms: u64, n: u64) -> Value {
    const BOUNDS: [u64; 21] = [
        10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000,
        3000, 5000, 10000,
    ];
    let mut counts = vec![0u64; 22];
    counts[BOUNDS.iter().position(|b| *b == bound_ms).unwrap()] = n;
    json!(counts)
}

/// Six hours of a morning: claude slows down, goes down for 52 minutes (gpt and the cache
/// serve meanwhile), recovers; an hour without traffic; a line of garbage.
fn prepared_file(env: &TestEnv) {
    let hour = |i: u64| NOW - NOW % H - (5 - i) * H;
    let lines = [
        json!({"type": "hour", "hour": hour(0), "provider": "claude", "served": 10, "accepted": 4, "latency_ms": latency(300, 10)}),
        json!({"type": "hour", "hour": hour(1), "provider": "claude", "served": 8, "accepted": 2, "latency_ms": latency(1000, 8)}),
        json!({"type": "change", "at": hour(2) + 600, "provider": "claude", "from": "healthy", "to": "down", "reason": "529 retryable", "session": "s1"}),
        json!({"type": "hour", "hour": hour(2), "provider": "claude", "served": 3, "cached": 3, "failures": {"retryable": 5}}),
        json!({"type": "hour", "hour": hour(2), "provider": "gpt", "served": 12, "accepted": 6, "failovers": 12, "latency_ms": latency(400, 12)}),
        json!({"type": "change", "at": hour(3) + 120, "provider": "claude", "from": "down", "to": "healthy", "reason": "recovered", "session": "s1"}),
        json!({"type": "hour", "hour": hour(3), "provider": "gpt", "served": 2, "failovers": 2, "latency_ms": latency(400, 2)}),
        json!({"type": "hour", "hour": hour(5), "provider": "claude", "served": 5, "latency_ms": latency(200, 5)}),
    ];
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{\"type\": \"hour\", \"hour\": \"not a number\"}\n");
    let path = stats_file(env);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn stats_command(env: &TestEnv, args: &[&str]) -> (String, String) {
    let output = env
        .command()
        .arg("stats")
        .args(args)
        .env("SWITCHBOARD_STATS_NOW", "2026-12-04T12:30:00Z")
        .output()
        .expect("run stats");
    assert!(output.status.success(), "{output:?}");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn stats_shows_the_table_the_summary_and_the_hourly_strip() {
    let env = TestEnv::new();
    prepared_file(&env);
    let (out, err) = stats_command(&env, &["--since", "6h"]);
    let expected = "\
Switchboard — last 6 hours (2026-12-04 07:00 → 2026-12-04 12:30 UTC)

provider      served accepted     p50     p95 failovers  outages
claude            26      23%   285ms   975ms         0  1, 52 min
gpt               14      43%   350ms   400ms        14  —

from cache: 3 of 40 (8%), 0 stale; local engine: 0
failures: claude 5 retryable

last 6 hours: claude down once, 52 min in all; 14 completions served by gpt and
3 from cache meanwhile.

hourly health, oldest first (an hour a mark; ▁…█ latency, · no traffic, ✗ down)
claude       ▃█✗✗·▂
gpt          ··▄▄··
";
    assert_eq!(out, expected, "\n{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 80));
    // The line that does not parse is skipped, with one warning.
    assert_eq!(err.matches("unreadable line").count(), 1, "{err}");
}

#[test]
fn stats_json_gives_the_same_figures_for_the_editors() {
    let env = TestEnv::new();
    prepared_file(&env);
    let (out, _) = stats_command(&env, &["--json", "--since", "6h"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["since"], "2026-12-04T07:00:00Z");
    assert_eq!(report["until"], "2026-12-04T12:30:00Z");
    assert_eq!(report["hours"], 6);
    let claude = &report["providers"][0];
    assert_eq!(claude["name"], "claude");
    assert_eq!(claude["served"], 26);
    assert_eq!(claude["accepted_pct"], 23);
    assert_eq!(claude["failures"], json!({"retryable": 5}));
    assert_eq!(claude["latency_ms"], json!({"p50": 285, "p95": 975}));
    assert_eq!(
        claude["outages"],
        json!([{"start": "2026-12-04T09:10:00Z", "end": "2026-12-04T10:02:00Z", "minutes": 52, "reason": "529 retryable"}])
    );
    assert_eq!(claude["hourly"].as_array().unwrap().len(), 6);
    assert_eq!(
        claude["hourly"][2],
        json!({"hour": "2026-12-04T09:00:00Z", "served": 3, "p50_ms": null, "down": true})
    );
    assert_eq!(report["providers"][1]["failovers"], 14);
    assert_eq!(report["total"]["served"], 40);
    assert_eq!(report["total"]["cache_hit_pct"], 8);
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("last 6 hours: claude down once, 52 min in all")
    );
}

#[test]
fn stats_works_with_no_file_and_no_server() {
    let env = TestEnv::new();
    let (out, err) = stats_command(&env, &[]);
    assert!(
        out.contains("last 7 days: no completions recorded."),
        "{out}"
    );
    assert_eq!(err, "");
    let output = env
        .command()
        .args(["stats", "--since", "soon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

// --- the stats file -----------------------------------------------------------------------

#[test]
fn no_code_path_prompt_or_key_reaches_the_stats_file() {
    const CODE: &str = "fn zebra_private_code_marker() { let quokka_local = 1; }";
    const PATH_PART: &str = "alice_private_path_marker";
    const KEY: &str = "sk-KEY_MARKER_9f8e7d6c5b4a";
    const ANSWER: &str = "RETURNED_SUGGESTION_MARKER";
    const PROVIDER_ERROR: &str = "PROVIDER_ERROR_MARKER";
    let (a, b) = (FakeProvider::start(), FakeProvider::start());
    a.set_default(Reply::status_with(529, PROVIDER_ERROR, &[]));
    b.set_default(Reply::ok(ANSWER));
    let env = TestEnv::new().with("OPENAI_FIM_API_KEY", KEY);
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({
        "routing": {"retries": 0, "hedge_ms": "off", "breaker_failures": 1},
        "provider": [provider("a", &a), provider("b", &b)],
    }));
    let uri = format!("file:///home/{PATH_PART}/project/src/main.rs");
    let text = format!("{CODE}\nlet x = ");
    client.open(&uri, "rust", &text);
    let item = client.completion(&uri, 1, 8)["items"][0].clone();
    assert_eq!(item["data"]["provider"], "b", "{item}");
    accept(&mut client, json!([item["command"]["arguments"][0]]));
    // Again: from the cache this time.
    let item = client.inline_completion(&uri, 1, 8)["items"][0].clone();
    accept(&mut client, json!([item["command"]["arguments"][0]]));
    assert!(client.shutdown().success());
    // The upstream request did carry them: what must not be recorded was there to leak.
    assert!(
        b.requests()
            .iter()
            .any(|r| r.body.to_string().contains("zebra_private_code_marker"))
    );

    let dir = stats_file(&env).parent().unwrap().to_path_buf();
    let mut written = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        written.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry.unwrap().path()).unwrap(),
        ));
    }
    assert!(written.contains("\"type\":\"hour\""), "{written}");
    assert!(written.contains("\"type\":\"change\""), "{written}");
    for secret in [
        "zebra_private_code_marker",
        "quokka_local",
        PATH_PART,
        "main.rs",
        KEY,
        "KEY_MARKER",
        ANSWER,
        PROVIDER_ERROR,
        "let x",
    ] {
        assert!(
            !written.contains(secret),
            "{secret} reached the stats file:\n{written}"
        );
    }
}

#[test]
fn two_servers_writing_at_once_lose_nothing() {
    const EACH: u64 = 25;
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("same_answer"));
    // Both write every 20 ms and compact past 1500 bytes, so appends and compactions
    // of the two overlap many times.
    let env = TestEnv::new()
        .with("SWITCHBOARD_STATS_FLUSH_MS", "20")
        .with("SWITCHBOARD_STATS_MAX_BYTES", "1500");
    let options = json!({"cache": {"ttl_secs": 0}, "provider": [provider("a", &fake)]});
    let mut one = LspClient::spawn(&env);
    let mut two = LspClient::spawn(&env);
    one.initialize(options.clone());
    two.initialize(options);
    one.open(URI, "rust", "let x = ");
    two.open(URI, "rust", "let y = ");
    for _ in 0..EACH {
        for (client, col) in [(&mut one, 8), (&mut two, 8)] {
            let item = client.completion(URI, 0, col)["items"][0].clone();
            accept(client, json!([item["command"]["arguments"][0]]));
        }
    }
    assert!(one.shutdown().success());
    assert!(two.shutdown().success());

    let contents = std::fs::read_to_string(stats_file(&env)).unwrap();
    assert!(
        contents
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{contents}"
    );
    assert_eq!(totals(&env, "a", "served"), 2 * EACH);
    assert_eq!(totals(&env, "a", "accepted"), 2 * EACH);
}

#[test]
fn a_corrupt_stats_file_is_one_warning_and_a_fresh_start() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("from_a"));
    let env = TestEnv::new();
    let path = stats_file(&env);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut garbage = b"{\"type\":\"hour\",\"hour\":".to_vec();
    garbage.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
    garbage.extend(b"\nnot json either\n");
    std::fs::write(&path, &garbage).unwrap();

    let mut client = LspClient::spawn(&env);
    client.initialize(json!({"provider": [provider("a", &fake)]}));
    client.open(URI, "rust", "let x = ");
    for _ in 0..3 {
        let item = client.completion(URI, 0, 8)["items"][0].clone();
        assert_eq!(item["data"]["provider"], "a");
    }
    let (status, stderr) = client.shutdown_with_stderr();
    assert!(status.success());
    assert_eq!(stderr.matches("stats file").count(), 1, "{stderr}");
    assert!(stderr.contains("WARN"), "{stderr}");

    // The garbage is gone; what this server counted is there.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{text}"
    );
    assert_eq!(totals(&env, "a", "served"), 3);
    let (_, err) = stats_command(&env, &[]);
    assert_eq!(err, "");
}

#[test]
fn counts_are_written_when_the_editor_goes_without_shutdown() {
    let fake = FakeProvider::start();
    fake.set_default(Reply::ok("from_a"));
    let env = TestEnv::new();
    let mut client = LspClient::spawn(&env);
    client.initialize(json!({"provider": [provider("a", &fake)]}));
    client.open(URI, "rust", "let x = ");
    let item = client.completion(URI, 0, 8)["items"][0].clone();
    accept(&mut client, json!([item["command"]["arguments"][0]]));
    client.hang_up();
    assert_eq!(totals(&env, "a", "served"), 1);
    assert_eq!(totals(&env, "a", "accepted"), 1);
}
