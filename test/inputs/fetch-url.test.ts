import type { LookupAddress } from "node:dns";
import type http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { isForbiddenAddress } from "../../src/inputs/address-guard.js";
import { type FetchUrlOptions, fetchUrl, MAX_REDIRECTS, urlForMessage } from "../../src/inputs/fetch-url.js";
import { makeImage } from "./fixtures.js";
import { startServer, type TestServer } from "./http-fixture.js";

const SECRET = "SECRET-TOKEN-4f9a";
const LIMIT = 1000;

let png: Buffer;
let server: TestServer;

/** Routes of the test server; each one is a behaviour fetchUrl must handle. */
function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  const hop = /^\/hop\/(\d+)$/.exec(url.pathname);
  if (hop) {
    const n = Number(hop[1]);
    res.writeHead(302, { location: n > 1 ? `/hop/${n - 1}?token=${SECRET}` : `/image.png?token=${SECRET}` });
    res.end();
    return;
  }
  switch (url.pathname) {
    case "/image.png":
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      res.end(png);
      return;
    case "/missing.png":
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not here");
      return;
    case "/error":
      res.writeHead(500);
      res.end();
      return;
    case "/never":
      return; // never answers
    case "/stall-body":
      res.writeHead(200, { "content-type": "image/png" });
      res.write(png.subarray(0, 10)); // then nothing
      return;
    case "/declared-large":
      res.writeHead(200, { "content-length": String(LIMIT + 1) });
      res.end(Buffer.alloc(LIMIT + 1));
      return;
    case "/exactly-limit":
      res.writeHead(200, { "content-length": String(LIMIT) });
      res.end(Buffer.alloc(LIMIT, 7));
      return;
    case "/chunked-large": {
      res.writeHead(200, { "content-type": "image/png" }); // no length: chunked
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent > 20) return clearInterval(timer);
        res.write(Buffer.alloc(300, 1));
        sent++;
      }, 5);
      return;
    }
    case "/chunked-small":
      res.writeHead(200);
      res.write(Buffer.alloc(400, 1));
      res.end(Buffer.alloc(400, 2));
      return;
    case "/set-cookie":
      res.writeHead(302, { location: "/image.png", "set-cookie": "session=abc; Path=/" });
      res.end();
      return;
    case "/to-ftp":
      res.writeHead(301, { location: "ftp://example.com/a.png" });
      res.end();
      return;
    case "/no-location":
      res.writeHead(302);
      res.end();
      return;
    case "/to": {
      res.writeHead(307, { location: url.searchParams.get("target") ?? "/" });
      res.end();
      return;
    }
    default:
      res.writeHead(404);
      res.end();
  }
}

beforeAll(async () => {
  png = await makeImage("png");
  server = await startServer(route);
});

afterAll(async () => {
  await server.close();
});

const base: FetchUrlOptions = { allowPrivate: true, timeoutMs: 2000, maxBytes: LIMIT, label: "image" };

async function failure(url: string, options: Partial<FetchUrlOptions> = {}): Promise<FluxFillError> {
  try {
    await fetchUrl(url, { ...base, ...options });
  } catch (error) {
    if (error instanceof FluxFillError) return error;
    throw error;
  }
  throw new Error(`expected fetching ${url} to fail`);
}

/** The guard as in production, except that 127.0.0.1 counts as public (so a test server can stand in). */
const publicLoopback = (host: string) => host !== "127.0.0.1" && isForbiddenAddress(host);
const resolveTo =
  (...addresses: string[]) =>
  async (): Promise<LookupAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));

describe("fetchUrl: success", () => {
  it("downloads the bytes and the content type", async () => {
    const result = await fetchUrl(`${server.origin}/image.png`, { ...base, maxBytes: 10_000 });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.contentType).toBe("image/png");
    expect(result.finalUrl).toBe(`${server.origin}/image.png`);
  });

  it("accepts a body of exactly maxBytes", async () => {
    const result = await fetchUrl(`${server.origin}/exactly-limit`, base);
    expect(result.bytes.length).toBe(LIMIT);
  });

  it("accepts a chunked body under the limit", async () => {
    const result = await fetchUrl(`${server.origin}/chunked-small`, base);
    expect(result.bytes.length).toBe(800);
    expect(result.bytes[0]).toBe(1);
    expect(result.bytes[799]).toBe(2);
  });

  it("asks for no compression and sends no credentials or cookies", async () => {
    const before = server.requests.length;
    const withUserInfo = server.origin.replace("http://", "http://user:hunter2@");
    await fetchUrl(`${withUserInfo}/set-cookie`, { ...base, maxBytes: 10_000 });
    const seen = server.requests.slice(before);
    expect(seen.map((r) => r.url)).toEqual(["/set-cookie", "/image.png"]);
    for (const request of seen) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers.cookie).toBeUndefined();
      expect(request.headers["accept-encoding"]).toBe("identity");
    }
  });
});

