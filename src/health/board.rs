//! The health board: per-provider breaker, rate limit, status-page level, recent
//! outcomes and latency, and the state they add up to (DESIGN.md §4).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::breaker::{Breaker, Gate};
use super::latency::LatencyWindow;
use super::soft::{QualityWatch, SlowWatch};
use super::team::TeamWatch;
use super::{DisableReason, HealthEvent, HealthState, Observation, PageLevel, ProviderHealth};
use crate::config::{Config, ProviderConfig, SlowBound};
use crate::providers::ErrorClass;

/// A 429 without a hint skips the provider this long.
pub const DEFAULT_RATE_LIMIT: Duration = Duration::from_secs(10);
pub const MAX_RATE_LIMIT: Duration = Duration::from_secs(300);
/// How many recent outcomes the degraded message counts.
const RECENT: usize = 5;
/// Recent latencies kept per provider (DESIGN.md §4: the `auto` hedge reads the last 50).
pub const LATENCY_SAMPLES: usize = 50;

#[derive(Clone)]
struct Entry {
    config: ProviderConfig,
    breaker: Breaker,
    disabled: Option<DisableReason>,
    rate_limited_until: Option<Instant>,
    /// A retryable failure or 429 since the last success.
    failing: bool,
    recent: VecDeque<bool>,
    last_error: Option<crate::providers::ProviderError>,
    page_level: PageLevel,
    page_description: Option<String>,
    first_byte: LatencyWindow,
    total: LatencyWindow,
    requests: u64,
    failures: u64,
    state: HealthState,
    slow: SlowWatch,
    quality: QualityWatch,
    slow_bound: SlowBound,
    quality_limit: u32,
    /// A provider demoted for a soft failure is put back in front once per cooldown,
    /// so a fast or good answer can end its verdict.
    cooldown: Duration,
    last_front_try: Option<Instant>,
    /// Teammates' reports (team mode).
    team: TeamWatch,
}

impl Entry {
    fn soft_demoted(&self) -> bool {
        self.slow.is_slow() || self.quality.is_degraded()
    }

    fn derive_state(&self, now: Instant) -> HealthState {
        if self.disabled.is_some() {
            HealthState::Disabled
        } else if self.breaker.is_open() {
            HealthState::Down
        } else if self.failing
            || self.soft_demoted()
            || self.page_level >= PageLevel::Minor
            || self.rate_limited_until.is_some_and(|t| t > now)
            || self.team.degrades(now)
        {
            HealthState::Degraded
        } else {
            HealthState::Healthy
        }
    }
}

/// Whether the router may ask a provider now.
#[derive(Debug)]
pub enum Admission {
    Try,
    /// The breaker's probe: report its outcome, or drop the ticket to let another go.
    Probe(ProbeTicket),
    Skip,
}

/// Held by the one request probing an open breaker. Dropped without an outcome (the
/// request was cancelled), the probe slot stays taken until the probe's timeout, so a
/// hung provider is not probed again on every keystroke.
#[derive(Debug)]
pub struct ProbeTicket {
    board: Arc<HealthBoard>,
    provider: String,
}

impl Drop for ProbeTicket {
    fn drop(&mut self) {
        self.board.probe_abandoned(&self.provider);
    }
}

pub struct HealthBoard {
    entries: Mutex<Vec<Entry>>,
    events: broadcast::Sender<HealthEvent>,
}

impl std::fmt::Debug for HealthBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthBoard").finish_non_exhaustive()
    }
}

