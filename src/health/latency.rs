//! A rolling window of the last N latencies, for p50/p95 and the "auto" hedge delay.

use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct LatencyWindow {
    capacity: usize,
    samples: VecDeque<Duration>,
}

impl LatencyWindow {
    pub fn new(capacity: usize) -> Self {
        LatencyWindow {
            capacity: capacity.max(1),
            samples: VecDeque::with_capacity(capacity.max(1)),
        }
    }

    pub fn record(&mut self, sample: Duration) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The `q` quantile (0..=1) by nearest rank; `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.samples.is_empty() {
            return None;
        }
        // Asked on every request: a selection, not a sort.
        let mut samples: Vec<Duration> = self.samples.iter().copied().collect();
        let rank = ((q.clamp(0.0, 1.0) * samples.len() as f64).ceil() as usize).max(1);
        Some(*samples.select_nth_unstable(rank - 1).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank_over_the_last_samples() {
        let mut w = LatencyWindow::new(4);
        for ms in [100, 1, 2, 3, 4] {
            w.record(Duration::from_millis(ms));
        }
        assert_eq!(w.len(), 4);
        assert_eq!(w.quantile(0.5), Some(Duration::from_millis(2)));
        assert_eq!(w.quantile(0.95), Some(Duration::from_millis(4)));
        assert_eq!(LatencyWindow::new(3).quantile(0.5), None);
    }
}
