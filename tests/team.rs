//! Team mode (DESIGN.md §8) with the real thing: a `redis-server` of the test's own,
//! two `switchboard-ls` processes sharing it over stdio, fake providers over HTTP, and
//! an observer that reads every message published during the test.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};
use support::redis_server::RedisServer;

const URI: &str = "file:///project/src/main.rs";
const CODE: &str = "let secret_code_marker = ";
const CANARY: &str = "fim-TEAM-SECRET-CANARY-42";
const WAIT: Duration = Duration::from_secs(20);

fn provider(name: &str, fake: &FakeProvider) -> Value {
    json!({"name": name, "kind": "openai-fim", "model": "m", "base_url": format!("{}/v1", fake.url())})
}

/// A member of team `acme` with these providers (in order), each call its own process.
fn member(redis: &RedisServer, providers: Value, routing: Value) -> LspClient {
    let env = Box::leak(Box::new(TestEnv::new().with("OPENAI_FIM_API_KEY", CANARY)));
    let mut client = LspClient::spawn(env);
    client.initialize(json!({
        "routing": routing,
        "cache": {"ttl_secs": 0},
        "provider": providers,
        "team": {"redis_url": redis.url(), "name": "acme"},
    }));
    client.open(URI, "rust", CODE);
    client
}

fn complete(client: &mut LspClient) -> Value {
    client.completion(URI, 0, CODE.len() as u32)["items"][0].clone()
}

fn state_of(status: &Value, name: &str) -> Value {
    status["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

fn status(client: &mut LspClient) -> Value {
    client.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    )
}

fn wait_members(client: &mut LspClient, members: u64) -> Value {
    client.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == true && p["team"]["members"] == members,
        WAIT,
    )
}

/// Every message published on any `switchboard:*` channel while it runs.
struct Observer {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<JoinHandle<()>>,
}

