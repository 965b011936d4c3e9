// Paths and switches the integration tests take from test/run.sh.

import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "../../..");

function binary(variable: string, fallback: string): string {
  const file = resolve(root, process.env[variable] || fallback);
  if (!existsSync(file)) {
    throw new Error(`${variable}: ${file} does not exist (cargo build --bin switchboard-ls --example fake_provider)`);
  }
  return file;
}

/** The extension's folder (editors/vscode). */
export const extensionRoot = root;
export const serverPath = () => binary("SWITCHBOARD_LS_PATH", "../../target/debug/switchboard-ls");
export const fakeProviderPath = () => binary("SWITCHBOARD_FAKE_PROVIDER", "../../target/debug/examples/fake_provider");

/** Checks that need outage surfacing in the server (diagnostics, `switchboard/status`). */
export const outageChecks = (process.env.SWITCHBOARD_E2E_OUTAGE ?? "1") === "1";

/**
 * Environment for a switchboard-ls that must not see the user's real config, cache or keys.
 * Returns the directory everything lives under.
 */
export function isolatedEnv(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-vscode-"));
  for (const sub of ["cache", "config", "state"]) mkdirSync(join(dir, sub));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/_API_KEY$/.test(key)) delete env[key];
  }
  env.XDG_CACHE_HOME = join(dir, "cache");
  env.XDG_CONFIG_HOME = join(dir, "config");
  env.XDG_STATE_HOME = join(dir, "state"); // the stats file

  env.SWITCHBOARD_CONFIG = join(dir, "no-such-config.toml");
  return { dir, env };
}
