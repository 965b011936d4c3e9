// Runs the project's fake provider (target/debug/examples/fake_provider) and drives its
// control API: POST /_control/default|push|reset, GET /_control/requests.

import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export type ReplySpec =
  | { type: "ok"; text: string; delay_ms?: number }
  | { type: "error"; status: number }
  | { type: "hang" }
  | { type: "drop" }
  | { type: "malformed" }
  | { type: "mid_stream_error"; text: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export class FakeProvider {
  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:PORT`, without `/v1`. */
    readonly baseUrl: string,
  ) {}

  /** Starts the binary and waits for the base URL it prints on its first line. */
  static async start(binary: string, timeoutMs = 10_000): Promise<FakeProvider> {
    const child = spawn(binary, [], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${binary} printed no URL in ${timeoutMs}ms`)), timeoutMs);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${binary}: ${e.message}`));
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${binary} exited with ${code} before printing its URL`));
      });
      lines.once("line", (line) => {
        clearTimeout(timer);
        resolve(line.trim());
      });
    });
    if (!/^https?:\/\/127\.0\.0\.1:\d+\/?$/.test(first)) {
      child.kill();
      throw new Error(`${binary}: expected its base URL first, got ${JSON.stringify(first)}`);
    }
    child.removeAllListeners("exit");
    return new FakeProvider(child, first.replace(/\/$/, ""));
  }

  /** The `[[provider]]` entry that points Switchboard at this fake. */
  providerConfig(name = "fake", model = "fake-model"): Record<string, unknown> {
    return { name, kind: "openai-fim", model, base_url: `${this.baseUrl}/v1` };
  }

  async setDefault(reply: ReplySpec): Promise<void> {
    await this.control("default", reply);
  }
  async push(reply: ReplySpec): Promise<void> {
    await this.control("push", reply);
  }
  async reset(): Promise<void> {
    await this.control("reset", {});
  }

  async requests(): Promise<RecordedRequest[]> {
    const response = await fetch(`${this.baseUrl}/_control/requests`);
    if (!response.ok) throw new Error(`GET /_control/requests: ${response.status}`);
    return (await response.json()) as RecordedRequest[];
  }

  /** Requests that asked for a completion, with the JSON body parsed where it is a string. */
  async completionRequests(): Promise<Array<RecordedRequest & { json: Record<string, unknown> }>> {
    return (await this.requests())
      .filter((r) => r.method === "POST" && r.path.endsWith("/completions"))
      .map((r) => ({ ...r, json: (typeof r.body === "string" ? safeJson(r.body) : r.body) as Record<string, unknown> }));
  }

  stop(): void {
    this.child.kill();
  }

  private async control(what: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.baseUrl}/_control/${what}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST /_control/${what}: ${response.status} ${await response.text()}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}
