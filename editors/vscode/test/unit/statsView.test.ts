import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hourlyStrip, parseStatsReport, renderStatsHtml } from "../../src/statsView";

// The shape of `switchboard-ls stats --json` (docs/STATS.md), trimmed.
const report = {
  version: 1,
  since: "2026-12-04T07:00:00Z",
  until: "2026-12-04T12:30:00Z",
  hours: 3,
  window: "last 3 hours",
  providers: [
    {
      name: "claude", served: 26, accepted: 6, accepted_pct: 23, cached: 3, stale: 0, local: 0, failovers: 0,
      failures: { retryable: 5 }, latency_ms: { p50: 285, p95: 975 },
      outages: [{ start: "2026-12-04T09:10:00Z", end: "2026-12-04T10:02:00Z", minutes: 52, reason: "529 retryable" }],
      down_minutes: 52,
      hourly: [
        { hour: "2026-12-04T08:00:00Z", served: 0, p50_ms: null, down: false },
        { hour: "2026-12-04T09:00:00Z", served: 4, p50_ms: 300, down: true },
        { hour: "2026-12-04T10:00:00Z", served: 22, p50_ms: 150, down: false },
      ],
    },
    { name: "<gpt>", served: 14, accepted: 6, accepted_pct: 43, cached: 0, stale: 0, local: 0, failovers: 14, failures: {}, latency_ms: { p50: 350, p95: 400 }, outages: [], down_minutes: 0, hourly: [] },
  ],
  total: { served: 40, accepted: 12, accepted_pct: 30, cached: 3, stale: 0, local: 0, cache_hit_pct: 8 },
  summary: "last 3 hours: claude down once, 52 min in all; 14 completions served by gpt and 3 from cache meanwhile.",
};

describe("the stats page", () => {
  test("one card per provider with its counts, accepted share, latency, failovers and outages", () => {
    const html = renderStatsHtml(report, "vscode-webview://x");
    assert.match(html, /<section class="provider" data-provider="claude">/);
    assert.match(html, /<td class="served">26<\/td>/);
    assert.match(html, /<td class="accepted">6<\/td>/);
    assert.match(html, /23% accepted/);
    assert.match(html, /285 ms<\/td><td>p95 975 ms/);
    assert.match(html, /failures: 5 retryable/);
    assert.match(html, /52 min — 529 retryable/);
    assert.match(html, /claude down once, 52 min in all/);
  });

  test("names from the report are escaped and the page runs no script", () => {
    const html = renderStatsHtml(report, "vscode-webview://x");
    assert.ok(html.includes("data-provider=\"&lt;gpt&gt;\""));
    assert.ok(!html.includes("<gpt>"));
    assert.ok(!/<script/i.test(html));
    assert.match(html, /default-src 'none'/);
  });

  test("the hourly strip: a bar per hour, red when down, a low line without traffic", () => {
    const svg = hourlyStrip(parseStatsReport(report)!.providers[0].hourly, "claude");
    assert.equal((svg.match(/<rect /g) ?? []).length, 3);
    assert.match(svg, /class="idle"[^>]*><title>2026-12-04T08:00:00Z: no traffic/);
    assert.match(svg, /class="down"[^>]*><title>2026-12-04T09:00:00Z: down/);
    assert.match(svg, /class="bar" x="10" y="16" width="4" height="16"><title>2026-12-04T10:00:00Z: 22 served, p50 150 ms/, "half as slow as the slowest hour, half as tall");
  });

  test("an empty file and a report this version does not understand", () => {
    assert.match(renderStatsHtml({ ...report, providers: [] }, "s"), /Nothing recorded last 3 hours/);
    assert.match(renderStatsHtml({ nope: 1 }, "s"), /does not understand/);
    assert.match(renderStatsHtml("garbage", "s"), /does not understand/);
  });
});