impl Observer {
    fn start(redis: &RedisServer) -> Observer {
        let client = redis::Client::open(redis.url()).unwrap();
        let mut connection = client.get_connection().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut pubsub = connection.as_pubsub();
                pubsub.psubscribe("switchboard:*").unwrap();
                pubsub
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                ready_tx.send(()).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(message) = pubsub.get_message() {
                        seen.lock()
                            .unwrap()
                            .push(message.get_payload_bytes().to_vec());
                    }
                }
            })
        };
        ready.recv_timeout(WAIT).unwrap();
        Observer {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Publishes `payloads` in a loop on the health channel until stopped (at most `limit`).
fn publisher(
    redis: &RedisServer,
    payloads: Vec<Vec<u8>>,
    limit: Duration,
) -> (Arc<AtomicBool>, JoinHandle<usize>) {
    let client = redis::Client::open(redis.url()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut connection = client.get_connection().unwrap();
        let started = Instant::now();
        let mut sent = 0;
        while !flag.load(Ordering::Relaxed) && started.elapsed() < limit {
            for payload in &payloads {
                let _: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                    .arg("switchboard:acme:health")
                    .arg(payload.as_slice())
                    .query(&mut connection);
                sent += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        sent
    });
    (stop, thread)
}

#[test]
fn a_529_storm_seen_by_one_member_makes_another_skip_the_provider_and_no_key_reaches_redis() {
    let Some(redis) = RedisServer::start("a_529_storm_seen_by_one_member") else {
        return;
    };
    let observer = Observer::start(&redis);
    let (flaky, good) = (FakeProvider::start(), FakeProvider::start());
    flaky.set_default(Reply::status(529));
    good.set_default(Reply::ok("from_good"));
    let routing = json!({"retries": 0, "breaker_failures": 2, "breaker_cooldown_ms": 600000,
                         "hedge_ms": "off", "status_poll_secs": 0});
    // Members name the same providers differently: identity is kind + URL + model.
    let mut a = member(
        &redis,
        json!([provider("claude", &flaky), provider("gpt", &good)]),
        routing.clone(),
    );
    let mut b = member(
        &redis,
        json!([provider("primary", &flaky), provider("backup", &good)]),
        routing,
    );
    wait_members(&mut a, 2);
    wait_members(&mut b, 2);

    // A pays for the storm: two 529s open its breaker.
    assert_eq!(complete(&mut a)["data"]["provider"], "gpt");
    assert_eq!(complete(&mut a)["data"]["provider"], "gpt");
    assert_eq!(state_of(&status(&mut a), "claude")["state"], "down");
    let paid = flaky.completion_requests().len();
    assert_eq!(paid, 2);

    // B learns it from A and never sends the provider a request.
    let seen = b.wait_notification_for(
        "switchboard/status",
        |p| state_of(p, "primary")["state"] == "down",
        WAIT,
    );
    assert!(
        state_of(&seen, "primary")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("teammates"),
        "{seen}"
    );
    for _ in 0..3 {
        let item = complete(&mut b);
        assert_eq!(item["data"]["provider"], "backup");
        assert_eq!(item["textEdit"]["newText"], "from_good");
    }
    assert_eq!(
        flaky.completion_requests().len(),
        paid,
        "B skipped the provider A saw fail"
    );
    let diagnostics = b.wait_notification_for(
        "textDocument/publishDiagnostics",
        |p| {
            p["diagnostics"].as_array().into_iter().flatten().any(|d| {
                d["code"] == "team"
                    && d["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("team acme: primary down for 1 teammate"))
            })
        },
        WAIT,
    );
    assert!(diagnostics["uri"] == URI, "{diagnostics}");

    a.shutdown();
    b.shutdown();
    let messages = observer.finish();
    assert!(!messages.is_empty(), "the observer heard the team");
    for message in &messages {
        let text = String::from_utf8_lossy(message);
        assert!(!text.contains(CANARY), "a key reached Redis: {text}");
        assert!(!text.contains("SECRET"), "a key reached Redis: {text}");
        assert!(
            !text.contains("secret_code_marker"),
            "code reached Redis: {text}"
        );
        assert!(!text.contains(flaky.url()), "a URL reached Redis: {text}");
        assert!(!text.contains("project"), "a path reached Redis: {text}");
        assert!(message.len() < 8 * 1024, "small messages: {text}");
        let value: Value = serde_json::from_slice(message).expect("JSON");
        assert_eq!(value["v"], 1, "{text}");
    }
}

#[test]
fn redis_killed_and_restarted_mid_session_completions_go_on_said_once_and_rejoined() {
    let Some(mut redis) = RedisServer::start("redis_killed_and_restarted_mid_session") else {
        return;
    };
    let good = FakeProvider::start();
    good.set_default(Reply::ok("from_good"));
    let mut a = member(
        &redis,
        json!([provider("gpt", &good)]),
        json!({"hedge_ms": "off", "status_poll_secs": 0}),
    );
    a.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == true,
        WAIT,
    );
    assert_eq!(complete(&mut a)["data"]["provider"], "gpt");

    redis.kill();
    a.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == false && p["team"]["name"] == "acme",
        WAIT,
    );
    for _ in 0..5 {
        assert_eq!(complete(&mut a)["data"]["provider"], "gpt");
    }
    a.wait_notification_for(
        "textDocument/publishDiagnostics",
        |p| {
            p["diagnostics"].as_array().into_iter().flatten().any(|d| {
                d["code"] == "team"
                    && d["message"].as_str().is_some_and(|m| {
                        m.starts_with("team acme: Redis at redis://127.0.0.1:")
                            && m.contains("unreachable")
                    })
            })
        },
        WAIT,
    );

    redis.restart();
    a.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == true,
        WAIT,
    );
    // Rejoined: it hears a teammate again on the restarted server.
    let heartbeat = br#"{"v":1,"member":"00000000000000aa","providers":[]}"#.to_vec();
    let (stop, teammate) = publisher(&redis, vec![heartbeat], WAIT);
    wait_members(&mut a, 2);
    stop.store(true, Ordering::Relaxed);
    teammate.join().unwrap();
    assert_eq!(complete(&mut a)["data"]["provider"], "gpt");
    // The diagnostic goes once Redis is back.
    a.wait_notification_for(
        "textDocument/publishDiagnostics",
        |p| {
            !p["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["code"] == "team")
        },
        WAIT,
    );
    let (_, stderr) = a.shutdown_with_stderr();
    assert_eq!(
        stderr.matches("unreachable").count(),
        1,
        "the outage is said once:\n{stderr}"
    );
}

#[test]
fn a_hostile_publisher_never_crashes_disables_or_starves_and_a_local_success_wins() {
    let Some(redis) = RedisServer::start("a_hostile_publisher") else {
        return;
    };
    let primary = FakeProvider::start();
    primary.set_default(Reply::ok("from_primary"));
    let mut a = member(
        &redis,
        json!([provider("primary", &primary)]),
        json!({"retries": 0, "breaker_failures": 2, "breaker_cooldown_ms": 200,
               "hedge_ms": "off", "status_poll_secs": 0}),
    );
    a.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == true,
        WAIT,
    );
    let id = switchboard_ls::team::message::provider_id(
        "openai-fim",
        &format!("{}/v1", primary.url()),
        "m",
    );
    let claim = |member: u64| {
        format!(
            r#"{{"v":1,"member":"{member:016x}","providers":[{{"id":"{id}","failures":4294967295,"demoted":true,"detail":"529 overloaded_error"}}]}}"#
        )
        .into_bytes()
    };
    let mut payloads: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        br#"{"v":1,"member":12,"providers":"all"}"#.to_vec(),
        br#"{"v":1,"member":"00000000000000bb","providers":[{"id":7,"failures":"many"}]}"#.to_vec(),
        format!(r#"{{"v":1,"member":"00000000000000cc","pad":"{}"}}"#, "x".repeat(256 << 10)).into_bytes(),
        br#"{"v":1,"member":"00000000000000dd","providers":[{"id":"ffffffffffffffffffffffffffffffff","failures":1,"detail":"Incorrect API key provided: sk-x"}]}"#.to_vec(),
    ];
    // One member claiming the provider down, over and over, and a crowd of invented ones.
    payloads.extend(std::iter::repeat_n(claim(0xbad), 50));
    payloads.extend((0..200).map(|m| claim(0x1000 + m)));
    let (stop, flood) = publisher(&redis, payloads, Duration::from_secs(60));

    // The flood is read: teammates' reports take the provider down...
    a.wait_notification_for(
        "switchboard/status",
        |p| state_of(p, "primary")["state"] == "down",
        WAIT,
    );
    // ...yet the server answers, and after each cooldown a local probe succeeds and is served.
    let deadline = Instant::now() + WAIT;
    let mut served_by_primary = 0;
    let mut answered = 0;
    while served_by_primary == 0 && Instant::now() < deadline {
        let item = complete(&mut a);
        answered += 1;
        if item["data"]["provider"] == "primary" {
            served_by_primary += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let sent = flood.join().unwrap();
    assert!(sent > 255, "the flood ran ({sent} messages)");
    assert!(answered > 0);
    assert_eq!(
        served_by_primary, 1,
        "a local success wins over teammates' claims"
    );
    let statuses = a.notifications("switchboard/status");
    assert!(
        statuses
            .iter()
            .all(|s| state_of(s, "primary")["state"] != "disabled"),
        "teammates can never disable a provider"
    );
    assert!(a.is_running());
    assert!(a.shutdown().success());
}

#[test]
fn config_shows_the_team_with_every_password_redacted() {
    let env = TestEnv::new().with("SWITCHBOARD_REDIS_PASSWORD", "pw-TEAM-CANARY");
    env.write_user_config(
        "[team]\nredis_url = \"redis://u:hunter2@127.0.0.1:6379/0\"\nname = \"acme\"\nshare_cache = true\n",
    );
    let output = env
        .command()
        .arg("config")
        .current_dir(env.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("TEAM-CANARY"), "{text}");
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("redis_url = \"redis://u:***@127.0.0.1:6379/0\"").ends_with("# user file"),
        "{text}"
    );
    assert!(line("name = \"acme\"").ends_with("# user file"), "{text}");
    assert!(
        line("share_cache = true").ends_with("# user file"),
        "{text}"
    );
    assert!(line("share_health = true").ends_with("# default"), "{text}");
    assert!(
        text.contains("# password: SWITCHBOARD_REDIS_PASSWORD set (redacted)"),
        "{text}"
    );
}

/// A member of `acme` sharing its cache, working in its own clone of one repository.
fn cache_member(redis: &RedisServer, good: &FakeProvider, name: &str) -> LspClient {
    let env = Box::leak(Box::new(TestEnv::new().with("OPENAI_FIM_API_KEY", CANARY)));
    let clone = env.path().join("clone");
    std::fs::create_dir_all(clone.join(".git")).unwrap();
    std::fs::write(
        clone.join(".git/config"),
        "[remote \"origin\"]\n\turl = git@example.com:acme/app.git\n",
    )
    .unwrap();
    let mut client = LspClient::spawn(env);
    client.initialize_with(json!({
        "processId": null,
        "rootUri": support::lsp_client::file_uri(&clone),
        "capabilities": {},
        "initializationOptions": {
            "routing": {"hedge_ms": "off", "status_poll_secs": 0},
            "provider": [provider(name, good)],
            "team": {"redis_url": redis.url(), "name": "acme", "share_cache": true},
        },
    }));
    client.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == true,
        WAIT,
    );
    client
}

