import { createHash } from "node:crypto";
import http from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isFluxFillError } from "../../src/errors.js";
import { type ModelSpec, SAM21_TINY } from "../../src/models/catalogue.js";
import { inspectModel, modelFolder, pullModel } from "../../src/models/store.js";
import { freePort } from "../helpers/free-port.js";
import { type ModelHost, startModelHost, zipOf } from "../helpers/model-host.js";
import { tinySamDecoder, tinySamEncoder } from "../helpers/sam-models.js";

const encoder = tinySamEncoder();
const decoder = tinySamDecoder();
const archive = zipOf({ "sam2.1_hiera_tiny.encoder.onnx": encoder, "sam2.1_hiera_tiny.decoder.onnx": decoder }, "sam2.1_hiera_tiny/");
const archiveSha = createHash("sha256").update(archive).digest("hex");
const pinned: ModelSpec = { ...SAM21_TINY, archive: { ...SAM21_TINY.archive, sha256: archiveSha } };

let dir: string;
let host: ModelHost;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "models-"));
  host = await startModelHost({ [SAM21_TINY.archive.file]: archive });
});
afterEach(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<{ kind: string; message: string; suggestion?: string }> {
  try {
    await promise;
  } catch (error) {
    if (isFluxFillError(error)) return { kind: error.kind, message: error.message, suggestion: error.suggestion };
    throw error;
  }
  throw new Error("expected a failure");
}

describe("pullModel", () => {
  it("downloads the archive, checks its pinned SHA-256 and extracts encoder and decoder", async () => {
    const { manifest, resumedFrom } = await pullModel(pinned, { dir, baseUrl: host.url });
    expect(resumedFrom).toBe(0);
    const folder = modelFolder(dir, pinned);
    expect(Buffer.compare(await readFile(path.join(folder, "encoder.onnx")), Buffer.from(encoder))).toBe(0);
    expect(Buffer.compare(await readFile(path.join(folder, "decoder.onnx")), Buffer.from(decoder))).toBe(0);
    expect(manifest.source).toEqual({ url: `${host.url}/${SAM21_TINY.archive.file}`, sha256: archiveSha });
    expect(manifest.files.encoder.sha256).toBe(createHash("sha256").update(encoder).digest("hex"));
    const state = await inspectModel(pinned, dir, { hash: true });
    expect(state).toMatchObject({ status: "ready", hashed: true, partialBytes: 0 });
    expect(state.bytes).toBe(encoder.length + decoder.length);
  });

  it("a checksum mismatch deletes the download and says what to do", async () => {
    const wrong: ModelSpec = { ...SAM21_TINY, archive: { ...SAM21_TINY.archive, sha256: "0".repeat(64) } };
    const error = await failure(pullModel(wrong, { dir, baseUrl: host.url }));
    expect(error.message).toContain(`Checksum mismatch for sam2.1-tiny: ${SAM21_TINY.archive.file} has SHA-256 ${archiveSha}, expected ${"0".repeat(64)}`);
    expect(error.suggestion).toContain("flux-fill-mcp models pull sam2.1-tiny");
    const state = await inspectModel(wrong, dir);
    expect(state).toMatchObject({ status: "missing", partialBytes: 0 });
  });

  it("resumes a broken-off download with a Range request", async () => {
    host.cutAfter(1000);
    const error = await failure(pullModel(pinned, { dir, baseUrl: host.url }));
    expect(error.kind).toBe("upstream_unreachable");
    expect(error.message).toContain("broke off after 1000 bytes");
    expect((await inspectModel(pinned, dir)).partialBytes).toBe(1000);
    const { resumedFrom } = await pullModel(pinned, { dir, baseUrl: host.url });
    expect(resumedFrom).toBe(1000);
    expect(host.requests.at(-1)).toEqual({ path: SAM21_TINY.archive.file, range: "bytes=1000-", status: 206 });
    expect((await inspectModel(pinned, dir, { hash: true })).status).toBe("ready");
  });

  it("starts over when the host ignores the Range header", async () => {
    host.cutAfter(1000);
    await failure(pullModel(pinned, { dir, baseUrl: host.url }));
    host.ignoreRange(true);
    const { resumedFrom } = await pullModel(pinned, { dir, baseUrl: host.url });
    expect(resumedFrom).toBe(0);
    expect(host.requests.at(-1)?.status).toBe(200);
    expect((await inspectModel(pinned, dir, { hash: true })).status).toBe("ready");
  });

  it("no network: a clear error naming the host and the fix", async () => {
    const port = await freePort();
    const error = await failure(pullModel(pinned, { dir, baseUrl: `http://127.0.0.1:${port}` }));
    expect(error.kind).toBe("upstream_unreachable");
    expect(error.message).toContain(`Could not reach 127.0.0.1:${port} to download sam2.1-tiny`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.suggestion).toContain("FLUX_FILL_MODELS_BASE_URL");
  });

  it("a file the host does not have: HTTP 404", async () => {
    const error = await failure(pullModel(pinned, { dir, baseUrl: `${host.url}/elsewhere` }));
    expect(error).toMatchObject({ kind: "upstream_failed" });
    expect(error.message).toContain("HTTP 404 (not found)");
  });

  it("refuses a download larger than the model's cap", async () => {
    const small: ModelSpec = { ...pinned, archive: { ...pinned.archive, maxBytes: 100 } };
    const error = await failure(pullModel(small, { dir, baseUrl: host.url }));
    expect(error.kind).toBe("too_large");
  });

  it("stops a host that goes quiet (idle deadline)", async () => {
    const quiet = http.createServer((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("x"); // then nothing
    });
    await new Promise<void>((resolve) => quiet.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = quiet.address() as AddressInfo;
      const error = await failure(pullModel(pinned, { dir, baseUrl: `http://127.0.0.1:${port}` }, { idleTimeoutMs: 300 }));
      expect(error.kind).toBe("timeout");
      expect(error.message).toContain(`no data from 127.0.0.1:${port} for 0.3 s`);
    } finally {
      quiet.closeAllConnections();
      quiet.close();
    }
  });

  it("a download that is not a zip is refused and deleted", async () => {
    await host.close();
    const page = new TextEncoder().encode("<html>sign in</html>");
    host = await startModelHost({ [SAM21_TINY.archive.file]: page });
    const pinnedToPage: ModelSpec = { ...SAM21_TINY, archive: { ...SAM21_TINY.archive, sha256: createHash("sha256").update(page).digest("hex") } };
    const error = await failure(pullModel(pinnedToPage, { dir, baseUrl: host.url }));
    expect(error.message).toContain("not a usable archive: not a zip file");
    expect((await inspectModel(SAM21_TINY, dir)).partialBytes).toBe(0);
  });
});

describe("inspectModel", () => {
  it("reports a file changed after the pull as corrupt (only when hashing)", async () => {
    await pullModel(pinned, { dir, baseUrl: host.url });
    expect(await inspectModel(pinned, dir)).toMatchObject({ status: "ready" });
    const file = path.join(modelFolder(dir, pinned), "decoder.onnx");
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(file, bytes);
    expect((await inspectModel(pinned, dir)).status).toBe("ready"); // same size
    const state = await inspectModel(pinned, dir, { hash: true });
    expect(state.status).toBe("corrupt");
    expect(state.problem).toContain("does not match its SHA-256");
    await rm(file);
    expect((await inspectModel(pinned, dir)).problem).toContain("decoder.onnx is missing");
  });
});