impl HealthBoard {
    /// A board for the cloud providers of `config` (`local` has no health). Events go
    /// to `events`, which outlives config reloads.
    pub fn new(config: &Config, events: broadcast::Sender<HealthEvent>) -> Arc<Self> {
        let cooldown = Duration::from_millis(config.routing.breaker_cooldown_ms);
        let entries = config
            .providers
            .iter()
            .filter(|p| p.kind.is_cloud() && p.has_required_key())
            .map(|p| {
                let disabled = config
                    .routing
                    .disabled
                    .contains(&p.name)
                    .then_some(DisableReason::Config);
                let mut entry = Entry {
                    config: p.clone(),
                    breaker: Breaker::new(config.routing.breaker_failures, cooldown),
                    disabled,
                    rate_limited_until: None,
                    failing: false,
                    recent: VecDeque::with_capacity(RECENT),
                    last_error: None,
                    page_level: PageLevel::None,
                    page_description: None,
                    first_byte: LatencyWindow::new(LATENCY_SAMPLES),
                    total: LatencyWindow::new(LATENCY_SAMPLES),
                    requests: 0,
                    failures: 0,
                    state: HealthState::Healthy,
                    slow: SlowWatch::default(),
                    quality: QualityWatch::default(),
                    slow_bound: config.routing.slow,
                    quality_limit: config.routing.quality_failures,
                    cooldown,
                    last_front_try: None,
                    team: TeamWatch::default(),
                };
                entry.state = entry.derive_state(Instant::now());
                entry
            })
            .collect();
        Arc::new(HealthBoard {
            entries: Mutex::new(entries),
            events,
        })
    }

