//! The fallback chain of DESIGN.md §4: providers in order — demoted ones (status page
//! major/critical) behind the rest — skipping those the health board will not admit
//! (down, disabled, rate-limited), each attempt bounded by its timeout and the
//! request's deadline, retries and a hedge within a budget, and the `local` engine
//! last.
//!
//! Attempts run as futures owned by this call (never spawned): when the editor cancels
//! or supersedes a request, dropping it drops every upstream call and closes its
//! connection. Architecture invariant: the router knows providers only through the
//! `Provider` trait and errors only through their `ErrorClass`.

mod budget;
mod hedge;
mod quality;

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::{Sleep, sleep_until, timeout_at};

pub use budget::Budget;
pub use hedge::{AUTO_QUANTILE, delay as hedge_delay};

use crate::config::{ProviderKind, RoutingSettings};
use crate::health::{Admission, HealthBoard, Observation};
use crate::providers::{self, Attempt, Provider, ProviderError, ProviderRequest};

/// Where an answer came from.
#[derive(Debug, Clone)]
pub struct Routed {
    pub text: String,
    pub provider: String,
    pub model: String,
    /// No cloud provider answered (all failed, or none could be asked).
    pub cloud_failed: bool,
    /// The failures met on the way, provider name first.
    pub failures: Vec<(String, ProviderError)>,
    /// Upstream requests sent for this completion.
    pub attempts: u32,
    /// A second provider was started while the first was slow.
    pub hedged: bool,
}

pub struct Router {
    providers: Vec<Arc<dyn Provider>>,
    settings: RoutingSettings,
    board: Arc<HealthBoard>,
    budget: Arc<Budget>,
}

/// One attempt's outcome.
struct Outcome {
    index: usize,
    attempt: Attempt,
    result: Result<String, ProviderError>,
    /// The attempt's time was cut short by the request's deadline, not its own timeout.
    cut_by_deadline: bool,
    /// Held until the outcome is recorded; dropping it unrecorded frees the probe slot.
    _ticket: Option<crate::health::ProbeTicket>,
}

type InFlight<'a> =
    FuturesUnordered<Pin<Box<dyn std::future::Future<Output = Outcome> + Send + 'a>>>;

impl Router {
    pub fn new(
        providers: Vec<Arc<dyn Provider>>,
        settings: RoutingSettings,
        board: Arc<HealthBoard>,
        budget: Arc<Budget>,
    ) -> Self {
        Router {
            providers,
            settings,
            board,
            budget,
        }
    }

    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    pub fn board(&self) -> &Arc<HealthBoard> {
        &self.board
    }

    /// The cloud providers a request would try, in order (demoted ones last). For a
    /// real request (`taking_turns`), a softly demoted provider whose turn has come is
    /// tried in front again.
    fn chain(&self, cloud_allowed: bool, taking_turns: bool) -> Vec<usize> {
        if !cloud_allowed {
            return Vec::new();
        }
        let cloud: Vec<usize> = (0..self.providers.len())
            .filter(|&i| {
                let config = self.providers[i].config();
                config.kind.is_cloud() && config.has_required_key()
            })
            .collect();
        let (front, back): (Vec<usize>, Vec<usize>) = cloud.into_iter().partition(|&i| {
            let name = &self.providers[i].config().name;
            !self.board.is_demoted(name) || (taking_turns && self.board.take_front_try(name))
        });
        front.into_iter().chain(back).collect()
    }

    /// When a request stops being worth waiting for: once every cloud provider that can be
    /// asked now is past its hedge point — the first is hedged at its point by the second,
    /// that one at its own by the third, and so on — nothing else can answer, and the stale
    /// cached answer (or `local`) is better than more waiting. The sum of their hedge
    /// delays; `None` with hedging off or no cloud provider to ask.
    pub fn usefulness_limit(&self) -> Option<Duration> {
        let admissible: Vec<usize> = self
            .chain(true, false)
            .into_iter()
            .filter(|&i| self.board.could_admit(&self.providers[i].config().name))
            .collect();
        if admissible.is_empty() {
            return None;
        }
        admissible
            .into_iter()
            .map(|i| self.hedge_delay_for(i))
            .sum::<Option<Duration>>()
    }

    /// The name of the provider that would serve the next request (for status).
    pub fn serving(&self) -> Option<String> {
        self.board.refresh();
        for index in self.chain(true, false) {
            let name = &self.providers[index].config().name;
            let usable = self
                .board
                .snapshot()
                .iter()
                .find(|h| &h.name == name)
                .is_some_and(|h| {
                    matches!(
                        h.state,
                        crate::health::HealthState::Healthy | crate::health::HealthState::Degraded
                    ) && !h.rate_limited
                });
            if usable {
                return Some(name.clone());
            }
        }
        self.local().map(|p| p.config().name.clone())
    }

