// VS Code glue: starts switchboard-ls, keeps its settings in sync, shows its
// `switchboard/status` notification in the status bar, reports partial accepts, and
// shows `switchboard-ls stats` as a page. Everything worth testing without VS Code lives
// in config.ts, serverPath.ts, status.ts, editorData.ts, partialAccept.ts and
// statsView.ts.
//
// Command ids: vscode-languageclient registers the server's own commands
// (`switchboard.retry`, …, from `executeCommandProvider`) so that the server's code
// actions work; the extension's palette commands are therefore `switchboard.client.*`,
// and they reach the server through `workspace/executeCommand`.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as readline from "node:readline";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from "vscode-languageclient/node";
import { buildServerConfig, type ServerConfig } from "./config";
import { editorDataRoots, isEditorDataFile } from "./editorData";
import { PartialAccepts, type ShownItem } from "./partialAccept";
import { parseServerLogLine } from "./serverLog";
import {
  discoverServer,
  readUserSettingsFiles,
  retryDelayMs,
  serverPathSetting,
  startFailureMessage,
  userSettingsFiles,
  withFileValue,
} from "./serverPath";
import { renderStatsHtml } from "./statsView";
import {
  actionsFor,
  appliesTo,
  countingDown,
  parseStatus,
  renderFailed,
  renderStarting,
  renderStatus,
  type ServerCommand,
  type StatusAction,
  type StatusReport,
  type StatusView,
} from "./status";

const STATUS_NOTIFICATION = "switchboard/status";
const ACCEPTED_COMMAND = "switchboard.accepted";

let client: LanguageClient | undefined;
let lastStatus: unknown;
/** When `lastStatus` arrived, for the retry countdowns in the tooltip. */
let lastStatusAt = 0;
let countdown: NodeJS.Timeout | undefined;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
/** The binary the running server was started from, and its environment (for `stats`). */
let serverBinary: { path: string; env: NodeJS.ProcessEnv } | undefined;
/** Looking for the server again after it was not found. */
let retryTimer: NodeJS.Timeout | undefined;
let startAttempt = 0;
let statsPanel: vscode.WebviewPanel | undefined;
let editorData: string[] = [];
/** `context.globalStorageUri.fsPath`: where this VS Code's user data is. */
let globalStorage = "";
const partialAccepts = new PartialAccepts();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Switchboard", { log: true });
  statusItem = vscode.window.createStatusBarItem("switchboard.status", vscode.StatusBarAlignment.Right, 100);
  statusItem.name = "Switchboard";
  statusItem.command = "switchboard.client.showActions";
  context.subscriptions.push(output, statusItem);

  const register = (id: string, run: () => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  register("switchboard.client.showActions", showActions);
  register("switchboard.client.retry", () => runForProvider("switchboard.retry", "Retry which provider now?"));
  register("switchboard.client.disable", () => runForProvider("switchboard.disable", "Disable which provider for this session?"));
  register("switchboard.client.enable", () => runForProvider("switchboard.enable", "Enable which provider?"));
  register("switchboard.client.openStatusPage", () => runForProvider("switchboard.openStatusPage", "Open whose status page?"));
  register("switchboard.client.clearCache", () => runServerCommand("switchboard.clearCache", []));
  register("switchboard.client.showLogs", () => output.show(true));
  register("switchboard.client.restart", restart);
  register("switchboard.client.showStats", showStats);

  globalStorage = context.globalStorageUri.fsPath;
  editorData = editorDataRoots({ globalStorage, homeDir: os.homedir(), env: process.env });
  context.subscriptions.push(
    vscode.workspace.onDidChangeTextDocument((event) => {
      for (const change of event.contentChanges) {
        const id = partialAccepts.edited({
          uri: event.document.uri.toString(),
          line: change.range.start.line,
          character: change.range.start.character,
          replaced: change.rangeLength,
          text: change.text,
        });
        if (id) void sendServerCommand(ACCEPTED_COMMAND, [id]).catch(() => undefined);
      }
    }),
    { dispose: () => clearTimers() },
  );

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("switchboard")) settingsMayHaveChanged();
    }),
  );
  // The settings files too: where VS Code does not pass machine settings on (see
  // `readUserSettingsFiles`), it sends no change event for them either.
  for (const file of userSettingsFiles(globalStorage)) {
    fs.watchFile(file, { interval: 1000 }, () => settingsMayHaveChanged());
    context.subscriptions.push({ dispose: () => fs.unwatchFile(file) });
  }

  statusItem.show();
  await start();
}