describe("fetchUrl: HTTP errors", () => {
  it("reports 404 with the URL, without its query string", async () => {
    const error = await failure(`${server.origin}/missing.png?token=${SECRET}#frag`);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toBe(`HTTP 404 fetching image from ${server.origin}/missing.png.`);
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(error.suggestion).not.toContain(SECRET);
  });

  it("reports 500 and names the mask", async () => {
    const error = await failure(`${server.origin}/error`, { label: "mask" });
    expect(error.message).toBe(`HTTP 500 fetching mask from ${server.origin}/error.`);
  });

  it("reports a redirect without Location", async () => {
    const error = await failure(`${server.origin}/no-location`);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("HTTP 302");
  });

  it("reports a refused connection", async () => {
    const closed = await startServer(route);
    await closed.close();
    const error = await failure(`${closed.origin}/image.png?token=${SECRET}`);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).not.toContain(SECRET);
  });

  it.each(["ftp://example.com/a.png", "not a url", "file:///etc/passwd"])("refuses %s", async (url) => {
    const error = await failure(url);
    expect(error.kind).toBe("bad_input");
  });
});

describe("fetchUrl: limits", () => {
  it("times out on a server that never answers, naming the host and not the query", async () => {
    const started = Date.now();
    const error = await failure(`${server.origin}/never?token=${SECRET}`, { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    expect(error.message).toContain("0.3 s");
    expect(error.suggestion).toContain("FLUX_FILL_FETCH_TIMEOUT_S");
    expect(error.message).not.toContain(SECRET);
  });

  it("times out when the body stalls", async () => {
    const error = await failure(`${server.origin}/stall-body`, { timeoutMs: 300 });
    expect(error.kind).toBe("timeout");
  });

  it("fails early on a Content-Length over maxBytes", async () => {
    const error = await failure(`${server.origin}/declared-large?token=${SECRET}`);
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain("Content-Length is 1001 bytes");
    expect(error.message).toContain("FLUX_FILL_MAX_INPUT_MB");
    expect(error.message).not.toContain(SECRET);
  });

  it("aborts a chunked body once it passes maxBytes", async () => {
    const started = Date.now();
    const error = await failure(`${server.origin}/chunked-large`);
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain("passed 1000 bytes");
    // 4 chunks of 300 pass the limit; the server would send 21 at 5 ms intervals.
    expect(Date.now() - started).toBeLessThan(100 + 21 * 5);
  });

  it("is cancelled by the caller's signal", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await failure(`${server.origin}/never`, { signal: controller.signal, timeoutMs: 5000 });
    expect(error.kind).toBe("cancelled");
  });

  it("is cancelled at once by an already aborted signal, without connecting", async () => {
    const before = server.connections();
    const error = await failure(`${server.origin}/image.png`, { signal: AbortSignal.abort() });
    expect(error.kind).toBe("cancelled");
    expect(server.connections()).toBe(before);
  });
});

describe("fetchUrl: redirects", () => {
  it(`follows a chain of ${MAX_REDIRECTS} redirects`, async () => {
    const result = await fetchUrl(`${server.origin}/hop/${MAX_REDIRECTS}`, { ...base, maxBytes: 10_000 });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.finalUrl).toBe(`${server.origin}/image.png?token=${SECRET}`);
  });

  it(`refuses a chain of ${MAX_REDIRECTS + 1}`, async () => {
    const before = server.requests.length;
    const error = await failure(`${server.origin}/hop/${MAX_REDIRECTS + 1}?token=${SECRET}`);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("Too many redirects");
    expect(error.message).not.toContain(SECRET);
    expect(server.requests.length - before).toBe(MAX_REDIRECTS + 1);
  });

  it("refuses a redirect to a non-http scheme", async () => {
    const error = await failure(`${server.origin}/to-ftp`);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain('"ftp:"');
  });
});

