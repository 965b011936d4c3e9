//! When to start a second provider while the first has not answered.
//!
//! `hedge_ms = "auto"` hedges a provider once it has taken longer than the
//! [`AUTO_QUANTILE`] of its recent times to first byte: a hedge is an extra upstream
//! request, and DESIGN.md §7 allows ≤ 5 % of them. A p95 would spend all of that by
//! definition, and over 50 samples its nearest rank (the 3rd slowest) is passed by 3/51
//! ≈ 5.9 % of requests on average; the slowest of the last 50 is passed by ≈ 2 %, which
//! leaves room for the stalls a hedge is for (the model and the measurement:
//! docs/BENCHMARKS.md, "Stall tail").

use std::time::Duration;

use crate::config::Hedge;

pub const AUTO_MIN: Duration = Duration::from_millis(150);
pub const AUTO_MAX: Duration = Duration::from_millis(1500);
pub const AUTO_DEFAULT: Duration = Duration::from_millis(800);
/// Samples needed before the measured quantile is trusted.
pub const AUTO_MIN_SAMPLES: usize = 10;
/// The quantile of recent times to first byte that `auto` hedges after; by nearest rank
/// over the board's 50 samples, the slowest of them.
pub const AUTO_QUANTILE: f64 = 0.99;

/// The hedge delay for a provider whose recent times to first byte have the
/// [`AUTO_QUANTILE`] `measured` over `samples` samples; `None` when hedging is off.
pub fn delay(setting: Hedge, measured: Option<Duration>, samples: usize) -> Option<Duration> {
    match setting {
        Hedge::Off => None,
        Hedge::Fixed(delay) => Some(delay),
        Hedge::Auto => Some(match measured {
            Some(measured) if samples >= AUTO_MIN_SAMPLES => measured.clamp(AUTO_MIN, AUTO_MAX),
            _ => AUTO_DEFAULT,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::LatencyWindow;

    #[test]
    fn auto_uses_the_clamped_quantile_once_enough_samples_exist() {
        let ms = Duration::from_millis;
        assert_eq!(delay(Hedge::Auto, Some(ms(400)), 3), Some(AUTO_DEFAULT));
        assert_eq!(delay(Hedge::Auto, Some(ms(400)), 10), Some(ms(400)));
        assert_eq!(delay(Hedge::Auto, Some(ms(20)), 50), Some(AUTO_MIN));
        assert_eq!(delay(Hedge::Auto, Some(ms(9000)), 50), Some(AUTO_MAX));
        assert_eq!(delay(Hedge::Off, Some(ms(400)), 50), None);
        assert_eq!(delay(Hedge::Fixed(ms(75)), None, 0), Some(ms(75)));
    }

    #[test]
    fn auto_waits_past_the_slowest_of_the_last_50_answers() {
        // 48 answers at 300 ms and two at 1.2 s: a p95 (the 3rd slowest, 300 ms) would
        // hedge every request slower than the body, ~5 % of them or more; auto waits
        // past the two slow ones.
        let ms = Duration::from_millis;
        let mut window = LatencyWindow::new(50);
        for i in 0..50 {
            window.record(if i % 25 == 7 { ms(1200) } else { ms(300) });
        }
        let measured = window.quantile(AUTO_QUANTILE);
        assert_eq!(delay(Hedge::Auto, measured, window.len()), Some(ms(1200)));
    }
}
