// "Switchboard: Show Stats": the report of `switchboard-ls stats --json` (docs/STATS.md)
// drawn as a page: one card per provider with its served and accepted counts, latency,
// failovers and outages, and an hourly strip of small bars (height: median latency;
// red: an hour it was down; faint dot: no traffic), then the summary in words.
//
// Pure: no `vscode` import. The report comes from another process: every field is
// checked, every string escaped; the page runs no script.

export interface HourStat {
  hour: string;
  served: number;
  p50_ms?: number;
  down: boolean;
}

export interface ProviderStat {
  name: string;
  served: number;
  accepted: number;
  accepted_pct?: number;
  cached: number;
  stale: number;
  local: number;
  failovers: number;
  failures: Record<string, number>;
  p50?: number;
  p95?: number;
  outages: { start: string; end: string; minutes: number; reason: string }[];
  down_minutes: number;
  hourly: HourStat[];
}

export interface StatsReport {
  window: string;
  since: string;
  until: string;
  summary: string;
  providers: ProviderStat[];
  total: { served: number; accepted: number; accepted_pct?: number; cached: number; cache_hit_pct?: number };
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Reads `stats --json` output defensively; `undefined` when it is not such a report. */
export function parseStatsReport(raw: unknown): StatsReport | undefined {
  const r = obj(raw);
  if (!Array.isArray(r.providers)) return undefined;
  const providers = arr(r.providers).flatMap((value): ProviderStat[] => {
    const p = obj(value);
    const name = str(p.name);
    if (!name) return [];
    const failures: Record<string, number> = {};
    for (const [k, v] of Object.entries(obj(p.failures))) {
      const n = num(v);
      if (n !== undefined) failures[k] = n;
    }
    return [
      {
        name,
        served: num(p.served) ?? 0,
        accepted: num(p.accepted) ?? 0,
        accepted_pct: num(p.accepted_pct),
        cached: num(p.cached) ?? 0,
        stale: num(p.stale) ?? 0,
        local: num(p.local) ?? 0,
        failovers: num(p.failovers) ?? 0,
        failures,
        p50: num(obj(p.latency_ms).p50),
        p95: num(obj(p.latency_ms).p95),
        outages: arr(p.outages).map((o) => ({
          start: str(obj(o).start) ?? "",
          end: str(obj(o).end) ?? "",
          minutes: num(obj(o).minutes) ?? 0,
          reason: str(obj(o).reason) ?? "",
        })),
        down_minutes: num(p.down_minutes) ?? 0,
        hourly: arr(p.hourly).map((h) => ({
          hour: str(obj(h).hour) ?? "",
          served: num(obj(h).served) ?? 0,
          p50_ms: num(obj(h).p50_ms),
          down: obj(h).down === true,
        })),
      },
    ];
  });
  const t = obj(r.total);
  return {
    window: str(r.window) ?? "",
    since: str(r.since) ?? "",
    until: str(r.until) ?? "",
    summary: str(r.summary) ?? "",
    providers,
    total: {
      served: num(t.served) ?? 0,
      accepted: num(t.accepted) ?? 0,
      accepted_pct: num(t.accepted_pct),
      cached: num(t.cached) ?? 0,
      cache_hit_pct: num(t.cache_hit_pct),
    },
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const ms = (v: number | undefined) => (v === undefined ? "—" : `${v} ms`);

/** The hourly strip as an SVG: a bar an hour, scaled to the slowest hour shown. */
export function hourlyStrip(hours: HourStat[], name: string): string {
  const width = 4;
  const gap = 1;
  const height = 32;
  const slowest = Math.max(1, ...hours.map((h) => h.p50_ms ?? 0));
  const bars = hours
    .map((h, i) => {
      const x = i * (width + gap);
      const title = `<title>${escapeHtml(h.hour)}: ${
        h.down ? "down" : h.served ? `${h.served} served, p50 ${ms(h.p50_ms)}` : "no traffic"
      }</title>`;
      if (h.down) return `<rect class="down" x="${x}" y="0" width="${width}" height="${height}">${title}</rect>`;
      if (!h.served) return `<rect class="idle" x="${x}" y="${height - 2}" width="${width}" height="2">${title}</rect>`;
      const bar = Math.max(3, Math.round(((h.p50_ms ?? 0) / slowest) * height));
      return `<rect class="bar" x="${x}" y="${height - bar}" width="${width}" height="${bar}">${title}</rect>`;
    })
    .join("");
  const w = Math.max(1, hours.length * (width + gap));
  return (
    `<svg class="strip" role="img" aria-label="hourly health of ${escapeHtml(name)}" ` +
    `width="${w}" height="${height}" viewBox="0 0 ${w} ${height}">${bars}</svg>`
  );
}

/** A horizontal bar: `part` of `whole`. */
function meter(part: number, whole: number, label: string): string {
  const pct = whole > 0 ? Math.min(100, Math.round((part / whole) * 100)) : 0;
  return (
    `<svg class="meter" role="img" aria-label="${escapeHtml(label)}" width="120" height="8" viewBox="0 0 100 8" preserveAspectRatio="none">` +
    `<rect class="track" x="0" y="0" width="100" height="8"/><rect class="fill" x="0" y="0" width="${pct}" height="8"/></svg>`
  );
}

function providerCard(p: ProviderStat): string {
  const accepted = p.accepted_pct === undefined ? "—" : `${p.accepted_pct}%`;
  const failures = Object.entries(p.failures)
    .map(([cls, n]) => `${n} ${escapeHtml(cls)}`)
    .join(", ");
  const outages = p.outages.length
    ? `<ul class="outages">${p.outages
        .map((o) => `<li>${escapeHtml(o.start)} → ${escapeHtml(o.end)}: ${o.minutes} min — ${escapeHtml(o.reason)}</li>`)
        .join("")}</ul>`
    : "";
  return `<section class="provider" data-provider="${escapeHtml(p.name)}">
<h2>${escapeHtml(p.name)}</h2>
<table>
<tr><th>served</th><td class="served">${p.served}</td><td>${p.cached} from cache, ${p.stale} stale, ${p.local} local</td></tr>
<tr><th>accepted</th><td class="accepted">${p.accepted}</td><td>${meter(p.accepted, p.served, `${accepted} accepted`)} ${accepted}</td></tr>
<tr><th>latency</th><td>${ms(p.p50)}</td><td>p95 ${ms(p.p95)}</td></tr>
<tr><th>failovers</th><td>${p.failovers}</td><td>${failures ? `failures: ${failures}` : "no failures"}</td></tr>
<tr><th>outages</th><td>${p.outages.length}</td><td>${p.down_minutes ? `${p.down_minutes} min down` : "none"}</td></tr>
</table>
${hourlyStrip(p.hourly, p.name)}
${outages}
</section>`;
}

/**
 * The whole page. `cspSource` is the webview's own source, so that only inline styles and
 * nothing else may load.
 */
export function renderStatsHtml(raw: unknown, cspSource: string): string {
  const report = parseStatsReport(raw);
  const body = !report
    ? `<p class="empty">switchboard-ls sent a report this version does not understand.</p>`
    : report.providers.length === 0
      ? `<p class="empty">Nothing recorded ${escapeHtml(report.window || "yet")}: stats are written once a minute while completions are served.</p>`
      : `<p class="summary">${escapeHtml(report.summary)}</p>
<p class="totals">${report.total.served} served · ${report.total.accepted} accepted${
          report.total.accepted_pct === undefined ? "" : ` (${report.total.accepted_pct}%)`
        } · ${report.total.cached} from cache</p>
<p class="legend">Hourly strip, oldest first: bar height is median latency, <span class="down-key">red</span> an hour the provider was down, a low line no traffic.</p>
${report.providers.map(providerCard).join("\n")}`;
  const title = report ? `Switchboard — ${escapeHtml(report.window)}` : "Switchboard stats";
  const range = report && report.since ? `<p class="range">${escapeHtml(report.since)} → ${escapeHtml(report.until)}</p>` : "";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource}; style-src ${cspSource} 'unsafe-inline';">
<title>Switchboard stats</title>
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
.provider { border: 1px solid var(--vscode-panel-border, #8884); border-radius: 4px; padding: 0.5em 1em; margin: 1em 0; max-width: 46em; }
h2 { margin: 0.2em 0; font-size: 1.2em; }
th { text-align: left; font-weight: normal; opacity: 0.8; padding-right: 1em; }
td { padding-right: 1em; }
.strip .bar, .meter .fill { fill: var(--vscode-charts-blue, #3794ff); }
.strip .down { fill: var(--vscode-charts-red, #f14c4c); }
.strip .idle, .meter .track { fill: var(--vscode-disabledForeground, #8886); }
.down-key { color: var(--vscode-charts-red, #f14c4c); }
.legend, .range { opacity: 0.8; font-size: 0.9em; }
</style></head>
<body>
<h1>${title}</h1>
${range}
${body}
</body></html>`;
}
