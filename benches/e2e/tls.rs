//! The `tls` scenario (issue 14): the figures of the network users really have, with the
//! fake provider over HTTPS (a CA made for the run, trusted through `[network] ca_file`).
//!
//! - 8a. The first failover to a provider not used before, over TLS (DESIGN.md §7: ≤ its
//!   latency + 2 ms, its connection warm): each sample is a fresh server whose first
//!   provider served one completion and then answers 529; the second has never been
//!   asked for anything. With `prewarm` on the sample waits until the warmer's HEAD has
//!   reached the second (seen by the fake, not slept for); with it off the failover pays
//!   the handshake. Baselines in the same run: a direct HTTPS call to the second over a
//!   warm connection (its latency) and over a new one.
//! - 8b. HTTP/2: eight clients completing at once over TLS, against a fake that offers
//!   `h2` and one that offers only `http/1.1`: round trips and connections accepted. A
//!   burst on a server that just started shows what the warm connection changes for it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::fake_provider::{FakeProvider, Reply};
use super::support::lsp::Server;
use super::support::stats::{Samples, fmt_diff};
use super::{ANSWER, Direct, Doc, Run, Table, fim_provider, options, provider_of, verdict};

const WAIT: Duration = Duration::from_secs(10);
/// Clients completing at once in 8b.
const CLIENTS: usize = 8;
/// The fake's answer time in 8b, so that the clients' requests overlap.
const BURST_UPSTREAM: Duration = Duration::from_millis(20);

pub fn tls(run: &Run, table: &mut Table) {
    first_failover(run, table);
    http2(run, table);
}

/// Writes `fake`'s CA where `[network] ca_file` can name it.
fn ca_file(fake: &FakeProvider, tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "switchboard-bench-tls-{tag}-{}.pem",
        std::process::id()
    ));
    std::fs::write(&path, fake.ca_pem().expect("an HTTPS fake")).expect("write the CA file");
    path
}

fn heads(fake: &FakeProvider) -> usize {
    fake.arrivals()
        .iter()
        .filter(|a| a.method == "HEAD")
        .count()
}

/// Waits until `fake` has received more than `seen` warming HEADs.
fn wait_for_warming(fake: &FakeProvider, seen: usize) {
    fake.wait_until(WAIT, || heads(fake) > seen, "the warming HEAD");
}

// ---------------------------------------------------------------------------
// 8a. The first failover to a provider not used before

