"""Replays what Helix sends switchboard-ls — its initialize params (helix-lsp client.rs), the
didChangeConfiguration it sends after `initialized`, didOpen/didChange with UTF-8 positions, and
completion with triggerKind 1 — against the real binary and the fake provider, and checks that
the answers work in Helix: completion items replace the typed word, keep Helix's fuzzy filter
happy, and (SWITCHBOARD_E2E_OUTAGE=1) outages show up as diagnostics with code actions.

Env: SWITCHBOARD_LS_PATH, SWITCHBOARD_FAKE_PROVIDER (set by run.sh)."""

import json
import os
import re
import subprocess
import tempfile
import unittest
import urllib.request
from pathlib import Path

from jsonrpc import LspProcess, RpcError

LS = os.environ.get("SWITCHBOARD_LS_PATH", "")
FAKE = os.environ.get("SWITCHBOARD_FAKE_PROVIDER", "")
# Outage surfacing (diagnostics, switchboard/status, commands, code actions) is a later server
# step than completion; its checks run with SWITCHBOARD_E2E_OUTAGE=1.
OUTAGE = os.environ.get("SWITCHBOARD_E2E_OUTAGE", "1") == "1"
OUTAGE_REASON = "outage surfacing: set SWITCHBOARD_E2E_OUTAGE=1"
TIMEOUT = float(os.environ.get("SB_TEST_TIMEOUT_S", "10"))
COMMANDS = {
    "switchboard.status", "switchboard.retry", "switchboard.disable", "switchboard.enable",
    "switchboard.clearCache", "switchboard.openStatusPage", "switchboard.accepted",
}
KEY_VARS = (
    "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "CODESTRAL_API_KEY",
    "OPENAI_FIM_API_KEY",
)


