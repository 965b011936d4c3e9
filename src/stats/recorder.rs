//! The background task that adds up completions, accepts and health changes per hour
//! and provider, and appends them to the stats file: every [`FLUSH_PERIOD`] and when the
//! server shuts down. Its writes run on the blocking pool, never on a completion's path.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::record::{HourCounts, Line, StateChange, hour_of};
use super::{Message, Provenance, Served, file};
use crate::engine::Engine;
use crate::health::{DisableReason, HealthEvent, HealthState, PageLevel, ProviderHealth};
use crate::providers::ErrorClass;

/// How often pending counts are written.
pub const FLUSH_PERIOD: Duration = Duration::from_secs(60);

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The stats file's name for an error class.
pub fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Retryable => "retryable",
        ErrorClass::RateLimited => "rate_limited",
        ErrorClass::Auth => "auth",
        ErrorClass::ModelNotFound => "model_not_found",
        ErrorClass::Rejected => "rejected",
    }
}

/// What is waiting to be written.
#[derive(Debug, Default)]
pub struct Tally {
    session: String,
    hours: BTreeMap<(u64, String), HourCounts>,
    changes: Vec<StateChange>,
    /// Each provider's last state seen by this server.
    states: HashMap<String, HealthState>,
}

impl Tally {
    pub fn new(session: String) -> Self {
        Tally {
            session,
            ..Default::default()
        }
    }

    fn counts(&mut self, at: u64, provider: &str) -> &mut HourCounts {
        let hour = hour_of(at);
        self.hours
            .entry((hour, provider.to_string()))
            .or_insert_with(|| HourCounts::new(hour, provider))
    }

    pub fn served(&mut self, at: u64, served: &Served) {
        for (provider, class) in &served.failed {
            *self
                .counts(at, provider)
                .failures
                .entry(class_name(*class).to_string())
                .or_default() += 1;
        }
        if !served.shown {
            return;
        }
        let p = &served.provenance;
        let counts = self.counts(at, &p.provider);
        counts.served += 1;
        counts.cached += u64::from(p.cached);
        counts.stale += u64::from(p.stale);
        counts.local += u64::from(p.local);
        counts.failovers += u64::from(p.failover);
        if let Some(latency) = served.latency {
            counts.record_latency(latency.as_millis() as u64);
        }
    }

    pub fn accepted(&mut self, at: u64, p: &Provenance) {
        let counts = self.counts(at, &p.provider);
        counts.accepted += 1;
        counts.accepted_cached += u64::from(p.cached);
        counts.accepted_stale += u64::from(p.stale);
        counts.accepted_failover += u64::from(p.failover);
    }

    pub fn change(&mut self, at: u64, event: &HealthEvent, reason: String) {
        if event.previous == event.current {
            return;
        }
        self.states.insert(event.provider.clone(), event.current);
        self.changes.push(StateChange {
            at,
            provider: event.provider.clone(),
            from: event.previous.as_str().to_string(),
            to: event.current.as_str().to_string(),
            reason,
            session: self.session.clone(),
        });
    }

    /// Takes what is pending as lines. A provider still down is noted again (`down` →
    /// `down`), so a reader knows the outage lasted at least until now even if this
    /// server later dies without saying so; at `exit`, the states this server saw end.
    pub fn take(&mut self, at: u64, exit: bool) -> Vec<Line> {
        for (provider, state) in &self.states {
            if *state == HealthState::Healthy {
                continue;
            }
            let (to, reason) = if exit {
                ("exit", "server stopped")
            } else if *state == HealthState::Down {
                ("down", "still down")
            } else {
                continue;
            };
            self.changes.push(StateChange {
                at,
                provider: provider.clone(),
                from: state.as_str().to_string(),
                to: to.to_string(),
                reason: reason.to_string(),
                session: self.session.clone(),
            });
        }
        if exit {
            self.states.clear();
        }
        let mut lines: Vec<Line> = std::mem::take(&mut self.hours)
            .into_values()
            .filter(|c| !c.is_empty())
            .map(Line::Hour)
            .collect();
        lines.extend(
            std::mem::take(&mut self.changes)
                .into_iter()
                .map(Line::Change),
        );
        lines
    }
}

/// Why `provider` is in its state now, in our own words (never the provider's message).
pub fn reason(health: Option<&ProviderHealth>, current: HealthState) -> String {
    let Some(h) = health else {
        return String::new();
    };
    if current == HealthState::Healthy {
        return "recovered".to_string();
    }
    match &h.disabled {
        Some(DisableReason::Command) => return "disabled by command".to_string(),
        Some(DisableReason::Config) => return "disabled in config".to_string(),
        Some(DisableReason::Auth(error)) => return error_words(error.status, error.class),
        None => {}
    }
    // A soft verdict is in our own words already: `slow: median 4.2 s over 20`,
    // `low-quality answers: 4 of last 4 empty`.
    if current == HealthState::Degraded
        && let Some(detail) = h.detail.as_deref()
        && (detail.starts_with("slow: ") || detail.starts_with("low-quality answers: "))
    {
        return detail.to_string();
    }
    if let Some(error) = &h.last_error {
        return error_words(error.status, error.class);
    }
    if h.page_level != PageLevel::None {
        return format!("status page {}", h.page_level.as_str());
    }
    String::new()
}

