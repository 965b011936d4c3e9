//! Outage replays (issue 13, DESIGN.md §4 soft failures and §7): the release
//! `switchboard-ls` driven over stdio by a simulated typist against three fake providers
//! that follow an incident's timeline, time-compressed, and the same replay under the
//! single-provider policy of today's peers (one provider, no cache, no failover, no
//! hedge), side by side.
//!
//! ```sh
//! cargo bench --bench outages                              # every replay (a few minutes)
//! SWITCHBOARD_BENCH_QUICK=1 cargo bench --bench outages    # smoke: short phases
//! cargo bench --bench outages -- R2 R5                     # only these replays
//! ```
//!
//! It reports figures and asserts no timing; it fails only if the server stops
//! answering. docs/BENCHMARKS.md has the table and what each replay stands for.

#[path = "../tests/support/fake_provider.rs"]
mod fake_provider;
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use fake_provider::{FakeProvider, Reply, Weighted};
use support::lsp::Server;
use support::stats::{Samples, fmt};

/// The typist's pause between completions (a person types a few characters a second;
/// compressed about 10×).
const PACE: Duration = Duration::from_millis(15);
const NAMES: [&str; 3] = ["claude", "gpt", "gemini"];

/// One stretch of an incident: what each provider does, for this many completions.
struct Phase {
    completions: usize,
    replies: [Reply; 3],
    /// Which providers are really failing (or slow, or bad) in this phase.
    bad: [bool; 3],
    /// The primary's status page, when it says something.
    page: Option<Value>,
}

struct Replay {
    id: &'static str,
    title: &'static str,
    phases: Vec<Phase>,
}

fn ok(text: &str) -> Reply {
    Reply::ok(text)
}

fn delayed(ms: u64) -> Reply {
    Reply::delayed("value + 1", Duration::from_millis(ms))
}

fn mix(choices: Vec<(u32, Reply)>) -> Reply {
    Reply::Mix {
        choices: choices
            .into_iter()
            .map(|(weight, reply)| Weighted { weight, reply })
            .collect(),
    }
}

/// A day's natural latency: mostly fast, a tail, and the occasional empty answer.
fn natural() -> Reply {
    mix(vec![
        (70, delayed(60)),
        (20, delayed(150)),
        (6, delayed(400)),
        (2, delayed(700)),
        (2, ok("")),
    ])
}

fn healthy() -> [Reply; 3] {
    [natural(), natural(), natural()]
}

fn phase(completions: usize, replies: [Reply; 3], bad: [bool; 3]) -> Phase {
    Phase {
        completions,
        replies,
        bad,
        page: None,
    }
}

fn replays(scale: usize) -> Vec<Replay> {
    let n = |count: usize| (count / scale).max(4);
    let down = || {
        mix(vec![
            (1, Reply::Drop),
            (1, Reply::status(503)),
            (1, Reply::status(500)),
        ])
    };
    let good = [false, false, false];
    let primary_bad = [true, false, false];
    vec![
        Replay {
            id: "R1",
            title: "total outage (OpenAI 2024-12-11): connection failures, then 5xx, uneven recovery",
            phases: vec![
                phase(n(40), healthy(), good),
                phase(n(120), [down(), natural(), natural()], primary_bad),
                phase(
                    n(40),
                    [
                        mix(vec![(1, natural()), (1, Reply::status(503))]),
                        natural(),
                        natural(),
                    ],
                    primary_bad,
                ),
                phase(n(60), healthy(), good),
            ],
        },
        Replay {
            id: "R2",
            title: "529 storm (Anthropic 2024–25): half the requests fail, the rest succeed",
            phases: vec![
                phase(n(40), healthy(), good),
                phase(
                    n(120),
                    [
                        mix(vec![(1, Reply::status(529)), (1, natural())]),
                        natural(),
                        natural(),
                    ],
                    primary_bad,
                ),
                phase(n(60), healthy(), good),
            ],
        },
        Replay {
            id: "R3",
            title: "slow, not failing (OpenAI 2025-06-10): 10–40 s answers, compressed to 1–4 s",
            phases: vec![
                phase(n(40), healthy(), good),
                phase(
                    n(120),
                    [
                        mix(vec![
                            (1, delayed(1000)),
                            (1, delayed(2000)),
                            (1, delayed(4000)),
                        ]),
                        natural(),
                        natural(),
                    ],
                    primary_bad,
                ),
                phase(n(80), healthy(), good),
            ],
        },
        Replay {
            id: "R4",
            title: "correlated failure (Google Cloud 2025-06-12): two providers down at once",
            phases: vec![
                phase(n(40), healthy(), good),
                phase(n(120), [down(), down(), natural()], [true, true, false]),
                phase(n(60), healthy(), good),
            ],
        },
        Replay {
            id: "R5",
            title: "silent degradation (Anthropic 2025-08): HTTP 200, answers not worth showing",
            phases: vec![
                phase(n(40), healthy(), good),
                phase(
                    n(120),
                    [
                        mix(vec![
                            (2, ok("")),
                            (2, ok("I'm sorry, but I can't help with that.")),
                            (1, ok(&"value = value\n".repeat(10))),
                        ]),
                        natural(),
                        natural(),
                    ],
                    primary_bad,
                ),
                phase(n(80), healthy(), good),
            ],
        },
        Replay {
            id: "R6",
            title: "lagging and irrelevant status page: failing while it says nothing, fine while it reports an incident",
            phases: vec![
                phase(n(40), healthy(), good),
                phase(n(80), [down(), natural(), natural()], primary_bad),
                Phase {
                    completions: n(80),
                    replies: healthy(),
                    bad: good,
                    page: Some(json!({
                        "status": {"indicator": "major", "description": "Partial outage"},
                        "incidents": [{"name": "Elevated errors on the Console", "status": "identified", "impact": "major"}]
                    })),
                },
            ],
        },
        Replay {
            id: "R7",
            title: "a normal day: natural latency variance, occasional empty answers",
            phases: vec![phase(n(240), healthy(), good)],
        },
    ]
}