    fn local(&self) -> Option<&Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|p| p.config().kind == ProviderKind::Local)
    }

    /// Starts an attempt at provider `index`, if the board admits it.
    fn launch<'a>(
        &'a self,
        index: usize,
        request: &'a ProviderRequest,
        deadline: Instant,
        inflight: &mut InFlight<'a>,
    ) -> Option<Attempt> {
        let provider = &self.providers[index];
        let config = provider.config();
        let ticket = match self.board.admit(&config.name) {
            Admission::Skip => return None,
            Admission::Try => None,
            Admission::Probe(ticket) => Some(ticket),
        };
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        let budget = config.timeout.min(deadline - now);
        let cut_by_deadline = budget < config.timeout;
        let attempt = Attempt::new(budget, budget);
        let watched = attempt.clone();
        inflight.push(Box::pin(async move {
            let result = match timeout_at(
                attempt.deadline.into(),
                providers::ask(provider.as_ref(), request, &attempt),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => Err(ProviderError::timeout("no complete answer", budget)),
            };
            Outcome {
                index,
                attempt,
                result,
                cut_by_deadline,
                _ticket: ticket,
            }
        }));
        tracing::debug!(provider = %config.name, "attempt started");
        Some(watched)
    }

    /// Starts the next provider in `queue` that the board admits.
    fn launch_next<'a>(
        &'a self,
        queue: &mut std::collections::VecDeque<usize>,
        request: &'a ProviderRequest,
        deadline: Instant,
        inflight: &mut InFlight<'a>,
    ) -> Option<(usize, Attempt)> {
        while let Some(index) = queue.pop_front() {
            if let Some(attempt) = self.launch(index, request, deadline, inflight) {
                return Some((index, attempt));
            }
        }
        None
    }

    /// Tells the board how long each attempt still waiting for its first byte had
    /// waited when it was dropped: at least that long is its time to first byte.
    /// `past_hedge_point` holds the attempts whose hedge point came while they waited.
    fn report_waits(
        &self,
        launched: &[(usize, Attempt)],
        finished: &[Instant],
        past_hedge_point: &[Instant],
    ) {
        for (index, attempt) in launched {
            if attempt.first_byte.at().is_none() && !finished.contains(&attempt.started) {
                self.board.observe(Observation::Waited {
                    provider: self.providers[*index].config().name.clone(),
                    waited: attempt.started.elapsed(),
                    past_hedge_point: past_hedge_point.contains(&attempt.started),
                });
            }
        }
    }

    fn hedge_timer(&self, index: usize) -> Option<Pin<Box<Sleep>>> {
        self.hedge_delay_for(index)
            .map(|delay| Box::pin(tokio::time::sleep(delay)))
    }

    /// How long an attempt at provider `index` runs before the next one is asked too.
    fn hedge_delay_for(&self, index: usize) -> Option<Duration> {
        let name = &self.providers[index].config().name;
        if self.board.is_slow(name) && self.settings.hedge != crate::config::Hedge::Off {
            // Every request that still reaches a slow provider is hedged, early.
            return Some(hedge::AUTO_MIN);
        }
        let (measured, samples) = self.board.first_byte_quantile(name, hedge::AUTO_QUANTILE);
        hedge_delay(self.settings.hedge, measured, samples)
    }

    /// Asks providers until one answers; the local engine when none does.
    pub async fn route(
        &self,
        request: &ProviderRequest,
        deadline: Instant,
        cloud_allowed: bool,
    ) -> Routed {
        self.board.refresh();
        self.budget.deposit();
        let mut queue: std::collections::VecDeque<usize> = self.chain(cloud_allowed, true).into();
        // Every attempt started, to tell the slow watch how long the dropped ones waited.
        let mut launched: Vec<(usize, Attempt)> = Vec::new();
        let mut finished: Vec<Instant> = Vec::new();
        // Attempts whose hedge point came before their first byte (by start time).
        let mut past_hedge_point: Vec<Instant> = Vec::new();
        let mut retries_left = vec![self.settings.retries; self.providers.len()];
        let mut failures = Vec::new();
        let mut attempts = 0u32;
        let mut hedged = false;
        let mut inflight: InFlight<'_> = FuturesUnordered::new();
        // The attempt a hedge would back up, and when.
        let mut hedge: Option<(Attempt, Pin<Box<Sleep>>)> = None;
        let deadline_timer = sleep_until(deadline.into());
        tokio::pin!(deadline_timer);

        if let Some((index, attempt)) =
            self.launch_next(&mut queue, request, deadline, &mut inflight)
        {
            attempts += 1;
            launched.push((index, attempt.clone()));
            hedge = self.hedge_timer(index).map(|t| (attempt, t));
        }

        while !inflight.is_empty() {
            tokio::select! {
                            Some(outcome) = inflight.next() => {
                                let name = self.providers[outcome.index].config().name.clone();
                                finished.push(outcome.attempt.started);
                                let low_quality = match &outcome.result {
                                    Ok(text) => quality::judge(text, request),
                                    Err(_) => None,
                                };
                                let total = outcome.attempt.started.elapsed();
                                let first_byte = outcome
                                    .attempt
                                    .first_byte
                                    .at()
                                    .map_or(total, |t| t - outcome.attempt.started);
                                match outcome.result {
                                    Ok(_) if low_quality.is_some() => {
                                        // A 200 not worth showing: counted, and the next
                                        // provider asked instead (DESIGN.md §4).
                                        let kind = low_quality.unwrap_or(crate::health::LowQuality::Empty);
                                        tracing::info!(provider = %name, "low-quality answer ({})", kind.as_str());
                                        self.board.observe(Observation::LowQuality { provider: name.clone(), first_byte, kind });
                                        drop(outcome._ticket);
                                        if hedge.as_ref().is_some_and(|(a, _)| a.started == outcome.attempt.started) {
                                            hedge = None;
                                        }
                                        if inflight.is_empty()
                                            && let Some((index, attempt)) = self.launch_next(&mut queue, request, deadline, &mut inflight)
                                        {
                                            attempts += 1;
                                            launched.push((index, attempt.clone()));
                                            if !hedged && hedge.is_none() {
                                                hedge = self.hedge_timer(index).map(|t| (attempt, t));
                                            }
                                        }
                                    }
                                    Ok(text) => {
                                        self.board.observe(Observation::Success { provider: name.clone(), first_byte, total });
                                        self.report_waits(&launched, &finished, &past_hedge_point);
                                        // Any other attempt still running lost the race: dropped
                                        // with `inflight`, counted neither way.
                                        let config = self.providers[outcome.index].config();
                                        return Routed {
                                            text,
                                            provider: name,
                                            model: config.model.clone(),
                                            cloud_failed: false,
                                            failures,
                                            attempts,
                                            hedged,
                                        };
                                    }
                                    Err(error) => {
                                        tracing::warn!(provider = %name, error = %error, "attempt failed");
            let retryable = error.class.is_retryable();
                                        // Out of time because the request's deadline came first says
                                        // nothing about the provider: it counts neither way.
                                        let deadline_only = outcome.cut_by_deadline && error.code.as_deref() == Some("timeout");
                                        if !deadline_only {
                                            self.board.observe(Observation::Failure { provider: name.clone(), error: error.clone() });
                                        }
                                        failures.push((name, error));
                                        drop(outcome._ticket);
                                        let index = outcome.index;
                                        if hedge.as_ref().is_some_and(|(a, _)| a.started == outcome.attempt.started) {
                                            hedge = None;
                                        }
                                        let retry = retryable
                                            && retries_left[index] > 0
                                            && Instant::now() < deadline
                                            && self.budget.withdraw();
                                        let started = if retry {
                                            retries_left[index] -= 1;
                                            self.launch(index, request, deadline, &mut inflight).map(|a| (index, a))
                                        } else {
                                            None
                                        };
                                        let started = match started {
                                            Some(s) => Some(s),
                                            None if inflight.is_empty() => self.launch_next(&mut queue, request, deadline, &mut inflight),
                                            None => None,
                                        };
                                        if let Some((index, attempt)) = started {
                                            attempts += 1;
                                            launched.push((index, attempt.clone()));
                                            if !hedged && hedge.is_none() {
                                                hedge = self.hedge_timer(index).map(|t| (attempt, t));
                                            }
                                        }
                                    }
                                }
                            }
                            () = async {
                                match hedge.as_mut() {
                                    Some((_, timer)) => timer.as_mut().await,
                                    None => std::future::pending().await,
                                }
                            }, if hedge.is_some() => {
                                let Some((watched, _)) = hedge.take() else { continue };
                                past_hedge_point.push(watched.started);
                                // A provider that has started answering is generating: let it finish.
                                if watched.first_byte.at().is_none()
                                    && !queue.is_empty()
                                    && self.budget.withdraw()
                                    && let Some((index, attempt)) = self.launch_next(&mut queue, request, deadline, &mut inflight)
                                {
                                    attempts += 1;
                                    launched.push((index, attempt));
                                    hedged = true;
                                    tracing::debug!("hedged: the first provider is slow");
                                }
                            }
                            () = &mut deadline_timer => {
                                tracing::warn!("deadline reached with {} attempt(s) still waiting", inflight.len());
                                self.report_waits(&launched, &finished, &past_hedge_point);
                                break;
                            }
                        }
        }
        drop(inflight);

        let (text, provider, model) = match self.local() {
            Some(local) => {
                // The local engine is synchronous and bounded; no timeout of its own.
                let attempt = Attempt::new(Duration::from_secs(1), Duration::from_secs(1));
                let text = local.complete(request, &attempt).await.unwrap_or_default();
                (
                    text,
                    local.config().name.clone(),
                    local.config().model.clone(),
                )
            }
            None => (String::new(), String::new(), String::new()),
        };
        Routed {
            text,
            provider,
            model,
            cloud_failed: true,
            failures,
            attempts,
            hedged,
        }
    }
}
