import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServerLogLine } from "../../src/serverLog";

test("tracing lines keep their level, without the timestamp", () => {
  assert.deepEqual(parseServerLogLine("2026-11-25T13:23:03.904492Z DEBUG attempt started provider=fake"), {
    level: "debug",
    message: "attempt started provider=fake",
  });
  assert.deepEqual(parseServerLogLine("2026-11-25T13:18:51.760217Z  INFO provider chain: local (local)"), {
    level: "info",
    message: "provider chain: local (local)",
  });
  assert.equal(parseServerLogLine("2026-11-25T13:00:00Z  WARN fake down").level, "warn");
  assert.equal(parseServerLogLine("2026-11-25T13:00:00Z ERROR boom").level, "error");
  assert.equal(parseServerLogLine("2026-11-25T13:00:00Z TRACE wire").level, "trace");
});

test("ANSI colours are stripped", () => {
  assert.deepEqual(parseServerLogLine("\u001b[2m2026-11-25T13:00:00.1Z\u001b[0m \u001b[32m INFO\u001b[0m ready"), {
    level: "info",
    message: "ready",
  });
});

test("anything else, like a panic, is an error line as it is", () => {
  assert.deepEqual(parseServerLogLine("thread 'main' panicked at src/main.rs:1:1:"), {
    level: "error",
    message: "thread 'main' panicked at src/main.rs:1:1:",
  });
});
