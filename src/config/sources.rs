//! Reading and merging the config layers, remembering where each value came from.
//!
//! Layers, later wins: built-in defaults < user file < workspace `.switchboard.toml`
//! (restricted: it may not choose providers or the cache path) < editor settings.
//! Tables merge key by key; an array or a scalar given by a layer replaces the one below.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Config, ConfigProblem, parse};

/// Where the layers are read from.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// `$SWITCHBOARD_CONFIG`, else `$XDG_CONFIG_HOME/switchboard/config.toml`.
    pub user_file: Option<PathBuf>,
    /// The workspace root; its `.switchboard.toml` is the (untrusted) workspace layer.
    pub workspace_root: Option<PathBuf>,
    /// `initializationOptions`, replaced as a whole by `workspace/didChangeConfiguration`.
    pub editor: Option<Value>,
}

/// The layer a value came from, for `switchboard-ls config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Default,
    UserFile,
    Workspace,
    Editor,
    /// The provider chain derived from which API key variables are set.
    Environment,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Default => "default",
            Origin::UserFile => "user file",
            Origin::Workspace => "workspace .switchboard.toml",
            Origin::Editor => "editor settings",
            Origin::Environment => "environment",
        })
    }
}

/// The effective config, every problem found while building it, and the origin of
/// each value that did not come from the defaults.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub problems: Vec<ConfigProblem>,
    /// Dotted key (`completion.max_tokens`, `provider`) → the layer that set it.
    pub origins: BTreeMap<String, Origin>,
    /// The user file, when one was read.
    pub user_file: Option<PathBuf>,
    /// The workspace file, when one was read.
    pub workspace_file: Option<PathBuf>,
    /// A user file that exists but could not be read or parsed, and was ignored.
    pub user_file_ignored: Option<PathBuf>,
}

impl LoadedConfig {
    pub fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).copied().unwrap_or(Origin::Default)
    }
}

pub const WORKSPACE_FILE: &str = ".switchboard.toml";

impl ConfigSources {
    /// The user file location from the environment, with no workspace and no editor layer.
    pub fn from_env() -> Self {
        ConfigSources {
            user_file: user_config_path(),
            workspace_root: None,
            editor: None,
        }
    }
}

/// `$SWITCHBOARD_CONFIG`, else `$XDG_CONFIG_HOME/switchboard/config.toml`, else
/// `~/.config/switchboard/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SWITCHBOARD_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config_home.join("switchboard").join("config.toml"))
}

/// Reads every layer and builds the effective config. Never fails: each problem is
/// collected and the offending layer, key or provider is left out.
pub fn load(sources: &ConfigSources) -> LoadedConfig {
    let mut merged = Value::Object(Map::new());
    let mut origins = BTreeMap::new();
    let mut problems = Vec::new();
    let mut user_file = None;
    let mut workspace_file = None;

    let mut user_file_ignored = None;
    if let Some(path) = &sources.user_file {
        let before = problems.len();
        match read_toml_layer(path, &mut problems) {
            Some(layer) => {
                merge(&mut merged, layer, Origin::UserFile, "", &mut origins);
                user_file = Some(path.clone());
            }
            None if problems.len() > before => user_file_ignored = Some(path.clone()),
            None => {}
        }
    }

    if let Some(root) = &sources.workspace_root {
        let path = root.join(WORKSPACE_FILE);
        if let Some(mut layer) = read_toml_layer(&path, &mut problems) {
            if let Some(problem) = strip_untrusted_keys(&mut layer) {
                problems.push(problem);
            }
            only_add_excludes(&mut layer, &merged);
            merge(&mut merged, layer, Origin::Workspace, "", &mut origins);
            workspace_file = Some(path);
        }
    }

    if let Some(editor) = &sources.editor {
        match editor_layer(editor) {
            Ok(Some(layer)) => merge(&mut merged, layer, Origin::Editor, "", &mut origins),
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }

    let mut parsed = parse::parse(&merged, &mut problems);
    parsed.config.completion.workspace_root = sources.workspace_root.clone();
    if parsed.providers_from_env {
        origins.insert("provider".to_string(), Origin::Environment);
    }
    LoadedConfig {
        config: parsed.config,
        problems,
        origins,
        user_file,
        workspace_file,
        user_file_ignored,
    }
}

fn read_toml_layer(path: &Path, problems: &mut Vec<ConfigProblem>) -> Option<Value> {
    let text = match read_config_file(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            problems.push(ConfigProblem::new(format!(
                "{}: cannot read ({err})",
                path.display()
            )));
            return None;
        }
    };
    match toml::from_str::<toml::Table>(&text) {
        Ok(table) => match serde_json::to_value(table) {
            Ok(value) => Some(value),
            Err(err) => {
                problems.push(ConfigProblem::new(format!("{}: {err}", path.display())));
                None
            }
        },
        Err(err) => {
            let detail = err.message().to_string();
            let line = err.span().map(|span| {
                text.get(..span.start)
                    .unwrap_or(&text)
                    .lines()
                    .count()
                    .max(1)
            });
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            problems.push(ConfigProblem::new(format!(
                "{}: invalid TOML{at}: {detail}",
                path.display()
            )));
            None
        }
    }
}