/// What one run of a replay measured.
#[derive(Default)]
struct Figures {
    latencies: Vec<Duration>,
    unanswered: usize,
    served: [usize; 3],
    cache: usize,
    stale: usize,
    local: usize,
    /// Upstream requests, and those sent to a provider already known bad (down).
    upstream: usize,
    to_known_bad: usize,
    /// From the primary going bad to Switchboard saying so.
    detect: Option<Duration>,
    /// From the primary's recovery to it serving again.
    back: Option<Duration>,
    /// Healthy providers shown not healthy (R7 counts these).
    healthy_demoted: usize,
}

fn options(fakes: &[FakeProvider; 3], peers: bool, page_for: Option<&str>) -> Value {
    let provider = |i: usize| {
        let mut p = json!({"name": NAMES[i], "kind": "openai-fim", "model": "m",
                           "base_url": format!("{}/v1", fakes[i].url()), "status_page": ""});
        if i == 0
            && let Some(page) = page_for
        {
            p["status_page"] = json!(page);
        }
        p
    };
    if peers {
        return json!({
            "cache": {"path": "off", "ttl_secs": 0, "capacity": 1},
            "routing": {"retries": 0, "hedge_ms": "off", "status_poll_secs": 0,
                        "breaker_failures": 1000000, "slow_ms": "off", "quality_failures": 0},
            "provider": [provider(0)],
        });
    }
    json!({
        "cache": {"path": "off"},
        "routing": {"breaker_cooldown_ms": 1000, "status_poll_secs": if page_for.is_some() { 1 } else { 0 }},
        "provider": [provider(0), provider(1), provider(2)],
    })
}

