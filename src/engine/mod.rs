//! The completion engine: context → provider chain → cleaned answer with provenance.
//!
//! The LSP server, the CLI and the benchmark all call [`Engine::complete`] with a plain
//! [`CompletionRequest`]. Architecture invariant: no LSP types here.

mod context;
mod postprocess;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::Config;
use crate::providers::{self, shared_client};
use crate::router::Router;

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
    fn new(config: Config) -> Self {
        let client = shared_client();
        let providers = config
            .providers
            .iter()
            .cloned()
            .map(|p| providers::build(p, client.clone()))
            .collect();
        let router = Router::new(providers, config.routing.clone());
        let exclude = exclude_set(&config.completion.exclude);
        Runtime {
            config,
            router,
            exclude,
        }
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
}

impl Engine {
    pub fn new(config: Config) -> Self {
        Engine {
            runtime: RwLock::new(Arc::new(Runtime::new(config))),
        }
    }

    /// Replaces the config; requests already running keep the one they started with.
    pub fn reload(&self, config: Config) {
        let runtime = Arc::new(Runtime::new(config));
        *self.runtime.write().unwrap_or_else(|e| e.into_inner()) = runtime;
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
