//! The completion engine: context → provider chain → cleaned answer with provenance.
//!
//! The LSP server, the CLI and the benchmark all call [`Engine::complete`] with a plain
//! [`CompletionRequest`]. Architecture invariant: no LSP types here.

mod brackets;
mod context;
mod indent;
mod postprocess;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use globset::{Glob, GlobSet, GlobSetBuilder};

use tokio::sync::broadcast;

use crate::cache::{self, Cache, ContextKey, Hit, InFlight, Joined};
use crate::config::Config;
use crate::health::{HealthBoard, HealthEvent};
use crate::providers::{self, ErrorClass};
use crate::router::{Budget, Routed, Router};

pub use context::{CompletionRequest, language_for_path};
pub use postprocess::{AnswerStyle, clean, clean_as};

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
    /// The providers that failed on the way to this answer, with how (for `stats`):
    /// non-empty means it was served after a failover.
    pub failed: Vec<(String, ErrorClass)>,
}

/// Everything built from one config: swapped whole on reload, so a request in flight
/// finishes with the config it started with.
pub struct Runtime {
    pub config: Config,
    router: Router,
    exclude: GlobSet,
    /// The last path asked about and its answer: completions ask about the same file
    /// again and again, and a glob set match costs a few microseconds.
    last_exclusion: std::sync::Mutex<Option<(std::path::PathBuf, bool)>>,
    /// The HTTP client built from `config.network` (shared with runtimes whose
    /// `[network]` is the same, so a reload keeps warm connections).
    client: reqwest::Client,
}

impl Runtime {
    fn new(config: Config, events: broadcast::Sender<HealthEvent>) -> Self {
        let client = providers::client_for(&config.network);
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
        let exclude = exclude_set(
            config
                .completion
                .exclude
                .iter()
                .map(String::as_str)
                .chain(crate::config::EDITOR_SETTINGS_FILES.iter().copied()),
        );
        Runtime {
            config,
            router,
            exclude,
            last_exclusion: std::sync::Mutex::new(None),
            client,
        }
    }