/// The most a config file may be.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file that must be a regular file of at most [`MAX_CONFIG_BYTES`]: a
/// cloned repository's `.switchboard.toml` can be a symlink to `/dev/zero` or a FIFO.
fn read_config_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if metadata.len() > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(format!(
            "{} bytes, over the {} KiB limit",
            metadata.len(),
            MAX_CONFIG_BYTES / 1024
        )));
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES).read_to_string(&mut text)?;
    Ok(text)
}

/// Removes what an untrusted workspace file may not set, and says what was ignored.
fn strip_untrusted_keys(layer: &mut Value) -> Option<ConfigProblem> {
    let table = layer.as_object_mut()?;
    let mut ignored = Vec::new();
    if let Some(providers) = table.remove("provider") {
        let mut keys: Vec<String> = Vec::new();
        for provider in providers.as_array().into_iter().flatten() {
            for key in provider.as_object().into_iter().flat_map(|t| t.keys()) {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
        if keys.is_empty() {
            ignored.push("[[provider]]".to_string());
        } else {
            ignored.push(format!("[[provider]] ({})", keys.join(", ")));
        }
    }
    if let Some(cache) = table.get_mut("cache").and_then(Value::as_object_mut)
        && cache.remove("path").is_some()
    {
        ignored.push("cache.path".to_string());
    }
    // [network] and [team] (DESIGN §6, §8): a proxy, CA roots or a Redis of the
    // repository's choosing would see the code sent, health reports and shared
    // completions; only the user file or the editor may set them.
    for section in ["network", "team"] {
        if let Some(value) = table.remove(section) {
            let keys: Vec<String> = value
                .as_object()
                .map(|t| t.keys().map(|k| format!("{section}.{k}")).collect())
                .unwrap_or_default();
            if keys.is_empty() {
                ignored.push(format!("[{section}]"));
            } else {
                ignored.push(keys.join(", "));
            }
        }
    }
    if ignored.is_empty() {
        return None;
    }
    Some(ConfigProblem::new(format!(
        "{WORKSPACE_FILE}: ignored {} — a workspace file may not choose providers, where keys are sent, or where the cache is written; set them in your user config",
        ignored.join(" and ")
    )))
}

/// A workspace may add to `completion.exclude` but never remove from it: its list is
/// joined to the one below instead of replacing it.
fn only_add_excludes(layer: &mut Value, below: &Value) {
    let Some(added) = layer
        .get_mut("completion")
        .and_then(|c| c.get_mut("exclude"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut joined: Vec<Value> = match below.get("completion").and_then(|c| c.get("exclude")) {
        Some(Value::Array(items)) => items.clone(),
        _ => super::DEFAULT_EXCLUDE
            .iter()
            .map(|g| Value::String(g.to_string()))
            .collect(),
    };
    for glob in added.drain(..) {
        if !joined.contains(&glob) {
            joined.push(glob);
        }
    }
    *added = joined;
}

/// The editor layer: the `switchboard` object itself (a wrapped `{"switchboard": {..}}`
/// is accepted too). `null` values mean "not set" and are dropped.
fn editor_layer(value: &Value) -> Result<Option<Value>, ConfigProblem> {
    let value = match value {
        // An empty Lua table reaches us as `[]`.
        Value::Null => return Ok(None),
        Value::Array(items) if items.is_empty() => return Ok(None),
        Value::Object(map)
            if map.len() == 1 && map.get("switchboard").is_some_and(Value::is_object) =>
        {
            &map["switchboard"]
        }
        Value::Object(_) => value,
        other => {
            return Err(ConfigProblem::new(format!(
                "editor settings: expected an object of switchboard settings, got {}",
                type_name(other)
            )));
        }
    };
    Ok(Some(without_nulls(value.clone())))
}

/// Drops `null`s ("not set") and empty arrays standing for empty tables (Neovim sends
/// an empty Lua table as `[]`).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, v)| {
                    !(v.is_null() || is_table_key(k) && v.as_array().is_some_and(Vec::is_empty))
                })
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

fn is_table_key(key: &str) -> bool {
    matches!(key, "completion" | "cache" | "routing")
}

fn merge(
    base: &mut Value,
    overlay: Value,
    origin: Origin,
    path: &str,
    origins: &mut BTreeMap<String, Origin>,
) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let slot = base.entry(key).or_insert(Value::Null);
                if slot.is_object() && value.is_object() {
                    merge(slot, value, origin, &child_path, origins);
                } else {
                    if let Value::Object(table) = &value {
                        record_leaves(table, origin, &child_path, origins);
                    }
                    origins.insert(child_path, origin);
                    *slot = value;
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn record_leaves(
    table: &Map<String, Value>,
    origin: Origin,
    path: &str,
    origins: &mut BTreeMap<String, Origin>,
) {
    for (key, value) in table {
        let child = format!("{path}.{key}");
        if let Value::Object(inner) = value {
            record_leaves(inner, origin, &child, origins);
        }
        origins.insert(child, origin);
    }
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sources_with(
        dir: &Path,
        user: &str,
        workspace: Option<&str>,
        editor: Option<Value>,
    ) -> ConfigSources {
        let user_path = dir.join("config.toml");
        std::fs::write(&user_path, user).unwrap();
        let root = dir.join("ws");
        std::fs::create_dir_all(&root).unwrap();
        if let Some(text) = workspace {
            std::fs::write(root.join(WORKSPACE_FILE), text).unwrap();
        }
        ConfigSources {
            user_file: Some(user_path),
            workspace_root: Some(root),
            editor,
        }
    }

    #[test]
    fn later_layers_win_key_by_key_and_origins_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with(
            dir.path(),
            "[completion]\nmax_tokens = 64\nmax_prefix_chars = 100\n",
            Some("[completion]\nmax_tokens = 32\n"),
            Some(json!({"completion": {"max_prefix_chars": 50, "deadline_ms": null}})),
        );
        let loaded = load(&sources);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.config.completion.max_tokens, 32);
        assert_eq!(loaded.config.completion.max_prefix_chars, 50);
        assert_eq!(loaded.config.completion.deadline_ms, 2500);
        assert_eq!(loaded.origin("completion.max_tokens"), Origin::Workspace);
        assert_eq!(loaded.origin("completion.max_prefix_chars"), Origin::Editor);
        assert_eq!(loaded.origin("completion.deadline_ms"), Origin::Default);
    }

    #[test]
    fn workspace_file_cannot_choose_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with(
            dir.path(),
            "",
            Some(
                "[completion]\nmax_tokens = 32\n[network]\nproxy = \"http://evil.example:3128\"\nca_file = \"evil.pem\"\n",
            ),
            None,
        );
        let loaded = load(&sources);
        assert_eq!(loaded.config.completion.max_tokens, 32);
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        let message = &loaded.problems[0].message;
        assert!(message.contains("network.proxy"), "{message}");
        assert!(message.contains("network.ca_file"), "{message}");
    }

    #[test]
    fn workspace_file_cannot_choose_a_team_redis() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with(
            dir.path(),
            "",
            Some("[team]\nredis_url = \"redis://evil.example\"\nname = \"x\"\n"),
            None,
        );
        let loaded = load(&sources);
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        let message = &loaded.problems[0].message;
        assert!(message.contains("team.redis_url"), "{message}");
        assert!(message.contains("team.name"), "{message}");
        assert!(!message.contains("evil.example"), "{message}");
    }

    #[test]
    fn workspace_file_cannot_add_providers_or_move_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with(
            dir.path(),
            "",
            Some(
                "[cache]\npath = \"/etc/passwd\"\nttl_secs = 5\n[[provider]]\nname = \"evil\"\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"http://evil.example\"\napi_key_env = \"OPENAI_API_KEY\"\n",
            ),
            None,
        );
        let loaded = load(&sources);
        assert!(loaded.config.provider("evil").is_none());
        assert_eq!(loaded.config.cache.path, "");
        assert_eq!(loaded.config.cache.ttl_secs, 5);
        let message = &loaded.problems[0].message;
        assert!(
            message.contains("base_url") && message.contains("api_key_env"),
            "{message}"
        );
        assert!(message.contains("cache.path"), "{message}");
    }

    #[test]
    fn a_workspace_can_add_excludes_but_not_remove_them() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with(
            dir.path(),
            "",
            Some("[completion]\nexclude = [\"**/*.secret\"]\n"),
            None,
        );
        let exclude = load(&sources).config.completion.exclude;
        assert!(exclude.contains(&"**/.env".to_string()), "{exclude:?}");
        assert!(exclude.contains(&"**/*.secret".to_string()), "{exclude:?}");
        let sources = sources_with(dir.path(), "", Some("[completion]\nexclude = []\n"), None);
        assert!(
            load(&sources)
                .config
                .completion
                .exclude
                .contains(&"**/*.pem".to_string())
        );
    }

    #[test]
    fn a_config_file_that_is_not_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join(WORKSPACE_FILE)).unwrap();
        let loaded = load(&ConfigSources {
            workspace_root: Some(root),
            ..Default::default()
        });
        assert!(
            loaded.problems[0].message.contains("not a regular file"),
            "{:?}",
            loaded.problems
        );
    }

    #[test]
    fn broken_toml_is_reported_with_its_line_and_the_rest_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with(
            dir.path(),
            "[completion]\nmax_tokens = = 3\n",
            None,
            Some(json!({"completion": {"max_tokens": 7}})),
        );
        let loaded = load(&sources);
        assert_eq!(loaded.config.completion.max_tokens, 7);
        assert!(
            loaded.problems[0].message.contains("line 2"),
            "{:?}",
            loaded.problems
        );
    }

    #[test]
    fn empty_lua_tables_sent_as_arrays_are_empty_tables() {
        let loaded = load(&ConfigSources {
            editor: Some(json!({"completion": [], "routing": {"order": []}})),
            ..Default::default()
        });
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        let loaded = load(&ConfigSources {
            editor: Some(json!([])),
            ..Default::default()
        });
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    }

    #[test]
    fn a_wrapped_editor_object_is_accepted() {
        let loaded = load(&ConfigSources {
            editor: Some(json!({"switchboard": {"completion": {"max_tokens": 9}}})),
            ..Default::default()
        });
        assert_eq!(loaded.config.completion.max_tokens, 9);
    }
}