    /// Carries each provider's health over from the board of the previous config when
    /// the provider is the same (name, kind, endpoint, model, key variable): a config
    /// reload must not make a down or rate-limited provider look healthy. Only a
    /// disable ends with a config change (DESIGN.md §4).
    pub fn inherit(&self, previous: &HealthBoard) {
        let old = previous.lock().clone();
        let mut entries = self.lock();
        for entry in entries.iter_mut() {
            let same = |o: &&Entry| {
                o.config.name == entry.config.name
                    && o.config.kind == entry.config.kind
                    && o.config.base_url == entry.config.base_url
                    && o.config.model == entry.config.model
                    && o.config.api_key_env == entry.config.api_key_env
            };
            if let Some(o) = old.iter().find(same) {
                let config = entry.config.clone();
                let disabled = entry.disabled.clone();
                let (slow_bound, quality_limit, cooldown) =
                    (entry.slow_bound, entry.quality_limit, entry.cooldown);
                *entry = o.clone();
                entry.config = config;
                entry.disabled = disabled;
                entry.slow_bound = slow_bound;
                entry.quality_limit = quality_limit;
                entry.cooldown = cooldown;
                entry.state = entry.derive_state(Instant::now());
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HealthEvent> {
        self.events.subscribe()
    }

    pub fn knows(&self, provider: &str) -> bool {
        self.lock().iter().any(|e| e.config.name == provider)
    }

    /// Applies one observation and announces any state change.
    pub fn observe(&self, observation: Observation) {
        let now = Instant::now();
        let mut events = Vec::new();
        {
            let mut entries = self.lock();
            let name = match &observation {
                Observation::Success { provider, .. }
                | Observation::LowQuality { provider, .. }
                | Observation::Waited { provider, .. }
                | Observation::Failure { provider, .. }
                | Observation::StatusPage { provider, .. }
                | Observation::Disable { provider }
                | Observation::Enable { provider }
                | Observation::Retry { provider }
                | Observation::Teammate { provider, .. } => provider.clone(),
            };
            let Some(entry) = entries.iter_mut().find(|e| e.config.name == name) else {
                return;
            };
            let mut page_changed = false;
            match observation {
                Observation::Success {
                    first_byte, total, ..
                } => {
                    entry.requests += 1;
                    entry.breaker.success();
                    entry.failing = false;
                    entry.rate_limited_until = None;
                    push_recent(&mut entry.recent, false);
                    entry.first_byte.record(first_byte);
                    entry.total.record(total);
                    entry.slow.record(now, first_byte, entry.slow_bound);
                    entry.quality.good();
                    entry.team.local_success(now, entry.cooldown);
                }
                Observation::LowQuality {
                    first_byte, kind, ..
                } => {
                    // An answer came: the connection is fine, the content is not.
                    entry.requests += 1;
                    entry.breaker.success();
                    entry.slow.record(now, first_byte, entry.slow_bound);
                    entry.quality.low(kind, entry.quality_limit);
                }
                Observation::Waited {
                    waited,
                    past_hedge_point,
                    ..
                } => {
                    if past_hedge_point {
                        entry.first_byte.record(waited);
                    }
                    entry.slow.record(now, waited, entry.slow_bound);
                }
                Observation::Failure { error, .. } => {
                    entry.requests += 1;
                    entry.failures += 1;
                    match error.class {
                        ErrorClass::Retryable => {
                            entry.failing = true;
                            entry.team.tripped = false;
                            push_recent(&mut entry.recent, true);
                            entry.breaker.failure(now);
                        }
                        ErrorClass::RateLimited => {
                            entry.failing = true;
                            push_recent(&mut entry.recent, true);
                            let wait = error
                                .retry_after
                                .unwrap_or(DEFAULT_RATE_LIMIT)
                                .min(MAX_RATE_LIMIT);
                            entry.rate_limited_until = Some(now + wait);
                        }
                        ErrorClass::Auth | ErrorClass::ModelNotFound => {
                            entry.disabled = Some(DisableReason::Auth(error.clone()));
                        }
                        ErrorClass::Rejected => {}
                    }
                    entry.last_error = Some(error);
                }
                Observation::StatusPage {
                    level, description, ..
                } => {
                    page_changed =
                        entry.page_level != level || entry.page_description != description;
                    entry.page_level = level;
                    entry.page_description = description;
                }
                Observation::Disable { .. } => entry.disabled = Some(DisableReason::Command),
                Observation::Enable { .. } => {
                    entry.disabled = None;
                }
                Observation::Retry { .. } => {
                    if !matches!(entry.disabled, Some(DisableReason::Config)) {
                        entry.disabled = None;
                    }
                    entry.rate_limited_until = None;
                    entry.breaker.reset();
                    entry.team = TeamWatch::default();
                }
                Observation::Teammate { report, .. } => {
                    let threshold = entry.breaker.threshold();
                    if entry.team.report(now, &report, threshold)
                        && entry.disabled.is_none()
                        && entry.breaker.trip(now)
                    {
                        entry.team.tripped = true;
                    }
                }
            }
            // A soft verdict starts its first cooldown now; its end forgets it.
            if !entry.soft_demoted() {
                entry.last_front_try = None;
            } else if entry.last_front_try.is_none() {
                entry.last_front_try = Some(now);
            }
            let state = entry.derive_state(now);
            if state != entry.state || page_changed {
                events.push(HealthEvent {
                    provider: name,
                    previous: entry.state,
                    current: state,
                });
                entry.state = state;
            }
        }
        for event in events {
            tracing::info!(provider = %event.provider, "health: {} → {}", event.previous, event.current);
            let _ = self.events.send(event);
        }
    }

    /// Re-derives states whose inputs expire with time (a rate limit ending) and
    /// announces the changes. Cheap; called before each routing decision.
    pub fn refresh(&self) {
        let now = Instant::now();
        let mut events = Vec::new();
        for entry in self.lock().iter_mut() {
            if let Some(until) = entry.rate_limited_until
                && until <= now
            {
                entry.rate_limited_until = None;
            }
            let state = entry.derive_state(now);
            if state != entry.state {
                events.push(HealthEvent {
                    provider: entry.config.name.clone(),
                    previous: entry.state,
                    current: state,
                });
                entry.state = state;
            }
        }
        for event in events {
            let _ = self.events.send(event);
        }
    }

    /// Whether `provider` may be asked now. A provider the board does not track
    /// (`local`) is always admitted.
    pub fn admit(self: &Arc<Self>, provider: &str) -> Admission {
        self.admit_at(provider, Instant::now())
    }

    pub(crate) fn admit_at(self: &Arc<Self>, provider: &str, now: Instant) -> Admission {
        let mut entries = self.lock();
        let Some(entry) = entries.iter_mut().find(|e| e.config.name == provider) else {
            return Admission::Try;
        };
        if entry.disabled.is_some() || entry.rate_limited_until.is_some_and(|t| t > now) {
            return Admission::Skip;
        }
        match entry.breaker.gate(now, entry.config.timeout) {
            Gate::Pass => Admission::Try,
            Gate::Probe => Admission::Probe(ProbeTicket {
                board: self.clone(),
                provider: provider.to_string(),
            }),
            Gate::Closed(_) => Admission::Skip,
        }
    }

    /// Whether `provider` could be asked now (not disabled, rate-limited or down), without
    /// taking a probe slot: for planning, not for asking.
    pub fn could_admit(&self, provider: &str) -> bool {
        let now = Instant::now();
        self.lock()
            .iter()
            .find(|e| e.config.name == provider)
            .is_none_or(|e| {
                e.disabled.is_none()
                    && e.rate_limited_until.is_none_or(|t| t <= now)
                    && !e.breaker.is_open()
            })
    }

    fn probe_abandoned(&self, provider: &str) {
        if let Some(entry) = self.lock().iter_mut().find(|e| e.config.name == provider) {
            entry.breaker.probe_abandoned();
        }
    }

    /// Whether `provider` goes behind the healthy ones: a status-page incident, or a
    /// soft failure (slow, low-quality answers).
    pub fn is_demoted(&self, provider: &str) -> bool {
        let now = Instant::now();
        self.lock().iter().any(|e| {
            e.config.name == provider
                && (e.page_level.demotes() || e.soft_demoted() || e.team.demotes(now))
        })
    }

    /// Once per cooldown a provider demoted for a soft failure is tried in front again
    /// (as a `down` one is probed), so a fast or good answer can end the verdict: `true`
    /// when that time has come for `provider`, and it is taken.
    pub fn take_front_try(&self, provider: &str) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        let Some(e) = entries.iter_mut().find(|e| e.config.name == provider) else {
            return false;
        };
        if e.page_level.demotes() || !e.soft_demoted() {
            return false;
        }
        let due = e
            .last_front_try
            .is_none_or(|at| now.duration_since(at) >= e.cooldown);
        if due {
            e.last_front_try = Some(now);
        }
        due
    }

    /// Whether `provider` is slow: every request that still reaches it is hedged early.
    pub fn is_slow(&self, provider: &str) -> bool {
        self.lock()
            .iter()
            .any(|e| e.config.name == provider && e.slow.is_slow())
    }

    /// Recent times to first byte of `provider` (answers, and the waits of attempts
    /// dropped past their hedge point): (the `q` quantile, sample count).
    pub fn first_byte_quantile(&self, provider: &str, q: f64) -> (Option<Duration>, usize) {
        self.lock()
            .iter()
            .find(|e| e.config.name == provider)
            .map_or((None, 0), |e| {
                (e.first_byte.quantile(q), e.first_byte.len())
            })
    }

    /// Every tracked provider's health, in chain order.
    pub fn snapshot(&self) -> Vec<ProviderHealth> {
        let now = Instant::now();
        self.lock()
            .iter()
            .map(|e| {
                let rate_limited = e.rate_limited_until.is_some_and(|t| t > now);
                let retry_in = e.breaker.retry_in(now).or_else(|| {
                    e.rate_limited_until
                        .filter(|_| rate_limited)
                        .map(|t| t.saturating_duration_since(now))
                });
                ProviderHealth {
                    name: e.config.name.clone(),
                    kind: e.config.kind.as_str().to_string(),
                    model: e.config.model.clone(),
                    base_url: e.config.base_url.clone(),
                    state: e.derive_state(now),
                    detail: detail(e, now),
                    retry_in,
                    rate_limited,
                    disabled: e.disabled.clone(),
                    page_level: e.page_level,
                    page_description: e.page_description.clone(),
                    status_page: e.config.status_page.clone(),
                    p50: e.total.quantile(0.5),
                    p95: e.total.quantile(0.95),
                    requests: e.requests,
                    failures: e.failures,
                    last_error: e.last_error.clone(),
                    soft_demoted: e.soft_demoted() || e.page_level.demotes(),
                    teammates: e.team.view(now).filter(|_| !e.failing || e.team.tripped),
                }
            })
            .collect()
    }
}

fn push_recent(recent: &mut VecDeque<bool>, failed: bool) {
    if recent.len() == RECENT {
        recent.pop_front();
    }
    recent.push_back(failed);
}

/// The short explanation shown next to a state.
fn detail(entry: &Entry, now: Instant) -> Option<String> {
    let last = entry.last_error.as_ref().map(|e| e.short());
    match entry.derive_state(now) {
        HealthState::Healthy => None,
        HealthState::Disabled => Some(match &entry.disabled {
            Some(DisableReason::Auth(error)) => error.to_string(),
            Some(DisableReason::Command) => "disabled for this session".to_string(),
            Some(DisableReason::Config) => "disabled in config (routing.disabled)".to_string(),
            None => String::new(),
        }),
        HealthState::Down if entry.team.tripped => Some(format!(
            "{} (reported by teammates)",
            entry
                .team
                .view(now)
                .and_then(|v| v.detail)
                .unwrap_or_else(|| "failures".into())
        )),
        HealthState::Down => Some(format!(
            "{} ×{}",
            last.unwrap_or_else(|| "failures".into()),
            entry.breaker.consecutive_failures()
        )),
        HealthState::Degraded => {
            if entry.rate_limited_until.is_some_and(|t| t > now) {
                Some(format!(
                    "rate-limited ({})",
                    last.unwrap_or_else(|| "429".into())
                ))
            } else if let Some(slow) = entry.slow.detail() {
                Some(slow)
            } else if let Some(quality) = entry.quality.detail() {
                Some(quality)
            } else if !entry.failing
                && let Some(view) = entry.team.view(now)
            {
                Some(format!(
                    "{} (reported by {} teammate{})",
                    view.detail.unwrap_or_else(|| "trouble".into()),
                    view.members,
                    if view.members == 1 { "" } else { "s" }
                ))
            } else if entry.failing {
                let failed = entry.recent.iter().filter(|f| **f).count();
                Some(format!(
                    "{failed} of last {} failed ({})",
                    entry.recent.len(),
                    last.unwrap_or_default()
                ))
            } else {
                Some(format!(
                    "status page reports {}",
                    entry
                        .page_description
                        .clone()
                        .unwrap_or_else(|| entry.page_level.as_str().to_string())
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProviderConfig, ProviderKind};
    use crate::providers::ProviderError;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    fn claude() -> ProviderConfig {
        let mut claude = ProviderConfig::with_defaults("claude", ProviderKind::Anthropic, "m");
        claude.api_key = Some(crate::config::Secret::new("k"));
        claude
    }

    fn board(failures: u32) -> Arc<HealthBoard> {
        let mut config = Config::offline();
        config.routing.breaker_failures = failures;
        config.providers.insert(0, claude());
        HealthBoard::new(&config, broadcast::channel(64).0)
    }

    fn http(status: u16, body: &str) -> ProviderError {
        ProviderError::from_http(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    fn fail(board: &HealthBoard, error: ProviderError) {
        board.observe(Observation::Failure {
            provider: "claude".into(),
            error,
        });
    }

    fn state(board: &HealthBoard) -> HealthState {
        board.snapshot()[0].state
    }

    #[test]
    fn a_wait_past_the_hedge_point_counts_toward_the_auto_hedge_delay() {
        let ms = Duration::from_millis;
        let board = board(3);
        for _ in 0..20 {
            board.observe(Observation::Success {
                provider: "claude".into(),
                first_byte: ms(300),
                total: ms(320),
            });
        }
        // Dropped before its hedge point (the other provider was faster): says nothing
        // about the slow tail.
        board.observe(Observation::Waited {
            provider: "claude".into(),
            waited: ms(900),
            past_hedge_point: false,
        });
        assert_eq!(
            board.first_byte_quantile("claude", 1.0),
            (Some(ms(300)), 20)
        );
        // Hedged, and the hedge won: it was at least this slow.
        board.observe(Observation::Waited {
            provider: "claude".into(),
            waited: ms(1400),
            past_hedge_point: true,
        });
        assert_eq!(
            board.first_byte_quantile("claude", 1.0),
            (Some(ms(1400)), 21)
        );
        assert_eq!(board.first_byte_quantile("other", 1.0), (None, 0));
    }

    #[test]
    fn retryable_failures_degrade_then_take_down_and_events_announce_each() {
        let board = board(3);
        let mut events = board.subscribe();
        let overloaded = http(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        fail(&board, overloaded.clone());
        assert_eq!(state(&board), HealthState::Degraded);
        assert_eq!(
            board.snapshot()[0].detail.as_deref(),
            Some("1 of last 1 failed (529 overloaded_error)")
        );
        fail(&board, overloaded.clone());
        fail(&board, overloaded);
        assert_eq!(state(&board), HealthState::Down);
        assert_eq!(
            board.snapshot()[0].detail.as_deref(),
            Some("529 overloaded_error ×3")
        );
        assert!(matches!(board.admit("claude"), Admission::Skip));
        let first = events.try_recv().unwrap();
        assert_eq!(
            (first.previous, first.current),
            (HealthState::Healthy, HealthState::Degraded)
        );
        let second = events.try_recv().unwrap();
        assert_eq!(second.current, HealthState::Down);
        assert!(events.try_recv().is_err(), "no event without a change");
    }

    #[test]
    fn auth_errors_disable_until_enabled_or_retried() {
        let board = board(3);
        fail(
            &board,
            http(
                401,
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
            ),
        );
        assert_eq!(state(&board), HealthState::Disabled);
        assert!(matches!(board.admit("claude"), Admission::Skip));
        board.observe(Observation::Retry {
            provider: "claude".into(),
        });
        assert_eq!(state(&board), HealthState::Healthy);
    }

    #[test]
    fn a_429_skips_until_retry_after_and_does_not_count_toward_the_breaker() {
        let board = board(1);
        let mut limited = http(429, "{}");
        limited.retry_after = Some(Duration::from_secs(30));
        fail(&board, limited);
        let snapshot = &board.snapshot()[0];
        assert_eq!(snapshot.state, HealthState::Degraded);
        assert!(snapshot.rate_limited);
        assert!(snapshot.retry_in.unwrap() > Duration::from_secs(29));
        assert!(matches!(board.admit("claude"), Admission::Skip));
    }

    #[test]
    fn health_survives_a_config_reload_but_a_disable_does_not() {
        let old = board(1);
        fail(&old, http(500, ""));
        assert_eq!(state(&old), HealthState::Down);
        let fresh = board(1);
        fresh.inherit(&old);
        assert_eq!(state(&fresh), HealthState::Down);

        let old = board(3);
        fail(&old, http(401, ""));
        let fresh = board(3);
        fresh.inherit(&old);
        assert_eq!(state(&fresh), HealthState::Healthy);
    }

    #[test]
    fn a_retry_after_is_capped_at_five_minutes() {
        let board = board(3);
        let mut limited = http(429, "{}");
        limited.retry_after = Some(Duration::from_secs(86_400));
        fail(&board, limited);
        assert!(board.snapshot()[0].retry_in.unwrap() <= MAX_RATE_LIMIT);
        let mut hintless = http(429, "{}");
        hintless.retry_after = None;
        let board = self::board(3);
        fail(&board, hintless);
        let wait = board.snapshot()[0].retry_in.unwrap();
        assert!(wait <= DEFAULT_RATE_LIMIT && wait > DEFAULT_RATE_LIMIT - Duration::from_secs(1));
    }

    #[test]
    fn status_page_minor_degrades_and_major_demotes() {
        let board = board(3);
        board.observe(Observation::StatusPage {
            provider: "claude".into(),
            level: PageLevel::Minor,
            description: Some("Elevated errors".into()),
        });
        assert_eq!(state(&board), HealthState::Degraded);
        assert!(!board.is_demoted("claude"));
        board.observe(Observation::StatusPage {
            provider: "claude".into(),
            level: PageLevel::Major,
            description: None,
        });
        assert!(board.is_demoted("claude"));
        board.observe(Observation::StatusPage {
            provider: "claude".into(),
            level: PageLevel::None,
            description: None,
        });
        assert_eq!(state(&board), HealthState::Healthy);
    }

    #[test]
    fn a_dropped_probe_ticket_holds_the_probe_slot_until_its_timeout() {
        let mut config = Config::offline();
        config.routing.breaker_failures = 1;
        config.routing.breaker_cooldown_ms = 1;
        config.providers.insert(0, claude());
        let board = HealthBoard::new(&config, broadcast::channel(8).0);
        fail(&board, http(500, ""));
        let later = Instant::now() + Duration::from_millis(10);
        let ticket = board.admit_at("claude", later);
        assert!(matches!(ticket, Admission::Probe(_)));
        assert!(matches!(board.admit_at("claude", later), Admission::Skip));
        drop(ticket);
        assert!(matches!(board.admit_at("claude", later), Admission::Skip));
        let after_timeout = later + claude().timeout;
        assert!(matches!(
            board.admit_at("claude", after_timeout),
            Admission::Probe(_)
        ));
    }

    fn teammate(board: &HealthBoard, member: u64, failures: u32) {
        board.observe(Observation::Teammate {
            provider: "claude".into(),
            report: super::super::TeammateReport {
                member,
                failures,
                successes: 0,
                demoted: false,
                detail: Some("529 overloaded_error".into()),
            },
        });
    }

    #[test]
    fn teammates_failures_degrade_then_open_the_breaker_but_never_disable() {
        let board = board(3);
        teammate(&board, 7, 1);
        let snapshot = &board.snapshot()[0];
        assert_eq!(snapshot.state, HealthState::Degraded);
        assert_eq!(snapshot.teammates.as_ref().unwrap().members, 1);
        teammate(&board, 8, 2);
        let snapshot = &board.snapshot()[0];
        assert_eq!(snapshot.state, HealthState::Down);
        assert!(snapshot.teammates.as_ref().unwrap().down);
        assert_eq!(
            snapshot.detail.as_deref(),
            Some("529 overloaded_error (reported by teammates)")
        );
        assert!(matches!(board.admit("claude"), Admission::Skip));
        for member in 0..100 {
            teammate(&board, member, u32::MAX);
        }
        assert_ne!(state(&board), HealthState::Disabled);
    }

    #[test]
    fn a_local_success_wins_over_teammates() {
        let board = board(3);
        teammate(&board, 7, 3);
        assert_eq!(state(&board), HealthState::Down);
        board.observe(Observation::Success {
            provider: "claude".into(),
            first_byte: Duration::from_millis(5),
            total: Duration::from_millis(9),
        });
        assert_eq!(state(&board), HealthState::Healthy);
        teammate(&board, 7, 3);
        assert_eq!(state(&board), HealthState::Healthy, "quiet for a cooldown");
        assert!(board.snapshot()[0].teammates.is_none());
    }
}