    pub fn board(&self) -> &Arc<HealthBoard> {
        self.router.board()
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The HTTP client for this config's `[network]` (status pages use it too).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `routed.text` cleaned for `request`, the way its provider's kind writes answers.
    pub fn clean(&self, routed: &Routed, request: &providers::ProviderRequest) -> String {
        use crate::config::ProviderKind;
        let kind = self
            .config
            .providers
            .iter()
            .find(|p| p.name == routed.provider)
            .map(|p| p.kind);
        let style = match kind {
            Some(ProviderKind::Anthropic | ProviderKind::OpenAi | ProviderKind::Gemini) => {
                AnswerStyle::Chat
            }
            _ => AnswerStyle::Fill,
        };
        clean_as(&routed.text, request, style)
    }

    /// Whether `path` must never be sent to a cloud provider.
    pub fn is_excluded(&self, path: &std::path::Path) -> bool {
        let mut last = self
            .last_exclusion
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((last_path, excluded)) = &*last
            && last_path == path
        {
            return *excluded;
        }
        let excluded = self.exclude.is_match(path);
        *last = Some((path.to_path_buf(), excluded));
        excluded
    }
}

fn exclude_set<'a>(globs: impl Iterator<Item = &'a str>) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        // Invalid globs were reported and left out when the config was parsed.
        if let Ok(glob) = Glob::new(glob) {
            builder.add(glob);
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// What one upstream flight produced, shared by every request that waited on it.
#[derive(Debug)]
pub struct FlightResult {
    pub routed: Routed,
    /// `routed.text` cleaned for the flight's context.
    pub text: String,
    /// Served from the shared (team) cache tier.
    pub shared_hit: bool,
}

/// How long a shared-tier lookup may run before the provider request starts anyway:
/// on loopback Redis a hit or a miss is known well within it, so a hit costs no upstream
/// request; a slow or absent tier races the provider instead.
const SHARED_HEAD_START: Duration = Duration::from_millis(5);

pub struct Engine {
    runtime: RwLock<Arc<Runtime>>,
    /// Health events of every runtime this engine has had: subscribers outlive reloads.
    events: broadcast::Sender<HealthEvent>,
    /// The cache and the flights outlive config reloads too.
    cache: Arc<Cache>,
    inflight: InFlight<FlightResult>,
    /// A shared second cache tier (team mode), when one is set.
    shared_tier: RwLock<Option<Arc<dyn cache::SharedTier>>>,
}

impl Engine {
    pub fn new(config: Config) -> Self {
        let events = broadcast::channel(256).0;
        let cache = Arc::new(Cache::new(&config.cache));
        Engine {
            runtime: RwLock::new(Arc::new(Runtime::new(config, events.clone()))),
            events,
            cache,
            inflight: InFlight::new(),
            shared_tier: RwLock::new(None),
        }
    }

    /// Sets (or, with `None`, removes) the shared second cache tier.
    pub fn set_shared_tier(&self, tier: Option<Arc<dyn cache::SharedTier>>) {
        *self.shared_tier.write().unwrap_or_else(|e| e.into_inner()) = tier;
    }

    fn shared_tier(&self) -> Option<Arc<dyn cache::SharedTier>> {
        self.shared_tier
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the config (and with it the health board); requests already running
    /// keep the runtime they started with.
    pub fn reload(&self, config: Config) {
        self.cache.reconfigure(&config.cache);
        let runtime = Arc::new(Runtime::new(config, self.events.clone()));
        runtime.board().inherit(self.runtime().board());
        *self.runtime.write().unwrap_or_else(|e| e.into_inner()) = runtime;
    }

    pub fn cache_figures(&self) -> cache::Figures {
        self.cache.figures()
    }

    /// Writes the cache file now if it changed (blocking: not on the completion path).
    pub fn flush_cache(&self) {
        self.cache.flush();
    }

    /// Writes the cache file in the background whenever it has changed.
    pub fn start_cache_writer(&self) -> tokio::task::JoinHandle<()> {
        let cache = self.cache.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(5));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let cache = cache.clone();
                let _ = tokio::task::spawn_blocking(move || cache.flush()).await;
            }
        })
    }

    /// Closes nothing and waits for nothing: sends one tiny request to `provider` in
    /// the background and records its outcome on the health board. The handle says
    /// how it went (the error in words when it failed), for whoever asked to retry.
    pub fn probe(&self, provider: &str) -> Option<tokio::task::JoinHandle<Result<(), String>>> {
        let runtime = self.runtime();
        let target = runtime
            .router
            .providers()
            .iter()
            .find(|p| p.config().name == provider && p.config().kind.is_cloud())
            .cloned()?;
        let board = runtime.board().clone();
        Some(tokio::spawn(async move {
            let request = providers::ProviderRequest {
                prefix: "// probe\n".into(),
                suffix: String::new(),
                language: "plaintext".into(),
                path: None,
                max_tokens: 1,
                single_line: true,
                document: Arc::from(""),
                cursor: 0,
                neighbours: Default::default(),
            };
            let timeout = target.config().timeout;
            let attempt = providers::Attempt::new(timeout, timeout);
            let name = target.config().name.clone();
            let result =
                tokio::time::timeout(timeout, providers::ask(target.as_ref(), &request, &attempt))
                    .await;
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
            let outcome = match &observation {
                crate::health::Observation::Failure { error, .. } => Err(error.short()),
                _ => Ok(()),
            };
            board.observe(observation);
            outcome
        }))
    }

    /// Empties the completion cache, in memory and on disk.
    pub fn clear_cache(&self) {
        self.cache.clear();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || cache.flush());
    }

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

    /// One completion. Never fails: an outage ends in a stale cache entry or the local
    /// engine, and "nothing to suggest" is an empty text.
    pub async fn complete(&self, request: CompletionRequest) -> Completion {
        let started = Instant::now();
        let runtime = self.runtime();
        let settings = &runtime.config.completion;
        let provider_request = context::build(&request, settings);
        let deadline = started + settings.deadline();
        let excluded = request
            .path
            .as_deref()
            .is_some_and(|p| runtime.is_excluded(p));
        if excluded {
            // Never sent to a cloud provider, never cached: the local engine only.
            let routed = runtime
                .router
                .route(&provider_request, deadline, false)
                .await;
            return finish(
                runtime.clean(&routed, &provider_request),
                &routed,
                false,
                false,
                started,
            );
        }

        let key = ContextKey::of(&provider_request);
        match self.cache.lookup(key, &provider_request) {
            Some(Hit::Exact(entry)) => {
                return from_cache(entry.text.clone(), &entry, false, started);
            }
            Some(Hit::TypedThrough { entry, remainder }) => {
                return from_cache(remainder, &entry, false, started);
            }
            None => {}
        }

        let joined = self.inflight.join_or_start(
            key,
            cache::suffix_hash(&provider_request),
            &provider_request.prefix,
            cache::tail(&provider_request.prefix, cache::PREFIX_TAIL_BYTES).to_string(),
            || {
                flight(
                    runtime.clone(),
                    self.cache.clone(),
                    self.shared_tier(),
                    key,
                    provider_request.clone(),
                    deadline,
                )
            },
        );
        let (mut flight_wait, typed, shared) = match joined {
            Joined::Started(f) => (f, None, false),
            Joined::Same(f) => (f, None, true),
            Joined::TypedAhead { flight, typed } => (flight, Some(typed), true),
        };
        // Nothing waits past usefulness (DESIGN.md §4): when every cloud provider that
        // can answer is past its hedge point, the stale answer (or the local engine's)
        // is served then, and the flight finishes in the background to refresh the cache.
        // When neither has anything, the cloud's late answer is still better than none.
        let patience = runtime.router().usefulness_limit();
        let result = match patience {
            Some(limit) if typed.is_none() => {
                match tokio::time::timeout(limit, flight_wait.wait()).await {
                    Ok(result) => result,
                    Err(_) => match self
                        .past_usefulness(&runtime, key, &provider_request, deadline, started)
                        .await
                    {
                        Some(completion) => {
                            flight_wait.detach();
                            return completion;
                        }
                        None => flight_wait.wait().await,
                    },
                }
            }
            _ => flight_wait.wait().await,
        };
        drop(flight_wait);

        if let Some(typed) = typed {
            // Waited on a request the user has since typed ahead of.
            if let Some(result) = &result
                && !result.routed.cloud_failed
                && let Some(rest) = result.text.strip_prefix(typed.as_str())
                && !rest.is_empty()
            {
                return finish(rest.to_string(), &result.routed, true, false, started);
            }
            let routed = runtime
                .router
                .route(&provider_request, deadline, true)
                .await;
            let text = runtime.clean(&routed, &provider_request);
            if !routed.cloud_failed {
                self.cache.insert(
                    key,
                    &provider_request,
                    &text,
                    &routed.provider,
                    &routed.model,
                    true,
                );
                return finish(text, &routed, false, false, started);
            }
            return self.outage_answer(key, text, &routed, started);
        }
        let Some(result) = result else {
            let routed = runtime
                .router
                .route(&provider_request, deadline, true)
                .await;
            return finish(
                runtime.clean(&routed, &provider_request),
                &routed,
                false,
                false,
                started,
            );
        };
        if result.routed.cloud_failed {
            return self.outage_answer(key, result.text.clone(), &result.routed, started);
        }
        finish(
            result.text.clone(),
            &result.routed,
            shared || result.shared_hit,
            false,
            started,
        )
    }

    /// The cloud is past its hedge point with nothing else to ask: the freshest cached
    /// answer for this context, even stale, else the local engine's; `None` when neither
    /// has a suggestion (then the cloud is waited for after all).
    async fn past_usefulness(
        &self,
        runtime: &Runtime,
        key: ContextKey,
        request: &providers::ProviderRequest,
        deadline: Instant,
        started: Instant,
    ) -> Option<Completion> {
        if let Some(entry) = self.cache.stale(key) {
            tracing::info!("the cloud is past its hedge point: serving the stale answer");
            return Some(from_cache(entry.text.clone(), &entry, true, started));
        }
        let routed = runtime.router.route(request, deadline, false).await;
        let text = runtime.clean(&routed, request);
        if text.trim().is_empty() {
            tracing::debug!(
                "the cloud is past its hedge point, but nothing else has a suggestion: waiting on"
            );
            return None;
        }
        tracing::info!("the cloud is past its hedge point: serving the local engine's answer");
        Some(finish(text, &routed, false, false, started))
    }

    /// Every cloud provider failed: the freshest cached answer for this context, even
    /// stale, else what the local engine said.
    fn outage_answer(
        &self,
        key: ContextKey,
        local_text: String,
        routed: &Routed,
        started: Instant,
    ) -> Completion {
        if let Some(entry) = self.cache.stale(key) {
            let mut completion = from_cache(entry.text.clone(), &entry, true, started);
            completion.failed = failed(routed);
            return completion;
        }
        finish(local_text, routed, false, false, started)
    }
}

