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

pub fn status(runtime: &Runtime, cache: Figures) -> Value {
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
        "serving": runtime.router().serving(),
        "providers": providers,
        "cache": {"entries": cache.entries, "hits": cache.hits, "misses": cache.misses},
    })
}
