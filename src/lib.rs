//! Switchboard: a language server that keeps AI code completions working through
//! provider outages. See ARCHITECTURE.md for the map.

pub mod cache;
pub mod cli;
pub mod config;
pub mod document;
pub mod engine;
pub mod health;
pub mod logging;
pub mod lsp;
pub mod providers;
pub mod router;
pub mod stats;
pub mod status_page;
pub mod team;
