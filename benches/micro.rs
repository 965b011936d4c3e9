//! Microbenchmarks of the hot pieces, through the library crate:
//! `cargo bench --bench micro` (criterion; `-- cache` to pick groups).
//!
//! - `engine`: one whole completion with the local engine only (context windows, cache
//!   lookup, routing, local engine, cleaning), and `engine::clean` alone;
//! - `local`: the offline engine on a large file (the `Provider::complete` path);
//! - `sse`: SSE parsing and per-dialect decoding of recorded and long streams;
//! - `document`: an incremental edit on a 1 MB document, and the snapshot text it
//!   invalidates;
//! - `cache`: an exact hit, a miss on a full cache, and typing through a suggestion;
//! - `stats`: what a completion's answer and its accept cost the server's handler
//!   (issuing the id, queueing the counts), with the recorder draining the queue.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;

use switchboard_ls::cache::{Cache, ContextKey};
use switchboard_ls::config::{CacheSettings, Config, ProviderConfig};
use switchboard_ls::document::{Document, DocumentStore, Edit, Encoding, LineCol};
use switchboard_ls::engine::{CompletionRequest, Engine, clean};
use switchboard_ls::providers::anthropic::AnthropicStream;
use switchboard_ls::providers::stream::{DoneStream, choice_text, decode_sse, delta_content};
use switchboard_ls::providers::{Attempt, LocalEngine, Provider, ProviderRequest, SseParser};

/// A Rust-like source of about `bytes`, every line different but repetitive the way
/// code is (the local engine's best case and its worst: many partial matches).
fn source(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 100);
    let mut i = 0;
    while text.len() < bytes {
        text += &format!(
            "    let total_{i} = inventory.count_{}(&items[{i}..], {});\n",
            i % 97,
            i * 7 % 1000
        );
        i += 1;
    }
    text
}

/// A cursor mid-way through a new line near the end of `text`, after a needle that
/// occurs often (`inventory.co`).
fn with_cursor_near_end(text: &str) -> (String, usize) {
    let mut doc = text.to_string();
    doc += "    let fresh = inventory.co";
    let cursor = doc.len();
    doc += "\n}\n";
    (doc, cursor)
}

fn provider_request(document: &str, cursor: usize) -> ProviderRequest {
    let before = &document[..cursor];
    let after = &document[cursor..];
    ProviderRequest {
        prefix: before[before.len().saturating_sub(8000)..].to_string(),
        suffix: after[..after.len().min(2000)].to_string(),
        language: "rust".into(),
        path: Some("/bench/big.rs".into()),
        max_tokens: 128,
        single_line: false,
        document: Arc::from(document),
        cursor,
        neighbours: Default::default(),
    }
}

fn offline_config() -> Config {
    let mut config = Config::offline();
    // Never touch the developer's cache file.
    config.cache.path = "off".into();
    config
}

fn engine(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("engine");
    for (name, bytes) in [("50KB", 50 << 10), ("1MB", 1 << 20)] {
        let (doc, cursor) = with_cursor_near_end(&source(bytes));
        let text: Arc<str> = Arc::from(doc.as_str());
        let engine = runtime.block_on(async { Engine::new(offline_config()) });
        group.bench_function(format!("complete_local_only_{name}"), |b| {
            b.iter(|| {
                let request = CompletionRequest {
                    text: text.clone(),
                    cursor,
                    language: "rust".into(),
                    path: None,
                    neighbours: Default::default(),
                };
                runtime.block_on(engine.complete(black_box(request)))
            })
        });
    }

    let (doc, cursor) = with_cursor_near_end(&source(50 << 10));
    let request = provider_request(&doc, cursor);
    let fenced = "```rust\nntains(&item)\n    let again = inventory.count_3(&items[3..], 21);\n```";
    group.bench_function("clean_fenced_answer", |b| {
        b.iter(|| clean(black_box(fenced), black_box(&request)))
    });
    let long_answer: String = (0..40).map(|i| format!("    step_{i}(value);\n")).collect();
    group.bench_function("clean_40_line_answer", |b| {
        b.iter(|| clean(black_box(&long_answer), black_box(&request)))
    });
    group.finish();
}

