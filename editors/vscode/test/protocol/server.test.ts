// The LSP conversation the extension relies on, against the real switchboard-ls and the
// project's fake provider, over stdio: what VS Code + vscode-languageclient send, without
// VS Code. The initializationOptions are built by the extension's own settings mapping.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import {
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionRequest,
  type InitializeResult,
  type InlineCompletionList,
  type InlineCompletionItem,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver-protocol/node";
import { buildServerConfig, type InspectedValue } from "../../src/config";
import { parseStatus, renderStatus } from "../../src/status";
import { extensionRoot, fakeProviderPath, isolatedEnv, outageChecks, serverPath } from "../support/env";
import { FakeProvider } from "../support/fakeProvider";

const SERVER_COMMANDS = [
  "switchboard.status",
  "switchboard.retry",
  "switchboard.disable",
  "switchboard.enable",
  "switchboard.clearCache",
  "switchboard.openStatusPage",
  "switchboard.accepted",
];

let fake: FakeProvider;
let server: ChildProcess;
let connection: ProtocolConnection;
let init: InitializeResult;
let stderr = "";
const statusReports: unknown[] = [];
const diagnostics: PublishDiagnosticsParams[] = [];
let workspace: string;
let tempDir: string | undefined;

/** The settings a user would have in VS Code, mapped by the extension's own code. */
function settingsFor(values: Record<string, unknown>) {
  const inspected: Record<string, InspectedValue> = {};
  for (const [key, value] of Object.entries(values)) inspected[key] = { globalValue: value };
  return buildServerConfig((key) => inspected[key]);
}

function items(result: InlineCompletionList | InlineCompletionItem[] | null): InlineCompletionItem[] {
  if (!result) return [];
  return Array.isArray(result) ? result : result.items;
}

