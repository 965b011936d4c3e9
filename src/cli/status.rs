//! `switchboard-ls status [--json] [--probe]`: for each provider — configured, key
//! present, its status page read live, and with `--probe` a one-token request for
//! reachability and latency; and the last verdict a running server reached about it in the
//! past half hour (`slow: median 4.2 s over 20`, from the stats file: `stats::recent`).
//! Exits 0 if and only if a cloud provider is usable (the verdicts are shown, not counted:
//! they come from another process and may be minutes old).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::config::ProviderConfig;
use crate::providers::{self, Attempt, ErrorClass, ProviderRequest};
use crate::status_page::{self, PageReading};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
    /// Send each cloud provider a one-token request to measure reachability and latency.
    #[arg(long)]
    pub probe: bool,
}

fn key_state(p: &ProviderConfig) -> &'static str {
    match (&p.api_key_env, &p.api_key) {
        (_, Some(_)) => "present",
        (Some(_), None) if p.kind.requires_key() => "missing",
        (Some(_), None) => "not set (optional)",
        (None, None) => "not needed",
    }
}

/// The outcome of a probe: latency, or the error it met.
struct Probe {
    result: Result<Duration, providers::ProviderError>,
}

async fn probe(config: &ProviderConfig, client: reqwest::Client) -> Probe {
    let provider = providers::build(config.clone(), client);
    let request = ProviderRequest {
        prefix: "// switchboard-ls status probe\n".into(),
        suffix: String::new(),
        language: "plaintext".into(),
        path: None,
        max_tokens: 1,
        single_line: true,
        document: std::sync::Arc::from(""),
        cursor: 0,
        neighbours: Default::default(),
    };
    let attempt = Attempt::new(config.timeout, config.timeout);
    let started = Instant::now();
    let result = match tokio::time::timeout(
        config.timeout,
        providers::ask(provider.as_ref(), &request, &attempt),
    )
    .await
    {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(providers::ProviderError::timeout(
            "no answer",
            config.timeout,
        )),
    };
    Probe { result }
}

pub async fn run(args: Args) -> ExitCode {
    let loaded = super::load_config();
    let config = &loaded.config;
    let providers = &config.providers;
    let client = providers::client_for(&config.network);

    let pages = join_all(providers.iter().map(|p| {
        let client = client.clone();
        async move {
            match (&p.status_page, p.kind.is_cloud()) {
                (Some(page), true) => {
                    Some(status_page::fetch(&client, page, p.status_component.as_deref()).await)
                }
                _ => None,
            }
        }
    }))
    .await;
    let probes: Vec<Option<Probe>> =
        if args.probe {
            join_all(providers.iter().map(|p| {
                let client = client.clone();
                async move {
                    (p.kind.is_cloud() && p.has_required_key()).then_some(probe(p, client).await)
                }
            }))
            .await
            .into_iter()
            .collect()
        } else {
            providers.iter().map(|_| None).collect()
        };

    // What servers running in editors concluded lately (slow, low-quality answers, down).
    let now = crate::stats::recorder::unix_now();
    let verdicts = crate::stats::file::default_path()
        .map(|path| crate::stats::recent::verdicts(&crate::stats::file::read(&path).lines, now))
        .unwrap_or_default();

    let mut reasons = Vec::new();
    let mut usable = Vec::new();
    for (p, probe) in providers.iter().zip(&probes) {
        if !p.kind.is_cloud() {
            continue;
        }
        if !p.has_required_key() {
            reasons.push(format!(
                "{}: no API key (set {})",
                p.name,
                p.api_key_env.as_deref().unwrap_or("its key variable")
            ));
        } else if config.routing.disabled.contains(&p.name) {
            reasons.push(format!("{}: disabled in config (routing.disabled)", p.name));
        } else if let Some(Probe { result: Err(err) }) = probe
            && !matches!(err.class, ErrorClass::RateLimited)
        {
            reasons.push(format!("{}: probe failed: {err}", p.name));
        } else {
            usable.push(p.name.clone());
        }
    }
    if !providers.iter().any(|p| p.kind.is_cloud()) {
        reasons.push("no cloud provider configured and no API key variable set (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, CODESTRAL_API_KEY, OPENAI_FIM_API_KEY); completions come from the local engine".to_string());
    }

    if args.json {
        let rows: Vec<Value> = providers
            .iter()
            .zip(pages.iter().zip(&probes))
            .map(|(p, (page, probe))| {
                json!({
                    "name": p.name,
                    "kind": p.kind.as_str(),
                    "model": p.model,
                    "key": key_state(p),
                    "key_env": p.api_key_env,
                    "usable": usable.contains(&p.name),
                    "status_page": page_json(p, page.as_ref()),
                    "probe": probe.as_ref().map(|probe| match &probe.result {
                        Ok(latency) => json!({"ok": true, "latency_ms": latency.as_millis() as u64}),
                        Err(err) => json!({"ok": false, "error": err.to_string()}),
                    }),
                    "recent": verdicts.get(&p.name).map(|v| json!({
                        "state": v.state,
                        "reason": v.reason,
                        "at": v.at,
                        "server_stopped": v.server_stopped,
                        "said": v.describe(now),
                    })),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "providers": rows,
                "cloud_usable": !usable.is_empty(),
                "reason": (usable.is_empty()).then(|| reasons.join("; ")),
                "problems": loaded.problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "{:<12} {:<11} {:<20} {:<34} {:<30} PROBE",
            "PROVIDER", "KIND", "MODEL", "KEY", "STATUS PAGE"
        );
        for (p, (page, probe)) in providers.iter().zip(pages.iter().zip(&probes)) {
            let key = match &p.api_key_env {
                Some(var) => format!("{} ({var})", key_state(p)),
                None => key_state(p).to_string(),
            };
            let page = match page {
                None => "-".to_string(),
                Some(Ok(PageReading { level, description })) => match description {
                    Some(d) => format!("{} ({d})", level.as_str()),
                    None => level.as_str().to_string(),
                },
                Some(Err(_)) => "unreachable".to_string(),
            };
            let probe = match probe {
                None => "-".to_string(),
                Some(Probe {
                    result: Ok(latency),
                }) => format!("ok {} ms", latency.as_millis()),
                Some(Probe { result: Err(err) }) => format!("failed: {err}"),
            };
            println!(
                "{:<12} {:<11} {:<20} {:<34} {:<30} {probe}",
                p.name,
                p.kind.as_str(),
                p.model,
                key,
                page
            );
        }
        let seen: Vec<_> = providers
            .iter()
            .filter_map(|p| verdicts.get(&p.name).map(|v| (p, v)))
            .collect();
        if !seen.is_empty() {
            println!("\nlately, in a running server (stats file):");
            for (p, verdict) in seen {
                println!("  {:<12} {}", p.name, verdict.describe(now));
            }
        }
        for problem in &loaded.problems {
            println!("config problem: {problem}");
        }
        if usable.is_empty() {
            println!("\nno cloud provider usable: {}", reasons.join("; "));
        } else {
            println!("\ncloud providers usable: {}", usable.join(", "));
        }
    }
    if usable.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn page_json(p: &ProviderConfig, page: Option<&Result<PageReading, String>>) -> Value {
    match page {
        None => Value::Null,
        Some(Ok(reading)) => json!({
            "url": p.status_page,
            "indicator": reading.level.as_str(),
            "description": reading.description,
        }),
        Some(Err(err)) => json!({"url": p.status_page, "error": err}),
    }
}