fn first_failover(run: &Run, table: &mut Table) {
    let n = run.n(200, 6);
    let first = FakeProvider::start();
    first.set_default(Reply::status(529));
    let second = FakeProvider::start_tls();
    second.set_default(Reply::ok(ANSWER));
    let ca = ca_file(&second, "failover");
    let direct = Direct::new(&second);
    let doc = Doc::new("first_failover", 40);
    let body = doc.fim_body(20);
    direct.time(&body);

    let (mut warm_direct, mut cold_direct) = (Vec::new(), Vec::new());
    let mut results = Vec::new();
    for prewarm in [true, false] {
        let (mut times, mut new_connections) = (Vec::new(), 0);
        for _ in 0..n {
            let mut server_options = options(
                vec![fim_provider("a", &first), fim_provider("b", &second)],
                json!({}),
            );
            server_options["network"] = json!({"ca_file": ca, "prewarm": prewarm});
            server_options["cache"] = json!({"path": "off"});
            let (warmed, asked) = (heads(&second), second.completion_requests().len());
            let server = Server::start(server_options);
            server.open(&doc.uri, &doc.text);
            // `a` has served this user before: its connection is open, like a provider
            // in use when it starts failing.
            first.push(Reply::ok(ANSWER));
            let (l, c) = doc.end_of_line(10);
            let (data, _) = server.completion(&doc.uri, l, c);
            assert_eq!(provider_of(&data), "a", "{data}");
            if prewarm {
                wait_for_warming(&second, warmed);
            }
            let accepted = second.accepted_connections();
            assert_eq!(
                second.completion_requests().len(),
                asked,
                "the second provider was asked for a completion before the failover"
            );
            let (l, c) = doc.end_of_line(20);
            let (data, took) = server.completion(&doc.uri, l, c);
            assert_eq!(provider_of(&data), "b", "{data}");
            times.push(took);
            new_connections += second.accepted_connections() - accepted;
            server.shutdown();

            // The second's latency in the same run, alternating with the samples.
            warm_direct.push(direct.time(&body));
            let fresh = Direct::new(&second);
            cold_direct.push(fresh.time(&body));
        }
        results.push((prewarm, Samples::new(times), new_connections));
    }

    let (warm, cold) = (Samples::new(warm_direct), Samples::new(cold_direct));
    table.timed(
        "8. direct HTTPS to the second provider, warm connection (0 ms)",
        &warm,
        "—",
        "baseline: its latency".into(),
    );
    table.timed(
        "8. direct HTTPS to the second provider, new connection",
        &cold,
        "—",
        format!(
            "baseline: TCP + TLS handshake on loopback {}",
            fmt_diff(cold.p50(), warm.p50())
        ),
    );
    for (prewarm, s, new_connections) in results {
        let met = s.p50() <= warm.p50() + Duration::from_millis(2);
        let detail = format!(
            "p50 {} p99 {} over its latency; the failover opened {new_connections} \
             connection(s) in {} samples",
            fmt_diff(s.p50(), warm.p50()),
            fmt_diff(s.p99(), warm.p99()),
            s.len()
        );
        if prewarm {
            table.timed(
                "8a. first failover to a provider not used before, TLS, prewarm on",
                &s,
                "≤ its latency + 2 ms",
                verdict(met, detail),
            );
        } else {
            table.timed(
                "8a. the same with prewarm off (comparison)",
                &s,
                "—",
                format!("{} {detail}", if met { "within" } else { "over" }),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 8b. HTTP/2: concurrent completions share one connection

fn http2(run: &Run, table: &mut Table) {
    let per_client = run.n(100, 4);
    for (h2, fake) in [
        (true, FakeProvider::start_tls()),
        (false, FakeProvider::start_tls_http1()),
    ] {
        let label = if h2 { "h2 offered" } else { "http/1.1 only" };
        let ca = ca_file(&fake, if h2 { "h2" } else { "h1" });
        let mut server_options = options(vec![fim_provider("a", &fake)], json!({}));
        server_options["network"] = json!({"ca_file": ca, "prewarm": true});
        server_options["cache"] = json!({"path": "off"});
        let server = Server::start(server_options.clone());
        // The server's own connections: the warm one (the direct client below has its own).
        wait_for_warming(&fake, 0);
        let warm = fake.accepted_connections();

        // One client at a time, 0 ms upstream: what the protocol costs a single request,
        // against a direct call over the same protocol.
        fake.set_default(Reply::ok(ANSWER));
        let sequential = run.n(1000, 20);
        let doc = Doc::new("sequential", sequential + 20);
        server.open(&doc.uri, &doc.text);
        let direct = Direct::new(&fake);
        server.completion(&doc.uri, 0, 5);
        direct.time(&doc.fim_body(1));
        let (mut via_lsp, mut straight) = (Vec::new(), Vec::new());
        for i in 0..sequential {
            let line = i + 10;
            let (l, c) = doc.end_of_line(line);
            let (data, took) = server.completion(&doc.uri, l, c);
            assert_eq!(provider_of(&data), "a", "{data}");
            via_lsp.push(took);
            straight.push(direct.time(&doc.fim_body(line)));
        }
        let (lsp, http) = (Samples::new(via_lsp), Samples::new(straight));
        table.timed(
            &format!("8b. direct HTTPS, one at a time, 0 ms upstream, {label}"),
            &http,
            "—",
            "baseline".into(),
        );
        table.timed(
            &format!("8b. LSP round trip, one at a time, 0 ms upstream, {label}"),
            &lsp,
            "—",
            format!(
                "overhead p50 {} p99 {}",
                fmt_diff(lsp.p50(), http.p50()),
                fmt_diff(lsp.p99(), http.p99())
            ),
        );

        // Steady state: the server is warm, eight clients complete at once, again and again.
        fake.set_default(Reply::delayed(ANSWER, BURST_UPSTREAM));
        let docs: Vec<Doc> = (0..CLIENTS)
            .map(|c| Doc::new(&format!("burst{c}"), per_client + 20))
            .collect();
        for doc in &docs {
            server.open(&doc.uri, &doc.text);
        }
        let (data, _) = server.completion(&docs[0].uri, 0, 5);
        assert_eq!(provider_of(&data), "a", "{data}");
        let before = fake.accepted_connections();
        let times: Vec<Duration> = std::thread::scope(|scope| {
            let clients: Vec<_> = docs
                .iter()
                .map(|doc| {
                    let server = &server;
                    scope.spawn(move || {
                        (0..per_client)
                            .map(|i| {
                                let (l, c) = doc.end_of_line(i + 10);
                                let (data, took) = server.completion(&doc.uri, l, c);
                                assert_eq!(provider_of(&data), "a", "{data}");
                                took
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            clients
                .into_iter()
                .flat_map(|c| c.join().expect("client thread"))
                .collect()
        });
        let opened = fake.accepted_connections() - before;
        server.shutdown();
        let s = Samples::new(times);
        table.timed(
            &format!(
                "8b. {CLIENTS} clients at once over TLS, {} ms upstream, {label}",
                BURST_UPSTREAM.as_millis()
            ),
            &s,
            "—",
            format!(
                "the server's {warm} warm connection(s) + {opened} opened by the clients; \
                 p50 {} over the upstream's {} ms",
                fmt_diff(s.p50(), BURST_UPSTREAM),
                BURST_UPSTREAM.as_millis()
            ),
        );

        // A burst on a server that just started: what a warm connection changes for it.
        if h2 {
            for prewarm in [false, true] {
                let samples = run.n(20, 3);
                let mut opened = Vec::new();
                let mut times = Vec::new();
                for _ in 0..samples {
                    server_options["network"]["prewarm"] = json!(prewarm);
                    let warmed = heads(&fake);
                    let before = fake.accepted_connections();
                    let server = Server::start(server_options.clone());
                    for doc in &docs {
                        server.open(&doc.uri, &doc.text);
                    }
                    if prewarm {
                        wait_for_warming(&fake, warmed);
                    }
                    let started = Instant::now();
                    std::thread::scope(|scope| {
                        for doc in &docs {
                            let server = &server;
                            scope.spawn(move || {
                                let (l, c) = doc.end_of_line(5);
                                let (data, took) = server.completion(&doc.uri, l, c);
                                assert_eq!(provider_of(&data), "a", "{data}");
                                took
                            });
                        }
                    });
                    times.push(started.elapsed());
                    opened.push(fake.accepted_connections() - before);
                    server.shutdown();
                }
                let s = Samples::new(times);
                table.timed(
                    &format!(
                        "8b. a burst of {CLIENTS} on a fresh server, h2 offered, prewarm {}",
                        if prewarm { "on" } else { "off" }
                    ),
                    &s,
                    "—",
                    format!(
                        "the whole burst; connections per server (warming's included): {}",
                        spread(&opened)
                    ),
                );
            }
        }
    }
}

/// `min` or `min–max` of counts.
fn spread(counts: &[usize]) -> String {
    let (min, max) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    if min == max {
        min.to_string()
    } else {
        format!("{min}–{max}")
    }
}
