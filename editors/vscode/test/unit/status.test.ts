import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actionsFor, countingDown, formatDuration, renderFailed, renderStarting, renderStatus } from "../../src/status";

// The example report of DESIGN.md §5, plus a second provider.
const claudeDown = {
  serving: "gpt",
  providers: [
    {
      name: "claude", kind: "anthropic", model: "claude-haiku-4-5", state: "down",
      detail: "529 overloaded ×3", retry_in_ms: 20000,
      status_page: { indicator: "major", description: "Partial outage" },
      latency_ms: { p50: 310, p95: 900 }, requests: 41, failures: 7,
    },
    { name: "gpt", kind: "openai", model: "gpt-4o-mini", state: "healthy", requests: 3, failures: 0 },
    { name: "local", kind: "local", state: "healthy" },
  ],
  cache: { entries: 1200, hits: 800, misses: 400 },
};

const allHealthy = {
  serving: "claude",
  providers: [
    { name: "claude", kind: "anthropic", model: "claude-haiku-4-5", state: "healthy" },
    { name: "local", kind: "local", state: "healthy" },
  ],
};

describe("renderStatus", () => {
  test("healthy chain shows the serving provider without a warning", () => {
    const view = renderStatus(allHealthy);
    assert.equal(view.level, "ok");
    assert.equal(view.text, "$(zap) claude");
    assert.match(view.tooltip, /^Switchboard: serving from claude\n/);
  });

  test("a down provider gives a warning look and names who serves instead", () => {
    const view = renderStatus(claudeDown);
    assert.equal(view.level, "warning");
    assert.equal(view.text, "$(warning) claude down · serving gpt");
    assert.equal(view.label, "Switchboard: serving from gpt; claude down, gpt healthy, local healthy");
  });

  test("the text names who is out, grouped by state, and who serves", () => {
    const report = structuredClone(claudeDown);
    report.providers[1].state = "degraded";
    assert.equal(renderStatus(report).text, "$(warning) claude down, gpt degraded · serving gpt");
    report.providers.push({ name: "gem", kind: "gemini", model: "g", state: "down" } as never);
    assert.equal(renderStatus(report).text, "$(warning) 3 providers out · serving gpt");
  });

  test("the retry countdown runs from when the report arrived, then says what happens next", () => {
    assert.match(renderStatus(claudeDown, 5_000).tooltip, /down — 529 overloaded ×3 · retry in 15s · /);
    assert.match(renderStatus(claudeDown, 19_600).tooltip, /retry in 1s/);
    assert.match(renderStatus(claudeDown, 20_000).tooltip, /down — 529 overloaded ×3 · will retry on the next completion · /);
    assert.equal(countingDown(claudeDown, 19_999), true);
    assert.equal(countingDown(claudeDown, 20_000), false);
    assert.equal(countingDown(allHealthy, 0), false);
  });

  test("tooltip lists each provider's state, detail, retry, status page and latency", () => {
    const lines = renderStatus(claudeDown).tooltip.split("\n");
    assert.equal(
      lines[1],
      '• claude (anthropic · claude-haiku-4-5): down — 529 overloaded ×3 · retry in 20s · ' +
        'status page: major "Partial outage" · p50 310ms / p95 900ms · 41 requests, 7 failed',
    );
    assert.equal(lines[2], "• gpt (openai · gpt-4o-mini): healthy · 3 requests, 0 failed");
    assert.equal(lines[3], "• local (local): healthy");
    assert.equal(lines[4], "Cache: 1200 entries · 800 hits / 400 misses");
  });

  test("a disabled provider is a warning too", () => {
    const report = structuredClone(allHealthy);
    report.providers.unshift({ name: "gpt", kind: "openai", model: "m", state: "disabled" });
    assert.equal(renderStatus(report).level, "warning");
  });

  test("a degraded provider pulses without a warning background", () => {
    const report = structuredClone(allHealthy);
    report.providers[0].state = "degraded";
    const view = renderStatus(report);
    assert.equal(view.level, "degraded");
    assert.equal(view.text, "$(pulse) claude degraded · serving claude");
  });

  test("every cloud provider out is an error: cached and local completions only", () => {
    const report = {
      serving: "local",
      providers: [
        { name: "claude", kind: "anthropic", state: "down" },
        { name: "gpt", kind: "openai", state: "disabled" },
        { name: "local", kind: "local", state: "healthy" },
      ],
    };
    const view = renderStatus(report);
    assert.equal(view.level, "error");
    assert.equal(view.text, "$(error) claude down, gpt disabled · serving local");
    assert.match(view.tooltip, /all cloud providers unavailable/);
  });

  test("a local-only chain is fine, not an error", () => {
    const view = renderStatus({ serving: "local", providers: [{ name: "local", kind: "local", state: "healthy" }] });
    assert.equal(view.level, "ok");
  });

  test("null fields, as switchboard-ls sends them, are left out", () => {
    const fromServer = {
      cache: { entries: 1, hits: 0, misses: 1 },
      providers: [
        { detail: null, failures: 0, kind: "openai-fim", latency_ms: { p50: 2, p95: 2 }, model: "m", name: "fake", requests: 1, retry_in_ms: null, state: "healthy", status_page: null },
        { detail: null, failures: 0, kind: "local", latency_ms: { p50: null, p95: null }, model: "local", name: "local", requests: 0, retry_in_ms: null, state: "healthy", status_page: null },
      ],
      serving: "fake",
    };
    const view = renderStatus(fromServer);
    assert.equal(view.text, "$(zap) fake");
    assert.deepEqual(view.tooltip.split("\n").slice(1, 3), [
      "• fake (openai-fim · m): healthy · p50 2ms / p95 2ms · 1 request, 0 failed",
      "• local (local · local): healthy · 0 requests, 0 failed",
    ]);
    // No status page: nothing to open for an openai-fim provider.
    assert.ok(!actionsFor(fromServer).some((a) => a.label.includes("status page")));
  });

  test("malformed reports render as unknown instead of throwing", () => {
    for (const junk of [null, 42, "x", {}, { providers: "no" }]) {
      assert.equal(renderStatus(junk).text, "$(question) Switchboard");
    }
    const partial = renderStatus({ providers: [{ name: "a" }, { nope: 1 }, null] });
    assert.equal(partial.label, "Switchboard: serving from none; a unknown");
  });

  test("starting and failed views", () => {
    assert.equal(renderStarting().level, "starting");
    const failed = renderFailed("switchboard-ls was not found");
    assert.equal(failed.level, "error");
    assert.match(failed.tooltip, /switchboard-ls was not found/);
  });
});