fn error_words(status: Option<u16>, class: ErrorClass) -> String {
    match status {
        Some(status) => format!("{status} {}", class_name(class)),
        None => class_name(class).to_string(),
    }
}

fn session_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}-{:x}", std::process::id(), nanos)
}

/// Runs until the server's handle is dropped.
pub(crate) async fn run(
    mut receiver: mpsc::Receiver<Message>,
    engine: Arc<Engine>,
    path: Option<PathBuf>,
) {
    let mut events = engine.subscribe();
    let mut events_open = true;
    let mut tally = Tally::new(session_id());
    let writer = Arc::new(file::Writer::new(path));
    {
        let writer = writer.clone();
        let _ = tokio::task::spawn_blocking(move || writer.prepare()).await;
    }
    let mut ticker = tokio::time::interval(file::flush_period());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            message = receiver.recv() => match message {
                Some(Message::Served(served)) => tally.served(unix_now(), &served),
                Some(Message::Accepted(provenance)) => tally.accepted(unix_now(), &provenance),
                Some(Message::Flush(done)) => {
                    write(&writer, tally.take(unix_now(), true)).await;
                    let _ = done.send(());
                }
                None => {
                    write(&writer, tally.take(unix_now(), true)).await;
                    return;
                }
            },
            event = events.recv(), if events_open => match event {
                Ok(event) => {
                    let health = engine.runtime().board().snapshot();
                    let health = health.iter().find(|h| h.name == event.provider);
                    tally.change(unix_now(), &event, reason(health, event.current));
                }
                Err(RecvError::Lagged(n)) => tracing::debug!("stats: {n} health changes missed"),
                Err(RecvError::Closed) => events_open = false,
            },
            _ = ticker.tick() => write(&writer, tally.take(unix_now(), false)).await,
        }
    }
}

async fn write(writer: &Arc<file::Writer>, lines: Vec<Line>) {
    if lines.is_empty() {
        return;
    }
    let writer = writer.clone();
    let _ = tokio::task::spawn_blocking(move || writer.append(&lines)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(provider: &str, cached: bool, failed: Vec<(String, ErrorClass)>) -> Served {
        Served {
            provenance: Provenance {
                provider: provider.into(),
                cached,
                stale: false,
                failover: !failed.is_empty(),
                local: false,
            },
            shown: true,
            latency: (!cached).then_some(Duration::from_millis(120)),
            failed,
        }
    }

    #[test]
    fn counts_land_in_their_hour_and_provider() {
        let mut tally = Tally::new("s".into());
        tally.served(
            7200 + 5,
            &served("gpt", false, vec![("claude".into(), ErrorClass::Retryable)]),
        );
        tally.served(7200 + 9, &served("gpt", true, vec![]));
        tally.accepted(
            7200 + 10,
            &served("gpt", false, vec![("c".into(), ErrorClass::Auth)]).provenance,
        );
        tally.served(3600 * 5, &served("gpt", false, vec![]));
        let lines = tally.take(3600 * 5, false);
        let hours: Vec<&HourCounts> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Hour(h) => Some(h),
                Line::Change(_) => None,
            })
            .collect();
        assert_eq!(hours.len(), 3);
        let claude = hours.iter().find(|h| h.provider == "claude").unwrap();
        assert_eq!(claude.failures["retryable"], 1);
        assert_eq!(claude.served, 0);
        let gpt = hours
            .iter()
            .find(|h| h.provider == "gpt" && h.hour == 7200)
            .unwrap();
        assert_eq!(
            (
                gpt.served,
                gpt.cached,
                gpt.failovers,
                gpt.accepted,
                gpt.accepted_failover
            ),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(gpt.latency_ms.iter().sum::<u64>(), 1);
        assert!(tally.take(3600 * 5, false).is_empty());
    }

    #[test]
    fn a_provider_still_down_is_noted_at_each_write_and_ended_at_exit() {
        let mut tally = Tally::new("s".into());
        let event = HealthEvent {
            provider: "claude".into(),
            previous: HealthState::Healthy,
            current: HealthState::Down,
        };
        tally.change(100, &event, "529 retryable".into());
        let first = tally.take(160, false);
        assert_eq!(first.len(), 2);
        let again = tally.take(220, false);
        assert!(matches!(&again[..], [Line::Change(c)] if c.to == "down" && c.at == 220));
        let exit = tally.take(230, true);
        assert!(matches!(&exit[..], [Line::Change(c)] if c.to == "exit"));
        assert!(tally.take(300, true).is_empty());
    }
}