fn local(c: &mut Criterion) {
    let mut group = c.benchmark_group("local");
    let local = LocalEngine::new(ProviderConfig::local());
    let attempt = Attempt::new(Duration::from_secs(1), Duration::from_secs(1));
    for (name, bytes) in [("50KB", 50 << 10), ("1MB", 1 << 20)] {
        let (doc, cursor) = with_cursor_near_end(&source(bytes));
        let request = provider_request(&doc, cursor);
        group.bench_function(format!("complete_{name}"), |b| {
            b.iter(|| {
                local
                    .complete(black_box(&request), &attempt)
                    .now_or_never()
                    .expect("the local engine never waits")
            })
        });
    }
    // No match anywhere: the binary search gives up after the shortest needle.
    let mut doc = source(1 << 20);
    doc += "    zqxj";
    let request = provider_request(&doc, doc.len());
    group.bench_function("complete_1MB_no_match", |b| {
        b.iter(|| local.complete(black_box(&request), &attempt).now_or_never())
    });
    group.finish();
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/tests/fixtures/wire-samples/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// An OpenAI chat stream of `tokens` chunks, as a long completion arrives.
fn long_openai_stream(tokens: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..tokens {
        out += &format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\"finish_reason\":null}}]}}\n\n"
        );
    }
    out += "data: [DONE]\n\n";
    out.into_bytes()
}

fn sse(c: &mut Criterion) {
    let mut group = c.benchmark_group("sse");
    let openai = fixture("openai/chat.stream.recorded.sse");
    let anthropic = fixture("anthropic/stream.recorded.sse");
    let long = long_openai_stream(128);

    group.bench_function("parse_openai_recorded_whole", |b| {
        b.iter(|| SseParser::new().push(black_box(&openai)).len())
    });
    group.bench_function("parse_128_chunks_in_64_byte_reads", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            let mut events = 0;
            for piece in black_box(&long).chunks(64) {
                events += parser.push(piece).len();
            }
            events + usize::from(parser.finish().is_some())
        })
    });
    group.bench_function("decode_openai_recorded", |b| {
        b.iter(|| {
            decode_sse(
                black_box(&openai),
                DoneStream {
                    text_of: delta_content,
                },
            )
        })
    });
    group.bench_function("decode_openai_128_chunks", |b| {
        b.iter(|| {
            decode_sse(
                black_box(&long),
                DoneStream {
                    text_of: delta_content,
                },
            )
        })
    });
    let completions = fixture("openai/completions.stream.sse");
    group.bench_function("decode_fim_recorded", |b| {
        b.iter(|| {
            decode_sse(
                black_box(&completions),
                DoneStream {
                    text_of: choice_text,
                },
            )
        })
    });
    group.bench_function("decode_anthropic_recorded", |b| {
        b.iter(|| decode_sse(black_box(&anthropic), AnthropicStream))
    });
    group.finish();
}

fn document(c: &mut Criterion) {
    let mut group = c.benchmark_group("document");
    let text = source(1 << 20);
    let middle = (text.lines().count() / 2) as u32;
    let keystroke = |i: u32| {
        let at = LineCol {
            line: middle + i % 200,
            col: 10,
        };
        [Edit {
            range: Some((at, at)),
            text: "x".into(),
        }]
    };
    let mut doc = Document::new(&text, 1, "rust");
    let mut version = 1;
    group.bench_function("apply_keystroke_1MB", |b| {
        b.iter(|| {
            version += 1;
            doc.apply(
                black_box(&keystroke(version as u32)),
                version,
                Encoding::Utf16,
            )
        })
    });
    let range = LineCol {
        line: middle,
        col: 4,
    };
    let end = LineCol {
        line: middle + 3,
        col: 0,
    };
    group.bench_function("apply_replace_3_lines_1MB", |b| {
        b.iter_batched_ref(
            || Document::new(&text, 1, "rust"),
            |doc| {
                doc.apply(
                    &[Edit {
                        range: Some((range, end)),
                        text: "let replaced = 1;\n".into(),
                    }],
                    2,
                    Encoding::Utf16,
                )
            },
            BatchSize::LargeInput,
        )
    });
    // What the next completion pays after an edit: the whole text is rebuilt.
    let store = DocumentStore::new();
    store
        .open("file:///big.rs", &text, 1, "rust")
        .expect("1 MB is within the limit");
    let mut version = 1;
    group.bench_function("keystroke_then_snapshot_1MB", |b| {
        b.iter(|| {
            version += 1;
            store
                .change(
                    "file:///big.rs",
                    &keystroke(version as u32),
                    version,
                    Encoding::Utf16,
                )
                .unwrap();
            store.snapshot(
                "file:///big.rs",
                LineCol {
                    line: middle,
                    col: 11,
                },
                Encoding::Utf16,
            )
        })
    });
    group.finish();
}