export async function deactivate(): Promise<void> {
  clearTimers();
  const running = client;
  client = undefined;
  if (running) await running.stop().catch(() => undefined);
}

/** What the running server was started with, and the config it was last sent. */
let startedWith = "";
let configSent = "";

/** The user's `switchboard.*` values from the settings files, read once per look. */
function settingsFiles(): Record<string, unknown> {
  return readUserSettingsFiles(userSettingsFiles(globalStorage));
}

/** The server settings (`switchboard.server.*`) as they are now, to compare. */
function serverSettings(fromFiles: Record<string, unknown>): string {
  const settings = vscode.workspace.getConfiguration("switchboard");
  const path = withFileValue(settings.inspect("server.path"), "switchboard.server.path", fromFiles)?.globalValue;
  return JSON.stringify([path, settings.get("server.log")]);
}

/** Restarts the server when its own settings changed, else sends the new config. */
function settingsMayHaveChanged(): void {
  const fromFiles = settingsFiles();
  if (serverSettings(fromFiles) !== startedWith) {
    void restart();
    return;
  }
  const config = currentConfig(fromFiles);
  if (client?.isRunning() && JSON.stringify(config) !== configSent) {
    configSent = JSON.stringify(config);
    void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { switchboard: config } });
  }
}

function clearTimers(): void {
  clearTimeout(retryTimer);
  clearInterval(countdown);
  retryTimer = undefined;
  countdown = undefined;
}

/** Files of VS Code's own data (settings, keybindings) never reach the server. */
function isEditorData(document: vscode.TextDocument): boolean {
  return document.uri.scheme === "file" && isEditorDataFile(document.uri.fsPath, editorData);
}

/** Shows a report, and keeps its retry countdowns current until they run out. */
function showReport(report: unknown): void {
  lastStatus = report;
  lastStatusAt = Date.now();
  show(renderStatus(report));
  clearInterval(countdown);
  countdown = undefined;
  if (!countingDown(report, 0)) return;
  countdown = setInterval(() => {
    const elapsed = Date.now() - lastStatusAt;
    show(renderStatus(lastStatus, elapsed));
    if (!countingDown(lastStatus, elapsed)) {
      clearInterval(countdown);
      countdown = undefined;
    }
  }, 1000);
}

/** Tells the server this client shows `switchboard/status` itself (DESIGN §5). */
const statusCapability: StaticFeature = {
  fillClientCapabilities(capabilities) {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), switchboardStatus: true };
  },
  initialize() {},
  getState: () => ({ kind: "static" }),
  clear() {},
};

function currentConfig(fromFiles = settingsFiles()): ServerConfig {
  const settings = vscode.workspace.getConfiguration("switchboard");
  return buildServerConfig((key) => withFileValue(settings.inspect(key), `switchboard.${key}`, fromFiles));
}

function show(view: StatusView): void {
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.accessibilityInformation = { label: view.label };
  statusItem.backgroundColor =
    view.level === "error"
      ? new vscode.ThemeColor("statusBarItem.errorBackground")
      : view.level === "warning"
        ? new vscode.ThemeColor("statusBarItem.warningBackground")
        : undefined;
}