# --- the fake provider ----------------------------------------------------------------------------
class FakeProvider:
    def __init__(self):
        self.proc = subprocess.Popen([FAKE], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()  # blocks until it is listening
        match = re.match(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"fake provider printed {line!r}, not its base URL")
        self.url = match.group(0)

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            payload = response.read()
        return json.loads(payload) if payload.strip() else None

    def default(self, spec):
        self._call("POST", "/_control/default", spec)

    def reset(self):
        self._call("POST", "/_control/reset", {})

    def requests(self):
        return self._call("GET", "/_control/requests")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# --- what Helix does ------------------------------------------------------------------------------
def helix_initialize_params(config, root=None):
    """InitializeParams as helix-lsp's Client::initialize serialises them. Outside a project:
    rootUri null, no workspace folders; initializationOptions only when `config` is set."""
    params = {
        "processId": os.getpid(),
        "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}] if root else [],
        "rootPath": str(root or Path.cwd()),
        "rootUri": root.as_uri() if root else None,
        "capabilities": {
            "workspace": {
                "applyEdit": True,
                "workspaceEdit": {
                    "documentChanges": True,
                    "resourceOperations": ["create", "rename", "delete"],
                    "failureHandling": "abort",
                    "normalizesLineEndings": False,
                },
                "didChangeConfiguration": {"dynamicRegistration": False},
                "didChangeWatchedFiles": {
                    "dynamicRegistration": True, "relativePatternSupport": False,
                },
                "symbol": {"dynamicRegistration": False},
                "executeCommand": {"dynamicRegistration": False},
                "workspaceFolders": True,
                "configuration": True,
                "inlayHint": {"refreshSupport": False},
                "fileOperations": {"willRename": True, "didRename": True},
            },
            "textDocument": {
                "completion": {
                    "completionItem": {
                        "snippetSupport": True,
                        "deprecatedSupport": True,
                        "tagSupport": {"valueSet": [1]},
                        "resolveSupport": {
                            "properties": ["documentation", "detail", "additionalTextEdits"],
                        },
                        "insertReplaceSupport": True,
                    },
                    "completionItemKind": {},
                },
                "hover": {"contentFormat": ["markdown"]},
                "signatureHelp": {
                    "signatureInformation": {
                        "documentationFormat": ["markdown"],
                        "parameterInformation": {"labelOffsetSupport": True},
                        "activeParameterSupport": True,
                    },
                },
                "rename": {
                    "dynamicRegistration": False, "prepareSupport": True,
                    "honorsChangeAnnotations": False,
                },
                "formatting": {"dynamicRegistration": False},
                "codeAction": {
                    "codeActionLiteralSupport": {
                        "codeActionKind": {
                            "valueSet": [
                                "", "quickfix", "refactor", "refactor.extract", "refactor.inline",
                                "refactor.rewrite", "source", "source.organizeImports",
                            ],
                        },
                    },
                    "isPreferredSupport": True,
                    "disabledSupport": True,
                    "dataSupport": True,
                    "resolveSupport": {"properties": ["edit", "command"]},
                },
                "publishDiagnostics": {"versionSupport": True, "tagSupport": {"valueSet": [1, 2]}},
                "inlayHint": {"dynamicRegistration": False},
            },
            "window": {"workDoneProgress": True},
            "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]},
        },
        "clientInfo": {"name": "helix", "version": "25.07.1"},
    }
    if config is not None:
        params["initializationOptions"] = config
    return params


def is_word_char(ch):
    """helix_core::chars::char_is_word."""
    return ch.isalnum() or ch == "_"


def helix_typed_word(line, col):
    """The word before the cursor that Helix filters completion items by (col in characters)."""
    start = col
    while start > 0 and is_word_char(line[start - 1]):
        start -= 1
    return line[start:col]


def helix_fuzzy_match(pattern, text):
    """Whether Helix's (nucleo) fuzzy matcher keeps `text` for `pattern`: the pattern's
    characters in order, case-insensitive unless the pattern has an upper-case letter."""
    if not any(ch.isupper() for ch in pattern):
        text = text.lower()
    position = 0
    for ch in pattern:
        position = text.find(ch, position)
        if position < 0:
            return False
        position += 1
    return True


def filter_text(item):
    return item.get("filterText") or item["label"]


class Editor:
    """One switchboard-ls process driven the way Helix drives it."""

    def __init__(self, tmp, config, root=None):
        env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
        env.update(
            XDG_CACHE_HOME=str(tmp / "cache"),
            XDG_CONFIG_HOME=str(tmp / "config"),
            SWITCHBOARD_CONFIG=str(tmp / "config" / "does-not-exist.toml"),
        )
        env.setdefault("SWITCHBOARD_LOG", "info")
        self.config = config
        self.lsp = LspProcess([LS], env=env, cwd=str(tmp), settings=config)
        self.versions = {}
        self.texts = {}
        try:
            params = helix_initialize_params(config, root)
            self.init = self.lsp.request("initialize", params, TIMEOUT)
        except BaseException:
            self.lsp.proc.kill()
            self.lsp.proc.wait()
            raise
        self.lsp.notify("initialized", {})
        if config is not None:  # helix-term: Notification::Initialized
            self.lsp.notify("workspace/didChangeConfiguration", {"settings": config})

    def open(self, path, text, language="python"):
        uri = path.as_uri()
        self.versions[uri] = 0
        self.texts[uri] = text
        self.lsp.notify("textDocument/didOpen", {
            "textDocument": {"uri": uri, "languageId": language, "version": 0, "text": text},
        })
        return uri

    def type(self, uri, line, chars):
        """Types `chars` one at a time at the end of `line`, one incremental didChange each,
        with UTF-8 byte columns as negotiated."""
        for ch in chars:
            lines = self.texts[uri].split("\n")
            col = len(lines[line].encode())
            self.versions[uri] += 1
            self.lsp.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": self.versions[uri]},
                "contentChanges": [{
                    "range": {"start": {"line": line, "character": col},
                              "end": {"line": line, "character": col}},
                    "text": ch,
                }],
            })
            lines[line] += ch
            self.texts[uri] = "\n".join(lines)

    def complete(self, uri, line):
        """Completion at the end of `line`, triggerKind 1 as after Helix's auto-trigger."""
        text = self.texts[uri].split("\n")[line]
        result = self.lsp.request("textDocument/completion", {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": len(text.encode())},
            "context": {"triggerKind": 1},
        }, TIMEOUT)
        if result is None:
            return {"isIncomplete": False, "items": []}
        return result if isinstance(result, dict) else {"isIncomplete": False, "items": result}

    def close(self):
        return self.lsp.shutdown()


def fake_config(url):
    return {
        "provider": [{
            "name": "fake", "kind": "openai-fim", "model": "fake-model", "base_url": url + "/v1",
        }],
        "routing": {
            "retries": 0, "hedge_ms": "off", "status_poll_secs": 0,
            "breaker_cooldown_ms": 60000,
        },
        "cache": {"path": "off"},
    }


