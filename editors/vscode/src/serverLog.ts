// switchboard-ls logs with `tracing` to stderr ("2026-11-25T13:23:03.904Z DEBUG attempt
// started provider=fake"). vscode-languageclient would log every stderr line as an error;
// this keeps each line's own level, so the Switchboard output channel filters and colours
// it like any other log (Developer: Set Log Level… → Switchboard).
//
// Pure: no `vscode` import.

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface ServerLogLine {
  level: LogLevel;
  /** The line without its timestamp and level: the output channel adds its own. */
  message: string;
}

const ANSI = /\u001b\[[0-9;]*m/g;
const TRACING = /^(?:\d{4}-\d\d-\d\dT[\d:.]+Z?\s+)?(TRACE|DEBUG|INFO|WARN|ERROR)\s+(.*)$/;

/** Lines in no known format (a panic, a backtrace) are errors: that is what they usually are. */
export function parseServerLogLine(raw: string): ServerLogLine {
  const line = raw.replace(ANSI, "").trimEnd();
  const match = TRACING.exec(line.trimStart());
  if (!match) return { level: "error", message: line };
  return { level: match[1].toLowerCase() as LogLevel, message: match[2] };
}
