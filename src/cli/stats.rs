//! `switchboard-ls stats [--json] [--since 7d]`: what the stats file says about the
//! window, as text for a terminal or as JSON for the editors (shape: `docs/STATS.md`).
//! Reads the file only, so it works with no server running.
//!
//! `SWITCHBOARD_STATS_NOW` (RFC 3339 or unix seconds) fixes the clock; it is for tests
//! and read by this command only.

use std::process::ExitCode;

use crate::stats::{file, recorder, report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the report as JSON (for editors).
    #[arg(long)]
    pub json: bool,
    /// How far back: `24h`, `7d`, `2w`, `90m`.
    #[arg(long, default_value = "7d", value_parser = parse_since)]
    pub since: u64,
}

fn parse_since(text: &str) -> Result<u64, String> {
    report::parse_span(text).ok_or_else(|| format!("\"{text}\" is not a span like 24h, 7d or 2w"))
}

/// Now, or `SWITCHBOARD_STATS_NOW`.
fn now() -> Result<u64, String> {
    match std::env::var("SWITCHBOARD_STATS_NOW") {
        Err(_) => Ok(recorder::unix_now()),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .or_else(|| report::parse_rfc3339(&text))
            .ok_or_else(|| {
                format!("SWITCHBOARD_STATS_NOW=\"{text}\" is neither RFC 3339 nor unix seconds")
            }),
    }
}

pub fn run(args: Args) -> ExitCode {
    let now = match now() {
        Ok(now) => now,
        Err(message) => {
            eprintln!("switchboard-ls stats: {message}");
            return ExitCode::from(2);
        }
    };
    let Some(path) = file::default_path() else {
        eprintln!("switchboard-ls stats: neither XDG_STATE_HOME nor HOME is set");
        return ExitCode::FAILURE;
    };
    let contents = file::read(&path);
    if let Some(warning) = contents.warning(&path) {
        eprintln!("switchboard-ls stats: {warning}");
    }
    let report = report::build(&contents.lines, now, args.since);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(err) => {
                eprintln!("switchboard-ls stats: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", report::render(&report));
    }
    ExitCode::SUCCESS
}