# --- tests ----------------------------------------------------------------------------------------
class HelixWithConfig(unittest.TestCase):
    """languages.toml with `config` pointing at the fake provider."""

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.TemporaryDirectory()
        cls.tmp = Path(cls.tmpdir.name)
        for d in ("cache", "config", "work"):
            (cls.tmp / d).mkdir()
        cls.fake = FakeProvider()
        try:
            cls.editor = Editor(cls.tmp, fake_config(cls.fake.url))
        except BaseException:
            cls.fake.stop()
            cls.tmpdir.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.editor.close()
        cls.fake.stop()
        cls.tmpdir.cleanup()

    def setUp(self):
        self.fake.default({"type": "ok", "text": "turn a + b"})

    def doc(self, name, text):
        return self.editor.open(self.tmp / "work" / name, text)

    def only_item(self, result):
        items = result["items"]
        self.assertEqual(len(items), 1, f"items: {items}")
        return items[0]

    def test_initialize_answers_helix_capabilities(self):
        caps = self.editor.init["capabilities"]
        self.assertEqual(caps.get("positionEncoding"), "utf-8", "Helix offers utf-8 first")
        self.assertIn("completionProvider", caps)
        sync = caps.get("textDocumentSync")
        change = sync.get("change") if isinstance(sync, dict) else sync
        self.assertEqual(change, 2, "incremental sync")

    @unittest.skipUnless(OUTAGE, OUTAGE_REASON)
    def test_initialize_offers_code_actions_and_the_seven_commands(self):
        caps = self.editor.init["capabilities"]
        self.assertTrue(caps.get("codeActionProvider"))
        commands = set((caps.get("executeCommandProvider") or {}).get("commands", []))
        self.assertEqual(commands, COMMANDS)

    def test_completion_replaces_the_typed_word(self):
        uri = self.doc("typed.py", "def add(a, b):\n    ")
        self.editor.type(uri, 1, "re")
        item = self.only_item(self.editor.complete(uri, 1))
        edit = item["textEdit"]
        self.assertEqual(edit["range"], {
            "start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 6},
        })
        self.assertEqual(edit["newText"], "return a + b")
        self.assertEqual(item["filterText"], "return a + b")
        self.assertEqual(item["label"], "return a + b")
        self.assertEqual(item["data"]["provider"], "fake")
        self.assertIs(item["data"]["cached"], False)
        self.assertIs(item["data"]["stale"], False)
        self.assertIsInstance(item["data"]["latency_ms"], int)
        self.assertRegex(item["detail"], r"^fake · \d+ms$")
        upstream = [r for r in self.fake.requests() if r["path"].endswith("/completions")]
        self.assertTrue(upstream, "the fake provider saw no completion request")

    def test_items_survive_helix_fuzzy_filter_as_the_user_types_on(self):
        uri = self.doc("filter.py", "def sub(a, b):\n    ")
        self.editor.type(uri, 1, "re")
        result = self.editor.complete(uri, 1)
        item = self.only_item(result)
        self.assertTrue(result["isIncomplete"])
        line = self.editor.texts[uri].split("\n")[1]
        typed = helix_typed_word(line, len(line))
        self.assertEqual(typed, "re")
        self.assertTrue(helix_fuzzy_match(typed, filter_text(item)))
        # Helix re-filters the open menu on each keystroke before any new answer arrives.
        for more in ("ret", "retu", "return"):
            self.assertTrue(helix_fuzzy_match(more, filter_text(item)), more)

    def test_the_typed_word_starts_where_helix_says(self):
        # Helix's word is alphanumerics and "_" (Unicode-aware); "." or "(" ends it.
        self.fake.default({"type": "ok", "text": "sult)"})
        uri = self.doc("word.py", "def show(self):\n    print(self.ré_re")
        line = self.editor.texts[uri].split("\n")[1]
        typed = helix_typed_word(line, len(line))
        self.assertEqual(typed, "ré_re")
        item = self.only_item(self.editor.complete(uri, 1))
        start = len(line[: len(line) - len(typed)].encode())
        self.assertEqual(item["textEdit"]["range"]["start"], {"line": 1, "character": start})
        self.assertEqual(item["textEdit"]["newText"], "ré_result)")
        self.assertTrue(helix_fuzzy_match(typed, filter_text(item)))

    def test_completion_on_an_empty_word_inserts_at_the_cursor(self):
        self.fake.default({"type": "ok", "text": "return a - b"})
        uri = self.doc("empty.py", "def minus(a, b):\n    ")
        item = self.only_item(self.editor.complete(uri, 1))
        cursor = {"line": 1, "character": 4}
        self.assertEqual(item["textEdit"]["range"], {"start": cursor, "end": cursor})
        self.assertEqual(item["textEdit"]["newText"], "return a - b")
        self.assertTrue(helix_fuzzy_match("", filter_text(item)))

    def test_positions_are_utf8_bytes(self):
        self.fake.default({"type": "ok", "text": "urn s"})
        uri = self.doc("utf8.py", 'def greet():\n    s = "héllo→"; ret')
        line = self.editor.texts[uri].split("\n")[1]
        end = len(line.encode())
        item = self.only_item(self.editor.complete(uri, 1))
        self.assertEqual(item["textEdit"]["range"], {
            "start": {"line": 1, "character": end - 3}, "end": {"line": 1, "character": end},
        })
        self.assertEqual(item["textEdit"]["newText"], "return s")

    def test_multi_line_suggestion_labels_its_first_line(self):
        self.fake.default({"type": "ok", "text": "a > b:\n        return a\n    return b"})
        uri = self.doc("multi.py", "def biggest(a, b):\n    if ")
        item = self.only_item(self.editor.complete(uri, 1))
        # "if " ends in a space: no typed word, the edit starts at the cursor.
        self.assertEqual(item["textEdit"]["range"]["start"], {"line": 1, "character": 7})
        self.assertEqual(item["textEdit"]["newText"], "a > b:\n        return a\n    return b")
        self.assertEqual(item["label"], "a > b:")
        self.assertEqual(item["filterText"], "a > b:")

    def test_long_label_is_cut_at_80_characters(self):
        long_line = "x" * 120
        self.fake.default({"type": "ok", "text": long_line})
        uri = self.doc("long.py", "y = ")
        item = self.only_item(self.editor.complete(uri, 0))
        self.assertEqual(item["textEdit"]["newText"], long_line)
        label = item["label"]
        self.assertTrue(label.endswith("…"), label)
        # "cut at 80 characters": 80 kept + "…", or 79 + "…"; either reads the same in a menu.
        self.assertIn(len(label), (80, 81), label)
        self.assertTrue(long_line.startswith(label[:-1]))
        self.assertEqual(item["filterText"], long_line)

    @unittest.skipUnless(OUTAGE, OUTAGE_REASON)
    def test_status_command_lists_the_configured_provider(self):
        status = self.editor.lsp.request(
            "workspace/executeCommand", {"command": "switchboard.status", "arguments": []}, TIMEOUT)
        names = [p["name"] for p in status["providers"]]
        self.assertIn("fake", names)
        fake = status["providers"][names.index("fake")]
        self.assertEqual(fake["kind"], "openai-fim")
        self.assertIn(fake["state"], {"healthy", "degraded", "down", "disabled"})

    @unittest.skipUnless(OUTAGE, OUTAGE_REASON)
    def test_retry_with_an_unknown_provider_names_the_known_ones(self):
        with self.assertRaises(RpcError) as caught:
            self.editor.lsp.request("workspace/executeCommand", {
                "command": "switchboard.retry", "arguments": ["nope"],
            }, TIMEOUT)
        self.assertIn("fake", caught.exception.message)

    def test_helix_did_change_configuration_keeps_the_provider_chain(self):
        # Helix sends `config` itself as `settings` after `initialized` (not under a
        # `switchboard` key, which DESIGN.md §3 names for editors that wrap it).
        uri = self.doc("config.py", "def mul(a, b):\n    ")
        self.editor.lsp.notify("workspace/didChangeConfiguration", {"settings": self.editor.config})
        self.fake.default({"type": "ok", "text": "return a * b"})
        item = self.only_item(self.editor.complete(uri, 1))
        self.assertEqual(item["data"]["provider"], "fake",
                         "Helix's didChangeConfiguration (settings = the unwrapped config) "
                         "must not drop the provider chain")

    @unittest.skipUnless(OUTAGE, OUTAGE_REASON)
    def test_outage_shows_a_diagnostic_with_code_actions_and_clears_on_recovery(self):
        lsp = self.editor.lsp
        self.fake.default({"type": "error", "status": 529})
        uri = self.doc("outage.py", "def div(a, b):\n    ")
        for word in ("r", "e", "t", "u"):  # distinct contexts, so no cached answer stands in
            self.editor.type(uri, 1, word)
            self.editor.complete(uri, 1)

        def switchboard_diagnostics(message):
            params = message.get("params") or {}
            return (message["method"] == "textDocument/publishDiagnostics"
                    and params.get("uri") == uri
                    and any(d.get("source") == "switchboard" and d.get("code") == "provider-down"
                            for d in params.get("diagnostics", [])))

        published = lsp.wait_notification(switchboard_diagnostics, TIMEOUT, "provider-down")
        diagnostic = next(d for d in published["params"]["diagnostics"]
                          if d.get("code") == "provider-down")
        self.assertIn("fake", diagnostic["message"])
        self.assertEqual(diagnostic["severity"], 2)

        status = lsp.wait_notification(
            lambda m: m["method"] == "switchboard/status" and any(
                p["name"] == "fake" and p["state"] == "down" for p in m["params"]["providers"]),
            TIMEOUT, "switchboard/status with fake down")
        self.assertIn("providers", status["params"])

        actions = lsp.request("textDocument/codeAction", {
            "textDocument": {"uri": uri},
            "range": diagnostic["range"],
            "context": {"diagnostics": [diagnostic], "triggerKind": 1},
        }, TIMEOUT)
        offered = []
        for action in actions or []:  # Command | CodeAction
            command = action.get("command")
            if isinstance(command, dict):
                offered.append((action["title"], command.get("command"), command.get("arguments")))
            else:
                offered.append((action["title"], command, action.get("arguments")))
        self.assertIn(("Retry fake now", "switchboard.retry", ["fake"]), offered)

        # Recovery: the provider answers again and the user picks "Retry fake now".
        self.fake.default({"type": "ok", "text": "rn a / b"})
        seen = len(lsp.notifications)
        lsp.request("workspace/executeCommand",
                    {"command": "switchboard.retry", "arguments": ["fake"]}, TIMEOUT)
        self.editor.type(uri, 1, "r")
        self.editor.complete(uri, 1)
        lsp.wait_notification(
            lambda m: any(x is m for x in lsp.notifications[seen:])
            and m["method"] == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == uri
            and not any(d.get("source") == "switchboard" for d in m["params"]["diagnostics"]),
            TIMEOUT, "the switchboard diagnostics to clear")


