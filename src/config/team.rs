//! The `[team]` settings (DESIGN.md §3, §8): read from the merged config tree, checked,
//! and a Redis URL made safe to print (any password in it is replaced by `***`).

use serde_json::Value;

use super::Secret;
use super::network::redact_url;

/// Where the Redis password comes from; never from a URL in a file.
pub const PASSWORD_ENV: &str = "SWITCHBOARD_REDIS_PASSWORD";

/// Team mode as configured; `None` from [`parse`] means team mode is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamConfig {
    /// As configured: print it only through [`redact_url`].
    pub redis_url: String,
    pub name: String,
    pub share_health: bool,
    pub share_cache: bool,
    /// `SWITCHBOARD_REDIS_PASSWORD`, read when the config is loaded.
    pub password: Option<Secret>,
}

impl TeamConfig {
    /// The URL safe to print.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.redis_url)
    }
}

/// Reads the `[team]` table. Team mode is on only when `redis_url` is a non-empty string;
/// each bad key is one problem (dotted name first) and, without a `name`, team mode stays off.
pub fn parse(section: Option<&Value>, problems: &mut Vec<String>) -> Option<TeamConfig> {
    let table = match section? {
        Value::Object(table) => table,
        other => {
            problems.push(format!(
                "team: expected a table, got {}",
                super::type_name(other)
            ));
            return None;
        }
    };
    let mut config = TeamConfig {
        redis_url: String::new(),
        name: String::new(),
        share_health: true,
        share_cache: false,
        password: None,
    };
    for (key, value) in table {
        match (key.as_str(), value) {
            ("redis_url", Value::String(url)) => config.redis_url = url.trim().to_string(),
            ("name", Value::String(name)) => config.name = name.trim().to_string(),
            ("share_health", Value::Bool(on)) => config.share_health = *on,
            ("share_cache", Value::Bool(on)) => config.share_cache = *on,
            ("redis_url" | "name", other) => problems.push(format!(
                "team.{key}: expected a string, got {}",
                super::type_name(other)
            )),
            ("share_health" | "share_cache", other) => problems.push(format!(
                "team.{key}: expected true or false, got {}",
                super::type_name(other)
            )),
            _ => problems.push(format!("team.{key}: unknown key (ignored)")),
        }
    }
    if config.redis_url.is_empty() {
        return None;
    }
    if !(config.redis_url.starts_with("redis://") || config.redis_url.starts_with("rediss://")) {
        problems.push(format!(
            "team.redis_url: \"{}\" is not a redis:// or rediss:// URL (team mode off)",
            redact_url(&config.redis_url)
        ));
        return None;
    }
    if config.name.is_empty() {
        problems.push("team.name: required when team.redis_url is set (team mode off)".to_string());
        return None;
    }
    if !config
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        problems.push(format!(
            "team.name: \"{}\" may hold only letters, digits, '-', '_' and '.' (team mode off)",
            config.name.escape_debug()
        ));
        return None;
    }
    config.password = super::provider::read_key(PASSWORD_ENV);
    Some(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn off_without_a_url_and_defaults_otherwise() {
        let mut problems = Vec::new();
        assert_eq!(parse(None, &mut problems), None);
        assert_eq!(parse(Some(&json!({"name": "acme"})), &mut problems), None);
        let team = parse(
            Some(&json!({"redis_url": "redis://127.0.0.1:6379/0", "name": "acme"})),
            &mut problems,
        )
        .unwrap();
        assert!(team.share_health && !team.share_cache);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_url_without_a_name_is_a_problem_and_leaves_team_mode_off() {
        let mut problems = Vec::new();
        assert_eq!(
            parse(Some(&json!({"redis_url": "redis://h"})), &mut problems),
            None
        );
        assert_eq!(
            problems,
            ["team.name: required when team.redis_url is set (team mode off)"]
        );
    }

    #[test]
    fn bad_values_are_named_and_never_echo_a_password() {
        let mut problems = Vec::new();
        let team = parse(
            Some(
                &json!({"redis_url": "http://u:hunter2@h", "name": "a", "share_cache": "yes", "extra": 1}),
            ),
            &mut problems,
        );
        assert_eq!(team, None);
        assert!(
            problems.iter().any(|p| p.starts_with("team.share_cache:")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p == "team.extra: unknown key (ignored)")
        );
        assert!(
            problems.iter().all(|p| !p.contains("hunter2")),
            "{problems:?}"
        );
    }

    #[test]
    fn redaction_hides_every_form_of_password() {
        assert_eq!(
            redact_url("redis://u:pw@h:6379/0"),
            "redis://u:***@h:6379/0"
        );
        assert_eq!(redact_url("redis://pw@h/1"), "redis://***@h/1");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact_url("redis://u:p@ss@h"), "redis://u:***@h");
    }
}
