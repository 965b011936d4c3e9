"""Checks editors/helix/languages.toml: it starts `switchboard-ls`, hooks it into languages after
their own servers, and its `config` (and the commented example of it) uses only config keys that
switchboard-ls reads (docs/CONFIG.md, the project's own reference), with values of the right
type."""

import re
import tomllib
import unittest
from pathlib import Path

HELIX_DIR = Path(__file__).resolve().parent.parent
LANGUAGES_TOML = HELIX_DIR / "languages.toml"
CONFIG_MD = HELIX_DIR.parent.parent / "docs" / "CONFIG.md"

# docs/CONFIG.md, key -> accepted Python types after TOML parsing; checked against the
# reference's own TOML block below.
SCHEMA = {
    "completion": {
        "max_prefix_chars": int, "max_suffix_chars": int, "max_tokens": int,
        "deadline_ms": int, "exclude": list,
    },
    "cache": {"capacity": int, "ttl_secs": int, "path": str},
    "routing": {
        "retries": int, "hedge_ms": (str, int), "breaker_failures": int,
        "breaker_cooldown_ms": int, "status_poll_secs": int, "notify": str,
        "order": list, "disabled": list, "slow_ms": (str, int), "quality_failures": int,
    },
    "network": {"proxy": str, "ca_file": str, "prewarm": bool},
    "team": {"redis_url": str, "name": str, "share_health": bool, "share_cache": bool},
    "provider": {
        "name": str, "kind": str, "model": str, "base_url": str, "api_key_env": str,
        "timeout_ms": int, "status_page": str, "status_component": str, "fim_template": str,
        "stream": bool,
    },
}
KINDS = {"anthropic", "openai", "openai-fim", "gemini", "codestral", "ollama", "local"}
FIM_TEMPLATES = {"", "qwen", "starcoder", "codellama", "deepseek", "codestral"}
HELIX_FEATURES = {
    "format", "goto-declaration", "goto-definition", "goto-type-definition", "goto-reference",
    "goto-implementation", "signature-help", "hover", "document-highlight", "completion",
    "code-action", "workspace-command", "document-symbols", "workspace-symbols", "diagnostics",
    "rename-symbol", "inlay-hints", "document-colors",
}


def load():
    text = LANGUAGES_TOML.read_text()
    return text, tomllib.loads(text)


def example_config(text):
    """The commented-out example inside [language-server.switchboard.config], uncommented."""
    match = re.search(r"# example-config:.*?\n(.*?)# end-example-config", text, re.S)
    assert match, "no example-config block in languages.toml"
    lines = [re.sub(r"^# ?", "", line) for line in match.group(1).splitlines()]
    doc = tomllib.loads("[language-server.switchboard.config]\n" + "\n".join(lines))
    return doc["language-server"]["switchboard"]["config"]


def config_problems(config):
    """Every key or value in a switchboard config object that docs/CONFIG.md does not allow."""
    problems = []
    for section, value in config.items():
        if section not in SCHEMA:
            problems.append(f"unknown section {section!r}")
            continue
        tables = value if section == "provider" else [value]
        if section == "provider" and not isinstance(value, list):
            problems.append("provider must be an array of tables")
            continue
        for table in tables:
            for key, item in table.items():
                expected = SCHEMA[section].get(key)
                if expected is None:
                    problems.append(f"unknown key {section}.{key}")
                elif not isinstance(item, expected) or (isinstance(item, bool) and expected is not bool):
                    problems.append(f"{section}.{key} = {item!r} has the wrong type")
            if section == "provider":
                if table.get("kind") not in KINDS:
                    problems.append(f"provider kind {table.get('kind')!r}")
                if table.get("fim_template", "") not in FIM_TEMPLATES:
                    problems.append(f"fim_template {table.get('fim_template')!r}")
                for key in ("name", "kind"):
                    if key not in table:
                        problems.append(f"provider without {key}")
    return problems


class LanguagesToml(unittest.TestCase):
    def test_server_runs_the_switchboard_ls_binary(self):
        _, doc = load()
        server = doc["language-server"]["switchboard"]
        self.assertEqual(server["command"], "switchboard-ls")
        self.assertEqual(server.get("args", []), [], "no args needed: stdio is the default")

    def test_config_uses_only_keys_the_server_reads(self):
        _, doc = load()
        config = doc["language-server"]["switchboard"].get("config", {})
        self.assertNotIn("switchboard", config, "config is the object itself, not wrapped")
        self.assertEqual(config_problems(config), [])

    def test_example_config_uses_only_keys_the_server_reads(self):
        text, _ = load()
        example = example_config(text)
        self.assertTrue(example.get("provider"), "the example shows a provider chain")
        self.assertEqual(config_problems(example), [])

    def test_no_api_key_in_the_file(self):
        text, _ = load()
        self.assertNotRegex(text, r"(?m)^\s*#?\s*api_key\s*=", "keys come from the environment")
        self.assertNotRegex(text, r"sk-[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_-]{20,}")

    def test_languages_add_switchboard_after_their_own_servers(self):
        _, doc = load()
        self.assertTrue(doc.get("language"), "no [[language]] examples")
        for language in doc["language"]:
            servers = language["language-servers"]
            names = [s if isinstance(s, str) else s["name"] for s in servers]
            with self.subTest(language=language["name"]):
                self.assertEqual(names[-1], "switchboard")
                self.assertGreaterEqual(len(names), 2, "keep the language's own server first")
                entry = servers[-1]
                self.assertIsInstance(entry, dict)
                features = set(entry.get("only-features", []))
                self.assertLessEqual({"completion", "diagnostics", "code-action"}, features)
                self.assertLessEqual(features, HELIX_FEATURES)

    def test_schema_matches_the_config_reference(self):
        text = CONFIG_MD.read_text()
        section = text[text.index("## Every key"):]
        block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
        reference = tomllib.loads(block)
        keys = {
            name: set((value[0] if isinstance(value, list) else value).keys())
            for name, value in reference.items()
        }
        self.assertEqual(keys, {name: set(fields) for name, fields in SCHEMA.items()})


if __name__ == "__main__":
    unittest.main()
