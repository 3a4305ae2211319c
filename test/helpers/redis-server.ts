/**
 * A real Redis for tests: Debian's `redis-server` (installed by .ci/run) on 127.0.0.1 and a free port, no
 * persistence. `stop` and `start` take it away and bring it back on the same port (a Redis outage);
 * `close` ends it for good.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "./free-port.js";

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** SIGKILLs it (an outage); `start` brings it back empty on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.resume();
    child.once("error", (error) =>
      reject(new Error(`cannot start redis-server (apt-get install redis-server): ${error.message}`)),
    );
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)));
  });
}

function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  const stop = async () => {
    if (!child) return;
    const dying = child;
    child = undefined;
    dying.kill("SIGKILL");
    await ended(dying);
  };
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    stop,
    start: async () => {
      if (!child) child = await launch(port);
    },
    close: stop,
  };
}
