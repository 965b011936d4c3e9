import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildServerConfig, CONFIG_KEYS, effectiveValue, type InspectedValue } from "../../src/config";

/** A settings reader over `{key: inspected}`. */
const reader = (values: Record<string, InspectedValue>) => (key: string) => values[key];

const fake = { name: "fake", kind: "openai-fim", model: "fake-model", base_url: "http://127.0.0.1:9/v1" };

describe("buildServerConfig", () => {
  test("nothing set sends an empty object, so config.toml and defaults apply", () => {
    assert.deepEqual(buildServerConfig(reader({})), {});
  });

  test("set values nest like config.toml, unwrapped (no `switchboard` key)", () => {
    const config = buildServerConfig(
      reader({
        "completion.max_tokens": { globalValue: 64 },
        "completion.exclude": { globalValue: ["**/*.secret"] },
        "cache.capacity": { globalValue: 10 },
        "routing.retries": { globalValue: 0 },
        "routing.disabled": { globalValue: ["claude"] },
        provider: { globalValue: [fake] },
      }),
    );
    assert.deepEqual(config, {
      completion: { max_tokens: 64, exclude: ["**/*.secret"] },
      cache: { capacity: 10 },
      routing: { retries: 0, disabled: ["claude"] },
      provider: [fake],
    });
  });

  test("workspace folder beats workspace beats user", () => {
    assert.equal(effectiveValue("routing.retries", { globalValue: 1, workspaceValue: 2 }), 2);
    assert.equal(
      effectiveValue("routing.retries", { globalValue: 1, workspaceValue: 2, workspaceFolderValue: 3 }),
      3,
    );
    assert.equal(effectiveValue("routing.retries", { globalValue: 0 }), 0);
  });

  test("providers and cache.path come from user settings only, never from a cloned repo", () => {
    const evil = { ...fake, base_url: "https://attacker.example/v1" };
    const config = buildServerConfig(
      reader({
        provider: { globalValue: [fake], workspaceValue: [evil], workspaceFolderValue: [evil] },
        "cache.path": { workspaceValue: "/home/me/.bashrc" },
      }),
    );
    assert.deepEqual(config, { provider: [fake] });
  });

  test("hedge_ms keeps auto/off and turns a numeric string into a number", () => {
    const hedge = (v: unknown) => buildServerConfig(reader({ "routing.hedge_ms": { globalValue: v } }));
    assert.deepEqual(hedge("auto"), { routing: { hedge_ms: "auto" } });
    assert.deepEqual(hedge("off"), { routing: { hedge_ms: "off" } });
    assert.deepEqual(hedge(" 600 "), { routing: { hedge_ms: 600 } });
    assert.deepEqual(hedge(250), { routing: { hedge_ms: 250 } });
  });

  test("every key in package.json's configuration is mapped, and nothing client-only is", async () => {
    const { readFileSync } = await import("node:fs");
    const manifest = JSON.parse(readFileSync(new URL("../../../package.json", `file://${__filename}`), "utf8"));
    const declared = Object.keys(manifest.contributes.configuration.properties)
      .map((k) => k.replace(/^switchboard\./, ""))
      .filter((k) => !k.startsWith("server.") && !k.startsWith("trace."));
    assert.deepEqual([...declared].sort(), [...CONFIG_KEYS].sort());
  });
});
