import fs from "node:fs/promises";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { FluxFillError } from "../../src/errors.js";
import { resolveReference } from "../../src/inputs/resolve.js";
import { makeImage, wrap } from "./fixtures.js";
import { startServer, type TestServer } from "./http-fixture.js";

const SECRET = "sig-9d2c1e";
/** FLUX_FILL_MAX_INPUT_MB=0.01 → 10486 bytes. */
const LIMIT = Math.round(0.01 * 1024 * 1024);

let base: string;
let allowed: string;
let outside: string;
let png: Buffer;
let jpeg: Buffer;
let server: TestServer;

function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/image.png") {
    res.writeHead(200, { "content-type": "image/png" });
    res.end(png);
  } else if (url.pathname === "/moved") {
    res.writeHead(302, { location: `/image.png?token=${SECRET}` });
    res.end();
  } else if (url.pathname === "/big") {
    res.writeHead(200, { "content-length": String(LIMIT + 1) });
    res.end(Buffer.alloc(LIMIT + 1));
  } else if (url.pathname === "/empty") {
    res.writeHead(200, { "content-length": "0" });
    res.end();
  } else if (url.pathname === "/never") {
    // never answers
  } else {
    res.writeHead(404);
    res.end();
  }
}

beforeAll(async () => {
  base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "flux-fill-resolve-")));
  allowed = path.join(base, "allowed");
  outside = path.join(base, "outside");
  await fs.mkdir(allowed);
  await fs.mkdir(outside);
  png = await makeImage("png");
  jpeg = await makeImage("jpeg", 64, 64);
  await fs.writeFile(path.join(allowed, "photo.png"), png);
  await fs.writeFile(path.join(allowed, "empty.png"), "");
  await fs.writeFile(path.join(allowed, "big.png"), Buffer.alloc(LIMIT + 1));
  await fs.writeFile(path.join(allowed, "exact.bin"), Buffer.alloc(LIMIT, 3));
  await fs.writeFile(path.join(outside, "secret.png"), png);
  await fs.symlink(path.join(outside, "secret.png"), path.join(allowed, "escape.png"));
  server = await startServer(route);
});

afterAll(async () => {
  await server.close();
  await fs.rm(base, { recursive: true, force: true });
});

function config(env: Record<string, string> = {}): Config {
  return loadConfig(
    {
      FLUX_FILL_ALLOWED_DIRS: allowed,
      FLUX_FILL_MAX_INPUT_MB: "0.01",
      FLUX_FILL_ALLOW_PRIVATE_URLS: "1",
      FLUX_FILL_FETCH_TIMEOUT_S: "2",
      ...env,
    },
    allowed,
  );
}

async function failure(ref: string, label: "image" | "mask" = "image", cfg = config()): Promise<FluxFillError> {
  try {
    await resolveReference(ref, { label, config: cfg });
  } catch (error) {
    if (error instanceof FluxFillError) return error;
    throw error;
  }
  throw new Error("expected the reference to be refused");
}

