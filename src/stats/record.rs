//! What one line of the stats file holds: per hour and provider, counts and a latency
//! histogram (mergeable, so lines from several servers and several flushes add up), or
//! one provider state change. Counts, timings, provider names and state names only:
//! nothing here can hold code, a path, a prompt or a key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The file format's version, also in the file name.
pub const VERSION: u32 = 1;

/// Upper bounds (ms) of the latency histogram's buckets; the last bucket is open.
pub const LATENCY_BOUNDS_MS: [u64; 21] = [
    10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000, 3000,
    5000, 10000,
];
const BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// Seconds in an hour bucket.
pub const HOUR: u64 = 3600;

/// The start of the hour `at` (unix seconds) falls in.
pub fn hour_of(at: u64) -> u64 {
    at - at % HOUR
}

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    Hour(HourCounts),
    Change(StateChange),
}

/// One provider's figures for one hour (a delta: lines for the same hour and provider
/// add up).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HourCounts {
    /// Unix seconds at the start of the hour (UTC).
    pub hour: u64,
    pub provider: String,
    /// Completions with text that this provider produced (cached ones included).
    pub served: u64,
    /// Of those, answered from the cache (fresh or stale).
    pub cached: u64,
    /// Of the cached ones, stale: every cloud provider had failed.
    pub stale: u64,
    /// Served by the built-in local engine.
    pub local: u64,
    /// Served by this provider after another one failed.
    pub failovers: u64,
    /// Suggestions of this provider the user accepted.
    pub accepted: u64,
    pub accepted_cached: u64,
    pub accepted_stale: u64,
    pub accepted_failover: u64,
    /// This provider's failed attempts, by error class.
    pub failures: BTreeMap<String, u64>,
    /// Counts per bucket of [`LATENCY_BOUNDS_MS`] (one more for the open bucket), for
    /// completions it answered from upstream.
    pub latency_ms: Vec<u64>,
}

/// A provider's health changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StateChange {
    /// Unix seconds.
    pub at: u64,
    pub provider: String,
    pub from: String,
    /// `healthy`, `degraded`, `down`, `disabled`; `exit` when the server stopped (the
    /// state it saw ends there).
    pub to: String,
    /// Why, in our own words: an error class and HTTP status (`529 retryable`),
    /// `status page major`, `disabled by command`, `recovered`. Never the provider's
    /// message, which could echo the request.
    pub reason: String,
    /// The server process that saw it: several servers see one outage, each from its
    /// own start to its own end.
    pub session: String,
}

impl HourCounts {
    pub fn new(hour: u64, provider: &str) -> Self {
        HourCounts {
            hour,
            provider: provider.to_string(),
            ..Default::default()
        }
    }

    pub fn record_latency(&mut self, ms: u64) {
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        if self.latency_ms.len() < BUCKETS {
            self.latency_ms.resize(BUCKETS, 0);
        }
        self.latency_ms[bucket] += 1;
    }

    /// Adds `other`'s counts (same hour and provider, or folding into a total).
    pub fn add(&mut self, other: &HourCounts) {
        self.served += other.served;
        self.cached += other.cached;
        self.stale += other.stale;
        self.local += other.local;
        self.failovers += other.failovers;
        self.accepted += other.accepted;
        self.accepted_cached += other.accepted_cached;
        self.accepted_stale += other.accepted_stale;
        self.accepted_failover += other.accepted_failover;
        for (class, n) in &other.failures {
            *self.failures.entry(class.clone()).or_default() += n;
        }
        let len = other.latency_ms.len().min(BUCKETS);
        if self.latency_ms.len() < len {
            self.latency_ms.resize(len, 0);
        }
        for (mine, theirs) in self.latency_ms.iter_mut().zip(&other.latency_ms) {
            *mine += theirs;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.served == 0
            && self.accepted == 0
            && self.failures.values().all(|n| *n == 0)
            && self.latency_ms.iter().all(|n| *n == 0)
    }

    pub fn failures_total(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The `q` quantile of the latency histogram in ms, interpolated inside its bucket;
    /// `None` without samples.
    pub fn latency_quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.latency_ms.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0);
        let mut seen = 0u64;
        for (i, &n) in self.latency_ms.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if (seen + n) as f64 >= rank {
                let low = if i == 0 { 0 } else { LATENCY_BOUNDS_MS[i - 1] };
                let Some(&high) = LATENCY_BOUNDS_MS.get(i) else {
                    return Some(low);
                };
                let within = (rank - seen as f64) / n as f64;
                return Some(low + ((high - low) as f64 * within).round() as u64);
            }
            seen += n;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_unknown_fields_are_ignored() {
        let mut counts = HourCounts::new(7200, "claude");
        counts.served = 3;
        counts.record_latency(120);
        counts.failures.insert("retryable".into(), 2);
        let line = Line::Hour(counts);
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line);
        let newer = r#"{"type":"hour","hour":0,"provider":"a","served":1,"later":true}"#;
        assert!(matches!(
            serde_json::from_str::<Line>(newer),
            Ok(Line::Hour(_))
        ));
    }

    #[test]
    fn histograms_add_and_give_quantiles() {
        let mut a = HourCounts::new(0, "a");
        for ms in [90, 95, 100, 100] {
            a.record_latency(ms);
        }
        let mut b = HourCounts::new(0, "a");
        for _ in 0..16 {
            b.record_latency(40);
        }
        b.add(&a);
        assert_eq!(b.latency_ms.iter().sum::<u64>(), 20);
        // 16 of 20 in (30, 50]: the median is inside that bucket.
        assert!((30..=50).contains(&b.latency_quantile(0.5).unwrap()));
        // The 95th is the 19th sample: in (75, 100].
        assert_eq!(b.latency_quantile(0.95), Some(94));
        let mut slow = HourCounts::new(0, "a");
        slow.record_latency(60_000);
        assert_eq!(slow.latency_quantile(0.5), Some(10_000));
        assert_eq!(HourCounts::new(0, "a").latency_quantile(0.5), None);
    }
}
