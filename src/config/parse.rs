//! The merged config tree → a typed [`Config`], one problem per bad key or provider.
//!
//! Each key is read on its own: a bad value is reported with its dotted name and the
//! default is kept, so one typo never takes the rest of the config down with it.

use std::collections::HashSet;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::provider::read_key;
use super::sources::type_name;
use super::{
    CacheSettings, CompletionSettings, Config, ConfigProblem, FimTemplate, Hedge, Notify,
    ProviderConfig, ProviderKind, RoutingSettings, SlowBound,
};

pub(super) struct Parsed {
    pub config: Config,
    /// No `[[provider]]` was configured: the chain came from the API key variables.
    pub providers_from_env: bool,
}

pub(super) fn parse(root: &Value, problems: &mut Vec<ConfigProblem>) -> Parsed {
    let empty = Map::new();
    let root = root.as_object().unwrap_or(&empty);
    for key in root.keys() {
        if ![
            "completion",
            "cache",
            "routing",
            "network",
            "team",
            "provider",
        ]
        .contains(&key.as_str())
        {
            problems.push(ConfigProblem::new(format!(
                "unknown section \"{key}\" (expected completion, cache, routing, network, team or provider)"
            )));
        }
    }

    let completion = parse_completion(Section::new("completion", root, problems));
    let cache = parse_cache(Section::new("cache", root, problems));
    let mut routing = parse_routing(Section::new("routing", root, problems));
    let network = super::network::parse(root.get("network"), problems);
    let team = parse_team(root.get("team"), problems);

    let configured = match root.get("provider") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            problems.push(ConfigProblem::new(format!(
                "provider: expected an array of [[provider]] tables, got {}",
                type_name(other)
            )));
            Vec::new()
        }
    };
    let providers_from_env = configured.is_empty();
    let mut providers = if providers_from_env {
        providers_from_environment()
    } else {
        parse_providers(&configured, problems)
    };
    if !providers.iter().any(|p| p.kind == ProviderKind::Local) {
        let name = if providers.iter().any(|p| p.name == "local") {
            "local-engine"
        } else {
            "local"
        };
        let mut local = ProviderConfig::local();
        local.name = name.to_string();
        providers.push(local);
    }

    apply_order(&mut providers, &routing.order, problems);
    // The offline engine is the last resort wherever it was listed: the router asks it
    // only when no cloud provider answered, so it is shown last too.
    let (cloud, local): (Vec<_>, Vec<_>) = providers.into_iter().partition(|p| p.kind.is_cloud());
    let mut providers = cloud;
    providers.extend(local);
    routing.disabled.retain(|name| {
        let known = providers.iter().any(|p| &p.name == name);
        if !known {
            problems.push(ConfigProblem::new(format!(
                "routing.disabled: unknown provider \"{name}\" (known: {})",
                names(&providers)
            )));
        }
        known
    });

    Parsed {
        config: Config {
            completion,
            cache,
            routing,
            network,
            providers,
            team,
        },
        providers_from_env,
    }
}

