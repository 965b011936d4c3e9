// VS Code settings → the `switchboard` config object of DESIGN.md §3.
//
// The editor's settings are the top config layer and replace it as a whole on each
// change, so only values the user actually set are sent: sending VS Code's defaults
// would silently override the user's config.toml with the built-in values.
//
// Pure: no `vscode` import, so it runs under `node --test`.

/** One setting as `WorkspaceConfiguration.inspect()` reports it. */
export interface InspectedValue {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** Looks up one key under `switchboard.` (e.g. `completion.max_tokens`). */
export type SettingsReader = (key: string) => InspectedValue | undefined;

/** Every setting that maps onto the server config, as dotted paths below `switchboard`. */
export const CONFIG_KEYS: readonly string[] = [
  "completion.max_prefix_chars",
  "completion.max_suffix_chars",
  "completion.max_tokens",
  "completion.deadline_ms",
  "completion.exclude",
  "cache.capacity",
  "cache.ttl_secs",
  "cache.path",
  "routing.retries",
  "routing.hedge_ms",
  "routing.breaker_failures",
  "routing.breaker_cooldown_ms",
  "routing.status_poll_secs",
  "routing.notify",
  "routing.order",
  "routing.disabled",
  "provider",
];

/**
 * Keys honoured from user settings only. A workspace's `.vscode/settings.json` arrives
 * with a cloned repo, and must not be able to send your key or your code to a server of
 * its choosing, nor make the cache overwrite a file (DESIGN.md §6).
 */
export const USER_ONLY_KEYS: ReadonlySet<string> = new Set(["provider", "cache.path"]);

/** Settings that configure the client and the process, never sent to the server. */
export const CLIENT_KEYS: readonly string[] = ["server.path", "server.log", "trace.server"];

export type ServerConfig = Record<string, unknown>;

/** The explicitly set value of one key, workspace folder over workspace over user. */
export function effectiveValue(key: string, inspected: InspectedValue | undefined): unknown {
  if (!inspected) return undefined;
  if (USER_ONLY_KEYS.has(key)) return inspected.globalValue;
  return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue;
}

/** `hedge_ms` accepts "auto", "off" or milliseconds; a number typed as a string is a number. */
function normalise(key: string, value: unknown): unknown {
  if (key === "routing.hedge_ms" && typeof value === "string" && /^\s*\d+\s*$/.test(value)) {
    return Number(value.trim());
  }
  return value;
}

/**
 * Builds the object sent as `initializationOptions` and as `settings.switchboard` in
 * `workspace/didChangeConfiguration`: nested like config.toml, with only the keys the
 * user set, e.g. `{"routing": {"retries": 0}, "provider": [...]}`.
 */
export function buildServerConfig(read: SettingsReader): ServerConfig {
  const config: ServerConfig = {};
  for (const key of CONFIG_KEYS) {
    const value = effectiveValue(key, read(key));
    if (value === undefined || value === null) continue;
    setPath(config, key.split("."), normalise(key, value));
  }
  return config;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

