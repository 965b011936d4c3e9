//! The shared cache tier (`share_cache`, DESIGN.md §8) on Redis: answers keyed
//! `switchboard:{name}:{repo}:{context hash}` with a TTL of `cache.ttl_secs`, where
//! `{repo}` is a hash of the repository's remote URL (else of its root path), so only
//! members working on the same repository share.
//!
//! Lookups use the command connection only while the team link is up (otherwise they
//! miss at once) and are bounded by a timeout; stores go through a bounded queue to a
//! writer task, dropped when it is full.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{BoardSource, link, message};
use crate::cache::{ContextKey, MAX_ENTRY_BYTES, SharedAnswer, SharedLookup, SharedTier};

/// Stores waiting for the writer; past this, new ones are dropped.
const WRITE_QUEUE: usize = 64;
/// A value read back over this is ignored.
const MAX_VALUE_BYTES: usize = MAX_ENTRY_BYTES + 1024;

/// The command connection, once made (the publisher makes it).
pub type CommandSlot = Arc<Mutex<Option<ConnectionManager>>>;

#[derive(Serialize, Deserialize)]
struct Value {
    text: String,
    provider: String,
    model: String,
    /// The provider's identity across members (kind + base URL + model, hashed), so a
    /// member that names it differently shows its own name for it.
    #[serde(default)]
    id: Option<String>,
}

pub struct SharedCache {
    prefix: String,
    commands: CommandSlot,
    connected: Arc<AtomicBool>,
    writes: mpsc::Sender<(String, Vec<u8>)>,
    boards: BoardSource,
}

impl SharedCache {
    /// The tier and its writer task (which ends when the tier is dropped).
    pub fn start(
        team: &str,
        workspace_root: Option<&Path>,
        ttl_secs: u64,
        commands: CommandSlot,
        connected: Arc<AtomicBool>,
        boards: BoardSource,
    ) -> (Arc<SharedCache>, tokio::task::JoinHandle<()>) {
        let (writes, mut queue) = mpsc::channel::<(String, Vec<u8>)>(WRITE_QUEUE);
        let slot = commands.clone();
        let writer = tokio::spawn(async move {
            while let Some((key, value)) = queue.recv().await {
                let Some(mut manager) = slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
                else {
                    continue;
                };
                let mut set = redis::cmd("SET");
                set.arg(&key).arg(value).arg("EX").arg(ttl_secs.max(1));
                let command = set.query_async::<()>(&mut manager);
                if !matches!(
                    tokio::time::timeout(link::COMMAND_TIMEOUT, command).await,
                    Ok(Ok(()))
                ) {
                    tracing::debug!("team: a shared cache entry was not stored");
                }
            }
        });
        let tier = Arc::new(SharedCache {
            prefix: format!("switchboard:{team}:{}:", repo_id(workspace_root)),
            commands,
            connected,
            writes,
            boards,
        });
        (tier, writer)
    }

    fn key(&self, key: ContextKey) -> String {
        format!("{}{:032x}", self.prefix, key.0)
    }
}

impl SharedTier for SharedCache {
    fn get(&self, key: ContextKey) -> SharedLookup {
        let manager = self
            .connected
            .load(Ordering::Relaxed)
            .then(|| {
                self.commands
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
            })
            .flatten();
        let Some(mut manager) = manager else {
            return Box::pin(std::future::ready(None));
        };
        let key = self.key(key);
        let boards = self.boards.clone();
        Box::pin(async move {
            let mut get = redis::cmd("GET");
            get.arg(key);
            let command = get.query_async::<Option<Vec<u8>>>(&mut manager);
            let bytes = tokio::time::timeout(link::COMMAND_TIMEOUT, command)
                .await
                .ok()?
                .ok()??;
            if bytes.len() > MAX_VALUE_BYTES {
                return None;
            }
            let value: Value = serde_json::from_slice(&bytes).ok()?;
            // This member's name for the provider, when it has the same one.
            let local = value.id.as_deref().and_then(|id| {
                boards()
                    .snapshot()
                    .into_iter()
                    .find(|h| message::provider_id(&h.kind, &h.base_url, &h.model) == id)
                    .map(|h| h.name)
            });
            Some(SharedAnswer {
                text: value.text,
                provider: local.unwrap_or(value.provider),
                model: value.model,
            })
        })
    }

    fn put(&self, key: ContextKey, answer: SharedAnswer) {
        if !self.connected.load(Ordering::Relaxed) || answer.text.len() > MAX_ENTRY_BYTES {
            return;
        }
        let id = (self.boards)()
            .snapshot()
            .into_iter()
            .find(|h| h.name == answer.provider)
            .map(|h| message::provider_id(&h.kind, &h.base_url, &h.model));
        let value = Value {
            text: answer.text,
            provider: answer.provider,
            model: answer.model,
            id,
        };
        let Ok(bytes) = serde_json::to_vec(&value) else {
            return;
        };
        let _ = self.writes.try_send((self.key(key), bytes));
    }
}

/// A hash of the repository's remote URL (`origin`, else the first remote), else of
/// its root path; `none` outside a workspace.
pub fn repo_id(root: Option<&Path>) -> String {
    let Some(root) = root else {
        return "none".to_string();
    };
    let remote = std::fs::read_to_string(root.join(".git").join("config"))
        .ok()
        .and_then(|text| remote_url(&text));
    let identity = remote.unwrap_or_else(|| root.display().to_string());
    format!(
        "{:032x}",
        crate::cache::stable_hash(&[identity.trim_end_matches(".git").as_bytes()])
    )
}

fn remote_url(git_config: &str) -> Option<String> {
    let mut section = String::new();
    let mut first = None;
    for line in git_config.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        if let Some(url) = line
            .strip_prefix("url")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::trim)
            .filter(|_| section.starts_with("[remote "))
        {
            if section == "[remote \"origin\"]" {
                return Some(url.to_string());
            }
            first.get_or_insert_with(|| url.to_string());
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_named_by_its_origin_remote() {
        let config = "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://example.com/up.git\n[remote \"origin\"]\n\turl = git@example.com:acme/app.git\n";
        assert_eq!(
            remote_url(config).as_deref(),
            Some("git@example.com:acme/app.git")
        );
        assert_eq!(
            remote_url("[remote \"a\"]\nurl = x\n").as_deref(),
            Some("x")
        );
        assert_eq!(remote_url("[core]\nurl = y\n"), None);
        assert_eq!(repo_id(None), "none");
    }
}