/// `[team]` (DESIGN.md §8): its problems become config problems.
fn parse_team(
    section: Option<&Value>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<super::TeamConfig> {
    let mut found = Vec::new();
    let team = super::team::parse(section, &mut found);
    problems.extend(found.into_iter().map(ConfigProblem::new));
    team
}

fn names(providers: &[ProviderConfig]) -> String {
    providers
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_completion(mut s: Section<'_>) -> CompletionSettings {
    let d = CompletionSettings::default();
    let settings = CompletionSettings {
        max_prefix_chars: s.within("max_prefix_chars", d.max_prefix_chars, 1, 100_000),
        max_suffix_chars: s.within("max_suffix_chars", d.max_suffix_chars, 0, 100_000),
        max_tokens: s.within("max_tokens", d.max_tokens, 1, 8192),
        deadline_ms: s.within("deadline_ms", d.deadline_ms, 1, MAX_WAIT_MS),
        exclude: s.globs("exclude", d.exclude),
        workspace_root: None,
    };
    s.finish(&[
        "max_prefix_chars",
        "max_suffix_chars",
        "max_tokens",
        "deadline_ms",
        "exclude",
    ]);
    settings
}

/// The longest any wait may be set to (ten minutes).
pub const MAX_WAIT_MS: u64 = 600_000;

fn parse_cache(mut s: Section<'_>) -> CacheSettings {
    let d = CacheSettings::default();
    let settings = CacheSettings {
        capacity: s.within("capacity", d.capacity, 1, 1_000_000),
        ttl_secs: s.within("ttl_secs", d.ttl_secs, 0, 315_360_000),
        path: s.get("path", d.path),
    };
    s.finish(&["capacity", "ttl_secs", "path"]);
    settings
}

fn parse_routing(mut s: Section<'_>) -> RoutingSettings {
    let d = RoutingSettings::default();
    let hedge = match s.raw("hedge_ms") {
        None => d.hedge,
        Some(Value::String(v)) if v == "auto" => Hedge::Auto,
        Some(Value::String(v)) if v == "off" => Hedge::Off,
        Some(Value::Number(n)) if n.as_u64().is_some() => Hedge::Fixed(Duration::from_millis(
            n.as_u64().unwrap_or_default().min(MAX_WAIT_MS),
        )),
        Some(other) => {
            s.problem(
                "hedge_ms",
                format!("expected \"auto\", \"off\" or milliseconds, got {other}"),
            );
            d.hedge
        }
    };
    let notify = match s.raw("notify") {
        None => d.notify,
        Some(Value::String(v)) if v == "transitions" => Notify::Transitions,
        Some(Value::String(v)) if v == "off" => Notify::Off,
        Some(other) => {
            s.problem(
                "notify",
                format!("expected \"transitions\" or \"off\", got {other}"),
            );
            d.notify
        }
    };
    let slow = match s.raw("slow_ms") {
        None => d.slow,
        Some(Value::String(v)) if v == "auto" => SlowBound::Auto,
        Some(Value::String(v)) if v == "off" => SlowBound::Off,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|ms| ms > 0) => SlowBound::Fixed(
            Duration::from_millis(n.as_u64().unwrap_or_default().min(MAX_WAIT_MS)),
        ),
        Some(other) => {
            s.problem(
                "slow_ms",
                format!("expected \"auto\", \"off\" or milliseconds above 0, got {other}"),
            );
            d.slow
        }
    };
    let settings = RoutingSettings {
        retries: s.within("retries", d.retries, 0, 10),
        hedge,
        breaker_failures: s.within("breaker_failures", d.breaker_failures, 1, 1_000_000),
        breaker_cooldown_ms: s.within("breaker_cooldown_ms", d.breaker_cooldown_ms, 1, 300_000),
        status_poll_secs: s.within("status_poll_secs", d.status_poll_secs, 0, 86_400),
        notify,
        order: s.get("order", d.order),
        disabled: s.get("disabled", d.disabled),
        slow,
        quality_failures: s.within("quality_failures", d.quality_failures, 0, 1000),
    };
    s.finish(&[
        "slow_ms",
        "quality_failures",
        "retries",
        "hedge_ms",
        "breaker_failures",
        "breaker_cooldown_ms",
        "status_poll_secs",
        "notify",
        "order",
        "disabled",
    ]);
    settings
}

const PROVIDER_KEYS: &[&str] = &[
    "name",
    "kind",
    "model",
    "base_url",
    "api_key_env",
    "timeout_ms",
    "status_page",
    "status_component",
    "fim_template",
    "stream",
];

fn parse_providers(items: &[Value], problems: &mut Vec<ConfigProblem>) -> Vec<ProviderConfig> {
    let mut providers: Vec<ProviderConfig> = Vec::new();
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let label = format!("provider #{}", index + 1);
        let Some(table) = item.as_object() else {
            problems.push(ConfigProblem::new(format!(
                "{label}: expected a table, got {}",
                type_name(item)
            )));
            continue;
        };
        match parse_provider(table, &label, problems) {
            Ok(provider) => {
                if !seen.insert(provider.name.clone()) {
                    problems.push(ConfigProblem::new(format!(
                        "{label}: duplicate name \"{}\" (left out; names must be unique)",
                        provider.name
                    )));
                    continue;
                }
                providers.push(provider);
            }
            Err(problem) => problems.push(problem),
        }
    }
    providers
}

