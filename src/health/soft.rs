//! Soft failures (DESIGN.md §4): a provider that answers, but too slowly or badly.
//! `SlowWatch` judges the median time to first byte of the last 20 answers against
//! `routing.slow_ms`; `QualityWatch` counts low-quality answers in a row against
//! `routing.quality_failures`. Either verdict makes the provider `degraded` and moves it
//! behind the healthy ones; a fast answer, or a good one, is what ends it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::LatencyWindow;
use crate::config::SlowBound;

/// Answers the slow verdict is judged over.
pub const SLOW_WINDOW: usize = 20;
/// `slow_ms = "auto"`: this many times the provider's own median of the last hour…
const AUTO_FACTOR: u32 = 3;
/// …and never below this.
const AUTO_FLOOR: Duration = Duration::from_millis(1500);
const HOUR: Duration = Duration::from_secs(3600);
/// Samples kept for the hour's median (enough for one a second at typing pace).
const HOUR_SAMPLES: usize = 3600;

/// What was wrong with an HTTP 200 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LowQuality {
    /// Empty or whitespace where the context clearly wants code.
    Empty,
    /// The prompt sent back.
    Echo,
    /// One line or token repeated 8 or more times.
    Repetition,
    /// An apology, prose or a question instead of code.
    ChatTalk,
}

impl LowQuality {
    pub fn as_str(self) -> &'static str {
        match self {
            LowQuality::Empty => "empty",
            LowQuality::Echo => "echoing the prompt",
            LowQuality::Repetition => "repetition loops",
            LowQuality::ChatTalk => "chat talk instead of code",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SlowWatch {
    recent: LatencyWindow,
    hour: VecDeque<(Instant, Duration)>,
    /// The median that made it slow.
    verdict: Option<Duration>,
}

impl Default for SlowWatch {
    fn default() -> Self {
        SlowWatch {
            recent: LatencyWindow::new(SLOW_WINDOW),
            hour: VecDeque::new(),
            verdict: None,
        }
    }
}

impl SlowWatch {
    /// Records a time to first byte (or, for an attempt dropped before its first byte,
    /// the time it had waited: it was at least that slow) and judges again.
    pub fn record(&mut self, now: Instant, first_byte: Duration, bound: SlowBound) {
        self.recent.record(first_byte);
        while self
            .hour
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > HOUR)
            || self.hour.len() >= HOUR_SAMPLES
        {
            self.hour.pop_front();
        }
        self.hour.push_back((now, first_byte));
        self.judge(bound);
    }

    fn judge(&mut self, bound: SlowBound) {
        let median = self.recent.quantile(0.5);
        self.verdict = match median {
            // The hour's median (thousands of samples) is only looked at when the
            // recent one could be over the bound: every answer is judged.
            Some(median)
                if self.recent.len() >= SLOW_WINDOW
                    && self
                        .limit(bound, median)
                        .is_some_and(|limit| median > limit) =>
            {
                Some(median)
            }
            _ => None,
        };
    }

    /// The bound in force: fixed, or (auto) 3 × the hour's median, at least 1.5 s —
    /// which a `recent` median at or under the floor cannot pass, so the hour is not
    /// looked at then.
    fn limit(&self, bound: SlowBound, recent: Duration) -> Option<Duration> {
        match bound {
            SlowBound::Off => None,
            SlowBound::Fixed(limit) => Some(limit),
            SlowBound::Auto if recent <= AUTO_FLOOR => Some(AUTO_FLOOR),
            SlowBound::Auto => {
                let mut hour: Vec<Duration> = self.hour.iter().map(|(_, d)| *d).collect();
                let middle = hour.len() / 2;
                let median = if hour.is_empty() {
                    Duration::ZERO
                } else {
                    *hour.select_nth_unstable(middle).1
                };
                Some((median * AUTO_FACTOR).max(AUTO_FLOOR))
            }
        }
    }

    pub fn is_slow(&self) -> bool {
        self.verdict.is_some()
    }

    /// `slow: median 4.2 s over 20`
    pub fn detail(&self) -> Option<String> {
        let median = self.verdict?;
        let shown = if median >= Duration::from_secs(1) {
            format!("{:.1} s", median.as_secs_f64())
        } else {
            format!("{} ms", median.as_millis())
        };
        Some(format!("slow: median {shown} over {}", self.recent.len()))
    }
}

#[derive(Debug, Clone, Default)]
pub struct QualityWatch {
    /// Low-quality answers in a row, by kind.
    streak: Vec<LowQuality>,
    degraded: bool,
}

impl QualityWatch {
    pub fn low(&mut self, kind: LowQuality, limit: u32) {
        self.streak.push(kind);
        if self.streak.len() > 64 {
            self.streak.remove(0);
        }
        self.degraded = limit > 0 && self.streak.len() >= limit as usize;
    }