async function start(): Promise<void> {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  show(renderStarting());
  // Read now, not at activation: a remote window's settings may arrive later, and the
  // retries below read them again.
  const settings = vscode.workspace.getConfiguration("switchboard");
  const fromFiles = settingsFiles();
  startedWith = serverSettings(fromFiles);
  const inspected = settings.inspect<string>("server.path");
  const setting = serverPathSetting(withFileValue(inspected, "switchboard.server.path", fromFiles));
  if (inspected?.globalValue !== setting.value && setting.value) {
    output.info(`switchboard.server.path read from the user settings file ("${setting.value}"; VS Code passed on ${JSON.stringify(inspected?.globalValue ?? null)})`);
  }
  if (setting.ignoredWorkspaceValue) {
    output.warn("switchboard.server.path is set in workspace settings: ignored (only user settings may choose the binary).");
  }
  const found = discoverServer({
    setting: setting.value,
    settingScope: "user settings",
    env: process.env,
    homeDir: os.homedir(),
  });
  if (!found.ok) {
    // Look again: settings can come late, and the user may be building the binary now.
    // The first miss is quiet (usually settings still loading); the second one is shown.
    const attempt = startAttempt++;
    const delay = retryDelayMs(attempt);
    retryTimer = setTimeout(() => void start(), delay);
    output.warn(`${found.message} Looking again in ${Math.round(delay / 1000)}s.`);
    show(renderFailed(found.message));
    if (attempt === 1) void fail(found.message);
    return;
  }
  startAttempt = 0;
  output.info(`Starting ${found.path} (found via ${found.source})`);

  const env: NodeJS.ProcessEnv = { ...process.env };
  const log = settings.get<string>("server.log")?.trim();
  if (log) env.SWITCHBOARD_LOG = log;
  const serverOptions: ServerOptions = {
    command: found.path,
    transport: TransportKind.stdio,
    options: { env },
  };
  const skip = () => Promise.resolve();
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    middleware: {
      didOpen: (document, next) => (isEditorData(document) ? skip() : next(document)),
      didChange: (event, next) => (isEditorData(event.document) ? skip() : next(event)),
      didSave: (document, next) => (isEditorData(document) ? skip() : next(document)),
      didClose: (document, next) => (isEditorData(document) ? skip() : next(document)),
      willSave: (event, next) => (isEditorData(event.document) ? skip() : next(event)),
      provideCompletionItem: (document, position, context, token, next) =>
        isEditorData(document) ? undefined : next(document, position, context, token),
      provideCodeActions: (document, range, context, token, next) =>
        isEditorData(document) ? undefined : next(document, range, context, token),
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (isEditorData(document)) return undefined;
        const result = await next(document, position, context, token);
        const items = Array.isArray(result) ? result : (result?.items ?? []);
        partialAccepts.showed(items.flatMap((item): ShownItem[] => shownItem(document, position, item)));
        return result;
      },
    },
    initializationOptions: () => {
      const config = currentConfig();
      configSent = JSON.stringify(config);
      return config;
    },
    outputChannel: output,
    stdioOptions: {
      stdout: () => undefined, // the LSP stream itself; switchboard-ls never logs to stdout
      stderr: (input, channel) => {
        readline.createInterface({ input, crlfDelay: Infinity }).on("line", (raw) => {
          const { level, message } = parseServerLogLine(raw);
          channel[level](message);
        });
      },
    },
  };
  const next = new LanguageClient("switchboard", "Switchboard", serverOptions, clientOptions);
  next.registerFeature(statusCapability);
  next.onNotification(STATUS_NOTIFICATION, (report: unknown) => showReport(report));
  next.onDidChangeState(async (event) => {
    if (client !== next) return;
    if (event.newState === State.Stopped) {
      show(renderFailed("Switchboard: switchboard-ls stopped. Use Restart Server, or see the logs."));
    } else if (event.newState === State.Running && lastStatus !== undefined) {
      // Restarted by vscode-languageclient after a crash: the old report is stale.
      lastStatus = undefined;
      const report = await requestStatus();
      if (report && lastStatus === undefined) showReport(report);
    }
  });
  client = next;
  serverBinary = { path: found.path, env };
  try {
    await next.start();
  } catch (error) {
    client = undefined;
    return fail(startFailureMessage(found.path, error));
  }
  // Seed the status bar; a server that sent its first notification already wins.
  if (lastStatus === undefined) {
    const report = await requestStatus();
    if (report && lastStatus === undefined) showReport(report);
  }
}

/** What partial-accept tracking needs of an inline item: its id, where it starts, its text. */
function shownItem(document: vscode.TextDocument, position: vscode.Position, item: vscode.InlineCompletionItem): ShownItem[] {
  const id = item.command?.command === ACCEPTED_COMMAND ? item.command.arguments?.[0] : undefined;
  const text = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
  if (typeof id !== "string") return [];
  const start = item.range?.start ?? position;
  return [{ id, uri: document.uri.toString(), line: start.line, character: start.character, text }];
}

