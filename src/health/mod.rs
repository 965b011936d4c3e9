//! Provider health: one state per provider, the rules that move it, and the events
//! that announce each change.
//!
//! The board's only input is [`Observation`]s — attempt outcomes from the router,
//! status-page levels from the poller, the user's commands — so the same stream can
//! later come from outside the process (teammates' observations). Architecture
//! invariant: health knows states and transitions, nothing about how they are shown
//! (diagnostics, notifications and the CLI subscribe to [`HealthEvent`]s).

mod board;
mod breaker;
mod latency;
mod soft;
mod team;

use std::fmt;
use std::time::Duration;

pub use board::{Admission, HealthBoard, LATENCY_SAMPLES, ProbeTicket};
pub use breaker::{Breaker, Gate, MAX_COOLDOWN};
pub use latency::LatencyWindow;
pub use soft::{LowQuality, QualityWatch, SLOW_WINDOW, SlowWatch};
pub use team::{TEAM_WINDOW, TeamWatch, TeammateReport, TeammatesView};

use crate::providers::ProviderError;

/// A provider's health, shown everywhere by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthState {
    Healthy,
    Degraded,
    Down,
    Disabled,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
            HealthState::Down => "down",
            HealthState::Disabled => "disabled",
        }
    }
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status page's effective level (the worse of the page indicator and the watched
/// component).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum PageLevel {
    #[default]
    None,
    Minor,
    Major,
    Critical,
}

impl PageLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PageLevel::None => "none",
            PageLevel::Minor => "minor",
            PageLevel::Major => "major",
            PageLevel::Critical => "critical",
        }
    }

    /// Major and critical incidents move the provider behind the healthy ones.
    pub fn demotes(self) -> bool {
        self >= PageLevel::Major
    }
}

/// Why a provider is disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisableReason {
    /// 401/402/403/quota/invalid key, or 404 model not found.
    Auth(ProviderError),
    /// `switchboard.disable`.
    Command,
    /// `routing.disabled`.
    Config,
}

/// Something that happened to a provider.
#[derive(Debug, Clone)]
pub enum Observation {
    /// An attempt answered. `first_byte` is its time to first byte.
    Success {
        provider: String,
        first_byte: Duration,
        total: Duration,
    },
    /// An attempt answered with HTTP 200, but an answer not worth showing (§4).
    LowQuality {
        provider: String,
        first_byte: Duration,
        kind: LowQuality,
    },
    /// An attempt was dropped (another provider won, or the deadline came) before its
    /// first byte, after waiting this long: it was at least that slow.
    Waited {
        provider: String,
        waited: Duration,
        /// It had waited past its hedge point: its wait is one of the provider's slow
        /// times to first byte (at least), and counts toward the `auto` hedge delay too.
        /// Left out, hedging would hide exactly the slow answers that delay is set by.
        past_hedge_point: bool,
    },
    /// An attempt failed with a classified error.
    Failure {
        provider: String,
        error: ProviderError,
    },
    /// The status page was read.
    StatusPage {
        provider: String,
        level: PageLevel,
        description: Option<String>,
    },
    /// `switchboard.disable`.
    Disable { provider: String },
    /// `switchboard.enable`.
    Enable { provider: String },
    /// `switchboard.retry`: close the breaker, clear a disable and a rate limit.
    Retry { provider: String },
    /// A teammate's report, from outside the process (team mode, DESIGN.md §8): it can
    /// degrade, demote or (with enough failures) open the breaker, never disable.
    Teammate {
        provider: String,
        report: TeammateReport,
    },
}

/// A provider's state changed (or its status-page reading did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub provider: String,
    pub previous: HealthState,
    pub current: HealthState,
}

/// One provider's health, for status displays.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderHealth {
    pub name: String,
    pub kind: String,
    pub model: String,
    /// With `kind` and `model`, what identifies the provider across teammates.
    pub base_url: String,
    pub state: HealthState,
    /// `529 overloaded_error ×3`, `2 of last 5 failed (529 overloaded_error)`.
    pub detail: Option<String>,
    /// Until the breaker lets a probe through, or the rate limit ends.
    pub retry_in: Option<Duration>,
    pub rate_limited: bool,
    pub disabled: Option<DisableReason>,
    pub page_level: PageLevel,
    pub page_description: Option<String>,
    pub status_page: Option<String>,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub requests: u64,
    pub failures: u64,
    /// The last error, whole.
    pub last_error: Option<ProviderError>,
    /// A local slow or low-quality verdict holds.
    pub soft_demoted: bool,
    /// Teammates report trouble with it, and no local failure explains its state.
    pub teammates: Option<TeammatesView>,
}
