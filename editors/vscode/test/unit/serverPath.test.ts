import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  discoverServer,
  isRunnableFile,
  readUserSettingsFiles,
  retryDelayMs,
  serverPathSetting,
  startFailureMessage,
  userSettingsFiles,
  withFileValue,
} from "../../src/serverPath";

/** A discovery input where exactly the files in `runnable` exist. */
function input(over: { setting?: string; env?: Record<string, string>; runnable?: string[] }) {
  const runnable = new Set(over.runnable ?? []);
  return {
    setting: over.setting,
    env: over.env ?? {},
    homeDir: "/home/u",
    platform: "linux" as const,
    isRunnable: (f: string) => runnable.has(f),
  };
}

describe("discoverServer", () => {
  test("the setting wins over everything", () => {
    const found = discoverServer(
      input({
        setting: "/opt/sb/switchboard-ls",
        env: { SWITCHBOARD_LS_PATH: "/env/switchboard-ls", PATH: "/usr/bin" },
        runnable: ["/opt/sb/switchboard-ls", "/env/switchboard-ls", "/usr/bin/switchboard-ls"],
      }),
    );
    assert.deepEqual(found, { ok: true, path: "/opt/sb/switchboard-ls", source: "setting" });
  });

  test("then $SWITCHBOARD_LS_PATH", () => {
    const found = discoverServer(
      input({
        setting: "  ",
        env: { SWITCHBOARD_LS_PATH: "/env/switchboard-ls", PATH: "/usr/bin" },
        runnable: ["/env/switchboard-ls", "/usr/bin/switchboard-ls"],
      }),
    );
    assert.deepEqual(found, { ok: true, path: "/env/switchboard-ls", source: "env" });
  });

  test("then the first PATH entry that has it", () => {
    const found = discoverServer(
      input({ env: { PATH: "/a::/b:/c" }, runnable: ["/b/switchboard-ls", "/c/switchboard-ls"] }),
    );
    assert.deepEqual(found, { ok: true, path: "/b/switchboard-ls", source: "path" });
  });

  test("then ~/.cargo/bin, or $CARGO_HOME/bin", () => {
    assert.deepEqual(discoverServer(input({ env: { PATH: "/usr/bin" }, runnable: ["/home/u/.cargo/bin/switchboard-ls"] })), {
      ok: true,
      path: "/home/u/.cargo/bin/switchboard-ls",
      source: "cargo",
    });
    assert.deepEqual(discoverServer(input({ env: { CARGO_HOME: "/c" }, runnable: ["/c/bin/switchboard-ls"] })), {
      ok: true,
      path: "/c/bin/switchboard-ls",
      source: "cargo",
    });
  });

  test("~ in the setting is the home directory", () => {
    const found = discoverServer(input({ setting: "~/bin/switchboard-ls", runnable: ["/home/u/bin/switchboard-ls"] }));
    assert.deepEqual(found, { ok: true, path: "/home/u/bin/switchboard-ls", source: "setting" });
  });

  test("a setting pointing at nothing is an error naming it and the fix, not a silent fallback", () => {
    const found = discoverServer(
      input({ setting: "/nope/switchboard-ls", env: { PATH: "/usr/bin" }, runnable: ["/usr/bin/switchboard-ls"] }),
    );
    assert.equal(found.ok, false);
    assert.ok(!found.ok && found.message.includes('switchboard.server.path is "/nope/switchboard-ls"'));
    assert.ok(!found.ok && found.message.includes("cargo install --path ."));
  });

  test("messages name the value read and where from, with no Markdown (toasts show backticks as is)", () => {
    const bad = discoverServer({ ...input({ setting: "~/sb" }), settingScope: "user settings" });
    assert.ok(!bad.ok);
    assert.ok(!bad.ok && bad.message.includes('switchboard.server.path is "~/sb" (user settings), but there is no runnable switchboard-ls at /home/u/sb.'));
    const none = discoverServer({ ...input({ env: { PATH: "/usr/bin" } }), settingScope: "user settings" });
    assert.ok(!none.ok && none.message.includes("switchboard.server.path (not set in user settings), $SWITCHBOARD_LS_PATH (not set)"));
    for (const found of [bad, none]) assert.ok(!found.ok && !found.message.includes("`"), found.ok ? "" : found.message);
  });

  test("a bad $SWITCHBOARD_LS_PATH is an error naming it", () => {
    const found = discoverServer(input({ env: { SWITCHBOARD_LS_PATH: "/x", PATH: "/usr/bin" }, runnable: ["/usr/bin/switchboard-ls"] }));
    assert.ok(!found.ok && found.message.includes('$SWITCHBOARD_LS_PATH is "/x"'));
  });

  test("nothing anywhere: says where it looked and how to install", () => {
    const found = discoverServer(input({ env: { PATH: "/usr/bin" } }));
    assert.equal(found.ok, false);
    assert.ok(!found.ok && /was not found\. .*PATH.*\/home\/u\/\.cargo\/bin\/switchboard-ls/.test(found.message));
    assert.ok(!found.ok && found.message.includes('"cargo install --path ."'));
  });

  test("windows looks for switchboard-ls.exe on a ;-separated Path", () => {
    const found = discoverServer({
      env: { Path: "C:\\bin;C:\\tools" },
      homeDir: "C:\\Users\\u",
      platform: "win32",
      isRunnable: (f) => f.endsWith("switchboard-ls.exe") && f.includes("tools"),
    });
    assert.equal(found.ok && found.source, "path");
  });
});

