//! The completion engine: context → provider chain → cleaned answer with provenance.
//!
//! The LSP server, the CLI and the benchmark all call [`Engine::complete`] with a plain
//! [`CompletionRequest`]. Architecture invariant: no LSP types here.

mod context;
mod postprocess;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use globset::{Glob, GlobSet, GlobSetBuilder};

use tokio::sync::broadcast;

use crate::config::Config;
use crate::health::{HealthBoard, HealthEvent};
use crate::providers::{self, shared_client};
use crate::router::{Budget, Router};

pub use context::{CompletionRequest, language_for_path};
pub use postprocess::clean;

/// A completion and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Empty when there is nothing to suggest.
    pub text: String,
    /// The provider that produced the text (also for cache hits).
    pub provider: String,
    pub model: String,
    pub cached: bool,
    /// Served from the cache past its freshness because every provider failed.
    pub stale: bool,
    pub latency: Duration,
}

/// Everything built from one config: swapped whole on reload, so a request in flight
/// finishes with the config it started with.
pub struct Runtime {
    pub config: Config,
    router: Router,
    exclude: GlobSet,
}

impl Runtime {
    fn new(config: Config, events: broadcast::Sender<HealthEvent>) -> Self {
        let client = shared_client();
        let providers = config
            .providers
            .iter()
            .cloned()
            .map(|p| providers::build(p, client.clone()))
            .collect();
        let board = HealthBoard::new(&config, events);
        let router = Router::new(
            providers,
            config.routing.clone(),
            board,
            Arc::new(Budget::default()),
        );
        let exclude = exclude_set(&config.completion.exclude);
        Runtime {
            config,
            router,
            exclude,
        }
    }

    pub fn board(&self) -> &Arc<HealthBoard> {
        self.router.board()
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Whether `path` must never be sent to a cloud provider.
    pub fn is_excluded(&self, path: &std::path::Path) -> bool {
        self.exclude.is_match(path)
    }
}

fn exclude_set(globs: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        // Invalid globs were reported and left out when the config was parsed.
        if let Ok(glob) = Glob::new(glob) {
            builder.add(glob);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

pub struct Engine {
    runtime: RwLock<Arc<Runtime>>,
    /// Health events of every runtime this engine has had: subscribers outlive reloads.
    events: broadcast::Sender<HealthEvent>,
}

impl Engine {
    pub fn new(config: Config) -> Self {
        let events = broadcast::channel(256).0;
        Engine {
            runtime: RwLock::new(Arc::new(Runtime::new(config, events.clone()))),
            events,
        }
    }

    /// Replaces the config (and with it the health board); requests already running
    /// keep the runtime they started with.
    pub fn reload(&self, config: Config) {
        let runtime = Arc::new(Runtime::new(config, self.events.clone()));
        *self.runtime.write().unwrap_or_else(|e| e.into_inner()) = runtime;
    }

    /// Closes nothing and waits for nothing: sends one tiny request to `provider` in
    /// the background and records its outcome on the health board.
    pub fn probe(&self, provider: &str) {
        let runtime = self.runtime();
        let Some(target) = runtime
            .router
            .providers()
            .iter()
            .find(|p| p.config().name == provider && p.config().kind.is_cloud())
            .cloned()
        else {
            return;
        };
        let board = runtime.board().clone();
        tokio::spawn(async move {
            let request = providers::ProviderRequest {
                prefix: "// probe\n".into(),
                suffix: String::new(),
                language: "plaintext".into(),
                path: None,
                max_tokens: 1,
                single_line: true,
                document: Arc::from(""),
                cursor: 0,
                neighbours: Vec::new(),
            };
            let timeout = target.config().timeout;
            let attempt = providers::Attempt::new(timeout, timeout);
            let name = target.config().name.clone();
            let result = tokio::time::timeout(timeout, target.complete(&request, &attempt)).await;
            let observation = match result {
                Ok(Ok(_)) => {
                    let total = attempt.started.elapsed();
                    let first_byte = attempt
                        .first_byte
                        .at()
                        .map_or(total, |t| t - attempt.started);
                    crate::health::Observation::Success {
                        provider: name,
                        first_byte,
                        total,
                    }
                }
                Ok(Err(error)) => crate::health::Observation::Failure {
                    provider: name,
                    error,
                },
                Err(_) => crate::health::Observation::Failure {
                    provider: name,
                    error: providers::ProviderError::timeout("no probe answer", timeout),
                },
            };
            board.observe(observation);
        });
    }

    /// Empties the completion cache (none yet: completions are not cached).
    pub fn clear_cache(&self) {}

    /// Every provider state change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HealthEvent> {
        self.events.subscribe()
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// One completion. Never fails: an outage ends in the local engine, and "nothing
    /// to suggest" is an empty text.
    pub async fn complete(&self, request: CompletionRequest) -> Completion {
        let started = Instant::now();
        let runtime = self.runtime();
        let settings = &runtime.config.completion;
        let provider_request = context::build(&request, settings);
        let cloud_allowed = !request
            .path
            .as_deref()
            .is_some_and(|p| runtime.is_excluded(p));
        let deadline = started + settings.deadline();
        let routed = runtime
            .router
            .route(&provider_request, deadline, cloud_allowed)
            .await;
        let text = clean(&routed.text, &provider_request);
        Completion {
            text,
            provider: routed.provider,
            model: routed.model,
            cached: false,
            stale: false,
            latency: started.elapsed(),
        }
    }
}