class HelixWithoutConfig(unittest.TestCase):
    """Helix's default: no `config`, so no initializationOptions, and no API keys set."""

    def test_starts_completes_offline_and_shuts_down(self):
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            for d in ("cache", "config"):
                (tmp / d).mkdir()
            editor = Editor(tmp, None)
            try:
                self.assertIn("completionProvider", editor.init["capabilities"])
                uri = editor.open(tmp / "local.py", "def add(a, b):\n    re")
                result = editor.complete(uri, 1)  # the local engine: any answer, never an error
                for item in result["items"]:
                    self.assertEqual(item["textEdit"]["range"]["start"],
                                     {"line": 1, "character": 4})
                    self.assertTrue(item["textEdit"]["newText"].startswith("re"))
                    self.assertTrue(helix_fuzzy_match("re", filter_text(item)))
            finally:
                code = editor.close()
            self.assertEqual(code, 0, "shutdown + exit ends the server cleanly")


class HelixInAProject(unittest.TestCase):
    """rootUri and a workspace folder set, as when Helix finds a project root."""

    def test_completion_in_a_project(self):
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            for d in ("cache", "config", "proj/.git"):
                (tmp / d).mkdir(parents=True)
            fake = FakeProvider()
            try:
                fake.default({"type": "ok", "text": "urn 42"})
                editor = Editor(tmp, fake_config(fake.url), root=tmp / "proj")
                try:
                    uri = editor.open(tmp / "proj" / "main.py", "def answer():\n    ret")
                    items = editor.complete(uri, 1)["items"]
                    self.assertEqual([i["textEdit"]["newText"] for i in items], ["return 42"])
                finally:
                    editor.close()
            finally:
                fake.stop()


if __name__ == "__main__":
    unittest.main()
