import { createHash } from "node:crypto";
import http from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isFluxFillError } from "../../src/errors.js";
import { type FilesModelSpec, MOBILE_SAM, type ModelSpec, SAM21_TINY } from "../../src/models/catalogue.js";
import { inspectModel, modelFolder, pullModel } from "../../src/models/store.js";
import { freePort } from "../helpers/free-port.js";
import { type ModelHost, startModelHost, zipOf } from "../helpers/model-host.js";
import { tinyMobileSamHostFiles, tinyMobileSamSpec, tinySamDecoder, tinySamEncoder } from "../helpers/sam-models.js";

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

describe("pullModel for a model published as separate files (MobileSAM)", () => {
  let files: Record<string, Uint8Array>;
  let tiny: FilesModelSpec;
  let fileHost: ModelHost;
  beforeEach(async () => {
    files = tinyMobileSamHostFiles();
    tiny = await tinyMobileSamSpec();
    fileHost = await startModelHost(files);
  });
  afterEach(async () => {
    await fileHost.close();
  });

  it("downloads each file from the model's URLs, checks its pinned SHA-256, and writes the manifest last", async () => {
    const { manifest, resumedFrom } = await pullModel(tiny, { dir, baseUrl: `${fileHost.url}/` });
    expect(resumedFrom).toBe(0);
    expect(fileHost.requests.map((r) => r.path)).toEqual(["mobile_sam_image_encoder.onnx", "sam_mask_decoder_multi.onnx"]);
    const folder = modelFolder(dir, tiny);
    expect(Buffer.compare(await readFile(path.join(folder, "encoder.onnx")), Buffer.from(files["mobile_sam_image_encoder.onnx"]!))).toBe(0);
    expect(Buffer.compare(await readFile(path.join(folder, "decoder.onnx")), Buffer.from(files["sam_mask_decoder_multi.onnx"]!))).toBe(0);
    expect(manifest.source).toEqual({ url: fileHost.url });
    expect(manifest.files.decoder).toEqual({ file: "decoder.onnx", sha256: tiny.files.decoder.sha256, bytes: tiny.files.decoder.bytes });
    expect(await inspectModel(MOBILE_SAM, dir, { hash: true })).toMatchObject({ status: "ready", hashed: true, partialBytes: 0 });
  });

  it("without a mirror it asks the model's public home, its revision pinned in the URL", async () => {
    const asked: string[] = [];
    const offline: typeof fetch = async (url) => {
      asked.push(String(url));
      throw new TypeError("fetch failed");
    };
    await failure(pullModel(MOBILE_SAM, { dir }, { fetch: offline }));
    expect(asked).toEqual([
      "https://huggingface.co/Acly/MobileSAM/resolve/0d3b403339b4674a82493d5e97964dd78089ddc8/mobile_sam_image_encoder.onnx",
    ]);
  });

  it("a file whose SHA-256 is not the pinned one is deleted, naming the file and both hashes", async () => {
    const error = await failure(pullModel(MOBILE_SAM, { dir, baseUrl: fileHost.url }));
    expect(error.kind).toBe("upstream_failed");
    expect(error.message).toContain(
      `Checksum mismatch for mobilesam: mobile_sam_image_encoder.onnx has SHA-256 ${tiny.files.encoder.sha256}, expected ${MOBILE_SAM.files.encoder.sha256}. The download was deleted.`,
    );
    expect(error.suggestion).toContain("flux-fill-mcp models pull mobilesam");
    expect(await inspectModel(MOBILE_SAM, dir)).toMatchObject({ status: "missing", partialBytes: 0 });
  });

  it("resumes a broken-off file with a Range request", async () => {
    fileHost.cutAfter(300);
    const error = await failure(pullModel(tiny, { dir, baseUrl: fileHost.url }));
    expect(error.message).toContain("Download of mobilesam (mobile_sam_image_encoder.onnx)");
    expect(error.message).toContain("broke off after 300 bytes");
    expect((await inspectModel(tiny, dir)).partialBytes).toBe(300);
    const { resumedFrom } = await pullModel(tiny, { dir, baseUrl: fileHost.url });
    expect(resumedFrom).toBe(300);
    expect(fileHost.requests.at(-2)).toEqual({ path: "mobile_sam_image_encoder.onnx", range: "bytes=300-", status: 206 });
    expect((await inspectModel(tiny, dir, { hash: true })).status).toBe("ready");
  });

  it("keeps a file an interrupted pull already checked, and fetches only the other one next time", async () => {
    await fileHost.close();
    fileHost = await startModelHost({ "mobile_sam_image_encoder.onnx": files["mobile_sam_image_encoder.onnx"]! });
    expect((await failure(pullModel(tiny, { dir, baseUrl: fileHost.url }))).message).toContain("HTTP 404");
    expect((await inspectModel(tiny, dir)).status).toBe("missing");
    await fileHost.close();
    fileHost = await startModelHost(files);
    await pullModel(tiny, { dir, baseUrl: fileHost.url });
    expect(fileHost.requests.map((r) => r.path)).toEqual(["sam_mask_decoder_multi.onnx"]);
    await pullModel(tiny, { dir, baseUrl: fileHost.url }, { force: true });
    expect(fileHost.requests).toHaveLength(3);
  });

  it("refuses a file larger than the published size", async () => {
    const small: FilesModelSpec = { ...tiny, files: { ...tiny.files, encoder: { ...tiny.files.encoder, bytes: 100 } } };
    expect((await failure(pullModel(small, { dir, baseUrl: fileHost.url }))).kind).toBe("too_large");
  });
});