/// One provider table. A problem that makes the provider unusable is the `Err`;
/// lesser ones are pushed and the default kept.
fn parse_provider(
    table: &Map<String, Value>,
    label: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Result<ProviderConfig, ConfigProblem> {
    let string = |key: &str| -> Result<Option<String>, ConfigProblem> {
        match table.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(ConfigProblem::new(format!(
                "{label}: {key} must be a string, got {}",
                type_name(other)
            ))),
        }
    };

    let kind_text = string("kind")?.ok_or_else(|| {
        ConfigProblem::new(format!(
            "{label}: missing kind (one of anthropic, openai, openai-fim, gemini, codestral, ollama, local)"
        ))
    })?;
    let kind: ProviderKind = kind_text.parse().map_err(|()| {
        ConfigProblem::new(format!(
            "{label}: unknown kind \"{kind_text}\" (one of anthropic, openai, openai-fim, gemini, codestral, ollama, local)"
        ))
    })?;
    let name = match string("name")? {
        Some(name) if !name.is_empty() => name,
        _ => kind.as_str().to_string(),
    };
    let label = format!("{label} ({name})");
    let model = match string("model")? {
        Some(model) if !model.is_empty() => model,
        _ if kind == ProviderKind::Local => "local".to_string(),
        _ => {
            return Err(ConfigProblem::new(format!(
                "{label}: missing model (e.g. model = \"{}\")",
                kind.default_model()
            )));
        }
    };

    let mut provider = ProviderConfig::with_defaults(&name, kind, &model);
    if let Some(base_url) = string("base_url")? {
        let trimmed = base_url.trim_end_matches('/').to_string();
        match reqwest::Url::parse(&trimmed) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                provider.base_url = trimmed;
            }
            Ok(_) => {
                return Err(ConfigProblem::new(format!(
                    "{label}: base_url \"{base_url}\" must be an http:// or https:// URL"
                )));
            }
            Err(err) => {
                return Err(ConfigProblem::new(format!(
                    "{label}: malformed base_url \"{base_url}\": {err}"
                )));
            }
        }
    }
    if let Some(var) = string("api_key_env")? {
        if var.is_empty() || is_variable_name(&var) {
            provider.api_key = if var.is_empty() { None } else { read_key(&var) };
            provider.api_key_env = Some(var).filter(|v| !v.is_empty());
        } else {
            // Never repeat it: it may be the key itself, pasted in the wrong place.
            problems.push(ConfigProblem::new(format!(
                "{label}: api_key_env must be the name of an environment variable (letters, digits, _), not a key; it is ignored"
            )));
            provider.api_key_env = None;
            provider.api_key = None;
        }
    }
    match table.get("timeout_ms") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|ms| ms > 0) => {
            provider.timeout =
                Duration::from_millis(n.as_u64().unwrap_or_default().min(MAX_WAIT_MS));
        }
        Some(other) => problems.push(ConfigProblem::new(format!(
            "{label}: timeout_ms must be a positive integer, got {other} (keeping {} ms)",
            provider.timeout.as_millis()
        ))),
    }
    if let Some(page) = string("status_page")? {
        provider.status_page =
            Some(page.trim_end_matches('/').to_string()).filter(|p| !p.is_empty());
        if let Some(page) = &provider.status_page
            && reqwest::Url::parse(page).is_err()
        {
            problems.push(ConfigProblem::new(format!(
                "{label}: malformed status_page \"{page}\" (status page not watched)"
            )));
            provider.status_page = None;
        }
    }
    if let Some(component) = string("status_component")? {
        provider.status_component = Some(component).filter(|c| !c.is_empty());
    }
    if let Some(template) = string("fim_template")?.filter(|t| !t.is_empty()) {
        match template.parse::<FimTemplate>() {
            Ok(t) => provider.fim_template = Some(t),
            Err(()) => problems.push(ConfigProblem::new(format!(
                "{label}: unknown fim_template \"{template}\" (one of {}; sending suffix instead)",
                FimTemplate::NAMES
            ))),
        }
    }
    match table.get("stream") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => provider.stream = *b,
        Some(other) => problems.push(ConfigProblem::new(format!(
            "{label}: stream must be true or false, got {other}"
        ))),
    }
    for key in table.keys() {
        if !PROVIDER_KEYS.contains(&key.as_str()) {
            problems.push(ConfigProblem::new(format!(
                "{label}: unknown key \"{key}\" (ignored)"
            )));
        }
    }
    Ok(provider)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Each kind whose default key variable is set, in the order of DESIGN.md §3.
