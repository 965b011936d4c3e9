//! Shared health (DESIGN.md §8): what this member publishes about its providers, and
//! how teammates' messages are folded into the health board.
//!
//! Publishing reads the board's snapshot a few times a second and sends what changed
//! since the last message (new failures, new answers, a slow / low-quality / incident
//! verdict) — never the state that teammates' own reports caused, so reports do not
//! echo around the team. Folding checks every message, rate-limits each member, maps
//! provider ids to local names and gives the board `Observation::Teammate`s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::message::{self, ProviderNews, Received};
use crate::health::{HealthBoard, Observation, ProviderHealth, TeammateReport};
use crate::providers::ErrorClass;

/// How often the board is looked at.
pub const TICK: Duration = Duration::from_millis(100);
/// Failures and verdicts go out at most this often…
const URGENT_INTERVAL: Duration = Duration::from_millis(200);
/// …answers alone at most this often (the steady state: ≤ 1 message a second)…
const STEADY_INTERVAL: Duration = Duration::from_secs(1);
/// …and with nothing to say, a heartbeat this often, so teammates can count members.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A verdict still holding is repeated this often (teammates forget it after 30 s).
const VERDICT_REPEAT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, Default)]
struct Baseline {
    requests: u64,
    failures: u64,
    demoted: bool,
    demoted_sent: Option<Instant>,
}

/// Decides what to publish, from successive board snapshots.
#[derive(Debug, Default)]
pub struct Publisher {
    baselines: HashMap<String, Baseline>,
    last_sent: Option<Instant>,
}

impl Publisher {
    /// The news to send now, if it is time; `Some(vec![])` is a heartbeat.
    pub fn poll(&mut self, now: Instant, health: &[ProviderHealth]) -> Option<Vec<ProviderNews>> {
        let since = self.last_sent.map(|t| now.duration_since(t));
        let mut news = Vec::new();
        let mut urgent = false;
        let mut updates = Vec::new();
        for h in health {
            let id = message::provider_id(&h.kind, &h.base_url, &h.model);
            let base = self.baselines.get(&id).copied().unwrap_or_default();
            let base = if h.requests < base.requests || h.failures < base.failures {
                Baseline::default()
            } else {
                base
            };
            let new_failures = h.failures - base.failures;
            let new_successes =
                (h.requests - h.failures).saturating_sub(base.requests - base.failures);
            // Only failures that count toward a breaker (not a 429, a rejected request
            // or a bad key) tell teammates about the provider itself.
            let retryable = h
                .last_error
                .as_ref()
                .is_some_and(|e| e.class == ErrorClass::Retryable);
            let failures = if retryable { new_failures } else { 0 };
            let demoted = h.soft_demoted;
            let verdict_due = demoted
                && (!base.demoted
                    || base
                        .demoted_sent
                        .is_none_or(|t| now.duration_since(t) >= VERDICT_REPEAT));
            if failures > 0 || verdict_due {
                urgent = true;
            }
            if failures > 0 || new_successes > 0 || verdict_due || demoted != base.demoted {
                news.push(ProviderNews {
                    id: id.clone(),
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                    successes: u32::try_from(new_successes).unwrap_or(u32::MAX),
                    demoted,
                    detail: h
                        .last_error
                        .as_ref()
                        .filter(|_| failures > 0)
                        .and_then(|e| message::sanitize_detail(&e.short())),
                });
            }
            updates.push((
                id,
                Baseline {
                    requests: h.requests,
                    failures: h.failures,
                    demoted,
                    demoted_sent: if demoted {
                        if verdict_due {
                            Some(now)
                        } else {
                            base.demoted_sent
                        }
                    } else {
                        None
                    },
                },
            ));
        }
        let due = match since {
            None => true,
            Some(since) if urgent => since >= URGENT_INTERVAL,
            Some(since) if !news.is_empty() => since >= STEADY_INTERVAL,
            Some(since) => since >= HEARTBEAT,
        };
        if !due {
            return None;
        }
        self.baselines.extend(updates);
        self.last_sent = Some(now);
        Some(news)
    }
}

/// Messages taken per member: a burst, then a steady rate.
const MEMBER_BURST: f64 = 20.0;
const MEMBER_RATE_PER_SEC: f64 = 10.0;
/// Members remembered at once; a flood of invented ids cannot grow memory.
pub const MAX_MEMBERS: usize = 64;
/// A member not heard from for this long is no longer counted.
pub const MEMBER_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy)]
struct MemberSeen {
    last: Instant,
    tokens: f64,
}

/// Folds teammates' messages into the board.
#[derive(Debug)]
pub struct Folder {
    me: u64,
    members: HashMap<u64, MemberSeen>,
    /// Provider id → local names, for the board they were computed for.
    names: Option<(usize, HashMap<String, Vec<String>>)>,
    pub dropped: u64,
}

impl Folder {
    pub fn new(me: u64) -> Self {
        Folder {
            me,
            members: HashMap::new(),
            names: None,
            dropped: 0,
        }
    }

    /// Teammates heard from lately (this member not included).
    pub fn members(&self, now: Instant) -> usize {
        self.members
            .values()
            .filter(|m| now.duration_since(m.last) <= MEMBER_TIMEOUT)
            .count()
    }

    /// Takes one payload; `true` when it was a teammate's message within its rate.
    pub fn fold(
        &mut self,
        now: Instant,
        payload: &[u8],
        board: &Arc<HealthBoard>,
        share_health: bool,
    ) -> bool {
        let Some(Received { member, providers }) = message::decode(payload) else {
            self.dropped += 1;
            return false;
        };
        if member == self.me {
            return false;
        }
        if !self.admit(now, member) {
            self.dropped += 1;
            return false;
        }
        if !share_health || providers.is_empty() {
            return true;
        }
        let key = Arc::as_ptr(board) as usize;
        if self.names.as_ref().is_none_or(|(k, _)| *k != key) {
            let mut names: HashMap<String, Vec<String>> = HashMap::new();
            for h in board.snapshot() {
                names
                    .entry(message::provider_id(&h.kind, &h.base_url, &h.model))
                    .or_default()
                    .push(h.name);
            }
            self.names = Some((key, names));
        }
        let Some((_, names)) = &self.names else {
            return true;
        };
        for news in providers {
            for name in names.get(&news.id).into_iter().flatten() {
                board.observe(Observation::Teammate {
                    provider: name.clone(),
                    report: TeammateReport {
                        member,
                        failures: news.failures,
                        successes: news.successes,
                        demoted: news.demoted,
                        detail: news.detail.clone(),
                    },
                });
            }
        }
        true
    }

    fn admit(&mut self, now: Instant, member: u64) -> bool {
        if !self.members.contains_key(&member) && self.members.len() >= MAX_MEMBERS {
            self.members
                .retain(|_, m| now.duration_since(m.last) <= MEMBER_TIMEOUT);
            if self.members.len() >= MAX_MEMBERS {
                // Known members keep their place; a newcomer waits for one to go quiet.
                return false;
            }
        }
        let seen = self.members.entry(member).or_insert(MemberSeen {
            last: now,
            tokens: MEMBER_BURST,
        });
        let refill = now.duration_since(seen.last).as_secs_f64() * MEMBER_RATE_PER_SEC;
        seen.tokens = (seen.tokens + refill).min(MEMBER_BURST);
        seen.last = now;
        if seen.tokens < 1.0 {
            return false;
        }
        seen.tokens -= 1.0;
        true
    }
}
