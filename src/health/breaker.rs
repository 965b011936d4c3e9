//! A circuit breaker: opens after `threshold` consecutive retryable failures, stays
//! open for a cooldown that doubles on each re-open (capped at 300 s), then lets one
//! real request through as a probe. The probe's success closes it; its failure
//! re-opens it.

use std::time::{Duration, Instant};

pub const MAX_COOLDOWN: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    /// The cooldown has passed; `probe_until` while the one probe request may still be
    /// out (its own timeout), even if the request that carried it was cancelled.
    HalfOpen {
        probe_until: Option<Instant>,
    },
}

/// Whether a request may go to the provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Pass,
    /// This request is the probe.
    Probe,
    /// Open; `Some(wait)` until the cooldown ends, `None` while a probe is out.
    Closed(Option<Duration>),
}

#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    base_cooldown: Duration,
    consecutive: u32,
    /// Opens since the last success: the cooldown doubles with each.
    opens: u32,
    phase: Phase,
}

impl Breaker {
    pub fn new(threshold: u32, base_cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            base_cooldown,
            consecutive: 0,
            opens: 0,
            phase: Phase::Closed,
        }
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.phase, Phase::Closed)
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive
    }

    /// Time until a probe may go, when open.
    pub fn retry_in(&self, now: Instant) -> Option<Duration> {
        match self.phase {
            Phase::Open { until } => Some(until.saturating_duration_since(now)),
            Phase::HalfOpen { .. } => Some(Duration::ZERO),
            Phase::Closed => None,
        }
    }

    /// Whether a request may go now; a probe holds the one slot for `probe_timeout`.
    pub fn gate(&mut self, now: Instant, probe_timeout: Duration) -> Gate {
        match self.phase {
            Phase::Closed => Gate::Pass,
            Phase::Open { until } if now < until => Gate::Closed(Some(until - now)),
            Phase::HalfOpen {
                probe_until: Some(until),
            } if now < until => Gate::Closed(None),
            Phase::Open { .. } | Phase::HalfOpen { .. } => {
                self.phase = Phase::HalfOpen {
                    probe_until: Some(now + probe_timeout),
                };
                Gate::Probe
            }
        }
    }

    /// A retryable failure (not a 429). Returns whether the breaker opened now.
    pub fn failure(&mut self, now: Instant) -> bool {
        self.consecutive = self.consecutive.saturating_add(1);
        match self.phase {
            Phase::Closed if self.consecutive >= self.threshold => {
                self.open(now);
                true
            }
            Phase::HalfOpen { .. } => {
                self.open(now);
                true
            }
            _ => false,
        }
    }

    /// Opens a closed breaker on outside evidence (teammates' failures); `true` if it
    /// opened now. The probe after the cooldown is local, as usual.
    pub fn trip(&mut self, now: Instant) -> bool {
        if self.phase != Phase::Closed {
            return false;
        }
        self.open(now);
        true
    }

    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    pub fn success(&mut self) {
        self.consecutive = 0;
        self.opens = 0;
        self.phase = Phase::Closed;
    }

    /// The probe went away without an answer (cancelled, superseded). Its slot stays
    /// taken until its timeout: a hung provider must not be probed on every keystroke.
    pub fn probe_abandoned(&mut self) {}

    /// Closed by the user (`switchboard.retry`): the next request goes through.
    pub fn reset(&mut self) {
        self.consecutive = 0;
        self.phase = Phase::Closed;
    }

    fn open(&mut self, now: Instant) {
        let factor = 1u32.checked_shl(self.opens.min(16)).unwrap_or(u32::MAX);
        let cooldown = self.base_cooldown.saturating_mul(factor).min(MAX_COOLDOWN);
        self.opens = self.opens.saturating_add(1);
        self.phase = Phase::Open {
            until: now + cooldown,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn opens_after_threshold_then_probes_after_cooldown() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, SEC);
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert!(b.failure(t0));
        assert_eq!(b.gate(t0, SEC), Gate::Closed(Some(SEC)));
        assert_eq!(b.gate(t0 + SEC, SEC), Gate::Probe);
        // Only one probe at a time.
        assert_eq!(b.gate(t0 + SEC, SEC), Gate::Closed(None));
        b.success();
        assert_eq!(b.gate(t0 + SEC, SEC), Gate::Pass);
    }

    #[test]
    fn cooldown_doubles_per_reopen_and_is_capped() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, Duration::from_secs(100));
        b.failure(t0);
        assert_eq!(b.retry_in(t0), Some(Duration::from_secs(100)));
        let t1 = t0 + Duration::from_secs(100);
        assert_eq!(b.gate(t1, SEC), Gate::Probe);
        b.failure(t1);
        assert_eq!(b.retry_in(t1), Some(Duration::from_secs(200)));
        let t2 = t1 + Duration::from_secs(200);
        assert_eq!(b.gate(t2, SEC), Gate::Probe);
        b.failure(t2);
        assert_eq!(b.retry_in(t2), Some(MAX_COOLDOWN));
    }

    #[test]
    fn an_abandoned_probe_holds_the_slot_until_its_timeout() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, SEC);
        b.failure(t0);
        assert_eq!(b.gate(t0 + SEC, SEC), Gate::Probe);
        b.probe_abandoned();
        assert_eq!(b.gate(t0 + SEC, SEC), Gate::Closed(None));
        assert_eq!(b.gate(t0 + 2 * SEC, SEC), Gate::Probe);
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, SEC);
        b.failure(t0);
        b.success();
        assert!(!b.failure(t0));
        assert!(!b.is_open());
    }
}
