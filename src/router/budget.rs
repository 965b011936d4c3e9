//! A retry/hedge budget, after tower's and gRPC's: every completion deposits a
//! fraction of a token, every extra upstream request (a retry or a hedge) spends a
//! whole one. Extra load is thus bounded by `ratio` of the traffic plus a small
//! reserve, however long an outage lasts.

use std::sync::Mutex;

#[derive(Debug)]
pub struct Budget {
    balance: Mutex<f64>,
    ratio: f64,
    reserve: f64,
}

/// Extra requests allowed per completion, in the long run.
pub const EXTRA_RATIO: f64 = 0.2;
/// Extra requests allowed before any deposits (and the most that can be saved up).
pub const RESERVE: f64 = 10.0;

impl Default for Budget {
    fn default() -> Self {
        Budget::new(EXTRA_RATIO, RESERVE)
    }
}

impl Budget {
    pub fn new(ratio: f64, reserve: f64) -> Self {
        Budget {
            balance: Mutex::new(reserve),
            ratio,
            reserve,
        }
    }

    /// One completion request arrived.
    pub fn deposit(&self) {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        *balance = (*balance + self.ratio).min(self.reserve);
    }

    /// Takes one token for an extra request; `false` when the budget is spent.
    pub fn withdraw(&self) -> bool {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        if *balance >= 1.0 {
            *balance -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_requests_are_bounded_by_the_ratio_plus_the_reserve() {
        let budget = Budget::new(0.2, 10.0);
        let mut extra = 0;
        for _ in 0..1000 {
            budget.deposit();
            while budget.withdraw() {
                extra += 1;
            }
        }
        assert!(extra <= 210, "{extra}");
        assert!(extra >= 190, "{extra}");
    }
}
