import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultModelsDir, loadConfig } from "../../src/config.js";
import { MOBILE_SAM, SAM21_TINY } from "../../src/models/catalogue.js";
import { createHash } from "node:crypto";
import { isFluxFillError } from "../../src/errors.js";
import type { ArchiveModelSpec } from "../../src/models/catalogue.js";
import { modelsCommand } from "../../src/models-command.js";
import { type ModelHost, startModelHost, zipOf } from "../helpers/model-host.js";
import { CLI_PATH } from "../helpers/mcp.js";
import { installTinyMobileSam, tinyMobileSamHostFiles, tinySamDecoder, tinySamEncoder } from "../helpers/sam-models.js";

const run = promisify(execFile);

let dir: string;
let host: ModelHost;
/** The catalogue entry pinned to this test's archive (the real one pins the published file's SHA-256). */
let testSpec: ArchiveModelSpec;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "models-cli-"));
  const archive = zipOf({
    [SAM21_TINY.files.encoder.entry]: tinySamEncoder(),
    [SAM21_TINY.files.decoder.entry]: tinySamDecoder(),
  });
  testSpec = {
    ...SAM21_TINY,
    archive: { ...SAM21_TINY.archive, sha256: createHash("sha256").update(archive).digest("hex") },
  };
  host = await startModelHost({ [SAM21_TINY.archive.file]: archive, ...tinyMobileSamHostFiles() });
});
afterEach(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [CLI_PATH, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      FLUX_FILL_MODELS_DIR: dir,
      FLUX_FILL_MODELS_BASE_URL: host.url,
      ...env,
    },
  });
}

async function failed(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await cli(args, env);
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  throw new Error("expected the command to fail");
}

/** The command in this process with the catalogue pinned to the test archive: exit code, stdout, stderr (an error's text and fix). */
async function models(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const config = loadConfig({ FLUX_FILL_MODELS_DIR: dir, FLUX_FILL_MODELS_BASE_URL: host.url }, dir);
  try {
    const code = await modelsCommand(args, config, {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      interactive: false,
      models: [testSpec],
    });
    return { code, stdout: out.join(""), stderr: err.join("") };
  } catch (error) {
    if (!isFluxFillError(error)) throw error;
    return { code: 1, stdout: out.join(""), stderr: `${err.join("")}${error.message} ${error.suggestion ?? ""}` };
  }
}