describe("fetchUrl: address guard", () => {
  it.each([
    ["an IPv4 loopback literal", () => `${server.origin}/image.png`],
    ["localhost", () => `http://localhost:${server.port}/image.png`],
    ["a *.localhost name", () => `http://app.localhost:${server.port}/image.png`],
    ["an IPv6 loopback literal", () => `http://[::1]:${server.port}/image.png`],
    ["an IPv4-mapped IPv6 literal", () => `http://[::ffff:127.0.0.1]:${server.port}/image.png`],
    ["a decimal IPv4 literal", () => `http://2130706433:${server.port}/image.png`],
    ["the metadata address", () => "http://169.254.169.254/latest/meta-data/"],
  ])("refuses %s without connecting, naming FLUX_FILL_ALLOW_PRIVATE_URLS=1", async (_name, url) => {
    const before = server.connections();
    const error = await failure(`${url()}?token=${SECRET}`, { allowPrivate: false });
    expect(error.kind).toBe("not_allowed");
    expect(`${error.message} ${error.suggestion}`).toContain("FLUX_FILL_ALLOW_PRIVATE_URLS=1");
    expect(error.message).not.toContain(SECRET);
    expect(server.connections()).toBe(before);
  });

  it("connects to a name whose every address passes the guard, with the Host header of the name", async () => {
    const before = server.requests.length;
    const result = await fetchUrl(`http://images.test:${server.port}/image.png`, {
      ...base,
      maxBytes: 10_000,
      allowPrivate: false,
      isForbidden: publicLoopback,
      resolveHost: resolveTo("127.0.0.1"),
    });
    expect(result.bytes.equals(png)).toBe(true);
    expect(server.requests[before]?.headers.host).toBe(`images.test:${server.port}`);
  });

  it.each([
    ["only a private address", ["10.0.0.7"], "10.0.0.7"],
    ["a public and a private address (rebinding)", ["127.0.0.1", "192.168.1.20"], "192.168.1.20"],
    ["a mapped loopback", ["::ffff:127.0.0.2"], "::ffff:127.0.0.2"],
  ])("refuses a name that resolves to %s, without connecting", async (_name, addresses, named) => {
    const before = server.connections();
    const error = await failure(`http://images.test:${server.port}/image.png`, {
      allowPrivate: false,
      isForbidden: publicLoopback,
      resolveHost: resolveTo(...addresses),
    });
    expect(error.kind).toBe("not_allowed");
    expect(error.message).toContain(`images.test resolves to ${named}`);
    expect(server.connections()).toBe(before);
  });

  it("refuses what the system resolver says is loopback, even when the name itself passes", async () => {
    // The name rule is switched off for "localhost", so only the lookup check (real dns.lookup) stands.
    const before = server.connections();
    const error = await failure(`http://localhost:${server.port}/image.png`, {
      allowPrivate: false,
      isForbidden: (host) => host !== "localhost" && isForbiddenAddress(host),
    });
    expect(error.kind).toBe("not_allowed");
    expect(error.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
    expect(server.connections()).toBe(before);
  });

  it.each([
    ["localhost", (port: number) => `http://localhost:${port}/image.png`],
    ["an IP literal", () => "http://10.1.2.3/image.png"],
    ["a name resolving to a private address", () => "http://intranet.test/image.png"],
  ])("refuses a redirect to %s", async (_name, target) => {
    const location = encodeURIComponent(target(server.port));
    const error = await failure(`http://images.test:${server.port}/to?target=${location}`, {
      allowPrivate: false,
      isForbidden: publicLoopback,
      resolveHost: async (host) => resolveTo(host === "images.test" ? "127.0.0.1" : "10.9.9.9")(),
    });
    expect(error.kind).toBe("not_allowed");
  });

  it("follows the same redirects when private addresses are allowed", async () => {
    const target = encodeURIComponent(`http://localhost:${server.port}/image.png`);
    const result = await fetchUrl(`${server.origin}/to?target=${target}`, { ...base, maxBytes: 10_000 });
    expect(result.bytes.equals(png)).toBe(true);
    expect(result.finalUrl).toBe(`http://localhost:${server.port}/image.png`);
  });

  it.skipIf(process.platform !== "linux")(
    "connects to the address it checked even if DNS answers differently a moment later",
    async () => {
      // Two servers on one port: 127.0.0.2 plays a public host, 127.0.0.1 the private target of a
      // rebinding attack. The resolver answers "public" first and "private" ever after.
      const publicServer = await startServer(route, "127.0.0.2");
      const privateServer = await startServer(route, "127.0.0.1", publicServer.port);
      try {
        let calls = 0;
        const result = await fetchUrl(`http://rebind.test:${publicServer.port}/image.png`, {
          ...base,
          maxBytes: 10_000,
          allowPrivate: false,
          isForbidden: (host) => host !== "127.0.0.2" && isForbiddenAddress(host),
          resolveHost: async () => resolveTo(calls++ === 0 ? "127.0.0.2" : "127.0.0.1")(),
        });
        expect(result.bytes.equals(png)).toBe(true);
        expect(calls).toBe(1);
        expect(publicServer.requests.at(-1)?.localAddress).toBe("127.0.0.2");
        expect(privateServer.connections()).toBe(0);
      } finally {
        await publicServer.close();
        await privateServer.close();
      }
    },
  );
});

describe("urlForMessage", () => {
  it.each([
    ["https://user:pw@cdn.example.com:8443/a/b.png?X-Amz-Signature=abc#top", "https://cdn.example.com:8443/a/b.png"],
    ["http://example.com", "http://example.com/"],
    ["http://[::1]:80/x?y", "http://[::1]/x"],
    ["nonsense", "(an invalid URL)"],
  ])("%s → %s", (url, shown) => {
    expect(urlForMessage(url)).toBe(shown);
  });
});