async function fail(message: string): Promise<void> {
  output.error(message);
  show(renderFailed(message));
  const choice = await vscode.window.showErrorMessage(message, "Open Settings", "Show Logs");
  if (choice === "Open Settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "switchboard.server.path");
  } else if (choice === "Show Logs") {
    output.show(true);
  }
}

async function restart(): Promise<void> {
  const old = client;
  client = undefined;
  lastStatus = undefined;
  startAttempt = 0;
  if (old) await old.stop().catch((e) => output.info(`Stopping the server: ${e}`));
  await start();
}

async function sendServerCommand(command: ServerCommand | typeof ACCEPTED_COMMAND, args: string[]): Promise<unknown> {
  if (!client?.isRunning()) throw new Error("switchboard-ls is not running");
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

async function runServerCommand(command: ServerCommand, args: string[]): Promise<void> {
  try {
    await sendServerCommand(command, args);
    if (command === "switchboard.clearCache") {
      void vscode.window.setStatusBarMessage("Switchboard: completion cache cleared", 3000);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`Switchboard: ${command} failed: ${reason}`);
  }
}

async function requestStatus(): Promise<StatusReport | undefined> {
  try {
    return parseStatus(await sendServerCommand("switchboard.status", []));
  } catch (error) {
    output.info(`switchboard.status: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
}

async function showActions(): Promise<void> {
  const actions = actionsFor(lastStatus ?? (await requestStatus()));
  const picked = await vscode.window.showQuickPick(
    actions.map((action) => ({ label: action.label, description: action.description, action })),
    { title: "Switchboard", placeHolder: statusItem.tooltip?.toString().split("\n")[0] },
  );
  if (picked) await runAction(picked.action);
}

async function runAction(action: StatusAction): Promise<void> {
  switch (action.action) {
    case "server":
      return runServerCommand(action.command, action.args);
    case "showLogs":
      return output.show(true);
    case "restart":
      return restart();
    case "showStats":
      return showStats();
  }
}

/** Runs `switchboard-ls stats --json` (no server needed) and shows it as a page. */
async function showStats(): Promise<void> {
  const binary = serverBinary;
  if (!binary) {
    void vscode.window.showErrorMessage("Switchboard: switchboard-ls is not running, so there is no binary to read the stats with.");
    return;
  }
  let report: unknown;
  try {
    report = await new Promise<unknown>((resolve, reject) => {
      execFile(binary.path, ["stats", "--json", "--since", "7d"], { env: binary.env, timeout: 15_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (stderr.trim()) output.warn(`switchboard-ls stats: ${stderr.trim()}`);
        if (error) return reject(new Error(stderr.trim() || error.message));
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error("switchboard-ls stats --json printed something that is not JSON"));
        }
      });
    });
  } catch (error) {
    void vscode.window.showErrorMessage(`Switchboard: could not read the stats: ${error instanceof Error ? error.message : error}`);
    return;
  }
  if (!statsPanel) {
    statsPanel = vscode.window.createWebviewPanel("switchboard.stats", "Switchboard Stats", vscode.ViewColumn.Active, {
      enableScripts: false,
    });
    statsPanel.onDidDispose(() => (statsPanel = undefined));
  } else {
    statsPanel.reveal();
  }
  statsPanel.webview.html = renderStatsHtml(report, statsPanel.webview.cspSource);
}

/** Palette commands that act on one provider: pick it from the last status report. */
async function runForProvider(command: ServerCommand, prompt: string): Promise<void> {
  const report = parseStatus(lastStatus) ?? (await requestStatus());
  let name: string | undefined;
  if (report) {
    const candidates = report.providers.filter((p) => appliesTo(command, p));
    if (!candidates.length) {
      void vscode.window.showInformationMessage(`Switchboard: no provider to ${command.split(".")[1]}.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      candidates.map((p) => ({ label: p.name, description: p.detail ? `${p.state} — ${p.detail}` : p.state })),
      { title: "Switchboard", placeHolder: prompt },
    );
    name = picked?.label;
  } else {
    name = (await vscode.window.showInputBox({ title: "Switchboard", prompt }))?.trim();
  }
  if (name) await runServerCommand(command, [name]);
}