describe("flux-fill-mcp models", () => {
  it("list shows what is missing; pull fetches it and checks the pinned SHA-256; list then shows it ready", async () => {
    const before = await models(["list"]);
    expect(before.stdout).toContain(`Models folder: ${dir}`);
    expect(before.stdout).toMatch(/ONNX Runtime: onnxruntime-node \d+\.\d+\.\d+/); // a dev dependency here
    expect(before.stdout).toMatch(/sam2\.1-tiny\s+not pulled \(a 111\.1 MB download\)/);
    expect(before.stdout).toContain("licence Apache-2.0");

    const pulled = await models(["pull", "sam2.1-tiny"]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout.trim()).toBe(path.join(dir, "sam2.1-tiny"));
    expect(pulled.stderr).toContain(`Pulling sam2.1-tiny from ${host.url}`);
    expect(pulled.stderr).toContain(`Verified: SHA-256 ${testSpec.archive.sha256} matches the pinned value.`);

    const again = await models(["pull", "sam2.1-tiny"]);
    expect(again.stderr).toContain("sam2.1-tiny is already there and its files match their SHA-256");
    const requests = host.requests.length;
    await models(["pull", "sam2.1-tiny", "--force"]);
    expect(host.requests.length).toBe(requests + 1);

    const after = await models(["list"]);
    expect(after.stdout).toMatch(
      /sam2\.1-tiny\s+ready, 0\.\d MB, download matched the pinned SHA-256; files match theirs/,
    );
  });

  it("the installed command refuses an archive other than the published one (the pinned SHA-256) and deletes it", async () => {
    const result = await failed(["models", "pull", "sam2.1-tiny"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Checksum mismatch for sam2.1-tiny: ${SAM21_TINY.archive.file} has SHA-256 ${testSpec.archive.sha256}, expected ${SAM21_TINY.archive.sha256}. The download was deleted.`,
    );
    expect(result.stderr).toContain("check FLUX_FILL_MODELS_BASE_URL");
    expect((await cli(["models", "list"])).stdout).toMatch(/sam2\.1-tiny\s+not pulled \(a 111\.1 MB download\)\n/);
  });

  it("list reports a damaged file and exits non-zero", async () => {
    await models(["pull", "sam2.1-tiny"]);
    const file = path.join(dir, "sam2.1-tiny", "encoder.onnx");
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    const result = await models(["list"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("corrupt:");
    expect(result.stdout).toContain("does not match its SHA-256");
  });

  it("a broken-off pull is resumed by running it again", async () => {
    host.cutAfter(500);
    const first = await models(["pull", "sam2.1-tiny"]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("broke off after 500 bytes");
    expect(first.stderr).toContain("run the command again (it resumes)");
    expect((await models(["list"])).stdout).toContain("not pulled (a 111.1 MB download, 0.0 MB of it here; pull resumes)");
    const second = await models(["pull", "sam2.1-tiny"]);
    expect(second.stderr).toContain("Resumed an earlier download");
  });

  it("pull mobilesam fetches its two files and refuses one whose SHA-256 is not the published one", async () => {
    // The host serves the tiny stand-ins, whose hashes are not the real files' pinned in the catalogue.
    const result = await failed(["models", "pull", "mobilesam"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Pulling mobilesam from ${host.url} into ${path.join(dir, "mobilesam")}`);
    expect(result.stderr).toContain("Checksum mismatch for mobilesam: mobile_sam_image_encoder.onnx has SHA-256");
    expect(result.stderr).toContain(`expected ${MOBILE_SAM.files.encoder.sha256}. The download was deleted.`);
    expect(host.requests.at(-1)).toMatchObject({ path: "mobile_sam_image_encoder.onnx", status: 200 });
    expect((await cli(["models", "list"])).stdout).toMatch(/mobilesam\s+not pulled \(a 42\.6 MB download\)/);
  });

  it("list shows both models with their download size and licence, and a pulled MobileSAM ready", async () => {
    const before = await cli(["models", "list"]);
    expect(before.stdout).toMatch(/sam2\.1-tiny\s+not pulled \(a 111\.1 MB download\)\n\s+SAM 2\.1 Hiera-Tiny \(Meta\), ONNX export by samexporter; licence Apache-2\.0/);
    expect(before.stdout).toMatch(/mobilesam\s+not pulled \(a 42\.6 MB download\)\n\s+MobileSAM \(TinyViT \+ SAM decoder\), ONNX export by Acly; licence Apache-2\.0/);
    await installTinyMobileSam(dir);
    const list = await cli(["models", "list"]);
    expect(list.stdout).toMatch(/mobilesam\s+ready, 0\.\d MB, download matched the pinned SHA-256; files match theirs/);
    expect(list.stdout).toMatch(/sam2\.1-tiny\s+not pulled/);
  });

  it("unknown names and commands are refused with what is accepted", async () => {
    expect((await failed(["models", "pull", "sam3"])).stderr).toContain('"sam3" is not one.\nKnown: sam2.1-tiny, mobilesam');
    expect((await failed(["models", "fetch"])).stderr).toContain("Use list or pull");
    expect((await cli(["models", "--help"])).stdout).toContain("flux-fill-mcp models pull NAME");
    expect((await cli(["--help"])).stdout).toContain("FLUX_FILL_MODELS_DIR");
  });
});

describe("models settings", () => {
  it("default to the platform's per-user cache folder", () => {
    expect(defaultModelsDir({}, "linux", "/home/ann")).toBe("/home/ann/.cache/flux-fill-mcp/models");
    expect(defaultModelsDir({ xdgCacheHome: "/var/cache/ann" }, "linux", "/home/ann")).toBe(
      "/var/cache/ann/flux-fill-mcp/models",
    );
    expect(defaultModelsDir({ xdgCacheHome: "relative" }, "linux", "/home/ann")).toBe(
      "/home/ann/.cache/flux-fill-mcp/models",
    );
    expect(defaultModelsDir({}, "darwin", "/Users/ann")).toBe("/Users/ann/Library/Caches/flux-fill-mcp/models");
    expect(defaultModelsDir({ localAppData: "C:\\Users\\ann\\AppData\\Local" }, "win32", "C:\\Users\\ann")).toBe(
      "C:\\Users\\ann\\AppData\\Local\\flux-fill-mcp\\models",
    );
  });

  it("FLUX_FILL_MODELS_DIR is resolved against the working directory; the base URL must be http(s)", () => {
    const config = loadConfig({ FLUX_FILL_MODELS_DIR: "weights" }, "/srv/app");
    expect(config.models).toEqual({ dir: "/srv/app/weights", baseUrl: undefined });
    expect(() => loadConfig({ FLUX_FILL_MODELS_BASE_URL: "ftp://mirror" }, "/")).toThrow(
      /FLUX_FILL_MODELS_BASE_URL must be an http\(s\) URL/,
    );
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