fn states(server: &Server) -> Vec<String> {
    let (status, _) = server.request(
        "workspace/executeCommand",
        json!({"command": "switchboard.status", "arguments": []}),
    );
    let providers = status["result"]["providers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    NAMES
        .iter()
        .map(|name| {
            providers
                .iter()
                .find(|p| p["name"] == *name)
                .and_then(|p| p["state"].as_str())
                .unwrap_or("healthy")
                .to_string()
        })
        .collect()
}

fn run(replay: &Replay, peers: bool) -> Figures {
    let fakes = [
        FakeProvider::start(),
        FakeProvider::start(),
        FakeProvider::start(),
    ];
    let page = replay.phases.iter().any(|p| p.page.is_some());
    let page_url = fakes[0].url().to_string();
    let server = Server::start(options(&fakes, peers, page.then_some(page_url.as_str())));
    let providers = if peers { 1 } else { 3 };
    let mut figures = Figures::default();
    let mut typed = 0usize;
    let mut was_bad = false;
    let mut bad_since: Option<Instant> = None;
    let mut recovered_at: Option<Instant> = None;
    for phase in &replay.phases {
        for (fake, reply) in fakes.iter().zip(&phase.replies) {
            fake.set_default(reply.clone());
        }
        fakes[0].set_status_page(phase.page.clone().unwrap_or_else(
            || json!({"status": {"indicator": "none", "description": "All Systems Operational"}}),
        ));
        if phase.bad[0] && !was_bad {
            bad_since = Some(Instant::now());
        }
        if !phase.bad[0] && was_bad {
            recovered_at = Some(Instant::now());
        }
        was_bad = phase.bad[0];
        for _ in 0..phase.completions {
            typed += 1;
            // Mostly a new context each time; every fifth repeats an earlier one (the
            // user comes back to code completed before).
            let line = if typed.is_multiple_of(5) {
                typed / 2
            } else {
                typed
            };
            let uri = "file:///replay/src/main.rs";
            let text = format!("fn step_{line}(value: u32) -> u32 {{\n    let next = ");
            server.open(uri, &text);
            let before = states(&server);
            let counts: Vec<usize> = fakes
                .iter()
                .map(|f| f.completion_requests().len())
                .collect();
            let (data, took) = server.completion(uri, 1, 15);
            for i in 0..providers {
                let sent = fakes[i].completion_requests().len() - counts[i];
                figures.upstream += sent;
                if before[i] == "down" {
                    figures.to_known_bad += sent;
                }
            }
            let provider = data["provider"].as_str().unwrap_or("");
            let local = provider == "local";
            // The peers have no cache and no offline engine: those answers are not theirs.
            let not_theirs = peers && (local || data["cached"] == true);
            if data.is_null() || not_theirs {
                figures.unanswered += 1;
            } else {
                figures.latencies.push(took);
                if data["stale"] == true {
                    figures.stale += 1;
                } else if data["cached"] == true {
                    figures.cache += 1;
                } else if local {
                    figures.local += 1;
                } else if let Some(i) = NAMES.iter().position(|n| *n == provider) {
                    figures.served[i] += 1;
                }
            }
            let after = states(&server);
            if let Some(since) = bad_since
                && figures.detect.is_none()
                && after[0] != "healthy"
            {
                figures.detect = Some(since.elapsed());
            }
            if let Some(at) = recovered_at
                && figures.back.is_none()
                && provider == NAMES[0]
                && data["cached"] != true
            {
                figures.back = Some(at.elapsed());
            }
            for i in 0..providers {
                if !phase.bad[i] && after[i] != "healthy" && before[i] == "healthy" && !peers {
                    figures.healthy_demoted += usize::from(replay.id == "R7");
                }
            }
            std::thread::sleep(PACE);
        }
    }
    server.shutdown();
    figures
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

fn report(id: &str, policy: &str, f: &Figures) -> String {
    let total = f.latencies.len() + f.unanswered;
    let within = f
        .latencies
        .iter()
        .filter(|d| **d <= Duration::from_secs(1))
        .count();
    let samples = Samples::new(f.latencies.clone());
    let (p50, p95, p99) = if samples.is_empty() {
        ("—".into(), "—".into(), "—".into())
    } else {
        (fmt(samples.p50()), fmt(samples.p95()), fmt(samples.p99()))
    };
    let shares = format!(
        "{} / {} / {} / cache {} / stale {} / local {}",
        percent(f.served[0], total),
        percent(f.served[1], total),
        percent(f.served[2], total),
        percent(f.cache, total),
        percent(f.stale, total),
        percent(f.local, total)
    );
    let time = |d: Option<Duration>| d.map_or("—".to_string(), fmt);
    format!(
        "| {id} | {policy} | {total} | {} | {p50} | {p95} | {p99} | {} | {shares} | {} | {} | {} |",
        percent(within, total),
        f.unanswered,
        percent(f.to_known_bad, f.upstream),
        time(f.detect),
        time(f.back),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = std::env::var("SWITCHBOARD_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    if !args.iter().any(|a| a == "--bench") && !quick {
        println!("outages: skipped (run `cargo bench --bench outages`)");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    println!(
        "switchboard-ls outage replays ({} mode), binary {}",
        if quick { "QUICK smoke" } else { "full" },
        support::lsp::binary().display()
    );
    let mut rows = Vec::new();
    let mut demoted = 0;
    for replay in replays(if quick { 10 } else { 1 }) {
        if !filters.is_empty() && !filters.iter().any(|f| replay.id.contains(f.as_str())) {
            continue;
        }
        println!("== {} — {}", replay.id, replay.title);
        let ours = run(&replay, false);
        let peers = run(&replay, true);
        demoted += ours.healthy_demoted;
        let a = report(replay.id, "switchboard", &ours);
        let b = report(replay.id, "single provider (peers)", &peers);
        println!("{a}\n{b}");
        rows.push(a);
        rows.push(b);
    }
    println!(
        "\n| replay | policy | completions | answered ≤ 1 s | p50 | p95 | p99 | unanswered | served: claude / gpt / gemini / cache / stale / local | to a provider known bad | time to detect | back on primary |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!("\nhealthy providers demoted in R7: {demoted}");
}