describe("resolveReference: files", () => {
  it("reads a relative path against config.cwd, with the real path as source", async () => {
    const result = await resolveReference("photo.png", { label: "image", config: config() });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.source).toBe(path.join(allowed, "photo.png"));
  });

  it("reads a file:// URL through the same allowed-path check", async () => {
    const url = pathToFileURL(path.join(allowed, "photo.png")).href;
    const result = await resolveReference(url, { label: "mask", config: config() });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.source).toBe(path.join(allowed, "photo.png"));
    const refused = await failure(pathToFileURL(path.join(outside, "secret.png")).href, "mask");
    expect(refused.kind).toBe("not_allowed");
    expect(refused.message).toMatch(/^The mask file/);
  });

  it("refuses a file:// URL with a host", async () => {
    const error = await failure("file://fileserver/share/photo.png");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("file://");
  });

  it("refuses a symlink leading out of the allowed directory and ../ traversal", async () => {
    for (const ref of ["escape.png", "../outside/secret.png"]) {
      const error = await failure(ref);
      expect(error.kind).toBe("not_allowed");
      expect(error.message).toContain("FLUX_FILL_ALLOWED_DIRS");
      expect(error.message).toContain(`"env": { "FLUX_FILL_ALLOWED_DIRS": ${JSON.stringify(`${allowed}${path.delimiter}${outside}`)} }`);
    }
  });

  it("accepts a file of exactly the limit and refuses one byte more, naming size, limit and setting", async () => {
    expect((await resolveReference("exact.bin", { label: "image", config: config() })).bytes.length).toBe(LIMIT);
    const error = await failure("big.png");
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain(`${LIMIT + 1} bytes`);
    expect(error.message).toContain(`${LIMIT} bytes`);
    expect(error.message).toContain("FLUX_FILL_MAX_INPUT_MB");
  });

  it("refuses an empty file", async () => {
    const error = await failure("empty.png");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("empty");
  });

  it("refuses a reference too long to be a path, explaining why it is not base64 either", async () => {
    const ref = `${"A".repeat(5000)}.${"B".repeat(10)}`;
    const error = await failure(ref);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("too long for a file path");
    expect(error.message).toContain('"." at position 5001');
    expect(error.message).not.toContain("AAAAAAAA");
  });
});

describe("resolveReference: URLs", () => {
  it("downloads an http URL; the source has no query string", async () => {
    const result = await resolveReference(`${server.origin}/image.png?token=${SECRET}`, { label: "image", config: config() });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.source).toBe(`${server.origin}/image.png`);
  });

  it("names the redirect target in the source, without query strings", async () => {
    const result = await resolveReference(`${server.origin}/moved?token=${SECRET}`, { label: "image", config: config() });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.source).toBe(`${server.origin}/moved (redirected to ${server.origin}/image.png)`);
  });

  it("refuses loopback URLs unless FLUX_FILL_ALLOW_PRIVATE_URLS is set", async () => {
    const error = await failure(`${server.origin}/image.png`, "image", config({ FLUX_FILL_ALLOW_PRIVATE_URLS: "0" }));
    expect(error.kind).toBe("not_allowed");
    expect(`${error.message} ${error.suggestion}`).toContain("FLUX_FILL_ALLOW_PRIVATE_URLS=1");
  });

  it("applies config.maxInputBytes to downloads", async () => {
    const error = await failure(`${server.origin}/big`);
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain("FLUX_FILL_MAX_INPUT_MB");
  });

  it("applies config.fetchTimeoutMs to downloads", async () => {
    const error = await failure(`${server.origin}/never`, "mask", config({ FLUX_FILL_FETCH_TIMEOUT_S: "0.2" }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain("mask");
  });

  it("refuses an empty download", async () => {
    const error = await failure(`${server.origin}/empty`);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("empty");
  });

  it("passes the caller's signal on", async () => {
    const error = await resolveReference(`${server.origin}/never`, {
      label: "image",
      config: config(),
      signal: AbortSignal.timeout(50),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as FluxFillError).kind).toBe("cancelled");
  });
});

