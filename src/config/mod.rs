//! The effective configuration: typed settings, built from layered sources.
//!
//! `sources` reads and merges the layers (defaults < user file < workspace file <
//! editor settings) and remembers where each value came from; `parse` turns the
//! merged tree into a [`Config`], collecting every problem instead of stopping at
//! the first, so a bad provider is left out and the rest runs.
//!
//! Architecture invariant: nothing here knows about LSP. The editor layer arrives
//! as a plain `serde_json::Value`.

mod network;
mod parse;
mod provider;
mod secret;
mod sources;
mod team;

use std::fmt;
use std::time::Duration;

pub use network::{NetworkSettings, ProxySetting, redact_url};
pub use provider::{FimTemplate, ProviderConfig, ProviderKind};
pub use secret::Secret;
pub(crate) use sources::type_name;
pub use sources::{ConfigSources, LoadedConfig, Origin, load};
pub use team::{PASSWORD_ENV as REDIS_PASSWORD_ENV, TeamConfig};

/// The whole effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub completion: CompletionSettings,
    pub cache: CacheSettings,
    pub routing: RoutingSettings,
    /// `[network]`: proxy, extra CA roots, prewarm (user file or editor settings only).
    pub network: NetworkSettings,
    /// The fallback chain, in the order providers are tried. Always ends with a
    /// `local` provider unless one was listed explicitly.
    pub providers: Vec<ProviderConfig>,
    /// `[team]` (DESIGN.md §8); `None` = team mode off.
    pub team: Option<TeamConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompletionSettings {
    pub max_prefix_chars: usize,
    pub max_suffix_chars: usize,
    pub max_tokens: u32,
    pub deadline_ms: u64,
    pub exclude: Vec<String>,
    /// The workspace root (not a config key): prompts name files relative to it, so a
    /// provider never sees an absolute path (DESIGN.md §6).
    pub workspace_root: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheSettings {
    pub capacity: usize,
    pub ttl_secs: u64,
    /// `""` = the default file under `$XDG_CACHE_HOME/switchboard/`; `"off"` = memory only.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hedge {
    /// The slowest of the provider's recent times-to-first-byte (`router::AUTO_QUANTILE`), clamped.
    Auto,
    Off,
    Fixed(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Transitions,
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoutingSettings {
    pub retries: u32,
    pub hedge: Hedge,
    pub breaker_failures: u32,
    pub breaker_cooldown_ms: u64,
    pub status_poll_secs: u64,
    pub notify: Notify,
    pub order: Vec<String>,
    pub disabled: Vec<String>,
    /// When a provider's median time to first byte makes it `degraded` (slow).
    pub slow: SlowBound,
    /// Low-quality answers in a row that make a provider `degraded`; 0 = off.
    pub quality_failures: u32,
}

/// `routing.slow_ms` (DESIGN.md §4 "Soft failures").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowBound {
    /// 3 × the provider's own median of the last hour, at least 1500 ms.
    Auto,
    Off,
    Fixed(Duration),
}

impl CompletionSettings {
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }
}

impl Default for CompletionSettings {
    fn default() -> Self {
        CompletionSettings {
            max_prefix_chars: 8000,
            max_suffix_chars: 2000,
            max_tokens: 128,
            deadline_ms: 2500,
            exclude: DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect(),
            workspace_root: None,
        }
    }
}

/// Editors' own settings files (VS Code's user data folder and its forks', local and
/// remote): they can hold other extensions' tokens, so they never reach a cloud
/// provider, whatever `completion.exclude` says (DESIGN.md §6).
pub const EDITOR_SETTINGS_FILES: &[&str] = &[
    "**/Code/User/**",
    "**/Code - Insiders/User/**",
    "**/Code - OSS/User/**",
    "**/VSCodium/User/**",
    "**/Cursor/User/**",
    "**/Windsurf/User/**",
    "**/code-server/User/**",
    "**/.vscode-server/data/User/**",
    "**/.vscode-server/data/Machine/**",
    "**/.vscode-remote/data/User/**",
    "**/User/settings.json",
    "**/User/keybindings.json",
];

/// Files that never leave the machine unless the user says otherwise.
pub const DEFAULT_EXCLUDE: &[&str] = &[
    "**/.env",
    "**/.env.*",
    "**/*.pem",
    "**/*.key",
    "**/secrets/**",
    "**/id_rsa*",
];

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            capacity: 4096,
            ttl_secs: 3600,
            path: String::new(),
        }
    }
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            retries: 1,
            hedge: Hedge::Auto,
            breaker_failures: 3,
            breaker_cooldown_ms: 5000,
            status_poll_secs: 60,
            notify: Notify::Transitions,
            order: Vec::new(),
            disabled: Vec::new(),
            slow: SlowBound::Auto,
            quality_failures: 4,
        }
    }
}

/// One thing wrong with the configuration, phrased for the user: it names the key
/// or variable to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub message: String,
}

impl ConfigProblem {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigProblem {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Config {
    /// The configuration with no file, no editor settings and no API keys: `local` alone.
    pub fn offline() -> Self {
        Config {
            completion: CompletionSettings::default(),
            cache: CacheSettings::default(),
            routing: RoutingSettings::default(),
            network: NetworkSettings::default(),
            providers: vec![ProviderConfig::local()],
            team: None,
        }
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}
