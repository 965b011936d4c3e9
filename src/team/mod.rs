//! Team mode on Redis (DESIGN.md §8): members of one team share provider health and,
//! optionally, a second-tier completion cache. So far: the `[team]` settings and the
//! redaction of Redis URLs; the client, health sharing and the L2 tier are still to come.

pub use crate::config::{TeamConfig, redact_url};
