//! The `switchboard/status` object (DESIGN.md §5): who is serving, each provider's
//! state with its detail, retry time, status-page reading, latency and counts, and the
//! cache figures. Sent on every health change and answered by `switchboard.status`.

use serde_json::{Value, json};
use tower_lsp_server::ls_types::notification::Notification;

use crate::cache::Figures;
use crate::engine::Runtime;

pub enum StatusNotification {}

impl Notification for StatusNotification {
    type Params = Value;
    const METHOD: &'static str = "switchboard/status";
}

/// `serving` is the provider that answered the last completion; before any, the one
/// the router would ask first.
pub fn status(
    runtime: &Runtime,
    cache: Figures,
    serving: Option<String>,
    team: Option<crate::team::TeamStatus>,
) -> Value {
    let health = runtime.board().snapshot();
    let providers: Vec<Value> = runtime
        .config
        .providers
        .iter()
        .map(|p| match health.iter().find(|h| h.name == p.name) {
            Some(h) => json!({
                "name": h.name,
                "kind": h.kind,
                "model": h.model,
                "state": h.state.as_str(),
                "detail": h.detail,
                "retry_in_ms": h.retry_in.map(|d| d.as_millis() as u64),
                "status_page": h.status_page.as_ref().map(|_| json!({
                    "indicator": h.page_level.as_str(),
                    "description": h.page_description,
                })),
                "latency_ms": {
                    "p50": h.p50.map(|d| d.as_millis() as u64),
                    "p95": h.p95.map(|d| d.as_millis() as u64),
                },
                "requests": h.requests,
                "failures": h.failures,
            }),
            None => {
                // Cloud providers without their key are not tracked: they are never asked.
                let (state, detail) = if p.kind.is_cloud() {
                    (
                        "disabled",
                        Some(format!(
                            "no API key: set {}",
                            p.api_key_env.as_deref().unwrap_or("its key variable")
                        )),
                    )
                } else {
                    ("healthy", None)
                };
                json!({
                    "name": p.name, "kind": p.kind.as_str(), "model": p.model,
                    "state": state, "detail": detail, "retry_in_ms": null, "status_page": null,
                    "latency_ms": {"p50": null, "p95": null}, "requests": 0, "failures": 0,
                })
            }
        })
        .collect();
    json!({
        "serving": serving.or_else(|| runtime.router().serving()),
        "providers": providers,
        "cache": {"entries": cache.entries, "hits": cache.hits, "misses": cache.misses},
        "team": team.map(|t| json!({"name": t.name, "connected": t.connected, "members": t.members})),
    })
}

/// The status in one line of words, for clients that show no status UI (Helix):
/// `serving gpt · claude (anthropic) down: 529 overloaded ×3, retry in 20s · gpt (openai)
/// healthy · cache: 12 entries, 8 hits, 4 misses`.
pub fn summary(status: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(serving) = status["serving"].as_str() {
        parts.push(format!("serving {serving}"));
    }
    for p in status["providers"].as_array().into_iter().flatten() {
        let mut line = format!(
            "{} ({}) {}",
            p["name"].as_str().unwrap_or("?"),
            p["kind"].as_str().unwrap_or("?"),
            p["state"].as_str().unwrap_or("?")
        );
        if let Some(detail) = p["detail"].as_str() {
            line.push_str(&format!(": {detail}"));
        }
        if let Some(ms) = p["retry_in_ms"].as_u64() {
            line.push_str(&format!(", retry in {}s", ms.div_ceil(1000)));
        }
        parts.push(line);
    }
    if let Some(team) = status["team"].as_object() {
        parts.push(format!(
            "team {}: {}, {} member(s)",
            team["name"].as_str().unwrap_or("?"),
            if team["connected"] == true {
                "connected"
            } else {
                "not connected"
            },
            team["members"]
        ));
    }
    let cache = &status["cache"];
    parts.push(format!(
        "cache: {} entries, {} hits, {} misses",
        cache["entries"], cache["hits"], cache["misses"]
    ));
    format!("Switchboard: {}", parts.join(" · "))
}