describe("formatDuration", () => {
  test("ms, seconds, minutes", () => {
    assert.equal(formatDuration(450), "450ms");
    assert.equal(formatDuration(20000), "20s");
    assert.equal(formatDuration(65000), "1m 5s");
    assert.equal(formatDuration(300000), "5m");
  });
});

describe("actionsFor", () => {
  test("offers retry for the down provider, disable for the others, then cache, status pages, logs", () => {
    const labels = actionsFor(claudeDown).map((a) => a.label);
    assert.deepEqual(labels, [
      "$(refresh) Retry claude now",
      "$(circle-slash) Disable claude for this session",
      "$(circle-slash) Disable gpt for this session",
      "$(circle-slash) Disable local for this session",
      "$(trash) Clear completion cache",
      "$(link-external) Open claude status page",
      "$(link-external) Open gpt status page",
      "$(graph) Show stats",
      "$(output) Show logs",
      "$(debug-restart) Restart server",
    ]);
  });

  test("server actions carry the server command and the provider name as the argument", () => {
    const retry = actionsFor(claudeDown)[0];
    assert.deepEqual(retry, {
      label: "$(refresh) Retry claude now",
      description: "down — 529 overloaded ×3",
      action: "server",
      command: "switchboard.retry",
      args: ["claude"],
    });
    const clear = actionsFor(claudeDown).find((a) => a.label.includes("Clear"));
    assert.deepEqual(clear && clear.action === "server" && [clear.command, clear.args], ["switchboard.clearCache", []]);
  });

  test("a disabled provider can be enabled and retried, not disabled again", () => {
    const report = { serving: "local", providers: [{ name: "fim", kind: "openai-fim", state: "disabled" }] };
    const commands = actionsFor(report).flatMap((a) => (a.action === "server" ? [`${a.command} ${a.args}`] : []));
    assert.deepEqual(commands, ["switchboard.retry fim", "switchboard.enable fim", "switchboard.clearCache "]);
  });

  test("without a report there are still cache, logs and restart", () => {
    assert.deepEqual(
      actionsFor(undefined).map((a) => a.action),
      ["server", "showStats", "showLogs", "restart"],
    );
  });
});