    /// A good answer ends the streak and the verdict.
    pub fn good(&mut self) {
        self.streak.clear();
        self.degraded = false;
    }

    pub fn is_degraded(&self) -> bool {
        self.degraded
    }

    /// `low-quality answers: 4 of last 4 empty`
    pub fn detail(&self) -> Option<String> {
        if !self.degraded {
            return None;
        }
        let last = *self.streak.last()?;
        let same = self.streak.iter().filter(|k| **k == last).count();
        Some(format!(
            "low-quality answers: {same} of last {} {}",
            self.streak.len(),
            last.as_str()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_needs_a_full_window_over_the_bound_and_ends_when_fast_again() {
        let bound = SlowBound::Fixed(Duration::from_millis(1000));
        let now = Instant::now();
        let mut w = SlowWatch::default();
        for _ in 0..19 {
            w.record(now, Duration::from_millis(4200), bound);
        }
        assert!(!w.is_slow(), "19 answers are not enough");
        w.record(now, Duration::from_millis(4200), bound);
        assert_eq!(w.detail().as_deref(), Some("slow: median 4.2 s over 20"));
        for _ in 0..11 {
            w.record(now, Duration::from_millis(200), bound);
        }
        assert!(!w.is_slow());
    }

    #[test]
    fn auto_is_three_times_the_hours_median_at_least_one_and_a_half_seconds() {
        let now = Instant::now();
        let mut w = SlowWatch::default();
        // An hour of normal traffic at 300 ms…
        for _ in 0..200 {
            w.record(now, Duration::from_millis(300), SlowBound::Auto);
        }
        assert!(!w.is_slow());
        // 1.4 s is under the 1.5 s floor although it is over 3 × 300 ms.
        for _ in 0..20 {
            w.record(now, Duration::from_millis(1400), SlowBound::Auto);
        }
        assert!(!w.is_slow());
        for _ in 0..20 {
            w.record(now, Duration::from_millis(4000), SlowBound::Auto);
        }
        assert!(w.is_slow());
        let mut off = SlowWatch::default();
        for _ in 0..40 {
            off.record(now, Duration::from_secs(30), SlowBound::Off);
        }
        assert!(!off.is_slow());
    }

    #[test]
    fn quality_counts_in_a_row_and_a_good_answer_resets() {
        let mut q = QualityWatch::default();
        for _ in 0..3 {
            q.low(LowQuality::Empty, 4);
        }
        assert!(!q.is_degraded());
        q.good();
        for _ in 0..3 {
            q.low(LowQuality::Empty, 4);
        }
        assert!(!q.is_degraded(), "the good answer restarted the count");
        q.low(LowQuality::Empty, 4);
        assert_eq!(
            q.detail().as_deref(),
            Some("low-quality answers: 4 of last 4 empty")
        );
        let mut off = QualityWatch::default();
        for _ in 0..10 {
            off.low(LowQuality::ChatTalk, 0);
        }
        assert!(!off.is_degraded());
    }
}
