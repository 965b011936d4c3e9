//! The command line of DESIGN.md §2. Each command reads config exactly as the
//! server does (user file, the current directory's `.switchboard.toml`, environment).

pub mod complete;
pub mod show_config;
pub mod stats;
pub mod status;

use clap::{Parser, Subcommand};

use crate::config::{self, ConfigSources, LoadedConfig};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-ls",
    version,
    about = "A language server that keeps AI code completions working through provider outages",
    long_about = "With no command, serves the Language Server Protocol over stdio (what editors run)."
)]
pub struct Cli {
    /// Serve LSP over stdio (the default; accepted for editors that pass it).
    #[arg(long, global = false)]
    pub stdio: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One completion through the same engine the editor uses.
    Complete(complete::Args),
    /// The effective config and where each value came from (keys redacted).
    Config(show_config::Args),
    /// Each provider: configured, key present, health.
    Status(status::Args),
    /// Served, accepted and outages per provider, from the stats file.
    Stats(stats::Args),
}

/// The config the CLI runs with: user file, then the current directory as workspace.
pub fn load_config() -> LoadedConfig {
    let mut sources = ConfigSources::from_env();
    sources.workspace_root = std::env::current_dir().ok();
    config::load(&sources)
}
