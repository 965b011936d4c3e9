//! Outage status in the editor (DESIGN.md §5): status diagnostics on the most recently
//! active document, `window/showMessage` on transitions, and the data code actions need.
//!
//! Everything here runs on its own task, woken by health events, by the user moving
//! to another document or line, by config problems, and by a one-second tick (so a
//! rate limit that simply expires is cleared within a second). Completion handlers
//! only record where the user is — a few field writes — so publishing never blocks
//! or delays a completion. Only our own diagnostics are ever published.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Notify;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{
    CodeDescription, Diagnostic, DiagnosticSeverity, MessageType, NumberOrString, Position, Range,
    Uri,
};

use crate::config::{ConfigProblem, Notify as NotifySetting, ProviderConfig};
use crate::document::{DocumentStore, Encoding};
use crate::engine::{Engine, Runtime};
use crate::health::{DisableReason, HealthState, PageLevel, ProviderHealth};
use crate::providers::ErrorClass;

pub const SOURCE: &str = "switchboard";
/// One message per provider per this long, however often it flaps.
const MESSAGE_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    /// The last document changed or completed in (a `didOpen` counts only when there
    /// is none: editors open and close their own settings files unseen).
    active: Option<Uri>,
    /// Per document: the line of its last completion request.
    lines: HashMap<String, u32>,
    problems: Vec<ConfigProblem>,
    /// What we last published, and where.
    published: Option<(Uri, Vec<Diagnostic>)>,
    /// Per provider: the state last seen.
    seen: HashMap<String, HealthState>,
    /// Per provider: when its going down was last announced, and whether that
    /// announcement still awaits its recovery message.
    announced_down: HashMap<String, (Instant, bool)>,
    all_down: bool,
    /// The provider that answered the last completion.
    serving: Option<String>,
    /// Per provider in a cooldown: when it ends, and its length as first shown, so the
    /// down diagnostic says it once instead of counting down every second.
    cooldowns: HashMap<String, (Instant, Duration)>,
}

#[derive(Default)]
pub struct Surface {
    state: Mutex<State>,
    wake: Notify,
    /// Team mode's link, for the `team` diagnostic and status field.
    pub team: Arc<crate::team::TeamSlot>,
}

impl Surface {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user is in `uri` (at `line`, for a completion request).
    pub fn touch(&self, uri: &Uri, line: Option<u32>) {
        let mut state = self.lock();
        let mut changed = state.active.as_ref() != Some(uri);
        if let Some(line) = line {
            changed |= state.lines.insert(uri.as_str().to_string(), line) != Some(line);
        }
        if changed {
            state.active = Some(uri.clone());
            drop(state);
            self.wake.notify_one();
        }
    }

    /// `uri` was opened: it takes the diagnostics only if no document holds them yet
    /// (so config errors show on the first file), never from the one the user works in.
    pub fn opened(&self, uri: &Uri) {
        let mut state = self.lock();
        if state.active.is_none() {
            state.active = Some(uri.clone());
            drop(state);
            self.wake.notify_one();
        }
    }

    pub fn closed(&self, uri: &Uri) {
        let mut state = self.lock();
        state.lines.remove(uri.as_str());
        if state.active.as_ref() == Some(uri) {
            state.active = None;
            drop(state);
            self.wake.notify_one();
        }
    }

    /// `provider` answered a completion (DESIGN.md §5 `serving`). `true` when that
    /// changes who is serving.
    pub fn served(&self, provider: &str) -> bool {
        let mut state = self.lock();
        if state.serving.as_deref() == Some(provider) {
            return false;
        }
        state.serving = Some(provider.to_string());
        true
    }

    pub fn serving(&self) -> Option<String> {
        self.lock().serving.clone()
    }

    pub fn set_problems(&self, problems: Vec<ConfigProblem>) {
        self.lock().problems = problems;
        self.wake.notify_one();
    }

    pub fn refresh(&self) {
        self.wake.notify_one();
    }

    /// The diagnostics currently shown (for code actions).
    pub fn published(&self) -> Vec<Diagnostic> {
        self.lock()
            .published
            .as_ref()
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }

    /// Runs until the server stops. `documents` gives each diagnostic its range.
    pub async fn run(
        self: Arc<Self>,
        client: Client,
        engine: Arc<Engine>,
        documents: Arc<DocumentStore>,
        encoding: Encoding,
    ) {
        let mut events = engine.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => {
                    if matches!(event, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                }
                () = self.wake.notified() => {}
                _ = tick.tick() => {}
            }
            // Woken by a completion, whose response is on its way out on this same
            // thread: let it go first.
            tokio::task::yield_now().await;
            let runtime = engine.runtime();
            // Expired rate limits become events here, within a second.
            runtime.board().refresh();
            let health = runtime.board().snapshot();
            self.speak(&client, &runtime, &health).await;
            self.publish(&client, &runtime, &health, &documents, encoding)
                .await;
        }
    }

    async fn publish(
        &self,
        client: &Client,
        runtime: &Runtime,
        health: &[ProviderHealth],
        documents: &DocumentStore,
        encoding: Encoding,
    ) {
        let (target, stale_target, diagnostics) = {
            let mut state = self.lock();
            match state.active.clone() {
                None => match &state.published {
                    // The active document was closed: take our diagnostics off it.
                    Some((uri, shown)) if !shown.is_empty() => (uri.clone(), None, Vec::new()),
                    _ => return,
                },
                Some(active) => {
                    let line = state.lines.get(active.as_str()).copied().unwrap_or(0);
                    let range = match documents.line_span(active.as_str(), line, encoding) {
                        Some((from, to)) => Range::new(
                            Position::new(from.line, from.col),
                            Position::new(to.line, to.col),
                        ),
                        None => Range::new(Position::new(line, 0), Position::new(line, 1)),
                    };
                    let health = settled_cooldowns(&mut state.cooldowns, health);
                    let team = self.team.status();
                    let diagnostics =
                        diagnostics(runtime, &health, &state.problems, team.as_ref(), range);
                    if state.published.as_ref() == Some(&(active.clone(), diagnostics.clone())) {
                        return;
                    }
                    // Nothing shown yet and nothing to show: say nothing.
                    if state.published.is_none() && diagnostics.is_empty() {
                        return;
                    }
                    let stale_target = state
                        .published
                        .as_ref()
                        .filter(|(uri, _)| uri != &active)
                        .map(|(uri, _)| uri.clone());
                    (active, stale_target, diagnostics)
                }
            }
        };
        if let Some(previous) = stale_target {
            client.publish_diagnostics(previous, Vec::new(), None).await;
        }
        client
            .publish_diagnostics(target.clone(), diagnostics.clone(), None)
            .await;
        self.lock().published = Some((target, diagnostics));
    }

    /// `window/showMessage` once per transition: a provider going down, everything
    /// going down, and recovery from either.
    async fn speak(&self, client: &Client, runtime: &Runtime, health: &[ProviderHealth]) {
        let quiet = runtime.config.routing.notify == NotifySetting::Off;
        let serving = runtime.router().serving();
        let all_down = all_down(runtime, health);
        let mut messages = Vec::new();
        {
            let mut state = self.lock();
            let now = Instant::now();
            for h in health {
                let previous = state
                    .seen
                    .insert(h.name.clone(), h.state)
                    .unwrap_or(HealthState::Healthy);
                if previous == h.state {
                    continue;
                }
                let label = label(runtime, &h.name);
                match h.state {
                    HealthState::Down => {
                        // A provider flapping between states is announced once per
                        // MESSAGE_INTERVAL; its recovery only if its fall was announced.
                        let recent = state
                            .announced_down
                            .get(&h.name)
                            .is_some_and(|(at, _)| now.duration_since(*at) < MESSAGE_INTERVAL);
                        if recent {
                            tracing::info!(
                                "{label} down again: not announced within {MESSAGE_INTERVAL:?}"
                            );
                            continue;
                        }
                        state.announced_down.insert(h.name.clone(), (now, true));
                        messages.push((
                            MessageType::WARNING,
                            format!(
                                "Switchboard: {label} is down ({}) — {}",
                                h.detail.as_deref().unwrap_or("failing"),
                                instead(runtime, serving.as_deref(), h.retry_in)
                            ),
                        ));
                    }
                    HealthState::Healthy => {
                        if let Some((_, pending @ true)) = state.announced_down.get_mut(&h.name) {
                            *pending = false;
                            messages.push((
                                MessageType::INFO,
                                format!("Switchboard: {label} recovered"),
                            ));
                        }
                    }
                    HealthState::Degraded | HealthState::Disabled => {}
                }
            }
            if all_down != state.all_down {
                state.all_down = all_down;
                messages.push(if all_down {
                    (
                        MessageType::WARNING,
                        "Switchboard: all providers unavailable — serving cached and local completions".to_string(),
                    )
                } else {
                    (
                        MessageType::INFO,
                        format!(
                            "Switchboard: providers available again — using {}",
                            serving.as_deref().map(|s| label(runtime, s)).unwrap_or_default()
                        ),
                    )
                });
            }
        }
        if quiet {
            return;
        }
        for (kind, message) in messages {
            client.show_message(kind, message).await;
        }
    }
}

