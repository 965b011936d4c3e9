// End to end in a real VS Code: code-server (VS Code's own build, served to a browser)
// with the packaged .vsix installed, driven by headless Chromium through playwright-core,
// against the real switchboard-ls and the fake provider. Checks what a user sees: ghost
// text appears, Tab (and Ctrl+Right, word by word) accepts it and the accepts are counted
// in the Show Stats page; the server path comes from user settings alone at every start;
// with SWITCHBOARD_E2E_OUTAGE=1 also the status bar, the Problems panel and the hover of
// the outage diagnostic when the provider goes down. Every wait is on DOM state, with a
// timeout.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { extensionRoot, fakeProviderPath, isolatedEnv, outageChecks, serverPath } from "../support/env";
import { FakeProvider } from "../support/fakeProvider";

const CODE_SERVER = process.env.CODE_SERVER || join(extensionRoot, "test/e2e/node_modules/.bin/code-server");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const VSIX = process.env.SWITCHBOARD_VSIX || join(extensionRoot, "switchboard.vsix");
const ARTIFACTS = join(extensionRoot, "out/e2e");

const STARTUP_MS = 90_000;
const STEP_MS = 30_000;

let fake: FakeProvider;
let codeServer: ChildProcess | undefined;
let codeServerLog = "";
let browser: BrowserContext | undefined;
let page: Page;
let workspace: string;
let userData: string;
let tempDir: string | undefined;
let settings: Record<string, unknown>;
let codeServerUrl: string;
/** Set when every test so far passed; the temp dir (with VS Code's logs) is kept otherwise. */
let clean = false;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The editor's visible text, with the non-breaking spaces VS Code renders made plain. */
async function editorText(): Promise<string> {
  const text = await page.locator(".editor-instance .monaco-editor .view-lines").first().innerText();
  return text.replace(/\u00a0/g, " ");
}

/** The ghost text currently shown in the editor ("" when none). */
async function ghostText(): Promise<string> {
  const parts = await page
    .locator(".editor-instance .monaco-editor .view-lines [class*='ghost-text']")
    .allTextContents();
  return parts.join("").replace(/\u00a0/g, " ");
}

/** Runs a command from the palette by its title, as a user would. */
async function runCommand(title: string): Promise<void> {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ timeout: STEP_MS });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first().waitFor({ timeout: STEP_MS });
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden", timeout: STEP_MS });
}

/** Opens the notification centre from the palette, again until it shows: a command run
 * while the window is still settling after a reload can be dropped. Showing is not a
 * toggle, so running it twice leaves it open. */
async function showNotifications(): Promise<void> {
  const center = page.locator(".notifications-center");
  const end = Date.now() + STEP_MS;
  for (;;) {
    await runCommand("Notifications: Show Notifications");
    try {
      await center.waitFor({ state: "visible", timeout: 3000 });
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
    }
  }
}

/** Opens add.py from Quick Open, as a user would. */
async function openAddPy(): Promise<void> {
  await page.keyboard.press("Control+P");
  const quickOpen = page.locator(".quick-input-widget input");
  await quickOpen.waitFor({ timeout: STEP_MS });
  await quickOpen.fill("add.py");
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: "add.py" }).first().waitFor({ timeout: STEP_MS });
  await page.keyboard.press("Enter");
  await waitFor("add.py in the editor", editorText, (t) => t.includes("def add(a, b):"));
}

/** Waits until `check` holds, polling the page; fails with `what` and the last value seen. */
async function waitFor<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = STEP_MS): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read().catch(() => last);
    if (last !== undefined && check(last)) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await page.waitForTimeout(100);
  }
}

/** Writes the user settings (User/settings.json) only, where a user sets them, never the
 * remote's Machine/ settings: the server path must be found from there alone. VS Code
 * reloads them live. */