/// One upstream flight: route, clean, and cache a cloud answer — racing a lookup in
/// the shared tier when there is one (its hit wins only if it comes first).
async fn flight(
    runtime: Arc<Runtime>,
    cache: Arc<Cache>,
    tier: Option<Arc<dyn cache::SharedTier>>,
    key: ContextKey,
    request: providers::ProviderRequest,
    deadline: Instant,
) -> FlightResult {
    // Lazy: no request goes upstream until this is first polled.
    let route = runtime.router.route(&request, deadline, true);
    tokio::pin!(route);
    let routed = match &tier {
        None => route.await,
        Some(tier) => {
            let mut lookup = tier.get(key);
            let hit = match tokio::time::timeout(SHARED_HEAD_START, &mut lookup).await {
                Ok(hit) => hit,
                Err(_) => {
                    tokio::select! {
                        biased;
                        routed = &mut route => return finish_flight(&runtime, &cache, Some(tier), key, &request, routed),
                        hit = &mut lookup => match hit {
                            Some(hit) => Some(hit),
                            None => return finish_flight(&runtime, &cache, Some(tier), key, &request, (&mut route).await),
                        },
                    }
                }
            };
            match hit {
                Some(hit) => return shared_flight(&cache, key, &request, hit),
                None => (&mut route).await,
            }
        }
    };
    finish_flight(&runtime, &cache, tier.as_ref(), key, &request, routed)
}