fn providers_from_environment() -> Vec<ProviderConfig> {
    ProviderKind::ALL
        .into_iter()
        .filter(|kind| kind.default_key_env().is_some())
        .map(|kind| ProviderConfig::with_defaults(kind.as_str(), kind, kind.default_model()))
        .filter(|p| p.api_key.is_some())
        .collect()
}

fn apply_order(
    providers: &mut Vec<ProviderConfig>,
    order: &[String],
    problems: &mut Vec<ConfigProblem>,
) {
    let mut ordered = Vec::with_capacity(providers.len());
    for name in order {
        match providers.iter().position(|p| &p.name == name) {
            Some(index) => ordered.push(providers.remove(index)),
            None if ordered.iter().any(|p: &ProviderConfig| &p.name == name) => {}
            None => problems.push(ConfigProblem::new(format!(
                "routing.order: unknown provider \"{name}\" (known: {})",
                names(providers)
            ))),
        }
    }
    ordered.append(providers);
    *providers = ordered;
}

/// One `[section]` of the tree, read key by key.
struct Section<'a> {
    name: &'static str,
    table: Option<&'a Map<String, Value>>,
    problems: &'a mut Vec<ConfigProblem>,
}

impl<'a> Section<'a> {
    fn new(
        name: &'static str,
        root: &'a Map<String, Value>,
        problems: &'a mut Vec<ConfigProblem>,
    ) -> Self {
        let table = match root.get(name) {
            None => None,
            Some(Value::Object(table)) => Some(table),
            Some(other) => {
                problems.push(ConfigProblem::new(format!(
                    "{name}: expected a table, got {}",
                    type_name(other)
                )));
                None
            }
        };
        Section {
            name,
            table,
            problems,
        }
    }

    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.table?.get(key).filter(|v| !v.is_null())
    }

    fn problem(&mut self, key: &str, message: String) {
        self.problems.push(ConfigProblem::new(format!(
            "{}.{key}: {message}",
            self.name
        )));
    }

    fn get<T: DeserializeOwned + std::fmt::Debug>(&mut self, key: &str, default: T) -> T {
        let Some(value) = self.raw(key) else {
            return default;
        };
        match serde_json::from_value::<T>(value.clone()) {
            Ok(v) => v,
            Err(_) => {
                let expected = expected_for(&default);
                self.problem(
                    key,
                    format!("expected {expected}, got {value} (keeping {default:?})"),
                );
                default
            }
        }
    }

    /// A number in `min..=max`; outside it, the nearest bound, reported.
    fn within<T>(&mut self, key: &str, default: T, min: T, max: T) -> T
    where
        T: DeserializeOwned + std::fmt::Debug + PartialOrd + Copy,
    {
        let value = self.get(key, default);
        if value < min {
            self.problem(key, format!("must be at least {min:?} (using {min:?})"));
            return min;
        }
        if value > max {
            self.problem(key, format!("must be at most {max:?} (using {max:?})"));
            return max;
        }
        value
    }

    fn globs(&mut self, key: &str, default: Vec<String>) -> Vec<String> {
        let globs: Vec<String> = self.get(key, default.clone());
        let mut valid = Vec::with_capacity(globs.len());
        for glob in globs {
            match globset::Glob::new(&glob) {
                Ok(_) => valid.push(glob),
                Err(err) => self.problem(key, format!("invalid glob \"{glob}\": {err} (left out)")),
            }
        }
        valid
    }

    fn finish(self, known: &[&str]) {
        for key in self.table.into_iter().flat_map(|t| t.keys()) {
            if !known.contains(&key.as_str()) {
                self.problems.push(ConfigProblem::new(format!(
                    "{}.{key}: unknown key (ignored)",
                    self.name
                )));
            }
        }
    }
}

