// The `switchboard/status` notification (DESIGN.md §5) → what the status bar shows and
// which actions its quick pick offers.
//
// Pure: no `vscode` import. The report comes from another process, so every field is
// checked before use; a malformed report renders as "unknown", never throws.

export type ProviderState = "healthy" | "degraded" | "down" | "disabled";

export interface ProviderStatus {
  name: string;
  kind?: string;
  model?: string;
  state: ProviderState | string;
  detail?: string;
  retry_in_ms?: number;
  status_page?: { indicator?: string; description?: string } | null;
  latency_ms?: { p50?: number; p95?: number } | null;
  requests?: number;
  failures?: number;
}

export interface StatusReport {
  serving?: string | null;
  providers: ProviderStatus[];
  cache?: { entries?: number; hits?: number; misses?: number } | null;
}

/** How loud the status bar item is: `warning` and `error` also colour its background. */
export type StatusLevel = "starting" | "ok" | "degraded" | "warning" | "error";

export interface StatusView {
  /** Status bar text, with codicons. */
  text: string;
  /** Plain-text tooltip, one line per provider. */
  tooltip: string;
  /** Screen-reader label; also what the end-to-end test reads. */
  label: string;
  level: StatusLevel;
}

const CLICK_HINT = "Click for actions (retry, disable, enable, clear cache, status page, stats, logs).";

/** Reads a report defensively; `undefined` when it is not a status report at all. */
export function parseStatus(raw: unknown): StatusReport | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const obj = raw as Record<string, unknown>;
  if (!Array.isArray(obj.providers)) return undefined;
  const providers: ProviderStatus[] = [];
  for (const p of obj.providers) {
    if (typeof p !== "object" || p === null) continue;
    const entry = p as Record<string, unknown>;
    if (typeof entry.name !== "string") continue;
    providers.push({
      name: entry.name,
      kind: str(entry.kind),
      model: str(entry.model),
      state: str(entry.state) ?? "unknown",
      detail: str(entry.detail),
      retry_in_ms: num(entry.retry_in_ms),
      status_page: isObject(entry.status_page)
        ? {
            indicator: str(entry.status_page.indicator),
            description: str(entry.status_page.description),
          }
        : null,
      latency_ms: isObject(entry.latency_ms)
        ? { p50: num(entry.latency_ms.p50), p95: num(entry.latency_ms.p95) }
        : null,
      requests: num(entry.requests),
      failures: num(entry.failures),
    });
  }
  const cache = isObject(obj.cache)
    ? { entries: num(obj.cache.entries), hits: num(obj.cache.hits), misses: num(obj.cache.misses) }
    : null;
  return { serving: str(obj.serving) ?? null, providers, cache };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const isLocal = (p: ProviderStatus) => p.kind === "local";
const isOut = (p: ProviderStatus) => p.state === "down" || p.state === "disabled";

/** "20s", "1m 5s", "450ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const secs = Math.round(ms / 1000);
  if (secs < 60) return `${secs}s`;
  const mins = Math.floor(secs / 60);
  const rest = secs % 60;
  return rest ? `${mins}m ${rest}s` : `${mins}m`;
}

/** One tooltip line: `claude (anthropic · claude-haiku-4-5): down — 529 overloaded ×3 · retry in 20s`. */
export function describeProvider(p: ProviderStatus, elapsedMs = 0): string {
  const what = [p.kind, p.model].filter(Boolean).join(" · ");
  let line = `${p.name}${what ? ` (${what})` : ""}: ${p.state}`;
  if (p.detail) line += ` — ${p.detail}`;
  const extras: string[] = [];
  if (p.retry_in_ms !== undefined && p.state === "down") {
    // The report is a snapshot: count down from when it arrived, then say what happens.
    const left = p.retry_in_ms - elapsedMs;
    extras.push(left > 0 ? `retry in ${formatDuration(Math.max(1000, left))}` : "will retry on the next completion");
  }
  if (p.status_page?.indicator && p.status_page.indicator !== "none") {
    const desc = p.status_page.description ? ` "${p.status_page.description}"` : "";
    extras.push(`status page: ${p.status_page.indicator}${desc}`);
  }
  if (p.latency_ms?.p50 !== undefined) {
    const p95 = p.latency_ms.p95 !== undefined ? ` / p95 ${p.latency_ms.p95}ms` : "";
    extras.push(`p50 ${p.latency_ms.p50}ms${p95}`);
  }
  if (p.requests !== undefined) {
    extras.push(`${p.requests} request${p.requests === 1 ? "" : "s"}, ${p.failures ?? 0} failed`);
  }
  return extras.length ? `${line} · ${extras.join(" · ")}` : line;
}

/** True while some provider's retry countdown is still running `elapsedMs` after the report. */
export function countingDown(raw: unknown, elapsedMs: number): boolean {
  const report = parseStatus(raw);
  return !!report?.providers.some((p) => p.state === "down" && p.retry_in_ms !== undefined && p.retry_in_ms > elapsedMs);
}

/** "claude down", "claude, gemini down", "claude down, gpt slow", "3 providers out". */
function whoIsOut(troubled: ProviderStatus[]): string {
  if (troubled.length > 2) return `${troubled.length} providers out`;
  const byState = new Map<string, string[]>();
  for (const p of troubled) byState.set(p.state, [...(byState.get(p.state) ?? []), p.name]);
  return [...byState].map(([state, names]) => `${names.join(", ")} ${state}`).join(", ");
}

