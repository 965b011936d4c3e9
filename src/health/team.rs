//! What teammates say about a provider (DESIGN.md §8), next to the breaker: their
//! failures of the last 30 s and their verdicts (slow, low quality, status page), which
//! can make a provider `degraded`, move it behind healthy ones, or — with
//! `breaker_failures` of their failures in 30 s and no local success since — open its
//! breaker. They never disable it, and a local success always wins: it forgets every
//! report and, for one cooldown, takes no new ones.
//!
//! Every collection here is bounded, whatever a (possibly hostile) teammate sends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a teammate's failure counts.
pub const TEAM_WINDOW: Duration = Duration::from_secs(30);
/// How long a teammate's verdict (slow, low quality, status page) holds unless repeated.
pub const VERDICT_TTL: Duration = Duration::from_secs(30);
/// The most failures one report may add: a member cannot claim a thousand at once.
pub const MAX_FAILURES_PER_REPORT: u32 = 8;
const MAX_FAILURES_KEPT: usize = 64;
const MAX_VERDICTS_KEPT: usize = 16;

/// One teammate's report about one provider, as the board takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeammateReport {
    /// The teammate's session id (random per server run).
    pub member: u64,
    /// Retryable failures it saw since its last report.
    pub failures: u32,
    /// Answers it got since its last report.
    pub successes: u32,
    /// Its verdict that the provider is slow, answers badly, or has an incident.
    pub demoted: bool,
    /// A short, sanitised reason (`529 overloaded_error`).
    pub detail: Option<String>,
}

/// How teammates see a provider right now, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeammatesView {
    /// Teammates whose reports count now.
    pub members: usize,
    pub detail: Option<String>,
    /// Their failures opened this provider's breaker.
    pub down: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TeamWatch {
    failures: VecDeque<(Instant, u64)>,
    verdicts: VecDeque<(Instant, u64)>,
    detail: Option<String>,
    /// After a local success: teammates' reports are not taken until then.
    quiet_until: Option<Instant>,
    /// Teammates' failures opened the breaker (and no local outcome came since).
    pub(crate) tripped: bool,
}

impl TeamWatch {
    /// Takes one report; `true` when teammates' failures now reach `threshold`.
    pub fn report(&mut self, now: Instant, report: &TeammateReport, threshold: u32) -> bool {
        self.prune(now);
        if self.quiet_until.is_some_and(|t| t > now) {
            return false;
        }
        if report.successes > 0 && report.failures == 0 {
            // A teammate's success resets its own count, as a success resets a breaker's.
            self.failures.retain(|(_, m)| *m != report.member);
            self.verdicts.retain(|(_, m)| *m != report.member);
        }
        for _ in 0..report.failures.min(MAX_FAILURES_PER_REPORT) {
            if self.failures.len() == MAX_FAILURES_KEPT {
                self.failures.pop_front();
            }
            self.failures.push_back((now, report.member));
        }
        if report.demoted {
            self.verdicts.retain(|(_, m)| *m != report.member);
            if self.verdicts.len() == MAX_VERDICTS_KEPT {
                self.verdicts.pop_front();
            }
            self.verdicts.push_back((now, report.member));
        }
        if report.failures > 0 || report.demoted {
            self.detail = report.detail.clone();
        }
        self.failures.len() >= threshold.max(1) as usize
    }

    /// A local success: every report is forgotten, and none taken for `quiet`.
    pub fn local_success(&mut self, now: Instant, quiet: Duration) {
        self.failures.clear();
        self.verdicts.clear();
        self.detail = None;
        self.tripped = false;
        self.quiet_until = Some(now + quiet);
    }

    fn prune(&mut self, now: Instant) {
        while self
            .failures
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > TEAM_WINDOW)
        {
            self.failures.pop_front();
        }
        while self
            .verdicts
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > VERDICT_TTL)
        {
            self.verdicts.pop_front();
        }
    }

    fn live_failures(&self, now: Instant) -> impl Iterator<Item = &(Instant, u64)> {
        self.failures
            .iter()
            .filter(move |(at, _)| now.duration_since(*at) <= TEAM_WINDOW)
    }

    fn live_verdicts(&self, now: Instant) -> impl Iterator<Item = &(Instant, u64)> {
        self.verdicts
            .iter()
            .filter(move |(at, _)| now.duration_since(*at) <= VERDICT_TTL)
    }

    /// Teammates report trouble now: the provider is at least `degraded`.
    pub fn degrades(&self, now: Instant) -> bool {
        self.live_failures(now).next().is_some() || self.live_verdicts(now).next().is_some()
    }

    /// A teammate's verdict moves the provider behind the healthy ones.
    pub fn demotes(&self, now: Instant) -> bool {
        self.live_verdicts(now).next().is_some()
    }

    /// How teammates see it now; `None` when none reports trouble.
    pub fn view(&self, now: Instant) -> Option<TeammatesView> {
        if !self.degrades(now) && !self.tripped {
            return None;
        }
        let mut members: Vec<u64> = self
            .live_failures(now)
            .chain(self.live_verdicts(now))
            .map(|(_, m)| *m)
            .collect();
        members.sort_unstable();
        members.dedup();
        Some(TeammatesView {
            members: members.len().max(1),
            detail: self.detail.clone(),
            down: self.tripped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(member: u64, count: u32) -> TeammateReport {
        TeammateReport {
            member,
            failures: count,
            successes: 0,
            demoted: false,
            detail: Some("529 overloaded_error".into()),
        }
    }

    #[test]
    fn threshold_failures_within_the_window_trip_and_old_ones_do_not() {
        let mut watch = TeamWatch::default();
        let start = Instant::now();
        assert!(!watch.report(start, &failures(1, 2), 3));
        assert!(watch.degrades(start));
        let later = start + TEAM_WINDOW + Duration::from_secs(1);
        assert!(!watch.report(later, &failures(2, 1), 3), "old ones expired");
        assert!(watch.report(later, &failures(2, 2), 3));
        assert_eq!(watch.view(later).unwrap().members, 1);
    }

    #[test]
    fn a_local_success_wins_and_quiets_teammates_for_a_while() {
        let mut watch = TeamWatch::default();
        let now = Instant::now();
        watch.report(now, &failures(1, 2), 3);
        watch.local_success(now, Duration::from_secs(5));
        assert!(!watch.degrades(now));
        assert!(!watch.report(now, &failures(1, 8), 3));
        assert!(!watch.degrades(now));
        let after = now + Duration::from_secs(6);
        assert!(watch.report(after, &failures(1, 3), 3));
    }

    #[test]
    fn a_huge_claim_counts_as_a_few_failures_and_memory_stays_bounded() {
        let mut watch = TeamWatch::default();
        let now = Instant::now();
        for member in 0..1000 {
            watch.report(now, &failures(member, u32::MAX), 1_000_000);
            let mut verdict = failures(member, 0);
            verdict.demoted = true;
            watch.report(now, &verdict, 1_000_000);
        }
        assert!(watch.failures.len() <= MAX_FAILURES_KEPT);
        assert!(watch.verdicts.len() <= MAX_VERDICTS_KEPT);
        assert!(!watch.report(now, &failures(7, u32::MAX), 100));
    }

    #[test]
    fn a_teammate_success_resets_its_own_failures() {
        let mut watch = TeamWatch::default();
        let now = Instant::now();
        watch.report(now, &failures(1, 2), 3);
        let success = TeammateReport {
            member: 1,
            failures: 0,
            successes: 1,
            demoted: false,
            detail: None,
        };
        watch.report(now, &success, 3);
        assert!(!watch.degrades(now));
    }
}
