//! `workspace/executeCommand`: the six commands of DESIGN.md §1. Arguments are JSON
//! strings (provider names); an unknown name is an error that lists the known ones.

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{ShowDocumentParams, Uri};

use super::server::Backend;
use crate::health::Observation;

pub const STATUS: &str = "switchboard.status";
pub const RETRY: &str = "switchboard.retry";
pub const DISABLE: &str = "switchboard.disable";
pub const ENABLE: &str = "switchboard.enable";
pub const CLEAR_CACHE: &str = "switchboard.clearCache";
pub const OPEN_STATUS_PAGE: &str = "switchboard.openStatusPage";

pub const ALL: [&str; 6] = [
    STATUS,
    RETRY,
    DISABLE,
    ENABLE,
    CLEAR_CACHE,
    OPEN_STATUS_PAGE,
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
            STATUS => {}
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
                for provider in names {
                    board.observe(Observation::Retry {
                        provider: provider.clone(),
                    });
                    self.engine.probe(&provider);
                }
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
