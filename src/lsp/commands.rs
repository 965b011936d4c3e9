//! `workspace/executeCommand`: the seven commands of DESIGN.md §1. Arguments are JSON
//! strings (provider names); an unknown name is an error that lists the known ones.
//! `switchboard.accepted ID` is the exception: its argument is a suggestion's id, and
//! it answers `null` whatever the id (an expired one is no error the user should see).

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{MessageType, ShowDocumentParams, Uri};

use super::server::Backend;
use super::status;
use crate::health::Observation;

pub const STATUS: &str = "switchboard.status";
pub const RETRY: &str = "switchboard.retry";
pub const DISABLE: &str = "switchboard.disable";
pub const ENABLE: &str = "switchboard.enable";
pub const CLEAR_CACHE: &str = "switchboard.clearCache";
pub const OPEN_STATUS_PAGE: &str = "switchboard.openStatusPage";
/// Sent by the editor when the user accepts a suggestion (DESIGN.md §5).
pub const ACCEPTED: &str = "switchboard.accepted";

pub const ALL: [&str; 7] = [
    STATUS,
    RETRY,
    DISABLE,
    ENABLE,
    CLEAR_CACHE,
    OPEN_STATUS_PAGE,
    ACCEPTED,
];

fn invalid(message: String) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into(),
        data: None,
    }
}

impl Backend {
    pub(super) async fn run_command(&self, command: &str, arguments: &[Value]) -> Result<Value> {
        if command == ACCEPTED {
            let id = arguments.first().and_then(Value::as_str).unwrap_or("");
            if !self.stats.accepted(id) {
                tracing::debug!("{ACCEPTED}: unknown, expired or already counted id {id:?}");
            }
            return Ok(Value::Null);
        }
        let name = match arguments.first() {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "{command}: the argument must be a provider name as a JSON string, got {other}"
                )));
            }
        };
        let runtime = self.engine.runtime();
        let cloud: Vec<String> = runtime
            .config
            .providers
            .iter()
            .filter(|p| p.kind.is_cloud())
            .map(|p| p.name.clone())
            .collect();
        let known = |name: &str| -> Result<String> {
            if cloud.iter().any(|n| n == name) && runtime.board().knows(name) {
                Ok(name.to_string())
            } else {
                Err(invalid(format!(
                    "{command}: unknown provider \"{name}\" (known: {})",
                    if cloud.is_empty() {
                        "none configured".to_string()
                    } else {
                        cloud.join(", ")
                    }
                )))
            }
        };
        let required = |name: Option<String>| -> Result<String> {
            match name {
                Some(name) => known(&name),
                None => Err(invalid(format!(
                    "{command}: name the provider (one of {})",
                    if cloud.is_empty() {
                        "none configured".to_string()
                    } else {
                        cloud.join(", ")
                    }
                ))),
            }
        };
        let board = runtime.board().clone();
        match command {
            STATUS => {
                if !self.client_shows_status() {
                    // Helix and other clients without a status UI show nothing of a
                    // JSON result: say it in words too.
                    let summary = status::summary(&self.status_value());
                    self.client.show_message(MessageType::INFO, summary).await;
                }
            }
            RETRY => {
                let names = match name {
                    Some(name) => vec![known(&name)?],
                    None => board
                        .snapshot()
                        .into_iter()
                        .filter(|h| h.state != crate::health::HealthState::Healthy)
                        .map(|h| h.name)
                        .collect(),
                };
                let mut probes = Vec::new();
                for provider in names {
                    board.observe(Observation::Retry {
                        provider: provider.clone(),
                    });
                    if let Some(probe) = self.engine.probe(&provider) {
                        probes.push((provider, probe));
                    }
                }
                // Each probe is bounded by its provider's timeout; a retry that fails
                // is said, not silently dropped back to the old state.
                let mut retried = Vec::new();
                for (provider, probe) in probes {
                    let outcome = probe.await.unwrap_or_else(|e| Err(e.to_string()));
                    if let Err(error) = &outcome {
                        let label = runtime
                            .config
                            .provider(&provider)
                            .map_or_else(|| provider.clone(), |p| p.label());
                        tracing::warn!("retry {label}: still failing ({error})");
                        self.client
                            .show_message(
                                MessageType::WARNING,
                                format!("Switchboard: retry {label}: still failing ({error})"),
                            )
                            .await;
                    }
                    retried.push(serde_json::json!({
                        "provider": provider,
                        "ok": outcome.is_ok(),
                        "error": outcome.err(),
                    }));
                }
                self.surface.refresh();
                let mut status = self.status_value();
                status["retried"] = Value::Array(retried);
                return Ok(status);
            }
            DISABLE => board.observe(Observation::Disable {
                provider: required(name)?,
            }),
            ENABLE => board.observe(Observation::Enable {
                provider: required(name)?,
            }),
            CLEAR_CACHE => self.engine.clear_cache(),
            OPEN_STATUS_PAGE => {
                let provider = required(name)?;
                let page = runtime
                    .config
                    .provider(&provider)
                    .and_then(|p| p.status_page.clone())
                    .ok_or_else(|| invalid(format!("{command}: {provider} has no status page")))?;
                let uri: Uri = page.parse().map_err(|_| {
                    invalid(format!("{command}: {provider}'s status page is not a URL"))
                })?;
                let shown = self
                    .client
                    .show_document(ShowDocumentParams {
                        uri,
                        external: Some(true),
                        take_focus: Some(true),
                        selection: None,
                    })
                    .await
                    .unwrap_or(false);
                return Ok(serde_json::json!({"shown": shown, "url": page}));
            }
            other => {
                return Err(invalid(format!(
                    "unknown command \"{other}\" (known: {})",
                    ALL.join(", ")
                )));
            }
        }
        self.surface.refresh();
        Ok(self.status_value())
    }
}