function writeSettings(values: Record<string, unknown>): void {
  mkdirSync(join(userData, "User"), { recursive: true });
  writeFileSync(join(userData, "User", "settings.json"), JSON.stringify(values, null, 2));
}

/** A test that leaves a screenshot and the editor's DOM in out/e2e/ when it fails. */
function uiTest(name: string, options: { skip?: string | false }, body: () => Promise<void>): void {
  test(name, options, async () => {
    try {
      await body();
    } catch (error) {
      clean = false;
      const base = join(ARTIFACTS, name.replace(/[^a-z0-9]+/gi, "-").toLowerCase());
      mkdirSync(ARTIFACTS, { recursive: true });
      await page?.screenshot({ path: `${base}.png` }).catch(() => undefined);
      const html = await page?.locator(".monaco-workbench").first().innerHTML().catch(() => "");
      writeFileSync(`${base}.html`, html ?? "");
      process.stderr.write(`e2e: see ${base}.png and .html; VS Code logs under ${userData}/logs\n`);
      throw error;
    }
  });
}

const statusItem = () => page.locator('.statusbar-item[aria-label^="Switchboard:"]').first();

describe("Switchboard in VS Code (code-server)", { timeout: 300_000 }, () => {
  before(async () => {
    const server = serverPath();
    fake = await FakeProvider.start(fakeProviderPath());
    await fake.setDefault({ type: "ok", text: "return a + b" });

    const { dir, env } = isolatedEnv();
    tempDir = dir;
    env.XDG_DATA_HOME = join(dir, "data");
    // The setting is the only way to the binary: not the variable, PATH or ~/.cargo/bin.
    delete env.SWITCHBOARD_LS_PATH;
    env.CARGO_HOME = join(dir, "no-cargo");
    env.SWITCHBOARD_STATS_FLUSH_MS = "200"; // stats reach the file while the test looks
    workspace = join(dir, "ws");
    userData = join(dir, "user-data");
    const extensions = join(dir, "extensions");
    mkdirSync(workspace);
    writeFileSync(join(workspace, "add.py"), "def add(a, b):\n");

    settings = {
      "security.workspace.trust.enabled": false,
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "workbench.enableExperiments": false,
      "workbench.welcomePage.walkthroughs.openOnInstall": false,
      "telemetry.telemetryLevel": "off",
      "update.mode": "none",
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "extensions.ignoreRecommendations": true,
      "chat.disableAIFeatures": true,
      "git.enabled": false,
      "files.hotExit": "off",
      "editor.inlineSuggest.enabled": true,
      // The suggest widget would take Tab from the ghost text; this test is about ghost text.
      "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
      "editor.suggestOnTriggerCharacters": false,
      "editor.detectIndentation": false,
      "editor.tabSize": 4,
      "editor.insertSpaces": true,
      "switchboard.server.path": server,
      "switchboard.server.log": "debug",
      "switchboard.provider": [fake.providerConfig()],
      "switchboard.cache.path": "off",
    };
    if (outageChecks) {
      Object.assign(settings, {
        "switchboard.routing.retries": 0,
        "switchboard.routing.breaker_failures": 1,
        "switchboard.routing.breaker_cooldown_ms": 60_000,
        "switchboard.routing.hedge_ms": "off",
      });
    }
    writeSettings(settings);

    const common = ["--user-data-dir", userData, "--extensions-dir", extensions];
    const install = spawnSync(CODE_SERVER, [...common, "--install-extension", VSIX], { env, encoding: "utf8", timeout: 120_000 });
    assert.equal(install.status, 0, `code-server --install-extension failed:\n${install.stdout}\n${install.stderr}`);

    const port = await freePort();
    codeServer = spawn(
      CODE_SERVER,
      [
        ...common,
        "--config", join(dir, "code-server.yaml"),
        "--bind-addr", `127.0.0.1:${port}`,
        "--auth", "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        workspace,
      ],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not listen in ${STARTUP_MS}ms:\n${codeServerLog}`)), STARTUP_MS);
      const onData = (chunk: Buffer) => {
        codeServerLog += chunk;
        if (codeServerLog.includes("HTTP server listening on")) {
          clearTimeout(timer);
          resolve();
        }
      };
      codeServer!.stdout!.on("data", onData);
      codeServer!.stderr!.on("data", onData);
      codeServer!.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited with ${code}:\n${codeServerLog}`));
      });
    });
    await listening;
    codeServerUrl = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;

    browser = await chromium.launchPersistentContext(join(dir, "chromium"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-quic",
        "--no-first-run",
        "--disable-sync",
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(codeServerUrl);
    await page.locator(".monaco-workbench").waitFor({ timeout: STARTUP_MS });
    clean = true;
  }, { timeout: 240_000 });

  after(async () => {
    await browser?.close().catch(() => undefined);
    codeServer?.kill();
    fake?.stop();
    if (clean && tempDir) rmSync(tempDir, { recursive: true, force: true });
    else if (tempDir) process.stderr.write(`e2e: kept ${tempDir} (VS Code logs in user-data/logs)\n`);
  });

  uiTest("the status bar shows the serving provider once the server runs", {}, async () => {
    const label = await waitFor(
      "the Switchboard status bar item to show fake serving",
      () => statusItem().getAttribute("aria-label"),
      (l) => !!l && /fake healthy/.test(l),
      STARTUP_MS,
    );
    assert.match(label!, /^Switchboard: serving from fake; fake healthy/);
    assert.match(await statusItem().innerText(), /fake/);
  });

  uiTest("the server path set in user settings alone is found at every start", {}, async () => {
    for (let start = 1; start <= 3; start++) {
      await page.keyboard.press("Escape");
      const reloaded = page.waitForEvent("framenavigated", { predicate: (f) => f === page.mainFrame(), timeout: STARTUP_MS });
      await runCommand("Developer: Reload Window");
      await reloaded;
      await page.locator(".monaco-workbench").waitFor({ timeout: STARTUP_MS });
      await waitFor(
        `the server serving after reload ${start}`,
        () => statusItem().getAttribute("aria-label"),
        (l) => !!l && /^Switchboard: serving from fake; fake healthy/.test(l),
        STARTUP_MS,
      );
      // No "not found" error reached the user on the way; nor the server's status summary,
      // which it sends as a message only to clients that do not declare
      // capabilities.experimental.switchboardStatus (the extension asks for the status at
      // every start).
      await showNotifications();
      const center = page.locator(".notifications-center");
      const ours = await center.locator(".notification-list-item", { hasText: /switchboard-ls|serving fake/ }).count();
      assert.equal(ours, 0, `start ${start}: ${await center.innerText()}`);
      await runCommand("Notifications: Clear All Notifications");
    }
  });

  uiTest("ghost text from the provider appears and Tab accepts it", {}, async () => {
    await openAddPy();

    await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("    ");

    // Ghost text is rendered as injected, syntax-highlighted spans in the line.
    await waitFor("ghost text from the fake provider", ghostText, (t) => t === "return a + b");
    const sent = await fake.completionRequests();
    assert.ok(sent.length >= 1, "the fake provider got no completion request");
    assert.match(String(sent.at(-1)!.json.prompt), /def add\(a, b\):\n {4}$/);

    await page.keyboard.press("Tab");
    await waitFor("the ghost text to be accepted", ghostText, (t) => t === "");
    const text = await waitFor("the accepted completion in the editor", editorText, (t) => t.includes("    return a + b"));
    assert.match(text, /def add\(a, b\):\n {4}return a \+ b/);

    // Read it back as the file on disk, too.
    await page.keyboard.press("Control+S");
    const saved = await waitFor(
      "add.py saved",
      async () => readFileSync(join(workspace, "add.py"), "utf8"),
      (t) => t.includes("return a + b"),
    );
    assert.equal(saved, "def add(a, b):\n    return a + b");
  });

  uiTest("Ctrl+Right accepts the ghost text word by word", {}, async () => {
    await fake.setDefault({ type: "ok", text: "print(a, b)" });
    await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Enter");
    await page.keyboard.type("x = a\n");
    await waitFor("ghost text print(a, b)", ghostText, (t) => t === "print(a, b)");
    await page.keyboard.press("Control+ArrowRight");
    const suggestion = "print(a, b)";
    const rest = await waitFor("the rest still offered after the first word", ghostText, (t) => t.length > 0 && t.length < suggestion.length && suggestion.endsWith(t));
    const taken = suggestion.slice(0, suggestion.length - rest.length);
    await page.keyboard.press("Escape");
    await waitFor("the rest dismissed", ghostText, (t) => t === "");
    const text = await editorText();
    assert.ok(text.split("\n").some((line) => line.trim() === taken), `no line "${taken}" in:\n${text}`);
  });

  uiTest("Show Stats, from the status bar, shows the provider and counts both accepts", {}, async () => {
    // One whole accept (Tab) and one partial (Ctrl+Right) so far, both of fake's.
    const webview = page.frameLocator("iframe.webview").frameLocator("#active-frame");
    const accepted = webview.locator('section[data-provider="fake"] .accepted');
    const end = Date.now() + STEP_MS;
    try {
      for (;;) {
        // The page is a snapshot of the stats file, which the server writes every 200 ms here.
        await pickStatusAction("Show stats");
        try {
          await waitFor("fake's card with 2 accepts", () => accepted.innerText(), (t) => t === "2", 3000);
          break;
        } catch (error) {
          if (Date.now() > end) throw error;
        }
      }
      assert.match(await webview.locator("h1").innerText(), /Switchboard — last 7 days/);
      assert.match(await webview.locator('section[data-provider="fake"]').innerText(), /served\s+\d+/);
    } finally {
      // Close the page with its tab's own close button: a focused webview keeps keys
      // (F1, Ctrl+P) from the workbench, so closing it by keyboard is a race.
      const statsTab = page.locator(".tab", { hasText: "Switchboard Stats" }).first();
      await statsTab.hover().catch(() => undefined);
      await statsTab.locator(".tab-actions .action-label").first().click().catch(() => undefined);
      await statsTab.waitFor({ state: "detached", timeout: STEP_MS }).catch(() => undefined);
      // The page may have taken the place of add.py's preview tab: open it from the
      // Explorer, with the mouse, so no key can go to a webview; Quick Open if the
      // Explorer is not showing.
      const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: "add.py" }).first();
      const fromExplorer = await row
        .dblclick({ timeout: 3000 })
        .then(() => waitFor("add.py in the editor", editorText, (t) => t.includes("def add(a, b):"), 3000))
        .then(() => true, () => false);
      if (!fromExplorer) await openAddPy();
    }
  });

  /** Clicks the status bar item and picks the quick pick entry whose label contains `entry`. */
  async function pickStatusAction(entry: string): Promise<void> {
    await openStatusQuickPick();
    const row = quickPickRows().filter({ hasText: entry }).first();
    await row.waitFor({ timeout: STEP_MS });
    await row.click();
    await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: STEP_MS });
  }

  /** The rows of the open quick pick (the widget keeps hidden rows of earlier ones). */
  const quickPickRows = () => page.locator(".quick-input-widget .monaco-list-row").filter({ visible: true });

  /** Clicks the status bar item until its quick pick is open: a click that lands while
   * the workbench is still closing the previous pick is swallowed. */
  async function openStatusQuickPick(): Promise<void> {
    const widget = page.locator(".quick-input-widget");
    const end = Date.now() + STEP_MS;
    for (;;) {
      await statusItem().click();
      try {
        await widget.waitFor({ state: "visible", timeout: 3000 });
        return;
      } catch (error) {
        if (Date.now() > end) throw error;
      }
    }
  }

  uiTest("the status bar quick pick clears the cache through the server", {}, async () => {
    await openStatusQuickPick();
    const rows = quickPickRows();
    await rows.filter({ hasText: "Show logs" }).first().waitFor({ timeout: STEP_MS });
    const labels = await rows.allInnerTexts();
    for (const want of ["Disable fake for this session", "Clear completion cache", "Restart server"]) {
      assert.ok(labels.some((l) => l.includes(want)), `no "${want}" in the quick pick: ${JSON.stringify(labels)}`);
    }
    await page.keyboard.press("Escape");
    await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: STEP_MS });

    await pickStatusAction("Clear completion cache");
    // Shown only once workspace/executeCommand succeeded; a failure is an error toast.
    await page.locator(".statusbar-item", { hasText: "completion cache cleared" }).first().waitFor({ timeout: STEP_MS });
  });

  uiTest("disable and enable from the status bar change the provider's state", {}, async () => {
    await pickStatusAction("Disable fake for this session");
    await waitFor("fake disabled in the status bar", () => statusItem().getAttribute("aria-label"), (l) => /fake disabled/.test(l ?? ""));
    await waitFor("the warning look", () => statusItem().getAttribute("class"), (c) => /\b(warning|error)-kind\b/.test(c ?? ""));
    await pickStatusAction("Enable fake");
    await waitFor("fake healthy again", () => statusItem().getAttribute("aria-label"), (l) => /fake healthy/.test(l ?? ""));
  });

  uiTest("Switchboard: Show Logs from the command palette shows the server's log", {}, async () => {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ timeout: STEP_MS });
    await input.fill(">Switchboard: Show Logs");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "Switchboard: Show Logs" }).first().waitFor({ timeout: STEP_MS });
    await page.keyboard.press("Enter");
    const channel = page.locator('.panel select[aria-label="Switch Output"]').first();
    await waitFor("the Switchboard output channel", () => channel.inputValue(), (v) => v === "Switchboard");
    // The server's own stderr log, at its own level (not every line an [error]).
    await page.locator(".panel .output-view .view-lines", { hasText: "[info]" }).first().waitFor({ timeout: STEP_MS });
    await page.keyboard.press("Escape");
  });

  uiTest("the status bar warns when the provider goes down", { skip: !outageChecks && "set SWITCHBOARD_E2E_OUTAGE=1 (needs outage surfacing in the server)" }, async () => {
    await fake.setDefault({ type: "error", status: 529 });
    await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Enter");
    await page.keyboard.type("total = ");
    const label = await waitFor("the status bar to show fake down", () => statusItem().getAttribute("aria-label"), (l) => !!l && /fake down/.test(l));
    assert.match(label!, /^Switchboard: serving from /);
    // The warning look: VS Code marks items with a warning or error background by class.
    await waitFor("the warning look", () => statusItem().getAttribute("class"), (c) => /\b(warning|error)-kind\b/.test(c ?? ""));
    // The text says who is out and who serves instead, not just a name.
    assert.match(await statusItem().innerText(), /fake down · serving \S+/);
  });

  uiTest("a retry that fails says so and keeps the warning", { skip: !outageChecks && "set SWITCHBOARD_E2E_OUTAGE=1 (needs outage surfacing in the server)" }, async () => {
    await pickStatusAction("Retry fake now");
    await showNotifications();
    const message = page.locator(".notifications-center .notification-list-item", { hasText: "retry fake" }).first();
    await message.waitFor({ timeout: STEP_MS });
    assert.match(await message.innerText(), /still failing/);
    await runCommand("Notifications: Clear All Notifications");
    assert.match((await statusItem().getAttribute("aria-label")) ?? "", /fake down/);
    assert.match((await statusItem().getAttribute("class")) ?? "", /\b(warning|error)-kind\b/);
  });

  uiTest("the outage diagnostic shows in the Problems panel", { skip: !outageChecks && "set SWITCHBOARD_E2E_OUTAGE=1 (needs outage surfacing in the server)" }, async () => {
    await page.keyboard.press("Control+Shift+M");
    const row = page.locator(".markers-panel .monaco-list-row", { hasText: "fake" }).filter({ hasText: "provider-down" });
    await row.first().waitFor({ timeout: STEP_MS });
    assert.match(await row.first().innerText(), /switchboard/);
  });

  uiTest("hovering the outage diagnostic shows its message", { skip: !outageChecks && "set SWITCHBOARD_E2E_OUTAGE=1 (needs outage surfacing in the server)" }, async () => {
    // DESIGN §5: the range runs from the line's first non-blank character to its end, so the
    // squiggle is under "total =", where a mouse can reach it.
    const squiggle = page.locator(".editor-instance .monaco-editor .view-overlays [class*='squiggly-warning']").first();
    await squiggle.waitFor({ timeout: STEP_MS });
    const box = await squiggle.boundingBox();
    assert.ok(box && box.width > 4, `the squiggle is too small to hover: ${JSON.stringify(box)}`);
    const hover = page.locator(".monaco-hover", { hasText: "fake" }).filter({ visible: true }).first();
    const end = Date.now() + STEP_MS;
    for (let nudge = 0; ; nudge++) {
      await page.mouse.move(box.x + box.width / 2 + (nudge % 3), box.y + box.height / 2);
      try {
        await hover.waitFor({ timeout: 3000 });
        break;
      } catch (error) {
        if (Date.now() > end) throw error;
        await page.mouse.move(0, 0);
      }
    }
    assert.match(await hover.innerText(), /fake \([^)]*\) down/);
    await page.mouse.move(0, 0);
  });

  uiTest("the quick fix on the outage diagnostic retries the provider", { skip: !outageChecks && "set SWITCHBOARD_E2E_OUTAGE=1 (needs outage surfacing in the server)" }, async () => {
    // The fix runs the server's own `switchboard.retry`, which vscode-languageclient
    // registered from executeCommandProvider: the reason the palette commands are
    // `switchboard.client.*`.
    await fake.setDefault({ type: "ok", text: "return a * b" });
    await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    const fix = page.locator(".action-widget .monaco-list-row", { hasText: "Retry fake now" }).filter({ visible: true }).first();
    const end = Date.now() + STEP_MS;
    for (;;) {
      await page.keyboard.press("Control+.");
      try {
        await fix.waitFor({ timeout: 3000 });
        break;
      } catch (error) {
        if (Date.now() > end) throw error;
        await page.keyboard.press("Escape");
      }
    }
    await fix.click();
    await waitFor("fake no longer down", () => statusItem().getAttribute("aria-label"), (l) => !!l && !/fake down/.test(l));
  });

  uiTest("a wrong server path is reported with the fix, and fixing it restarts the server", {}, async () => {
    writeSettings({ ...settings, "switchboard.server.path": "/nonexistent/switchboard-ls" });
    await waitFor("the status bar to show the server is not running", () => statusItem().getAttribute("aria-label"), (l) => /not running/.test(l ?? ""));
    // VS Code decides whether a notification gets a toast (it may go straight to the
    // notification centre when other messages came just before): read it where it
    // always is, in the centre, as a user clicking the bell would.
    await showNotifications();
    const message = page.locator(".notifications-center .notification-list-item", { hasText: "cargo install --path ." }).first();
    await message.waitFor({ timeout: STEP_MS });
    assert.match(await message.innerText(), /switchboard\.server\.path.*\/nonexistent\/switchboard-ls/s);
    await runCommand("Notifications: Clear All Notifications");

    writeSettings(settings);
    await waitFor("the restarted server to serve", () => statusItem().getAttribute("aria-label"), (l) => /^Switchboard: serving from /.test(l ?? ""));
  });
});
