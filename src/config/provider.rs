//! One `[[provider]]` entry and the per-kind defaults of DESIGN.md §3.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Anthropic,
    OpenAi,
    Gemini,
    Codestral,
    OpenAiFim,
    Ollama,
    Local,
}

impl ProviderKind {
    /// Every kind, in the order the environment-derived chain uses.
    pub const ALL: [ProviderKind; 7] = [
        ProviderKind::Anthropic,
        ProviderKind::OpenAi,
        ProviderKind::Gemini,
        ProviderKind::Codestral,
        ProviderKind::OpenAiFim,
        ProviderKind::Ollama,
        ProviderKind::Local,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Codestral => "codestral",
            ProviderKind::OpenAiFim => "openai-fim",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Local => "local",
        }
    }

    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
            ProviderKind::Codestral => "https://codestral.mistral.ai",
            ProviderKind::OpenAiFim => "http://127.0.0.1:8000/v1",
            ProviderKind::Ollama => "http://127.0.0.1:11434",
            ProviderKind::Local => "",
        }
    }

    pub fn default_key_env(self) -> Option<&'static str> {
        match self {
            ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY"),
            ProviderKind::OpenAi => Some("OPENAI_API_KEY"),
            ProviderKind::Gemini => Some("GEMINI_API_KEY"),
            ProviderKind::Codestral => Some("CODESTRAL_API_KEY"),
            ProviderKind::OpenAiFim => Some("OPENAI_FIM_API_KEY"),
            ProviderKind::Ollama | ProviderKind::Local => None,
        }
    }

    pub fn default_status_page(self) -> Option<&'static str> {
        match self {
            ProviderKind::Anthropic => Some("https://status.claude.com"),
            ProviderKind::OpenAi => Some("https://status.openai.com"),
            _ => None,
        }
    }

    pub fn default_status_component(self) -> Option<&'static str> {
        match self {
            ProviderKind::Anthropic => Some("Claude API"),
            _ => None,
        }
    }

    /// The model used when the chain is derived from the environment.
    pub fn default_model(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "claude-haiku-4-5",
            ProviderKind::OpenAi => "gpt-4.1-mini",
            ProviderKind::Gemini => "gemini-2.5-flash",
            ProviderKind::Codestral => "codestral-latest",
            ProviderKind::OpenAiFim => "default",
            ProviderKind::Ollama => "qwen2.5-coder:1.5b",
            ProviderKind::Local => "local",
        }
    }

    /// Whether the provider needs an API key to be usable at all.
    pub fn requires_key(self) -> bool {
        matches!(
            self,
            ProviderKind::Anthropic
                | ProviderKind::OpenAi
                | ProviderKind::Gemini
                | ProviderKind::Codestral
        )
    }

    pub fn is_cloud(self) -> bool {
        self != ProviderKind::Local
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// The model family whose fill-in-the-middle tokens build a raw prompt, for servers
/// that reject `suffix` (vLLM, llama.cpp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FimTemplate {
    Qwen,
    StarCoder,
    CodeLlama,
    DeepSeek,
    Codestral,
}

impl FimTemplate {
    pub const NAMES: &'static str = "qwen, starcoder, codellama, deepseek, codestral";

    pub fn as_str(self) -> &'static str {
        match self {
            FimTemplate::Qwen => "qwen",
            FimTemplate::StarCoder => "starcoder",
            FimTemplate::CodeLlama => "codellama",
            FimTemplate::DeepSeek => "deepseek",
            FimTemplate::Codestral => "codestral",
        }
    }
}

impl FromStr for FimTemplate {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "qwen" => Ok(FimTemplate::Qwen),
            "starcoder" => Ok(FimTemplate::StarCoder),
            "codellama" => Ok(FimTemplate::CodeLlama),
            "deepseek" => Ok(FimTemplate::DeepSeek),
            "codestral" => Ok(FimTemplate::Codestral),
            _ => Err(()),
        }
    }
}

/// One provider of the fallback chain, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    pub model: String,
    /// Without a trailing slash.
    pub base_url: String,
    /// The variable the key is read from, if this kind uses one.
    pub api_key_env: Option<String>,
    /// The key read from `api_key_env` when the config was built.
    pub api_key: Option<Secret>,
    pub timeout: Duration,
    pub status_page: Option<String>,
    pub status_component: Option<String>,
    pub fim_template: Option<FimTemplate>,
    /// Ask for a streamed answer (SSE / NDJSON); `false` asks for one JSON body.
    pub stream: bool,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);

impl ProviderConfig {
    /// The built-in offline engine.
    pub fn local() -> Self {
        ProviderConfig::with_defaults("local", ProviderKind::Local, "local")
    }

    /// A provider of `kind` with every default of DESIGN.md §3, the key read from
    /// the environment.
    pub fn with_defaults(name: &str, kind: ProviderKind, model: &str) -> Self {
        let api_key_env = kind.default_key_env().map(str::to_string);
        let api_key = api_key_env.as_deref().and_then(read_key);
        ProviderConfig {
            name: name.to_string(),
            kind,
            model: model.to_string(),
            base_url: kind.default_base_url().to_string(),
            api_key_env,
            api_key,
            timeout: DEFAULT_TIMEOUT,
            status_page: kind.default_status_page().map(str::to_string),
            status_component: kind.default_status_component().map(str::to_string),
            fim_template: None,
            stream: true,
        }
    }

    /// `claude (anthropic)`: how the user sees this provider in every message.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.kind)
    }

    /// Whether the provider can be asked at all: it has a key if its kind needs one.
    pub fn has_required_key(&self) -> bool {
        !self.kind.requires_key() || self.api_key.is_some()
    }
}

/// Reads a key from the environment; an empty variable counts as unset.
pub fn read_key(var: &str) -> Option<Secret> {
    std::env::var(var)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}
