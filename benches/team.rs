//! Team mode benchmark (DESIGN.md §7, §8), in process against a real `redis-server` of
//! its own: how fast a teammate's outage reaches this server's board, an L2 (shared
//! cache) lookup, the completion overhead while Redis is down, 50 simulated members
//! (messages per second, propagation), and Redis memory for 10 000 shared entries.
//!
//! ```sh
//! cargo bench --bench team
//! ```
//!
//! It reports and never asserts a timing. Needs `redis-server` on the PATH.

#[path = "../tests/support/redis_server.rs"]
mod redis_server;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use support::stats::{Samples, fmt};
use switchboard_ls::cache::{ContextKey, SharedAnswer};
use switchboard_ls::config::{Config, ProviderConfig, ProviderKind, Secret, TeamConfig};
use switchboard_ls::engine::{CompletionRequest, Engine};
use switchboard_ls::health::{HealthBoard, HealthState, Observation};
use switchboard_ls::providers::ProviderError;
use switchboard_ls::team::{Team, TeamSetup};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("team: skipped (run `cargo bench --bench team`)");
        return;
    }
    let Some(redis) = RedisServer::start("team bench") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        propagation(&redis).await;
        l2_hit(&redis).await;
        redis_down_overhead().await;
        fifty_members(&redis).await;
    });
    memory(&redis, &runtime);
}

fn config() -> Config {
    let mut config = Config::offline();
    let mut claude = ProviderConfig::with_defaults("claude", ProviderKind::Anthropic, "m");
    claude.api_key = Some(Secret::new("k"));
    config.providers.insert(0, claude);
    config
}

fn setup(redis: &RedisServer, share_cache: bool) -> TeamSetup {
    TeamSetup {
        config: TeamConfig {
            redis_url: redis.url(),
            name: "bench".into(),
            share_health: true,
            share_cache,
            password: None,
        },
        cache_ttl_secs: 3600,
        workspace_root: None,
    }
}

struct Member {
    board: Arc<HealthBoard>,
    team: Team,
}

fn member(setup: TeamSetup) -> Member {
    let board = HealthBoard::new(&config(), tokio::sync::broadcast::channel(1024).0);
    let source = board.clone();
    let team = Team::start(setup, Arc::new(move || source.clone()), Arc::new(|| {}));
    Member { board, team }
}