describe("resolveReference: data URIs", () => {
  it("decodes a PNG data URI", async () => {
    const result = await resolveReference(`data:image/png;base64,${png.toString("base64")}`, { label: "image", config: config() });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.source).toBe(`data URI (image/png, ${png.length} bytes)`);
  });

  it.each([
    ["upper-case type and scheme", (b64: string) => `DATA:IMAGE/JPEG;BASE64,${b64}`],
    ["a parameter before base64", (b64: string) => `data:image/jpeg;name=photo.jpg;base64,${b64}`],
    ["percent-encoded characters", (b64: string) => `data:image/jpeg;base64,${b64.replace(/\//g, "%2F").replace(/\+/g, "%2B")}`],
    ["line-wrapped data", (b64: string) => `data:image/jpeg;base64,${wrap(b64)}`],
    ["octet-stream", (b64: string) => `data:application/octet-stream;base64,${b64}`],
  ])("accepts %s", async (_name, make) => {
    const result = await resolveReference(make(jpeg.toString("base64")), { label: "image", config: config() });
    expect(result.bytes.equals(jpeg)).toBe(true);
  });

  it.each([
    ["a text media type", "data:text/plain;base64,aGVsbG8=", /media type "text\/plain"/],
    ["an SVG media type", "data:image/svg+xml;base64,PHN2Zz4=", /media type "image\/svg\+xml"/],
    ["no media type", "data:;base64,aGVsbG8=", /no media type/],
    ["no ;base64", "data:image/png,%89PNG", /not base64-encoded/],
    ["no comma", "data:image/png;base64", /no ","/],
    ["an invalid character", "data:image/png;base64,iVBO*w0KGgo=", /"\*" at position 5/],
    ["nothing after the comma", "data:image/png;base64,", /empty/],
    ["a broken %-escape", "data:image/png;base64,iVBO%zzw0K", /%-escape/],
  ])("refuses %s", async (_name, ref, message) => {
    const error = await failure(ref, "mask");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(/^The mask data URI/);
    expect(error.message).toMatch(message);
  });

  it("lists the accepted media types", async () => {
    const error = await failure("data:text/plain;base64,aGVsbG8=");
    for (const type of ["image/png", "image/jpeg", "image/webp", "image/gif", "image/tiff", "image/avif", "image/heic"]) {
      expect(error.message).toContain(type);
    }
  });

  it("checks the decoded size before decoding", async () => {
    const bytes = Buffer.alloc(LIMIT + 1, 9);
    const error = await failure(`data:image/png;base64,${bytes.toString("base64")}`);
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain(`${LIMIT + 1} bytes decoded`);
    const exact = Buffer.alloc(LIMIT, 9);
    const ok = await resolveReference(`data:image/png;base64,${exact.toString("base64")}`, { label: "image", config: config() });
    expect(ok.bytes.length).toBe(LIMIT);
  });
});

describe("resolveReference: raw base64", () => {
  it("decodes standard base64 of a JPEG (which starts with /)", async () => {
    const result = await resolveReference(jpeg.toString("base64"), { label: "image", config: config() });
    expect(result.bytes.equals(jpeg)).toBe(true);
    expect(result.source).toBe(`base64 (jpeg, ${jpeg.length} bytes)`);
  });

  it("decodes URL-safe, unpadded and line-wrapped base64", async () => {
    for (const text of [png.toString("base64url"), wrap(png.toString("base64"), 60, "\r\n")]) {
      const result = await resolveReference(text, { label: "mask", config: config() });
      expect(result.bytes.equals(png)).toBe(true);
    }
  });

  it("describes base64 of an unknown format without naming one", async () => {
    const bytes = Buffer.alloc(90, 0);
    const result = await resolveReference(bytes.toString("base64"), { label: "image", config: config() });
    expect(result.source).toBe("base64 (90 bytes)");
  });

  it("refuses base64 over the limit, naming the limit and the setting", async () => {
    const error = await failure(Buffer.alloc(LIMIT + 3, 0).toString("base64"));
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain(`${LIMIT + 3} bytes decoded`);
    expect(error.message).toContain("FLUX_FILL_MAX_INPUT_MB");
  });
});

describe("resolveReference: other refusals", () => {
  it.each([
    ["an empty string", ""],
    ["whitespace", "  \n "],
    ["an unsupported scheme", "ftp://example.com/photo.png"],
  ])("refuses %s as bad_input, listing what is accepted", async (_name, ref) => {
    const error = await failure(ref);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("http(s)://");
  });

  it("refuses a value that is not a string", async () => {
    const error = await failure(42 as unknown as string);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("must be a string");
  });

  it("is cancelled by an aborted signal before reading", async () => {
    const error = await resolveReference("photo.png", {
      label: "image",
      config: config(),
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect((error as FluxFillError).kind).toBe("cancelled");
  });
});