/// `health` with each cooldown as its length when it began (zero once it is over), so
/// diagnostics change when the cooldown starts and ends, not every second.
fn settled_cooldowns(
    cooldowns: &mut HashMap<String, (Instant, Duration)>,
    health: &[ProviderHealth],
) -> Vec<ProviderHealth> {
    let now = Instant::now();
    let slack = Duration::from_millis(1500);
    health
        .iter()
        .cloned()
        .map(|mut h| {
            match h.retry_in {
                Some(wait) if !wait.is_zero() => {
                    let until = now + wait;
                    let entry = cooldowns.entry(h.name.clone()).or_insert((until, wait));
                    if entry.0 + slack < until || until + slack < entry.0 {
                        // A new cooldown (the breaker opened again).
                        *entry = (until, wait);
                    }
                    h.retry_in = Some(entry.1);
                }
                _ => {
                    cooldowns.remove(&h.name);
                }
            }
            h
        })
        .collect()
}

fn label(runtime: &Runtime, name: &str) -> String {
    runtime
        .config
        .provider(name)
        .map_or_else(|| name.to_string(), ProviderConfig::label)
}

/// "using gpt (openai); retry in 20s"
fn instead(runtime: &Runtime, serving: Option<&str>, retry_in: Option<Duration>) -> String {
    let using = match serving {
        Some(name) => format!("using {}", label(runtime, name)),
        None => "serving cached and local completions".to_string(),
    };
    match retry_in {
        Some(wait) => format!("{using}; retry in {}s", wait.as_secs_f64().ceil() as u64),
        None => using,
    }
}

/// "using gpt (openai); retrying after a 20s cooldown", or, once it is over, "…; will
/// retry on the next completion" — what happens next, not a countdown.
fn after_cooldown(runtime: &Runtime, serving: Option<&str>, cooldown: Option<Duration>) -> String {
    let using = instead(runtime, serving, None);
    match cooldown {
        Some(wait) if !wait.is_zero() => format!(
            "{using}; retrying after a {}s cooldown",
            wait.as_secs_f64().ceil() as u64
        ),
        _ => format!("{using}; will retry on the next completion"),
    }
}

/// No configured cloud provider can serve.
fn all_down(runtime: &Runtime, health: &[ProviderHealth]) -> bool {
    let cloud = runtime
        .config
        .providers
        .iter()
        .filter(|p| p.kind.is_cloud())
        .count();
    cloud > 0
        && !health.iter().any(|h| {
            matches!(h.state, HealthState::Healthy | HealthState::Degraded) && !h.rate_limited
        })
}

fn diagnostic(
    range: Range,
    severity: DiagnosticSeverity,
    code: &str,
    message: String,
    href: Option<&str>,
    provider: Option<&str>,
) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(code.to_string())),
        code_description: href
            .and_then(|h| h.parse::<Uri>().ok())
            .map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message,
        data: provider.map(|p| json!({"provider": p})),
        ..Default::default()
    }
}

/// What to tell the user about an auth or model error, naming what to fix.
fn auth_message(provider: &ProviderConfig, error: &crate::providers::ProviderError) -> String {
    let status = error.status.unwrap_or_default();
    let fix_key = match &provider.api_key_env {
        Some(var) => format!("check {var}"),
        None => "check the provider's key".to_string(),
    };
    let (what, fix) = match (error.class, status) {
        (ErrorClass::ModelNotFound, _) => (
            format!("model \"{}\" not found (404)", provider.model),
            "check model in its [[provider]] entry".to_string(),
        ),
        (_, 401) => ("invalid API key (401)".to_string(), fix_key),
        (_, 402) => (
            "payment required (402)".to_string(),
            format!("{fix_key} and the account's billing"),
        ),
        (_, 403) => ("permission denied (403)".to_string(), fix_key),
        (_, 429) => (
            "quota exhausted (insufficient_quota)".to_string(),
            format!("{fix_key} and the account's billing"),
        ),
        (_, 400) => ("invalid API key (400)".to_string(), fix_key),
        _ => (error.short(), fix_key),
    };
    format!("{} ({}): {what} — {fix}", provider.name, provider.kind)
}