fn keys(redis: &RedisServer) -> Vec<(String, String)> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    keys.into_iter()
        .map(|key| {
            let value: Option<String> = redis::cmd("GET").arg(&key).query(&mut connection).unwrap();
            (key, value.unwrap_or_default())
        })
        .collect()
}

#[test]
fn a_teammate_on_the_same_repository_is_served_from_the_shared_cache_and_excluded_files_never_reach_redis()
 {
    let Some(redis) = RedisServer::start("a_teammate_is_served_from_the_shared_cache") else {
        return;
    };
    let good = FakeProvider::start();
    good.set_default(Reply::ok("from_a"));
    let mut a = cache_member(&redis, &good, "gpt");
    // B calls the same provider by another name, and sees its own name for A's answer.
    let mut b = cache_member(&redis, &good, "fim");
    let uri = "file:///somewhere/src/main.rs";
    a.open(uri, "rust", CODE);
    b.open(uri, "rust", CODE);

    let first = a.completion(uri, 0, CODE.len() as u32)["items"][0].clone();
    assert_eq!(first["data"]["provider"], "gpt");
    assert_eq!(first["data"]["cached"], false);
    assert_eq!(good.completion_requests().len(), 1);
    // The answer is stored in the background.
    let deadline = Instant::now() + WAIT;
    while keys(&redis).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stored = keys(&redis);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].0.starts_with("switchboard:acme:"), "{stored:?}");
    assert!(
        stored[0].1.contains("from_a") && stored[0].1.contains("\"gpt\""),
        "{stored:?}"
    );

    let second = b.completion(uri, 0, CODE.len() as u32)["items"][0].clone();
    assert_eq!(second["textEdit"]["newText"], "from_a");
    assert_eq!(second["data"]["cached"], true, "{second}");
    assert_eq!(second["data"]["provider"], "fim");
    assert_eq!(
        good.completion_requests().len(),
        1,
        "no upstream request for B"
    );

    // An excluded file is answered locally, and nothing of it is shared.
    let env_file = "file:///somewhere/.env";
    a.open(env_file, "dotenv", "API_TOKEN_MARKER = ");
    let local = a.completion(env_file, 0, 19)["items"][0].clone();
    assert_ne!(local["data"]["provider"], "gpt");
    a.shutdown();
    b.shutdown();
    let stored = keys(&redis);
    assert_eq!(stored.len(), 1, "{stored:?}");
    for (key, value) in &stored {
        assert!(
            !key.contains("somewhere") && !value.contains("API_TOKEN"),
            "{key}: {value}"
        );
        assert!(
            !value.contains(CANARY) && !value.contains("secret_code_marker"),
            "{value}"
        );
    }
}

