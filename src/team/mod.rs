//! Team mode on Redis (DESIGN.md §8): members of one team share provider health over
//! the pub/sub channel `switchboard:{name}:health`.
//!
//! [`Team::start`] spawns the background tasks: the subscriber (its own connection,
//! re-opened with backoff), the folder that feeds teammates' messages into the current
//! health board, and the publisher (a managed, reconnecting command connection).
//! Architecture invariant: nothing on the completion path waits on Redis — the tasks
//! read the board and write `Observation`s to it, channels between them are bounded
//! and never waited on by the board, and every Redis command is bounded by a timeout.
//! The settings (`[team]`, the password variable, URL redaction) are in
//! `config/team.rs`.

mod cache;
mod link;
pub mod message;
pub mod share;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use crate::config::{TeamConfig, redact_url};
use crate::health::HealthBoard;

/// The health board in use now (it is replaced on each config reload).
pub type BoardSource = Arc<dyn Fn() -> Arc<HealthBoard> + Send + Sync>;
/// Called when what [`TeamStatus`] shows changes.
pub type OnChange = Arc<dyn Fn() + Send + Sync>;

/// Messages waiting to be folded; past this, new ones are dropped by the subscriber.
const INBOX: usize = 256;
/// Messages folded before the folder yields to other tasks.
const FOLD_BATCH: usize = 32;

/// The `team` field of `switchboard/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamStatus {
    pub name: String,
    /// The pub/sub connection is up.
    pub connected: bool,
    /// Members heard from lately, this one included.
    pub members: usize,
    /// A connection attempt failed, or the connection was lost (not merely "not yet").
    pub unreachable: bool,
    /// The Redis URL, redacted.
    pub redis: String,
}

#[derive(Debug)]
struct Shared {
    connected: Arc<AtomicBool>,
    unreachable: AtomicBool,
    teammates: AtomicUsize,
}

/// What a team link is started with: `[team]`, and for the shared cache its TTL and
/// the workspace root (which names the repository).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSetup {
    pub config: TeamConfig,
    pub cache_ttl_secs: u64,
    pub workspace_root: Option<PathBuf>,
}

/// A running team link; its tasks end when it is dropped.
pub struct Team {
    setup: TeamSetup,
    config: TeamConfig,
    shared: Arc<Shared>,
    tier: Option<Arc<cache::SharedCache>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Team {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Team {
    /// Starts team mode in the background; never waits for Redis.
    pub fn start(setup: TeamSetup, boards: BoardSource, on_change: OnChange) -> Team {
        let config = setup.config.clone();
        let shared = Arc::new(Shared {
            connected: Arc::new(AtomicBool::new(false)),
            unreachable: AtomicBool::new(false),
            teammates: AtomicUsize::new(0),
        });
        let mut team = Team {
            setup: setup.clone(),
            config: config.clone(),
            shared: shared.clone(),
            tier: None,
            tasks: Vec::new(),
        };
        let client = match link::client(&config) {
            Ok(client) => client,
            Err(err) => {
                shared.unreachable.store(true, Ordering::Relaxed);
                tracing::warn!(
                    "team {}: cannot use {}: {err}",
                    config.name,
                    config.redacted_url()
                );
                return team;
            }
        };
        let channel = format!("switchboard:{}:health", config.name);
        let me = message::new_member_id();
        let commands: cache::CommandSlot = Arc::default();
        if config.share_cache && setup.cache_ttl_secs > 0 {
            let (tier, writer) = cache::SharedCache::start(
                &config.name,
                setup.workspace_root.as_deref(),
                setup.cache_ttl_secs,
                commands.clone(),
                shared.connected.clone(),
                boards.clone(),
            );
            team.tier = Some(tier);
            team.tasks.push(writer);
        }
        let (tx, rx) = mpsc::channel(INBOX);
        team.tasks.push(tokio::spawn(link::subscribe(
            client.clone(),
            channel.clone(),
            message::MAX_MESSAGE_BYTES,
            tx,
        )));
        team.tasks.push(tokio::spawn(fold_loop(
            config.clone(),
            me,
            rx,
            boards.clone(),
            shared,
            on_change,
        )));
        team.tasks.push(tokio::spawn(publish_loop(
            config, me, client, channel, boards, commands,
        )));
        team
    }

    pub fn setup(&self) -> &TeamSetup {
        &self.setup
    }

    /// The shared cache tier, with `share_cache`.
    pub fn shared_tier(&self) -> Option<Arc<dyn crate::cache::SharedTier>> {
        self.tier
            .clone()
            .map(|t| t as Arc<dyn crate::cache::SharedTier>)
    }

    pub fn status(&self) -> TeamStatus {
        let connected = self.shared.connected.load(Ordering::Relaxed);
        TeamStatus {
            name: self.config.name.clone(),
            connected,
            members: if connected {
                1 + self.shared.teammates.load(Ordering::Relaxed)
            } else {
                1
            },
            redis: self.config.redacted_url(),
            unreachable: !connected && self.shared.unreachable.load(Ordering::Relaxed),
        }
    }
}

/// One `PING` to the team's Redis, for `switchboard-ls status`: its round trip, or why
/// not (in words safe to print).
pub async fn ping(config: &TeamConfig) -> Result<std::time::Duration, String> {
    let client = link::client(config)?;
    let started = Instant::now();
    let attempt = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), attempt).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(err)) => Err(link::safe(config, &err)),
        Err(_) => Err("no answer within 2 s".to_string()),
    }
}

