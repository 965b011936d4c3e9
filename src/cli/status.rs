//! `switchboard-ls status [--json]`: each provider — configured, key present — and
//! whether any cloud provider is usable (the exit code).

use std::process::ExitCode;

use serde_json::json;

use crate::config::ProviderConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

fn key_state(p: &ProviderConfig) -> &'static str {
    match (&p.api_key_env, &p.api_key) {
        (_, Some(_)) => "present",
        (Some(_), None) if p.kind.requires_key() => "missing",
        (Some(_), None) => "not set (optional)",
        (None, None) => "not needed",
    }
}

pub async fn run(args: Args) -> ExitCode {
    let loaded = super::load_config();
    let providers = &loaded.config.providers;
    let usable: Vec<&ProviderConfig> = providers
        .iter()
        .filter(|p| {
            p.kind.is_cloud()
                && p.has_required_key()
                && !loaded.config.routing.disabled.contains(&p.name)
        })
        .collect();
    let reason = if usable.is_empty() {
        let cloud = providers.iter().filter(|p| p.kind.is_cloud()).count();
        Some(if cloud == 0 {
            "no cloud provider configured and no API key variable set (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, CODESTRAL_API_KEY, OPENAI_FIM_API_KEY); completions come from the local engine".to_string()
        } else {
            "no cloud provider has its API key; completions come from the local engine".to_string()
        })
    } else {
        None
    };

    if args.json {
        let rows: Vec<_> = providers
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "kind": p.kind.as_str(),
                    "model": p.model,
                    "key": key_state(p),
                    "key_env": p.api_key_env,
                    "usable": usable.iter().any(|u| u.name == p.name) || !p.kind.is_cloud(),
                    "status_page": p.status_page,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "providers": rows,
                "cloud_usable": reason.is_none(),
                "reason": reason,
                "problems": loaded.problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "{:<14} {:<11} {:<22} {:<20}",
            "PROVIDER", "KIND", "MODEL", "KEY"
        );
        for p in providers {
            let key = match &p.api_key_env {
                Some(var) => format!("{} ({var})", key_state(p)),
                None => key_state(p).to_string(),
            };
            println!(
                "{:<14} {:<11} {:<22} {key}",
                p.name,
                p.kind.as_str(),
                p.model
            );
        }
        for problem in &loaded.problems {
            println!("config problem: {problem}");
        }
        match &reason {
            None => println!(
                "\ncloud providers usable: {}",
                usable
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(reason) => println!("\nno cloud provider usable: {reason}"),
        }
    }
    if reason.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
