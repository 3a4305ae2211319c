/**
 * A real browser and a minimal MCP Apps host for end-to-end tests of the mask editor: the host page
 * (test/e2e/host.ts, bundled with esbuild) on one loopback origin, the sandbox proxy
 * (test/e2e/sandbox.html) on a second one with the spec's default CSP header, and Debian's chromium
 * driven by playwright-core (no browser download).
 */
import { accessSync, constants } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";
import { tempDir } from "./mcp.js";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The CSP the MCP Apps spec makes hosts use when a UI resource declares none (plus the sandbox rules). */
export const DEFAULT_APP_CSP = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "media-src 'self' data:",
  "connect-src 'none'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'self'",
].join("; ");

const E2E_DIR = fileURLToPath(new URL("../e2e/", import.meta.url));

export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface AppsHost {
  hostUrl: string;
  sandboxUrl: string;
  /** Requests the sandbox origin answered, with the CSP header it sent. */
  sandboxRequests: Array<{ url: string; csp: string | undefined }>;
  close: () => Promise<void>;
}

/** Two origins on 127.0.0.1: the host page, and the sandbox proxy served with DEFAULT_APP_CSP. */
export async function startAppsHost(): Promise<AppsHost> {
  const esbuild = await import("esbuild");
  const bundle = await esbuild.build({
    entryPoints: [`${E2E_DIR}host.ts`],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
  });
  const hostScript = bundle.outputFiles[0]!.text;
  const sandboxHtml = await readFile(`${E2E_DIR}sandbox.html`, "utf8");
  const hostHtml =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test host</title>' +
    '<style>body{margin:0;font-family:sans-serif}</style></head><body><script src="/host.js"></script></body></html>';

  const host = http.createServer((req, res) => {
    if (req.url === "/host.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(hostHtml);
    } else if (req.url === "/host.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(hostScript);
    } else {
      // favicon.ico and anything else: empty, so the browser logs no 404.
      res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
    }
  });
  const sandboxRequests: AppsHost["sandboxRequests"] = [];
  const sandbox = http.createServer((req, res) => {
    if (req.url?.split("?")[0] === "/sandbox.html") {
      sandboxRequests.push({ url: req.url, csp: DEFAULT_APP_CSP });
      res
        .writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": DEFAULT_APP_CSP,
          "cache-control": "no-store",
        })
        .end(sandboxHtml);
    } else {
      sandboxRequests.push({ url: req.url ?? "", csp: undefined });
      res.writeHead(404).end();
    }
  });
  const hostOrigin = await listen(host);
  const sandboxOrigin = await listen(sandbox);
  return {
    hostUrl: `${hostOrigin}/host.html`,
    sandboxUrl: `${sandboxOrigin}/sandbox.html`,
    sandboxRequests,
    close: async () => {
      await Promise.all([close(host), close(sandbox)]);
    },
  };
}

/** Headless Debian chromium with a fresh profile; nothing downloaded, no background traffic. */
export async function launchChromium(viewport: { width: number; height: number }): Promise<BrowserContext> {
  const profile = await tempDir("flux-fill-chromium-");
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