/// `n` completions in `uri`, each after an edit that makes a context never seen before:
/// each must be answered by the provider `gpt` itself, not from any cache.
fn complete_fresh_contexts(a: &mut LspClient, uri: &str, n: usize) {
    for i in 0..n {
        let text = format!("{CODE}{i}; ");
        a.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": i + 2},
                   "contentChanges": [{"text": text}]}),
        );
        let item = a.completion(uri, 0, text.len() as u32)["items"][0].clone();
        assert_eq!(item["data"]["provider"], "gpt", "{item}");
        assert_eq!(item["data"]["cached"], false, "{item}");
    }
}

#[test]
fn a_stalled_redis_never_holds_a_completion() {
    let Some(redis) = RedisServer::start("a_stalled_redis_never_holds_a_completion") else {
        return;
    };
    let good = FakeProvider::start();
    good.set_default(Reply::ok("from_provider"));
    let mut a = cache_member(&redis, &good, "gpt");
    let uri = "file:///somewhere/src/lib.rs";
    a.open(uri, "rust", CODE);
    // Redis answers nothing for 5 s: every lookup and store is stuck behind the sleep.
    let stall = redis.stall(5);
    complete_fresh_contexts(&mut a, uri, 5);
    assert_eq!(
        good.completion_requests().len(),
        5,
        "each went to the provider"
    );
    // The test did what it says: Redis was still asleep when they were answered.
    assert!(
        !stall.is_finished(),
        "the completions came before Redis woke"
    );
    stall.join().unwrap();
    assert!(a.shutdown().success());
}

