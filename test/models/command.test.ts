import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULTS, defaultModelsDir, loadConfig } from "../../src/config.js";
import { SAM21_TINY } from "../../src/models/catalogue.js";
import { type ModelHost, startModelHost, zipOf } from "../helpers/model-host.js";
import { CLI_PATH } from "../helpers/mcp.js";
import { tinySamDecoder, tinySamEncoder } from "../helpers/sam-models.js";

const run = promisify(execFile);

let dir: string;
let host: ModelHost;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "models-cli-"));
  const archive = zipOf({ [SAM21_TINY.files.encoder.entry]: tinySamEncoder(), [SAM21_TINY.files.decoder.entry]: tinySamDecoder() });
  host = await startModelHost({ [SAM21_TINY.archive.file]: archive });
});
afterEach(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: dir, FLUX_FILL_MODELS_DIR: dir, FLUX_FILL_MODELS_BASE_URL: host.url, ...env },
  });
}

async function failed(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await cli(args, env);
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  throw new Error("expected the command to fail");
}

describe("flux-fill-mcp models", () => {
  it("list shows what is missing; pull fetches it; list then shows it ready with size, licence and checks", async () => {
    const before = await cli(["models", "list"]);
    expect(before.stdout).toContain(`Models folder: ${dir}`);
    expect(before.stdout).toMatch(/ONNX Runtime: onnxruntime-node \d+\.\d+\.\d+/); // a dev dependency here
    expect(before.stdout).toMatch(/sam2\.1-tiny\s+not pulled/);
    expect(before.stdout).toContain("licence Apache-2.0");

    const pulled = await cli(["models", "pull", "sam2.1-tiny"]);
    expect(pulled.stdout.trim()).toBe(path.join(dir, "sam2.1-tiny"));
    expect(pulled.stderr).toContain(`Pulling sam2.1-tiny from ${host.url}`);
    expect(pulled.stderr).toContain("Not verified: no SHA-256 is published");

    const again = await cli(["models", "pull", "sam2.1-tiny"]);
    expect(again.stderr).toContain("sam2.1-tiny is already there and its files match their SHA-256");
    const requests = host.requests.length;
    await cli(["models", "pull", "sam2.1-tiny", "--force"]);
    expect(host.requests.length).toBe(requests + 1);

    const after = await cli(["models", "list"]);
    expect(after.stdout).toMatch(/sam2\.1-tiny\s+ready, 0\.\d MB, files match their SHA-256; download unverified/);
  });

  it("list reports a damaged file and exits non-zero", async () => {
    await cli(["models", "pull", "sam2.1-tiny"]);
    const file = path.join(dir, "sam2.1-tiny", "encoder.onnx");
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    const result = await failed(["models", "list"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("corrupt:");
    expect(result.stdout).toContain("does not match its SHA-256");
  });

  it("a broken-off pull is resumed by running it again", async () => {
    host.cutAfter(500);
    const first = await failed(["models", "pull", "sam2.1-tiny"]);
    expect(first.stderr).toContain("broke off after 500 bytes");
    expect(first.stderr).toContain("run the command again (it resumes)");
    expect((await cli(["models", "list"])).stdout).toContain("not pulled (0.0 MB downloaded; pull resumes)");
    const second = await cli(["models", "pull", "sam2.1-tiny"]);
    expect(second.stderr).toContain("Resumed an earlier download");
  });

  it("unknown names and commands are refused with what is accepted", async () => {
    expect((await failed(["models", "pull", "sam3"])).stderr).toContain('"sam3" is not one.\nKnown: sam2.1-tiny');
    expect((await failed(["models", "fetch"])).stderr).toContain("Use list or pull");
    expect((await cli(["models", "--help"])).stdout).toContain("flux-fill-mcp models pull NAME");
    expect((await cli(["--help"])).stdout).toContain("FLUX_FILL_MODELS_DIR");
  });
});

describe("models settings", () => {
  it("default to the platform's per-user cache folder", () => {
    expect(defaultModelsDir({}, "linux", "/home/ann")).toBe("/home/ann/.cache/flux-fill-mcp/models");
    expect(defaultModelsDir({ xdgCacheHome: "/var/cache/ann" }, "linux", "/home/ann")).toBe("/var/cache/ann/flux-fill-mcp/models");
    expect(defaultModelsDir({ xdgCacheHome: "relative" }, "linux", "/home/ann")).toBe("/home/ann/.cache/flux-fill-mcp/models");
    expect(defaultModelsDir({}, "darwin", "/Users/ann")).toBe("/Users/ann/Library/Caches/flux-fill-mcp/models");
    expect(defaultModelsDir({ localAppData: "C:\\Users\\ann\\AppData\\Local" }, "win32", "C:\\Users\\ann")).toBe(
      "C:\\Users\\ann\\AppData\\Local\\flux-fill-mcp\\models",
    );
  });

  it("FLUX_FILL_MODELS_DIR is resolved against the working directory; the base URL must be http(s)", () => {
    const config = loadConfig({ FLUX_FILL_MODELS_DIR: "weights" }, "/srv/app");
    expect(config.models).toEqual({ dir: "/srv/app/weights", baseUrl: DEFAULTS.modelsBaseUrl });
    expect(() => loadConfig({ FLUX_FILL_MODELS_BASE_URL: "ftp://mirror" }, "/")).toThrow(/FLUX_FILL_MODELS_BASE_URL must be an http\(s\) URL/);
  });
});

describe("models list without ONNX Runtime", () => {
  it("says how to install it", async () => {
    const { modelsCommand } = await import("../../src/models-command.js");
    const { loadOnnxRuntime } = await import("../../src/segmentation/onnx/runtime.js");
    const out: string[] = [];
    const code = await modelsCommand(["list"], loadConfig({ FLUX_FILL_MODELS_DIR: dir }, dir), {
      out: (t) => out.push(t),
      err: () => {},
      interactive: false,
      loadRuntime: () => loadOnnxRuntime("onnxruntime-node-not-installed"),
    });
    expect(code).toBe(0);
    expect(out.join("")).toContain("ONNX Runtime: The onnx segmenter needs ONNX Runtime");
    expect(out.join("")).toContain("npm install -g flux-fill-mcp onnxruntime-node --onnxruntime-node-install=skip");
  });
});
