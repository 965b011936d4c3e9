// Where the switchboard-ls binary is: the setting, then $SWITCHBOARD_LS_PATH, then PATH,
// then ~/.cargo/bin (where `cargo install` puts it; VS Code started from a desktop
// launcher often has a PATH without it).
//
// Pure apart from the default file probe: no `vscode` import.

import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseJsonc, type ParseError } from "jsonc-parser";

export const BINARY = "switchboard-ls";
// Messages are shown in toasts, which render no Markdown: quotes, not backticks.
export const INSTALL_HINT =
  'Build and install it with "cargo install --path ." in the Switchboard checkout, ' +
  "or set switchboard.server.path (user settings) to the binary.";

export type ServerSource = "setting" | "env" | "path" | "cargo";

export type Discovery =
  | { ok: true; path: string; source: ServerSource }
  | { ok: false; message: string };

export interface DiscoveryInput {
  /** `switchboard.server.path`; empty or blank means unset. */
  setting?: string;
  /** Where the setting's value came from, for messages ("user settings"). */
  settingScope?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
  platform?: NodeJS.Platform;
  /** Whether a runnable file is at this path. */
  isRunnable?: (file: string) => boolean;
}

/** True when `file` is a regular file this process may execute. */
export function isRunnableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function expandHome(file: string, homeDir: string): string {
  if (file === "~") return homeDir;
  if (file.startsWith("~/") || file.startsWith("~\\")) return path.join(homeDir, file.slice(2));
  return file;
}

/**
 * Finds the server. An explicit setting or variable that points at nothing runnable is an
 * error naming it, rather than a silent fall-through to some other binary.
 */
export function discoverServer(input: DiscoveryInput): Discovery {
  const platform = input.platform ?? process.platform;
  const isRunnable = input.isRunnable ?? isRunnableFile;
  const exe = platform === "win32" ? `${BINARY}.exe` : BINARY;

  const setting = input.setting?.trim();
  if (setting) {
    const file = expandHome(setting, input.homeDir);
    if (isRunnable(file)) return { ok: true, path: file, source: "setting" };
    return {
      ok: false,
      message:
        `Switchboard: switchboard.server.path is "${setting}"${scopeNote(input)}, but there is no runnable ` +
        `${BINARY} at ${file}. ${INSTALL_HINT} Clear the setting to look on PATH instead.`,
    };
  }

  const fromEnv = input.env.SWITCHBOARD_LS_PATH?.trim();
  if (fromEnv) {
    const file = expandHome(fromEnv, input.homeDir);
    if (isRunnable(file)) return { ok: true, path: file, source: "env" };
    return {
      ok: false,
      message:
        `Switchboard: $SWITCHBOARD_LS_PATH is "${fromEnv}", but there is no runnable ` +
        `${BINARY} there. ${INSTALL_HINT}`,
    };
  }

  const pathVar = input.env.PATH ?? input.env.Path ?? "";
  const separator = platform === "win32" ? ";" : ":";
  for (const dir of pathVar.split(separator)) {
    if (!dir) continue;
    const file = path.join(dir, exe);
    if (isRunnable(file)) return { ok: true, path: file, source: "path" };
  }

  const cargoHome = input.env.CARGO_HOME?.trim() || path.join(input.homeDir, ".cargo");
  const cargoBin = path.join(cargoHome, "bin", exe);
  if (isRunnable(cargoBin)) return { ok: true, path: cargoBin, source: "cargo" };

  return {
    ok: false,
    message:
      `Switchboard: ${BINARY} was not found. Looked at: switchboard.server.path (not set${scopeNote(input, "in ")}), ` +
      `$SWITCHBOARD_LS_PATH (not set), every directory on PATH, and ${cargoBin}. ${INSTALL_HINT}`,
  };
}

/** " (user settings)", or "in user settings" with a lead-in; "" when the scope is unknown. */
function scopeNote(input: DiscoveryInput, lead?: string): string {
  if (!input.settingScope) return "";
  return lead ? ` ${lead}${input.settingScope}` : ` (${input.settingScope})`;
}

/** What `inspect("server.path")` gives, as far as discovery cares. */
export interface PathSettingInspection {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * The server path from the user's own settings only: a workspace (which anyone can ship
 * in a repository) must not choose which binary VS Code runs. In a remote window
 * (code-server, SSH, containers) `globalValue` holds the remote's user settings merged
 * with the local ones, which is why the setting is `machine-overridable` and not
 * `machine` (a `machine` setting set in local user settings is ignored there).
 */
export function serverPathSetting(inspected: PathSettingInspection | undefined): {
  value?: string;
  ignoredWorkspaceValue: boolean;
} {
  const value = typeof inspected?.globalValue === "string" ? inspected.globalValue : undefined;
  const ignoredWorkspaceValue =
    (typeof inspected?.workspaceValue === "string" && inspected.workspaceValue.trim() !== "") ||
    (typeof inspected?.workspaceFolderValue === "string" && inspected.workspaceFolderValue.trim() !== "");
  return { value, ignoredWorkspaceValue };
}

/**
 * The settings files `switchboard.server.path` may be in, for a VS Code whose extension
 * storage is `globalStorage` (`<user-data>/User/globalStorage/<id>`): the user's own, then
 * the remote machine's (code-server, SSH and container windows keep one per machine).
 */
export function userSettingsFiles(globalStorage: string): string[] {
  const userData = path.dirname(path.dirname(path.dirname(globalStorage)));
  return [path.join(userData, "User", "settings.json"), path.join(userData, "Machine", "settings.json")];
}

/**
 * The `switchboard.*` values of the user's settings files, read directly (JSON with
 * comments), later files winning. For when the configuration API does not have them: in
 * code-server's first window after the extension was installed, VS Code passes no
 * machine-scoped user setting on to extensions until the window is reloaded (seen in the
 * end-to-end test: the path, the providers and the cache path were all missing, for good).
 * Missing, unreadable or malformed files add nothing.
 */
export function readUserSettingsFiles(files: string[]): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const errors: ParseError[] = [];
    const settings: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) continue;
    for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
      if (key.startsWith("switchboard.")) found[key] = value;
    }
  }
  return found;
}

/**
 * An `inspect()` result whose user value is the settings files' when they have the key.
 * They are the file VS Code reads too, so the two agree once VS Code has caught up; but
 * where VS Code leaves machine settings out (see `readUserSettingsFiles`) it also sends no
 * change event when the user edits them, and its copy would stay stale. Workspace values
 * are never taken from files.
 */
export function withFileValue<T extends { globalValue?: unknown }>(
  inspected: T | undefined,
  key: string,
  fromFiles: Record<string, unknown>,
): T | undefined {
  if (!(key in fromFiles)) return inspected;
  return { ...(inspected ?? ({} as T)), globalValue: fromFiles[key] };
}

/**
 * Seconds to wait before looking for the server again after attempt `attempt` (0-based)
 * failed: soon at first (settings of a remote window can arrive after activation), then
 * every 30 s (the user may be building it right now).
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt), 30_000);
}

/** The message shown when the binary was found but would not start. */
export function startFailureMessage(serverPath: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return (
    `Switchboard: could not start ${serverPath}: ${reason}. ` +
    'Rebuild it with "cargo install --path ." in the Switchboard checkout, ' +
    "or point switchboard.server.path at a working binary."
  );
}