/// The status diagnostics for the current health, drawn over `range`.
pub fn diagnostics(
    runtime: &Runtime,
    health: &[ProviderHealth],
    problems: &[ConfigProblem],
    team: Option<&crate::team::TeamStatus>,
    range: Range,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for problem in problems {
        out.push(diagnostic(
            range,
            DiagnosticSeverity::ERROR,
            "config-error",
            problem.message.clone(),
            None,
            None,
        ));
    }
    if let Some(team) = team.filter(|t| t.unreachable) {
        out.push(diagnostic(
            range,
            DiagnosticSeverity::INFORMATION,
            "team",
            format!(
                "team {}: Redis at {} unreachable — working alone, reconnecting",
                team.name, team.redis
            ),
            None,
            None,
        ));
    }
    let serving = runtime.router().serving();
    for provider in runtime
        .config
        .providers
        .iter()
        .filter(|p| p.kind.is_cloud())
    {
        let label = provider.label();
        let Some(h) = health.iter().find(|h| h.name == provider.name) else {
            // Configured but never asked: its key is missing.
            if !provider.has_required_key() {
                let var = provider
                    .api_key_env
                    .as_deref()
                    .unwrap_or("its key variable");
                out.push(diagnostic(
                    range,
                    DiagnosticSeverity::ERROR,
                    "auth-error",
                    format!("{label}: no API key — set {var}"),
                    None,
                    None,
                ));
            }
            continue;
        };
        let href = h.status_page.as_deref();
        let name = Some(provider.name.as_str());
        if let Some(view) = &h.teammates
            && matches!(h.state, HealthState::Degraded | HealthState::Down)
        {
            out.push(diagnostic(
                range,
                DiagnosticSeverity::INFORMATION,
                "team",
                format!(
                    "team {}: {} {} for {} teammate{} ({}) — using {}",
                    team.map_or("", |t| t.name.as_str()),
                    provider.name,
                    if view.down { "down" } else { "degraded" },
                    view.members,
                    if view.members == 1 { "" } else { "s" },
                    view.detail.as_deref().unwrap_or("failing"),
                    serving
                        .as_deref()
                        .filter(|s| *s != provider.name)
                        .map_or_else(
                            || "the next provider".to_string(),
                            |s| self::label(runtime, s)
                        )
                ),
                href,
                name,
            ));
            continue;
        }
        match h.state {
            HealthState::Healthy => {}
            HealthState::Degraded => {
                let failing = h
                    .detail
                    .as_deref()
                    .is_some_and(|d| !d.starts_with("status page"));
                if failing {
                    out.push(diagnostic(
                        range,
                        DiagnosticSeverity::INFORMATION,
                        "provider-degraded",
                        format!("{label} degraded: {}", h.detail.as_deref().unwrap_or("")),
                        href,
                        name,
                    ));
                }
            }
            HealthState::Down => out.push(diagnostic(
                range,
                DiagnosticSeverity::WARNING,
                "provider-down",
                format!(
                    "{label} down: {} — {}",
                    h.detail.as_deref().unwrap_or("failing"),
                    after_cooldown(runtime, serving.as_deref(), h.retry_in)
                ),
                href,
                name,
            )),
            HealthState::Disabled => match &h.disabled {
                Some(DisableReason::Auth(error)) => out.push(diagnostic(
                    range,
                    DiagnosticSeverity::ERROR,
                    "auth-error",
                    auth_message(provider, error),
                    href,
                    name,
                )),
                Some(DisableReason::Command) => out.push(diagnostic(
                    range,
                    DiagnosticSeverity::WARNING,
                    "provider-disabled",
                    format!("{label} disabled for this session"),
                    href,
                    name,
                )),
                _ => {}
            },
        }
        if h.page_level >= PageLevel::Minor {
            let severity = if h.page_level == PageLevel::Minor {
                DiagnosticSeverity::INFORMATION
            } else {
                DiagnosticSeverity::WARNING
            };
            let description = h.page_description.as_deref().unwrap_or("an incident");
            out.push(diagnostic(
                range,
                severity,
                "status-page",
                format!(
                    "{}: status page reports \"{description}\" ({})",
                    provider.name,
                    h.page_level.as_str()
                ),
                href,
                name,
            ));
        }
    }
    if all_down(runtime, health) {
        out.push(diagnostic(
            range,
            DiagnosticSeverity::ERROR,
            "all-down",
            "all providers unavailable — serving cached and local completions".to_string(),
            None,
            None,
        ));
    }
    out
}