function insertText(item: InlineCompletionItem | undefined): string | undefined {
  if (!item) return undefined;
  return typeof item.insertText === "string" ? item.insertText : item.insertText.value;
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` with `what`. */
async function eventually<T>(what: string | (() => string), check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

let version = 0;
function open(name: string, text: string): string {
  const uri = pathToFileURL(join(workspace, name)).toString();
  void connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "python", version: ++version, text },
  });
  return uri;
}

function inline(uri: string, line: number, character: number) {
  return connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position: { line, character },
    context: { triggerKind: 1 /* Automatic */ },
  });
}

describe("switchboard-ls over stdio", { timeout: 60_000 }, () => {
  before(async () => {
    fake = await FakeProvider.start(fakeProviderPath());
    await fake.setDefault({ type: "ok", text: "return a + b" });
    const { dir, env } = isolatedEnv();
    tempDir = dir;
    workspace = join(dir, "ws");
    mkdirSync(workspace);
    server = spawn(serverPath(), ["--stdio"], { env: { ...env, SWITCHBOARD_LOG: "debug" }, stdio: "pipe" });
    server.stderr!.on("data", (chunk) => (stderr += chunk));
    const died = new Promise<never>((_, reject) => {
      server.once("error", (e) => reject(new Error(`cannot run switchboard-ls: ${e.message}`)));
      server.once("exit", (code, signal) => {
        reject(new Error(`switchboard-ls exited (${code ?? signal}) before initialize answered:\n${stderr}`));
        // Pending requests fail instead of hanging.
        connection.dispose();
      });
    });
    died.catch(() => undefined);
    connection = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
    connection.onNotification("switchboard/status", (report: unknown) => {
      statusReports.push(report);
    });
    connection.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      diagnostics.push(p);
    });
    // Whatever the server asks of the client (workDoneProgress/create, registerCapability,
    // workspace/configuration, showDocument…) gets a neutral answer, as VS Code would give.
    connection.onRequest("workspace/configuration", (params: { items?: unknown[] }) =>
      Array(params?.items?.length ?? 1).fill(null),
    );
    for (const method of [
      "window/workDoneProgress/create",
      "client/registerCapability",
      "client/unregisterCapability",
      "window/showDocument",
      "window/showMessageRequest",
      "workspace/applyEdit",
    ]) {
      connection.onRequest(method, () => null);
    }
    connection.listen();
    const initialize = connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: "switchboard-vscode-protocol-test" },
      rootUri: pathToFileURL(workspace).toString(),
      workspaceFolders: [{ uri: pathToFileURL(workspace).toString(), name: "ws" }],
      capabilities: {
        general: { positionEncodings: ["utf-16"] },
        textDocument: {
          synchronization: { dynamicRegistration: false, didSave: true },
          inlineCompletion: { dynamicRegistration: false },
          completion: { completionItem: { snippetSupport: false } },
          publishDiagnostics: { codeDescriptionSupport: true },
          codeAction: {},
        },
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
        window: { showDocument: { support: true }, showMessage: {} },
      },
      initializationOptions: settingsFor({ provider: [fake.providerConfig()], "cache.path": "off" }),
    });
    init = await Promise.race([initialize, died]);
    await connection.sendNotification(InitializedNotification.type, {});
  }, { timeout: 30_000 });

  after(async () => {
    fake?.stop();
    if (server && server.exitCode === null) server.kill();
    // The server's log, for when a test above failed.
    mkdirSync(join(extensionRoot, "out"), { recursive: true });
    writeFileSync(join(extensionRoot, "out/protocol-switchboard-ls.log"), stderr);
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  test("initialize advertises inline completions, completion and the six commands", () => {
    const caps = init.capabilities as Record<string, unknown> & typeof init.capabilities;
    assert.ok(caps.inlineCompletionProvider, `inlineCompletionProvider missing: ${JSON.stringify(caps)}`);
    assert.ok(caps.completionProvider, "completionProvider missing");
    assert.deepEqual([...(caps.executeCommandProvider?.commands ?? [])].sort(), [...SERVER_COMMANDS].sort());
  });

  test("initialize advertises code actions (quick fixes on outage diagnostics)", { skip: !outageChecks && "needs SWITCHBOARD_E2E_OUTAGE=1 (outage surfacing)" }, () => {
    assert.ok(init.capabilities.codeActionProvider, `codeActionProvider missing: ${JSON.stringify(init.capabilities)}`);
  });

  test("textDocument/inlineCompletion returns the fake provider's text at the cursor", async () => {
    const uri = open("add.py", "def add(a, b):\n    ");
    const result = await inline(uri, 1, 4);
    const first = items(result)[0];
    assert.equal(insertText(first), "return a + b", `items: ${JSON.stringify(result)}`);
    if (first?.range) {
      assert.deepEqual(first.range, { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } });
    }
    const sent = await fake.completionRequests();
    assert.equal(sent.length, 1, `requests to the fake: ${JSON.stringify(sent)}`);
    assert.equal(sent[0].json.model, "fake-model");
    assert.match(String(sent[0].json.prompt), /def add\(a, b\):\n {4}$/);
  });

  test("an edit is followed by a new completion (incremental sync)", async () => {
    await fake.setDefault({ type: "ok", text: " * 2" });
    const uri = open("double.py", "def double(x):\n    return x");
    await connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: ++version },
      contentChanges: [{ range: { start: { line: 1, character: 12 }, end: { line: 1, character: 12 } }, text: "1" }],
    });
    const result = await inline(uri, 1, 13);
    assert.equal(insertText(items(result)[0]), " * 2");
    const last = (await fake.completionRequests()).at(-1)!;
    assert.match(String(last.json.prompt), /return x1$/);
  });

  test("workspace/didChangeConfiguration with settings.switchboard replaces the editor layer", async () => {
    await fake.setDefault({ type: "ok", text: "return a - b" });
    await connection.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { switchboard: settingsFor({ provider: [fake.providerConfig("fake", "fake-model-2")], "cache.path": "off" }) },
    });
    const uri = open("sub.py", "def sub(a, b):\n    ");
    // The server may apply the new config asynchronously: ask until the new model is used.
    const text = await eventually("a completion from fake-model-2", async () => {
      const got = insertText(items(await inline(uri, 1, 4))[0]);
      const last = (await fake.completionRequests()).at(-1);
      return last?.json.model === "fake-model-2" ? got : undefined;
    });
    assert.equal(text, "return a - b");
  });

  test("switchboard.status answers a report the status bar can render", async () => {
    const report = await connection.sendRequest(ExecuteCommandRequest.type, { command: "switchboard.status", arguments: [] });
    const parsed = parseStatus(report);
    assert.ok(parsed, `not a status report: ${JSON.stringify(report)}`);
    assert.ok(parsed.providers.some((p) => p.name === "fake"), JSON.stringify(report));
    assert.match(renderStatus(report).label, /fake healthy/);
  });

  test("a provider going down shows in switchboard/status and a provider-down diagnostic", { skip: !outageChecks && "needs SWITCHBOARD_E2E_OUTAGE=1 (status surfacing)" }, async () => {
    await connection.sendNotification(DidChangeConfigurationNotification.type, {
      settings: {
        switchboard: settingsFor({
          provider: [fake.providerConfig()],
          "cache.path": "off",
          "routing.retries": 0,
          "routing.breaker_failures": 1,
          "routing.breaker_cooldown_ms": 60_000,
        }),
      },
    });
    await fake.setDefault({ type: "error", status: 529 });
    const uri = open("down.py", "def mul(a, b):\n    ");
    await eventually("the fake to be marked down", async () => {
      await inline(uri, 1, 4);
      const latest = statusReports.at(-1);
      return parseStatus(latest)?.providers.find((p) => p.name === "fake" && p.state === "down");
    }, 10_000);
    assert.match(renderStatus(statusReports.at(-1)).label, /fake down/);
    const diagnostic = await eventually(() => `a provider-down diagnostic; published so far: ${JSON.stringify(diagnostics)}`, () =>
      diagnostics
        .filter((d) => d.uri === uri)
        .at(-1)
        ?.diagnostics.find((d) => d.source === "switchboard" && d.code === "provider-down"),
    );
    assert.match(typeof diagnostic.message === "string" ? diagnostic.message : diagnostic.message.value, /fake/);
  });

  test("shutdown and exit end the process cleanly", async () => {
    await connection.sendRequest(ShutdownRequest.type);
    const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
    await connection.sendNotification(ExitNotification.type);
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("still running after 5s"), 5000).unref()),
    ]);
    assert.equal(code, 0);
    connection.dispose();
  });
});