/// Where the server keeps its team link: replaced when `[team]` changes.
#[derive(Default)]
pub struct TeamSlot {
    current: Mutex<Option<Team>>,
}

impl TeamSlot {
    /// Starts, restarts or stops team mode to match `setup`.
    pub fn apply(&self, setup: Option<TeamSetup>, boards: BoardSource, on_change: OnChange) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().map(Team::setup) == setup.as_ref() {
            return;
        }
        *current = setup.map(|s| Team::start(s, boards, on_change.clone()));
        drop(current);
        on_change();
    }

    pub fn shared_tier(&self) -> Option<Arc<dyn crate::cache::SharedTier>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(Team::shared_tier)
    }

    pub fn status(&self) -> Option<TeamStatus> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(Team::status)
    }
}

async fn fold_loop(
    config: TeamConfig,
    me: u64,
    mut inbox: mpsc::Receiver<link::Heard>,
    boards: BoardSource,
    shared: Arc<Shared>,
    on_change: OnChange,
) {
    let mut folder = share::Folder::new(me);
    let mut ever_connected = false;
    let mut said_unreachable = false;
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut folded = 0usize;
    loop {
        let heard = tokio::select! {
            heard = inbox.recv() => match heard {
                Some(heard) => Some(heard),
                None => return,
            },
            _ = ticker.tick() => None,
        };
        let now = Instant::now();
        match heard {
            Some(link::Heard::Connected) => {
                shared.connected.store(true, Ordering::Relaxed);
                shared.unreachable.store(false, Ordering::Relaxed);
                if ever_connected || said_unreachable {
                    tracing::info!(
                        "team {}: connected to {} again",
                        config.name,
                        config.redacted_url()
                    );
                } else {
                    tracing::info!(
                        "team {}: connected to {}",
                        config.name,
                        config.redacted_url()
                    );
                }
                ever_connected = true;
                said_unreachable = false;
                on_change();
            }
            Some(link::Heard::Disconnected) => {
                let was = shared.connected.swap(false, Ordering::Relaxed);
                shared.unreachable.store(true, Ordering::Relaxed);
                // Said once per outage, not per reconnection attempt.
                if was || !said_unreachable {
                    said_unreachable = true;
                    tracing::warn!(
                        "team {}: Redis at {} unreachable — working alone, reconnecting in the background",
                        config.name,
                        config.redacted_url()
                    );
                    on_change();
                }
            }
            Some(link::Heard::Message(payload)) => {
                let board = boards();
                folder.fold(now, &payload, &board, config.share_health);
                folded += 1;
                if folded.is_multiple_of(FOLD_BATCH) {
                    // A flood must not hold a worker thread: let other tasks run.
                    tokio::task::yield_now().await;
                }
            }
            None => {}
        }
        let teammates = folder.members(now);
        if shared.teammates.swap(teammates, Ordering::Relaxed) != teammates {
            on_change();
        }
    }
}

async fn publish_loop(
    config: TeamConfig,
    me: u64,
    client: redis::Client,
    channel: String,
    boards: BoardSource,
    commands: cache::CommandSlot,
) {
    let mut manager = link::commands(client).await;
    *commands.lock().unwrap_or_else(|e| e.into_inner()) = Some(manager.clone());
    let mut publisher = share::Publisher::default();
    let mut ticker = tokio::time::interval(share::TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let health = if config.share_health {
            boards().snapshot()
        } else {
            Vec::new()
        };
        let Some(news) = publisher.poll(Instant::now(), &health) else {
            continue;
        };
        let payload = message::encode(&message::message(me, news));
        if !link::publish(&mut manager, &channel, &payload).await {
            tracing::debug!("team {}: a health message was not published", config.name);
        }
    }
}