describe("serverPathSetting", () => {
  test("takes the user's value (local or remote) and never a workspace's", () => {
    assert.deepEqual(serverPathSetting({ globalValue: "/opt/sb" }), { value: "/opt/sb", ignoredWorkspaceValue: false });
    assert.deepEqual(serverPathSetting({ globalValue: "/opt/sb", workspaceValue: "./evil" }), {
      value: "/opt/sb",
      ignoredWorkspaceValue: true,
    });
    assert.deepEqual(serverPathSetting({ workspaceFolderValue: "./evil" }), { value: undefined, ignoredWorkspaceValue: true });
    assert.deepEqual(serverPathSetting(undefined), { value: undefined, ignoredWorkspaceValue: false });
    assert.deepEqual(serverPathSetting({ globalValue: 42 }), { value: undefined, ignoredWorkspaceValue: false });
  });

  test("the setting is machine-overridable, so user settings count in remote windows too", () => {
    const manifest = JSON.parse(readFileSync(new URL("../../../package.json", `file://${__filename}`), "utf8"));
    assert.equal(manifest.contributes.configuration.properties["switchboard.server.path"].scope, "machine-overridable");
  });

  test("looks again soon, then every 30 s", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(retryDelayMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe("the settings files themselves", () => {
  test("user settings, then the remote machine's, next to the extension's global storage", () => {
    assert.deepEqual(userSettingsFiles("/srv/ud/User/globalStorage/switchboard.switchboard"), [
      "/srv/ud/User/settings.json",
      "/srv/ud/Machine/settings.json",
    ]);
  });

  test("reads switchboard.* from JSON with comments and trailing commas, later files winning", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-settings-"));
    const user = join(dir, "user.json");
    const machine = join(dir, "machine.json");
    writeFileSync(
      user,
      '{\n  // where the server is\n  "editor.tabSize": 4,\n  "switchboard.server.path": "/opt/sb/switchboard-ls",\n  "switchboard.provider": [{"name": "a"}],\n}\n',
    );
    writeFileSync(machine, '{ "switchboard.provider": [{"name": "b"}] }');
    assert.deepEqual(readUserSettingsFiles([user, machine, join(dir, "missing.json")]), {
      "switchboard.server.path": "/opt/sb/switchboard-ls",
      "switchboard.provider": [{ name: "b" }],
    });
    writeFileSync(machine, "not json at all {{{");
    assert.deepEqual(Object.keys(readUserSettingsFiles([machine])), []);
    writeFileSync(machine, '["switchboard.server.path"]');
    assert.deepEqual(readUserSettingsFiles([machine]), {});
  });

  test("the file's value is the user value, whatever VS Code passed on; never a workspace one", () => {
    const files = { "switchboard.server.path": "/from/file" };
    assert.deepEqual(withFileValue(undefined, "switchboard.server.path", files), { globalValue: "/from/file" });
    assert.deepEqual(withFileValue<{ globalValue?: unknown; workspaceValue?: unknown }>({ workspaceValue: "./evil" }, "switchboard.server.path", files), {
      workspaceValue: "./evil",
      globalValue: "/from/file",
    });
    assert.deepEqual(withFileValue({ globalValue: "/stale/api" }, "switchboard.server.path", files), { globalValue: "/from/file" });
    assert.deepEqual(withFileValue({ globalValue: "/from/api" }, "switchboard.server.log", files), { globalValue: "/from/api" });
    assert.deepEqual(withFileValue({}, "switchboard.cache.path", files), {});
  });
});

describe("isRunnableFile", () => {
  test("needs a regular file with the execute bit", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-path-"));
    const exe = join(dir, "switchboard-ls");
    const plain = join(dir, "notes.txt");
    writeFileSync(exe, "#!/bin/sh\n");
    chmodSync(exe, 0o755);
    writeFileSync(plain, "x");
    chmodSync(plain, 0o644);
    mkdirSync(join(dir, "adir"));
    assert.equal(isRunnableFile(exe), true);
    assert.equal(isRunnableFile(join(dir, "adir")), false);
    assert.equal(isRunnableFile(join(dir, "missing")), false);
    // root may execute anything with any x bit, but a file with none is still refused.
    assert.equal(isRunnableFile(plain), false);
  });
});

test("startFailureMessage names the binary, the reason and the fix", () => {
  const message = startFailureMessage("/x/switchboard-ls", new Error("spawn EACCES"));
  assert.equal(
    message,
    'Switchboard: could not start /x/switchboard-ls: spawn EACCES. Rebuild it with "cargo install --path ." ' +
      "in the Switchboard checkout, or point switchboard.server.path at a working binary.",
  );
});