/**
 * The status bar item for a report from the server, `elapsedMs` after it arrived. The
 * text says who is not serving and who serves instead ("claude down · serving gpt"),
 * not just a name that could be either.
 */
export function renderStatus(raw: unknown, elapsedMs = 0): StatusView {
  const report = parseStatus(raw);
  if (!report) {
    return {
      text: "$(question) Switchboard",
      tooltip: `Switchboard: the server sent a status this version does not understand.\n${CLICK_HINT}`,
      label: "Switchboard: status unknown",
      level: "degraded",
    };
  }
  const serving = report.serving ?? undefined;
  const cloud = report.providers.filter((p) => !isLocal(p));
  const out = report.providers.filter(isOut);
  const troubled = report.providers.filter((p) => p.state !== "healthy");

  let level: StatusLevel = "ok";
  if (troubled.length) level = "degraded";
  if (out.length) level = "warning";
  if (cloud.length > 0 && cloud.every(isOut)) level = "error";

  const icon = { starting: "$(loading~spin)", ok: "$(zap)", degraded: "$(pulse)", warning: "$(warning)", error: "$(error)" }[level];
  const text = troubled.length
    ? `${icon} ${whoIsOut(troubled)} · serving ${serving ?? "—"}`
    : `${icon} ${serving ?? "Switchboard"}`;

  const headline =
    level === "error"
      ? `Switchboard: all cloud providers unavailable — serving from ${serving ?? "cache and local"}`
      : `Switchboard: serving from ${serving ?? "—"}`;
  const lines = [headline, ...report.providers.map((p) => `• ${describeProvider(p, elapsedMs)}`)];
  const c = report.cache;
  if (c && c.entries !== undefined) {
    lines.push(`Cache: ${c.entries} entries · ${c.hits ?? 0} hits / ${c.misses ?? 0} misses`);
  }
  lines.push(CLICK_HINT);

  const states = report.providers.map((p) => `${p.name} ${p.state}`).join(", ");
  const label = `Switchboard: serving from ${serving ?? "none"}${states ? `; ${states}` : ""}`;
  return { text, tooltip: lines.join("\n"), label, level };
}

/** Before the first report arrives. */
export function renderStarting(): StatusView {
  return {
    text: "$(loading~spin) Switchboard",
    tooltip: `Switchboard: starting switchboard-ls…\n${CLICK_HINT}`,
    label: "Switchboard: starting",
    level: "starting",
  };
}

/** The server could not be found or started, or has stopped. */
export function renderFailed(reason: string): StatusView {
  return {
    text: "$(error) Switchboard",
    tooltip: `${reason}\n${CLICK_HINT}`,
    label: `Switchboard: not running — ${reason}`,
    level: "error",
  };
}

/** Server commands (DESIGN.md §1) the quick pick and palette run via `workspace/executeCommand`. */
export type ServerCommand =
  | "switchboard.status"
  | "switchboard.retry"
  | "switchboard.disable"
  | "switchboard.enable"
  | "switchboard.clearCache"
  | "switchboard.openStatusPage";

export type StatusAction =
  | { label: string; description?: string; action: "server"; command: ServerCommand; args: string[] }
  | { label: string; description?: string; action: "showLogs" }
  | { label: string; description?: string; action: "showStats" }
  | { label: string; description?: string; action: "restart" };

/** Which provider a per-provider server command applies to. */
export function appliesTo(command: ServerCommand, p: ProviderStatus): boolean {
  switch (command) {
    case "switchboard.retry":
      return p.state !== "healthy";
    case "switchboard.disable":
      return p.state !== "disabled";
    case "switchboard.enable":
      return p.state === "disabled";
    case "switchboard.openStatusPage":
      // The report carries the page's reading, not its URL; anthropic and openai have one by default.
      return !!p.status_page || p.kind === "anthropic" || p.kind === "openai";
    default:
      return false;
  }
}

/** The status bar quick pick, most useful first: fix what is broken, then the rest. */
export function actionsFor(raw: unknown): StatusAction[] {
  const report = parseStatus(raw);
  const providers = report?.providers ?? [];
  const actions: StatusAction[] = [];
  const perProvider = (command: ServerCommand, label: (name: string) => string) => {
    for (const p of providers) {
      if (appliesTo(command, p)) {
        actions.push({ label: label(p.name), description: describeState(p), action: "server", command, args: [p.name] });
      }
    }
  };
  perProvider("switchboard.retry", (n) => `$(refresh) Retry ${n} now`);
  perProvider("switchboard.enable", (n) => `$(check) Enable ${n}`);
  perProvider("switchboard.disable", (n) => `$(circle-slash) Disable ${n} for this session`);
  actions.push({ label: "$(trash) Clear completion cache", action: "server", command: "switchboard.clearCache", args: [] });
  perProvider("switchboard.openStatusPage", (n) => `$(link-external) Open ${n} status page`);
  actions.push({ label: "$(graph) Show stats", description: "accepts, latency and outages per provider", action: "showStats" });
  actions.push({ label: "$(output) Show logs", action: "showLogs" });
  actions.push({ label: "$(debug-restart) Restart server", action: "restart" });
  return actions;
}

function describeState(p: ProviderStatus): string {
  return p.detail ? `${p.state} — ${p.detail}` : p.state;
}
