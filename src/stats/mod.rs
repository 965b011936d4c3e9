//! Insight: which provider's suggestions the user keeps, and what outages cost.
//!
//! The LSP layer hands every answered completion to [`Stats::served`] (which returns the
//! opaque id its item carries in the `switchboard.accepted` command) and every accept to
//! [`Stats::accepted`]. Both only put a message on a channel: a background
//! [`recorder`] adds them up per hour and provider with the health board's state
//! changes, and appends them to the stats file ([`file`]) once a minute and on
//! shutdown. `switchboard-ls stats` reads that file ([`report`]).
//!
//! Architecture invariant: only counts, timings, provider and state names are ever
//! recorded (the types of [`record`] have no field that could hold code, a path, a
//! prompt or a key), and nothing here runs on the completion's path but a `try_send`.

pub mod file;
pub mod ledger;
pub mod recent;
pub mod record;
pub mod recorder;
pub mod report;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::engine::{Completion, Engine};
use crate::providers::ErrorClass;
use ledger::Ledger;

/// Messages waiting for the recorder, at most; past that they are dropped (counting
/// must never hold up a completion).
const QUEUE: usize = 4096;

/// Where a suggestion came from, remembered under its id until it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub provider: String,
    pub cached: bool,
    pub stale: bool,
    /// Served after another provider failed.
    pub failover: bool,
    /// Served by the built-in local engine.
    pub local: bool,
}

/// One answered completion, as the recorder sees it.
#[derive(Debug, Clone)]
pub struct Served {
    pub provenance: Provenance,
    /// Whether there was a suggestion at all.
    pub shown: bool,
    /// For upstream answers only.
    pub latency: Option<Duration>,
    /// Attempts that failed on the way, counted against their provider.
    pub failed: Vec<(String, ErrorClass)>,
}

pub(crate) enum Message {
    Served(Served),
    Accepted(Provenance),
    /// Write what is pending now, then answer.
    Flush(oneshot::Sender<()>),
}

/// The server's handle: cheap to call from any handler.
pub struct Stats {
    ledger: Ledger,
    sender: mpsc::Sender<Message>,
    receiver: Mutex<Option<mpsc::Receiver<Message>>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        Stats {
            ledger: Ledger::new(),
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Records an answered completion; returns the id for its `switchboard.accepted`
    /// command. `engine` tells the local engine apart from cloud providers.
    pub fn served(&self, completion: &Completion, engine: &Engine) -> String {
        let local = engine
            .runtime()
            .config
            .provider(&completion.provider)
            .is_some_and(|p| !p.kind.is_cloud());
        let provenance = Provenance {
            provider: completion.provider.clone(),
            cached: completion.cached,
            stale: completion.stale,
            failover: !completion.failed.is_empty(),
            local,
        };
        // A shared or cached answer's failures were counted with the request that met them.
        let own_route = !completion.cached || completion.stale;
        self.send(Message::Served(Served {
            provenance: provenance.clone(),
            shown: !completion.text.is_empty(),
            latency: (!completion.cached && !local).then_some(completion.latency),
            failed: if own_route {
                completion.failed.clone()
            } else {
                Vec::new()
            },
        }));
        self.ledger.issue(provenance)
    }

    /// `switchboard.accepted ID`: counts the suggestion once, the first time its id
    /// comes back. `false` for an unknown, expired or already counted id.
    pub fn accepted(&self, id: &str) -> bool {
        match self.ledger.accept(id) {
            Some(provenance) => {
                self.send(Message::Accepted(provenance));
                true
            }
            None => false,
        }
    }

    fn send(&self, message: Message) {
        if self.sender.try_send(message).is_err() {
            tracing::debug!("stats: recorder busy or stopped; a count was dropped");
        }
    }

    /// Starts the recorder (once): it adds up what it is sent and the engine's health
    /// changes, and writes them to the stats file.
    pub fn start(&self, engine: Arc<Engine>) {
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        tokio::spawn(recorder::run(receiver, engine, file::default_path()));
    }

    /// Writes what is pending now (at shutdown); waits a bounded time.
    pub async fn flush(&self) {
        let started = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none();
        if !started {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
        }
    }
}
