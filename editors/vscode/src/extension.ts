// VS Code glue: starts switchboard-ls, keeps its settings in sync, and shows its
// `switchboard/status` notification in the status bar. Everything worth testing without
// VS Code lives in config.ts, serverPath.ts and status.ts.
//
// Command ids: vscode-languageclient registers the server's own commands
// (`switchboard.retry`, …, from `executeCommandProvider`) so that the server's code
// actions work; the extension's palette commands are therefore `switchboard.client.*`,
// and they reach the server through `workspace/executeCommand`.

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
} from "vscode-languageclient/node";
import { buildServerConfig, type ServerConfig } from "./config";
import { parseServerLogLine } from "./serverLog";
import { discoverServer, startFailureMessage } from "./serverPath";
import {
  actionsFor,
  appliesTo,
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

let client: LanguageClient | undefined;
let lastStatus: unknown;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;

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

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration("switchboard")) return;
      if (event.affectsConfiguration("switchboard.server")) {
        void restart();
      } else if (client?.isRunning()) {
        void client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { switchboard: currentConfig() },
        });
      }
    }),
  );

  statusItem.show();
  await start();
}

export async function deactivate(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) await running.stop().catch(() => undefined);
}

function currentConfig(): ServerConfig {
  const settings = vscode.workspace.getConfiguration("switchboard");
  return buildServerConfig((key) => settings.inspect(key));
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
  show(renderStarting());
  const settings = vscode.workspace.getConfiguration("switchboard");
  const found = discoverServer({
    setting: settings.inspect<string>("server.path")?.globalValue,
    env: process.env,
    homeDir: os.homedir(),
  });
  if (!found.ok) {
    return fail(found.message);
  }
  output.info(`Starting ${found.path} (found via ${found.source})`);

  const env: NodeJS.ProcessEnv = { ...process.env };
  const log = settings.get<string>("server.log")?.trim();
  if (log) env.SWITCHBOARD_LOG = log;
  const serverOptions: ServerOptions = {
    command: found.path,
    transport: TransportKind.stdio,
    options: { env },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: currentConfig,
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
  next.onNotification(STATUS_NOTIFICATION, (report: unknown) => {
    lastStatus = report;
    show(renderStatus(report));
  });
  next.onDidChangeState(async (event) => {
    if (client !== next) return;
    if (event.newState === State.Stopped) {
      show(renderFailed("Switchboard: switchboard-ls stopped. Use Restart Server, or see the logs."));
    } else if (event.newState === State.Running && lastStatus !== undefined) {
      // Restarted by vscode-languageclient after a crash: the old report is stale.
      lastStatus = undefined;
      const report = await requestStatus();
      if (report && lastStatus === undefined) show(renderStatus(report));
    }
  });
  client = next;
  try {
    await next.start();
  } catch (error) {
    client = undefined;
    return fail(startFailureMessage(found.path, error));
  }
  // Seed the status bar; a server that sent its first notification already wins.
  if (lastStatus === undefined) {
    const report = await requestStatus();
    if (report && lastStatus === undefined) show(renderStatus(report));
  }
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
  if (old) await old.stop().catch((e) => output.info(`Stopping the server: ${e}`));
  await start();
}

async function sendServerCommand(command: ServerCommand, args: string[]): Promise<unknown> {
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
  }
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