/// A routed answer cleaned and, from the cloud, cached in memory and in the shared tier.
fn finish_flight(
    runtime: &Runtime,
    cache: &Cache,
    tier: Option<&Arc<dyn cache::SharedTier>>,
    key: ContextKey,
    request: &providers::ProviderRequest,
    routed: Routed,
) -> FlightResult {
    let text = runtime.clean(&routed, request);
    if !routed.cloud_failed {
        cache.insert(key, request, &text, &routed.provider, &routed.model, true);
        if let Some(tier) = tier {
            tier.put(
                key,
                cache::SharedAnswer {
                    text: text.clone(),
                    provider: routed.provider.clone(),
                    model: routed.model.clone(),
                },
            );
        }
    }
    FlightResult {
        routed,
        text,
        shared_hit: false,
    }
}

/// A teammate's answer from the shared tier: kept in memory too, no upstream request.
fn shared_flight(
    cache: &Cache,
    key: ContextKey,
    request: &providers::ProviderRequest,
    hit: cache::SharedAnswer,
) -> FlightResult {
    cache.insert(key, request, &hit.text, &hit.provider, &hit.model, true);
    FlightResult {
        routed: Routed {
            text: hit.text.clone(),
            provider: hit.provider,
            model: hit.model,
            cloud_failed: false,
            failures: Vec::new(),
            attempts: 0,
            hedged: false,
        },
        text: hit.text,
        shared_hit: true,
    }
}

fn finish(
    text: String,
    routed: &Routed,
    cached: bool,
    stale: bool,
    started: Instant,
) -> Completion {
    Completion {
        text,
        provider: routed.provider.clone(),
        model: routed.model.clone(),
        cached,
        stale,
        latency: started.elapsed(),
        failed: failed(routed),
    }
}

fn failed(routed: &Routed) -> Vec<(String, ErrorClass)> {
    routed
        .failures
        .iter()
        .map(|(name, error)| (name.clone(), error.class))
        .collect()
}

fn from_cache(text: String, entry: &cache::Entry, stale: bool, started: Instant) -> Completion {
    Completion {
        text,
        provider: entry.provider.clone(),
        model: entry.model.clone(),
        cached: true,
        stale,
        latency: started.elapsed(),
        failed: Vec::new(),
    }
}