#[test]
fn status_says_whether_the_teams_redis_answers() {
    let Some(mut redis) = RedisServer::start("status_says_whether_the_teams_redis_answers") else {
        return;
    };
    let env = TestEnv::new();
    env.write_user_config(&format!(
        "[team]\nredis_url = \"{}\"\nname = \"acme\"\n",
        redis.url()
    ));
    let status = |args: &[&str]| {
        let output = env
            .command()
            .args(args)
            .current_dir(env.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let text = status(&["status"]);
    assert!(
        text.contains(&format!("team acme: Redis at {} reachable", redis.url())),
        "{text}"
    );
    let json: Value = serde_json::from_str(&status(&["status", "--json"])).unwrap();
    assert_eq!(json["team"]["name"], "acme");
    assert_eq!(json["team"]["reachable"], true);
    redis.kill();
    let text = status(&["status"]);
    assert!(
        text.contains(&format!("team acme: Redis at {} unreachable", redis.url())),
        "{text}"
    );
}

#[test]
fn redis_down_at_start_is_said_and_joined_when_it_comes_up() {
    let Some(mut redis) = RedisServer::start("redis_down_at_start") else {
        return;
    };
    redis.kill();
    let good = FakeProvider::start();
    good.set_default(Reply::ok("from_good"));
    let mut a = member(
        &redis,
        json!([provider("gpt", &good)]),
        json!({"hedge_ms": "off", "status_poll_secs": 0}),
    );
    assert_eq!(complete(&mut a)["data"]["provider"], "gpt");
    a.wait_notification_for(
        "textDocument/publishDiagnostics",
        |p| {
            p["diagnostics"].as_array().into_iter().flatten().any(|d| {
                d["code"] == "team"
                    && d["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("unreachable"))
            })
        },
        WAIT,
    );
    assert_eq!(status(&mut a)["team"]["connected"], false);
    redis.restart();
    a.wait_notification_for(
        "switchboard/status",
        |p| p["team"]["connected"] == true,
        WAIT,
    );
    assert_eq!(complete(&mut a)["data"]["provider"], "gpt");
    assert!(a.shutdown().success());
}

#[test]
fn a_redis_that_answers_errors_never_holds_or_breaks_a_completion() {
    let Some(redis) =
        RedisServer::start("a_redis_that_answers_errors_never_holds_or_breaks_a_completion")
    else {
        return;
    };
    let good = FakeProvider::start();
    good.set_default(Reply::ok("from_provider"));
    let mut a = cache_member(&redis, &good, "gpt");
    let uri = "file:///somewhere/src/errors.rs";
    a.open(uri, "rust", CODE);
    // From now on every command of every connection, the subscriber's too, is refused
    // with an error (ACL changes apply to connections already open).
    let admin = redis::Client::open(redis.url()).unwrap();
    let mut admin = admin.get_connection().unwrap();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("-@all")
        .arg("+acl")
        .query(&mut admin)
        .unwrap();
    // (The test does what it says: a command now gets an error back.)
    let refused: redis::RedisResult<Option<String>> = redis::cmd("GET").arg("k").query(&mut admin);
    assert!(refused.is_err(), "{refused:?}");
    complete_fresh_contexts(&mut a, uri, 5);
    assert_eq!(
        good.completion_requests().len(),
        5,
        "each went to the provider"
    );
    // The server is whole: commands are answered and nothing was disabled.
    let report = status(&mut a);
    assert_eq!(state_of(&report, "gpt")["state"], "healthy", "{report}");
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("+@all")
        .query(&mut admin)
        .unwrap();
    assert!(a.shutdown().success());
}
