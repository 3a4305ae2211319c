import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { FluxFillError } from "../../src/errors.js";
import {
  allowedHostnames,
  checkBindSafety,
  formatMegabytes,
  isLoopbackHost,
  isWildcardHost,
  maxHttpBodyBytes,
  normalizeHostname,
  normalizeOrigin,
  originAllowed,
  originPolicy,
} from "../../src/transports/http-auth.js";

describe("isLoopbackHost / isWildcardHost", () => {
  it.each(["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "[::1]", " 127.0.0.1 "])(
    "%s is loopback",
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  it.each([
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "192.168.1.10",
    "128.0.0.1",
    "127.0.0",
    "127.0.0.256",
    "127.0.0.1.nip.io",
    "localhost.evil.com",
    "example.com",
    "",
  ])("%s is not loopback", (host) => expect(isLoopbackHost(host)).toBe(false));

  it("knows the wildcard addresses", () => {
    for (const host of ["0.0.0.0", "::", "[::]", ""]) expect(isWildcardHost(host)).toBe(true);
    for (const host of ["127.0.0.1", "10.0.0.1", "localhost"]) expect(isWildcardHost(host)).toBe(false);
  });
});

describe("checkBindSafety", () => {
  it("allows loopback without any token setting", () => {
    expect(() => checkBindSafety({ host: "127.0.0.1", authenticated: false, insecureNoAuth: false })).not.toThrow();
    expect(() => checkBindSafety({ host: "localhost", authenticated: false, insecureNoAuth: false })).not.toThrow();
    expect(() => checkBindSafety({ host: "::1", authenticated: false, insecureNoAuth: false })).not.toThrow();
  });

  it("refuses any other address without a token, naming the setting and the flag", () => {
    for (const host of ["0.0.0.0", "::", "10.1.2.3", "example.com"]) {
      let error: unknown;
      try {
        checkBindSafety({ host, authenticated: false, insecureNoAuth: false });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FluxFillError);
      expect((error as FluxFillError).kind).toBe("not_allowed");
      expect((error as FluxFillError).message).toContain(host);
      expect((error as FluxFillError).message).toContain("FLUX_FILL_HTTP_TOKEN");
      expect((error as FluxFillError).suggestion).toContain("--insecure-no-auth");
    }
  });

  it("allows any address with a token, or with the explicit opt-out", () => {
    expect(() => checkBindSafety({ host: "0.0.0.0", authenticated: true, insecureNoAuth: false })).not.toThrow();
    expect(() => checkBindSafety({ host: "0.0.0.0", authenticated: false, insecureNoAuth: true })).not.toThrow();
  });
});

describe("normalizeHostname", () => {
  it.each([
    ["example.com", "example.com"],
    ["Example.COM:8443", "example.com"],
    ["127.0.0.1:3000", "127.0.0.1"],
    ["[::1]:3000", "[::1]"],
    ["::1", "[::1]"],
    ["fe80::1", "[fe80::1]"],
    ["  mcp.internal  ", "mcp.internal"],
  ])("%s → %s", (input, expected) => expect(normalizeHostname(input)).toBe(expected));

  it.each(["", "   ", "http://example.com", "a b", "user@example.com", "example.com/path", "[::1"])(
    "rejects %j",
    (input) => expect(normalizeHostname(input)).toBeUndefined(),
  );
});

describe("allowedHostnames", () => {
  it("on loopback: the loopback names plus configured ones", () => {
    expect(allowedHostnames("127.0.0.1", [])).toEqual(["localhost", "127.0.0.1", "[::1]"]);
    expect(allowedHostnames("localhost", ["Dev.Box:3000"])).toEqual(["localhost", "127.0.0.1", "[::1]", "dev.box"]);
    expect(allowedHostnames("127.0.0.2", [])).toEqual(["localhost", "127.0.0.1", "[::1]", "127.0.0.2"]);
    expect(allowedHostnames("::1", [])).toEqual(["localhost", "127.0.0.1", "[::1]"]);
  });

  it("on a named address: that address plus configured ones", () => {
    expect(allowedHostnames("10.0.0.5", [])).toEqual(["10.0.0.5"]);
    expect(allowedHostnames("10.0.0.5", ["mcp.example.com"])).toEqual(["10.0.0.5", "mcp.example.com"]);
  });

  it("on a wildcard address: only configured names, or no check at all when none are", () => {
    expect(allowedHostnames("0.0.0.0", ["mcp.example.com", "10.0.0.5"])).toEqual(["mcp.example.com", "10.0.0.5"]);
    expect(allowedHostnames("0.0.0.0", [])).toBeUndefined();
    expect(allowedHostnames("::", [])).toBeUndefined();
  });

  it("rejects a configured entry that is not a host name, naming the setting", () => {
    expect(() => allowedHostnames("127.0.0.1", ["https://x.example"])).toThrow(
      /FLUX_FILL_HTTP_ALLOWED_HOSTS.*https:\/\/x\.example/,
    );
  });
});

describe("origins", () => {
  it("normalizes origins and rejects what is not one", () => {
    expect(normalizeOrigin("https://App.Example.com")).toBe("https://app.example.com");
    expect(normalizeOrigin("http://localhost:6274/")).toBe("http://localhost:6274");
    expect(normalizeOrigin("https://app.example.com:443")).toBe("https://app.example.com");
    for (const bad of ["null", "", "file:///etc", "chrome-extension://abc", "not a url"])
      expect(normalizeOrigin(bad)).toBeUndefined();
  });

  it("accepts requests without Origin (programs, not browsers)", () => {
    expect(originAllowed(undefined, originPolicy("127.0.0.1", []))).toBe(true);
    expect(originAllowed(undefined, originPolicy("0.0.0.0", []))).toBe(true);
  });

  it("on loopback accepts loopback pages on any port and refuses others", () => {
    const policy = originPolicy("127.0.0.1", []);
    for (const origin of ["http://localhost:6274", "http://127.0.0.1:3000", "http://[::1]:8080", "https://localhost"]) {
      expect(originAllowed(origin, policy)).toBe(true);
    }
    for (const origin of [
      "http://evil.example.com",
      "http://127.0.0.1.evil.com",
      "null",
      "http://localhost.evil.com",
    ]) {
      expect(originAllowed(origin, policy)).toBe(false);
    }
  });

  it("off loopback accepts only the configured origins", () => {
    const policy = originPolicy("0.0.0.0", ["https://app.example.com"]);
    expect(originAllowed("https://app.example.com", policy)).toBe(true);
    expect(originAllowed("https://APP.example.com:443", policy)).toBe(true);
    expect(originAllowed("http://app.example.com", policy)).toBe(false);
    expect(originAllowed("https://app.example.com:8443", policy)).toBe(false);
    expect(originAllowed("http://localhost:3000", policy)).toBe(false);
  });

  it("rejects a configured entry that is not an origin, naming the setting", () => {
    expect(() => originPolicy("127.0.0.1", ["app.example.com"])).toThrow(/FLUX_FILL_HTTP_ALLOWED_ORIGINS/);
  });
});

describe("maxHttpBodyBytes", () => {
  it("fits image and mask as base64 at the input cap, plus 1 MiB of JSON", () => {
    const mib = 1024 * 1024;
    expect(maxHttpBodyBytes({ maxInputBytes: 20 * mib })).toBe(Math.ceil(2 * 20 * mib * 1.4) + mib);
    expect(maxHttpBodyBytes({ maxInputBytes: mib })).toBe(Math.ceil(2.8 * mib) + mib);
    // Two inputs at the cap, base64-encoded as data URIs, always fit.
    const cap = 7 * mib + 3;
    const dataUri = (n: number) => `data:image/png;base64,${Buffer.alloc(n).toString("base64")}`;
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { arguments: { image: dataUri(cap), mask: dataUri(cap) } },
    });
    expect(Buffer.byteLength(body)).toBeLessThan(maxHttpBodyBytes({ maxInputBytes: cap }));
  });

  it("follows the input cap's default (50 MB): 141 MB, the figure the docs quote", () => {
    expect(formatMegabytes(maxHttpBodyBytes(loadConfig({}, "/srv")))).toBe("141.0 MB");
  });

  it("formats sizes for messages", () => {
    expect(formatMegabytes(57 * 1024 * 1024)).toBe("57.0 MB");
    expect(formatMegabytes(1.5 * 1024 * 1024)).toBe("1.5 MB");
  });
});