fn expected_for<T: std::fmt::Debug>(default: &T) -> &'static str {
    let shown = format!("{default:?}");
    if shown.starts_with('[') {
        "an array of strings"
    } else if shown.starts_with('"') {
        "a string"
    } else {
        "a non-negative integer"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_value(value: Value) -> (Config, Vec<String>) {
        let mut problems = Vec::new();
        let parsed = parse(&value, &mut problems);
        (
            parsed.config,
            problems.into_iter().map(|p| p.message).collect(),
        )
    }

    #[test]
    fn a_bad_provider_is_left_out_and_the_rest_runs() {
        let (config, problems) = parse_value(json!({"provider": [
            {"name": "a", "kind": "openai-fim", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
            {"name": "b", "kind": "antropic", "model": "m"},
            {"name": "a", "kind": "ollama", "model": "m"},
            {"name": "c", "kind": "openai", "model": "m", "base_url": "not a url"},
            {"name": "d", "kind": "gemini"},
        ]}));
        let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "local"]);
        assert!(problems.iter().any(|p| p == "provider #2: unknown kind \"antropic\" (one of anthropic, openai, openai-fim, gemini, codestral, ollama, local)"), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("duplicate name \"a\"")));
        assert!(problems.iter().any(|p| p.contains("malformed base_url")));
        assert!(problems.iter().any(|p| p.contains("missing model")));
    }

    #[test]
    fn a_bad_value_keeps_the_default_and_names_the_key() {
        let (config, problems) = parse_value(
            json!({"completion": {"max_tokens": "lots"}, "routing": {"hedge_ms": "sometimes"}}),
        );
        assert_eq!(config.completion.max_tokens, 128);
        assert_eq!(config.routing.hedge, Hedge::Auto);
        assert!(
            problems[0].starts_with("completion.max_tokens: expected a non-negative integer"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("routing.hedge_ms"), "{problems:?}");
    }

    #[test]
    fn order_moves_named_providers_first_and_local_is_appended() {
        let (config, problems) = parse_value(json!({
            "routing": {"order": ["b", "nope"]},
            "provider": [
                {"name": "a", "kind": "ollama", "model": "m"},
                {"name": "b", "kind": "ollama", "model": "m"},
            ]
        }));
        let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "local"]);
        assert!(problems[0].contains("routing.order: unknown provider \"nope\""));
    }

    #[test]
    fn numbers_outside_their_range_are_clamped_and_reported() {
        let (config, problems) = parse_value(json!({
            "cache": {"capacity": 9223372036854775807u64},
            "completion": {"max_prefix_chars": 100000000, "deadline_ms": 18446744073709551615u64},
            "routing": {"status_poll_secs": 9223372036854775807u64}
        }));
        assert_eq!(config.cache.capacity, 1_000_000);
        assert_eq!(config.completion.max_prefix_chars, 100_000);
        assert_eq!(config.completion.deadline_ms, MAX_WAIT_MS);
        assert_eq!(config.routing.status_poll_secs, 86_400);
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn a_key_pasted_into_api_key_env_is_refused_without_repeating_it() {
        let (config, problems) = parse_value(json!({"provider": [
            {"name": "a", "kind": "openai", "model": "m", "api_key_env": "sk-live-PASTED-KEY-123"}
        ]}));
        assert_eq!(config.providers[0].api_key_env, None);
        assert!(
            problems.iter().all(|p| !p.contains("PASTED")),
            "{problems:?}"
        );
        assert!(problems[0].contains("api_key_env must be the name of an environment variable"));
    }

    #[test]
    fn hedge_accepts_auto_off_and_milliseconds() {
        for (value, expected) in [
            (json!("auto"), Hedge::Auto),
            (json!("off"), Hedge::Off),
            (json!(250), Hedge::Fixed(Duration::from_millis(250))),
        ] {
            let (config, problems) = parse_value(json!({"routing": {"hedge_ms": value}}));
            assert!(problems.is_empty());
            assert_eq!(config.routing.hedge, expected);
        }
    }
}