fn cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache");
    let settings = CacheSettings {
        path: "off".into(),
        ..CacheSettings::default()
    };
    let cache = Cache::new(&settings);
    let base = source(20 << 10);
    // A full cache: `capacity` entries, each its own context (built one at a time:
    // only the one looked up is kept).
    let entry_request = |i: usize| {
        let doc = format!("{base}    let fresh_{i} = inventory.co");
        let len = doc.len();
        provider_request(&doc, len)
    };
    for i in 0..settings.capacity {
        let request = entry_request(i);
        cache.insert(
            ContextKey::of(&request),
            &request,
            "unt(&items, 1);",
            "a",
            "m",
            false,
        );
    }
    let hit = &entry_request(settings.capacity / 2);
    group.bench_function("key_of_10KB_context", |b| {
        b.iter(|| ContextKey::of(black_box(hit)))
    });
    group.bench_function("lookup_exact_hit_full", |b| {
        b.iter(|| cache.lookup(ContextKey::of(hit), black_box(hit)))
    });
    // A miss elsewhere in a file (another suffix), and one at the end of a file (the
    // same empty suffix as every entry: the typing-through candidates are examined).
    let miss_elsewhere = {
        let doc = format!("{base}    let other = shelf.lo\n}}\n");
        provider_request(&doc, doc.len() - 3)
    };
    group.bench_function("lookup_miss_full_other_suffix", |b| {
        b.iter(|| cache.lookup(ContextKey::of(&miss_elsewhere), black_box(&miss_elsewhere)))
    });
    let miss_same_suffix = {
        let doc = format!("{base}    let other = shelf.lo");
        let len = doc.len();
        provider_request(&doc, len)
    };
    group.bench_function("lookup_miss_full_same_suffix", |b| {
        b.iter(|| {
            cache.lookup(
                ContextKey::of(&miss_same_suffix),
                black_box(&miss_same_suffix),
            )
        })
    });
    // The user typed "un" of the suggestion "unt(&items, 1);" after `hit`'s prefix.
    let typed = {
        let mut doc = hit.document.to_string();
        doc.insert_str(hit.cursor, "un");
        provider_request(&doc, hit.cursor + 2)
    };
    group.bench_function("lookup_typed_through_full", |b| {
        b.iter(|| cache.lookup(ContextKey::of(&typed), black_box(&typed)))
    });
    group.finish();
}

fn stats(c: &mut Criterion) {
    use switchboard_ls::engine::Completion;
    use switchboard_ls::stats::Stats;
    // The recorder writes its file under a scratch state directory, not the developer's.
    let state = tempfile::tempdir().unwrap();
    // SAFETY: set before any other thread of this benchmark exists.
    unsafe { std::env::set_var("XDG_STATE_HOME", state.path()) };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = Arc::new(runtime.block_on(async { Engine::new(offline_config()) }));
    let stats = Stats::new();
    runtime.block_on(async { stats.start(engine.clone()) });
    let completion = Completion {
        text: "let again = inventory.count(&items);".into(),
        provider: "local".into(),
        model: "local".into(),
        cached: false,
        stale: false,
        latency: Duration::from_millis(3),
        failed: Vec::new(),
    };
    let mut group = c.benchmark_group("stats");
    group.bench_function("served_and_accepted", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                // Below the queue's bound, then the recorder drains it (not timed).
                let batch = left.min(1000);
                let started = std::time::Instant::now();
                for _ in 0..batch {
                    let id = stats.served(black_box(&completion), &engine);
                    black_box(stats.accepted(&id));
                }
                total += started.elapsed();
                // Waits until the recorder has taken everything queued before it.
                runtime.block_on(stats.flush());
                left -= batch;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, engine, local, sse, document, cache, stats);
criterion_main!(benches);
