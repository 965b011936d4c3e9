//! When to start a second provider while the first has not answered.

use std::time::Duration;

use crate::config::Hedge;

pub const AUTO_MIN: Duration = Duration::from_millis(150);
pub const AUTO_MAX: Duration = Duration::from_millis(1500);
pub const AUTO_DEFAULT: Duration = Duration::from_millis(800);
/// Samples needed before the measured p95 is trusted.
pub const AUTO_MIN_SAMPLES: usize = 10;

/// The hedge delay for a provider whose recent time-to-first-byte p95 is `p95` over
/// `samples` samples; `None` when hedging is off.
pub fn delay(setting: Hedge, p95: Option<Duration>, samples: usize) -> Option<Duration> {
    match setting {
        Hedge::Off => None,
        Hedge::Fixed(delay) => Some(delay),
        Hedge::Auto => Some(match p95 {
            Some(p95) if samples >= AUTO_MIN_SAMPLES => p95.clamp(AUTO_MIN, AUTO_MAX),
            _ => AUTO_DEFAULT,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_uses_the_clamped_p95_once_enough_samples_exist() {
        let ms = Duration::from_millis;
        assert_eq!(delay(Hedge::Auto, Some(ms(400)), 3), Some(AUTO_DEFAULT));
        assert_eq!(delay(Hedge::Auto, Some(ms(400)), 10), Some(ms(400)));
        assert_eq!(delay(Hedge::Auto, Some(ms(20)), 50), Some(AUTO_MIN));
        assert_eq!(delay(Hedge::Auto, Some(ms(9000)), 50), Some(AUTO_MAX));
        assert_eq!(delay(Hedge::Off, Some(ms(400)), 50), None);
        assert_eq!(delay(Hedge::Fixed(ms(75)), None, 0), Some(ms(75)));
    }
}
