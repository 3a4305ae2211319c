/**
 * A real S3-compatible server for tests: the `s3rver` package in a child process on 127.0.0.1, with one
 * bucket, its objects in a temporary directory. `stop`/`start` take it away and bring it back on the same
 * port with the same objects (an outage).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The child's script beside this file (the benchmark, bundled elsewhere, passes its path). */
const MAIN = fileURLToPath(new URL("./s3-server-main.mjs", import.meta.url));

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  /** The settings a replica needs (with FLUX_FILL_RESULTS_URL=s3://bucket/prefix). */
  env(prefix?: string): Record<string, string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function launch(
  main: string,
  directory: string,
  port: number,
  bucket: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--openssl-legacy-provider", main, directory, String(port), bucket], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString("utf8");
    });
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const line = output.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve({ child, port: (JSON.parse(line) as { port: number }).port });
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code} before it was ready:\n${errors}`)));
  });
}

export async function startS3(bucket = "flux-results", main = MAIN): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "flux-fill-s3-"));
  const first = await launch(main, directory, 0, bucket);
  let child: ChildProcess | undefined = first.child;
  const { port } = first;
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!child) return;
    const dying = child;
    child = undefined;
    const exited = new Promise<void>((resolve) => dying.once("exit", () => resolve()));
    dying.kill("SIGKILL");
    await exited;
  };
  return {
    endpoint,
    bucket,
    env: (prefix = "results") => ({
      FLUX_FILL_RESULTS_URL: `s3://${bucket}/${prefix}`,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      FLUX_FILL_S3_FORCE_PATH_STYLE: "1",
    }),
    stop,
    start: async () => {
      if (!child) child = (await launch(main, directory, port, bucket)).child;
    },
    close: stop,
  };
}
