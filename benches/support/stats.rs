//! Percentiles over measured durations, a seeded random source (SplitMix64 with
//! Box–Muller) and the latency distributions drawn from it (log-normal, and the stall
//! mixture of DESIGN.md §7): no extra crate, the same draws on every run.

use std::time::Duration;

/// Sorted samples of one measured figure.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Samples {
        samples.sort_unstable();
        Samples { sorted: samples }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Nearest-rank percentile, `p` in 0..=100; zero when there are no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.percentile(50.0)
    }

    pub fn p95(&self) -> Duration {
        self.percentile(95.0)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(99.0)
    }
}

/// A duration for a table cell: µs below 1 ms, ms with two decimals below 100 ms.
pub fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 100_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.0} ms", us / 1000.0)
    }
}

/// `a - b` as a signed duration string (`+0.31 ms`, `-12 µs`).
pub fn fmt_diff(a: Duration, b: Duration) -> String {
    if a >= b {
        format!("+{}", fmt(a - b))
    } else {
        format!("-{}", fmt(b - a))
    }
}

/// SplitMix64: tiny, fast, and good enough for drawing latencies.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller; the second value is thrown away for simplicity).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A log-normal latency given by its median and its p99.
#[derive(Debug, Clone, Copy)]
pub struct LogNormal {
    pub median: Duration,
    pub p99: Duration,
}

/// z of the 99th percentile of the standard normal.
const Z99: f64 = 2.326_347_874;

impl LogNormal {
    pub fn sigma(&self) -> f64 {
        (self.p99.as_secs_f64() / self.median.as_secs_f64()).ln() / Z99
    }

    pub fn draw(&self, rng: &mut Rng) -> Duration {
        Duration::from_secs_f64(self.median.as_secs_f64() * (self.sigma() * rng.normal()).exp())
    }

    /// The `q`-quantile (0 < q < 1), by bisection on the normal CDF.
    pub fn quantile(&self, q: f64) -> Duration {
        let (mut lo, mut hi) = (-10.0f64, 10.0f64);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if normal_cdf(mid) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Duration::from_secs_f64(self.median.as_secs_f64() * (self.sigma() * lo).exp())
    }
}

/// A provider whose answers are mostly log-normal but now and then stall (DESIGN.md §7:
/// 97 % log-normal with median 300 ms / p99 1.2 s, 3 % uniform over 5–20 s), the shape
/// provider tails really have: a tight body and rare, very long waits.
#[derive(Debug, Clone, Copy)]
pub struct StallMixture {
    pub body: LogNormal,
    /// The share of requests that stall (0..1).
    pub stall_share: f64,
    pub stall_min: Duration,
    pub stall_max: Duration,
}

impl StallMixture {
    pub fn draw(&self, rng: &mut Rng) -> Duration {
        if rng.unit() <= self.stall_share {
            let span = self.stall_max.saturating_sub(self.stall_min);
            self.stall_min + span.mul_f64(rng.unit())
        } else {
            self.body.draw(rng)
        }
    }

    /// The hedge delay `d` at which a share `hedged` of first attempts is still waiting
    /// (every stall, and the body's tail past `d`): `stall + (1 − stall)·P(body > d) =
    /// hedged`. `None` when `hedged` is not above the stall share.
    pub fn delay_hedging(&self, hedged: f64) -> Option<Duration> {
        let body_tail = (hedged - self.stall_share) / (1.0 - self.stall_share);
        (body_tail > 0.0 && body_tail < 1.0).then(|| self.body.quantile(1.0 - body_tail))
    }
}

/// Standard normal CDF via the Abramowitz–Stegun erf approximation (error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if z >= 0.0 { erf } else { -erf })
}