async fn connected(members: &[&Member]) {
    while !members.iter().all(|m| m.team.status().connected) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn overloaded() -> Observation {
    let mut error = ProviderError::timeout("bench", Duration::from_secs(1));
    error.status = Some(529);
    error.code = Some("overloaded_error".into());
    Observation::Failure {
        provider: "claude".into(),
        error,
    }
}

fn row(what: &str, samples: &Samples, target: &str) {
    println!(
        "| {what} | {} | {} | {} | {} | {target} |",
        samples.len(),
        fmt(samples.p50()),
        fmt(samples.p95()),
        fmt(samples.p99())
    );
}

/// A's breaker opens (three 529s at once) → B's board says `down`.
async fn propagation(redis: &RedisServer) {
    let (a, b) = (member(setup(redis, false)), member(setup(redis, false)));
    connected(&[&a, &b]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut samples = Vec::new();
    for _ in 0..20 {
        let mut events = b.board.subscribe();
        let started = Instant::now();
        for _ in 0..3 {
            a.board.observe(overloaded());
        }
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Ok(event)) if event.current == HealthState::Down => break,
                Ok(_) => continue,
                Err(_) => panic!("B never heard of A's outage"),
            }
        }
        samples.push(started.elapsed());
        for board in [&a.board, &b.board] {
            board.observe(Observation::Retry {
                provider: "claude".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    row(
        "teammate's breaker opening → this board `down`",
        &Samples::new(samples),
        "≤ 1 s",
    );
}

/// A lookup that hits, on loopback Redis.
async fn l2_hit(redis: &RedisServer) {
    let a = member(setup(redis, true));
    connected(&[&a]).await;
    // The command connection comes up with the first publish.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tier = a.team.shared_tier().expect("share_cache");
    let key = ContextKey(42);
    tier.put(
        key,
        SharedAnswer {
            text: "let next = compute(total);".into(),
            provider: "claude".into(),
            model: "m".into(),
        },
    );
    while tier.get(key).await.is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut samples = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        assert!(tier.get(key).await.is_some());
        samples.push(started.elapsed());
    }
    row(
        "L2 hit (GET on loopback Redis)",
        &Samples::new(samples),
        "≤ 2 ms",
    );
}

/// A local-only completion through the engine, with no shared tier and with one whose
/// Redis is down.
async fn redis_down_overhead() {
    let request = || CompletionRequest {
        text: "fn main() {\n    let total = compute(".into(),
        cursor: 36,
        language: "rust".into(),
        path: None,
        neighbours: Default::default(),
    };
    let mut cfg = Config::offline();
    cfg.cache.ttl_secs = 0;
    let engine = Engine::new(cfg.clone());
    let mut without = Vec::new();
    for _ in 0..3000 {
        let started = Instant::now();
        engine.complete(request()).await;
        without.push(started.elapsed());
    }
    let dead = TeamSetup {
        config: TeamConfig {
            redis_url: "redis://127.0.0.1:1/0".into(),
            name: "bench".into(),
            share_health: true,
            share_cache: true,
            password: None,
        },
        cache_ttl_secs: 3600,
        workspace_root: None,
    };
    let board = HealthBoard::new(&cfg, tokio::sync::broadcast::channel(16).0);
    let team = Team::start(dead, Arc::new(move || board.clone()), Arc::new(|| {}));
    let engine = Engine::new(cfg);
    engine.set_shared_tier(team.shared_tier());
    let mut with = Vec::new();
    for _ in 0..3000 {
        let started = Instant::now();
        engine.complete(request()).await;
        with.push(started.elapsed());
    }
    row(
        "local completion, no team",
        &Samples::new(without),
        "baseline",
    );
    row(
        "local completion, shared tier with Redis down",
        &Samples::new(with),
        "≈ baseline",
    );
}

/// 50 members on one Redis: messages a second per member, steady and in a storm, and
/// how long member 0's outage takes to reach the 49 others.
async fn fifty_members(redis: &RedisServer) {
    let members: Vec<Member> = (0..50).map(|_| member(setup(redis, false))).collect();
    connected(&members.iter().collect::<Vec<_>>()).await;
    let client = redis::Client::open(redis.url()).unwrap();
    let count = |seconds: u64| {
        let client = client.clone();
        std::thread::spawn(move || {
            let mut connection = client.get_connection().unwrap();
            let mut pubsub = connection.as_pubsub();
            pubsub.subscribe("switchboard:bench:health").unwrap();
            pubsub
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let until = Instant::now() + Duration::from_secs(seconds);
            let mut messages = 0u64;
            while Instant::now() < until {
                if pubsub.get_message().is_ok() {
                    messages += 1;
                }
            }
            messages
        })
    };
    let traffic = Arc::new(AtomicBool::new(true));
    let steady = {
        let boards: Vec<_> = members.iter().map(|m| m.board.clone()).collect();
        let traffic = traffic.clone();
        tokio::spawn(async move {
            // Each member completes about 5 times a second, all answered.
            while traffic.load(Ordering::Relaxed) {
                for board in &boards {
                    board.observe(Observation::Success {
                        provider: "claude".into(),
                        first_byte: Duration::from_millis(100),
                        total: Duration::from_millis(200),
                    });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let counter = count(10);
    let messages = tokio::task::spawn_blocking(move || counter.join().unwrap())
        .await
        .unwrap();
    println!(
        "| 50 members, steady state | {:.2} messages/s per member | ≤ 1 |",
        messages as f64 / 10.0 / 50.0
    );
    traffic.store(false, Ordering::Relaxed);
    steady.await.unwrap();

    // A storm: every member fails about 5 times a second for 10 s.
    let storm = {
        let boards: Vec<_> = members.iter().map(|m| m.board.clone()).collect();
        tokio::spawn(async move {
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                for board in &boards {
                    board.observe(overloaded());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let counter = count(10);
    let messages = tokio::task::spawn_blocking(move || counter.join().unwrap())
        .await
        .unwrap();
    storm.await.unwrap();
    println!(
        "| 50 members, storm | {:.2} messages/s per member | — |",
        messages as f64 / 10.0 / 50.0
    );
    for m in &members {
        m.board.observe(Observation::Retry {
            provider: "claude".into(),
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Member 0's breaker opens: when does each of the 49 others say `down`?
    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut watchers: Vec<_> = members[1..].iter().map(|m| m.board.subscribe()).collect();
        let started = Instant::now();
        for _ in 0..3 {
            members[0].board.observe(overloaded());
        }
        for events in &mut watchers {
            loop {
                match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                    Ok(Ok(event)) if event.current == HealthState::Down => break,
                    Ok(_) => continue,
                    Err(_) => panic!("a member never heard"),
                }
            }
            samples.push(started.elapsed());
        }
        for m in &members {
            m.board.observe(Observation::Retry {
                provider: "claude".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    row(
        "50 members: one's outage → each other's board `down`",
        &Samples::new(samples),
        "≤ 1 s",
    );
}

/// Redis memory for 10 000 shared entries of a typical one-line answer.
fn memory(redis: &RedisServer, runtime: &tokio::runtime::Runtime) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let used = |connection: &mut redis::Connection| -> u64 {
        let info: String = redis::cmd("INFO").arg("memory").query(connection).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let before = used(&mut connection);
    runtime.block_on(async {
        let a = member(setup(redis, true));
        connected(&[&a]).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let tier = a.team.shared_tier().unwrap();
        for i in 0..10_000u128 {
            tier.put(
                ContextKey(i),
                SharedAnswer {
                    text: format!("let next_{i} = compute(total, {i});"),
                    provider: "claude".into(),
                    model: "claude-haiku-4-5".into(),
                },
            );
            if i % 50 == 0 {
                // The writer queue is bounded (puts beyond it are dropped): let it drain.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    });
    let keys: u64 = redis::cmd("DBSIZE").query(&mut connection).unwrap();
    let after = used(&mut connection);
    println!(
        "| Redis memory, {keys} shared entries | {:.1} MB ({} bytes per entry) | — |",
        (after.saturating_sub(before)) as f64 / 1e6,
        after.saturating_sub(before) / keys.max(1)
    );
}
