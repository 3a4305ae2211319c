/**
 * The express app around the MCP endpoint: probes, the OAuth protected resource metadata, the guards
 * (guards.ts) in front of /mcp, a body parser sized for inline images, and errors (body too large, bad
 * JSON, unknown paths and methods) answered as JSON-RPC errors that say what to change.
 */
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Config } from "../../config.js";
import { describeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ServerRuntime } from "../../server.js";
import type { Authenticator } from "../authenticate.js";
import { formatMegabytes, type OriginPolicy } from "../http-auth.js";
import { jsonRpcError, MCP_PATH } from "./endpoint.js";
import type { EraRoutes } from "./eras.js";
import { checkAuth, checkHost, checkOrigin, preflight, refuseWhileClosing } from "./guards.js";
import { mountProbes } from "./probes.js";

export interface AppParts {
  config: Config;
  runtime: ServerRuntime;
  logger: Logger;
  auth: Authenticator;
  /** Host names accepted in the Host header; undefined: no check. */
  hostnames: string[] | undefined;
  origins: OriginPolicy;
  bodyLimit: number;
  routes: EraRoutes;
  /** Counts a POST until it is answered (shutdown waits for them). */
  trackCall: RequestHandler;
  isClosing: () => boolean;
  sessionCount: () => number;
}

export function createHttpApp(parts: AppParts): Express {
  const { config, auth, bodyLimit, routes, logger } = parts;
  const app = express();
  app.disable("x-powered-by");
  mountProbes(app, config, parts.runtime, { isClosing: parts.isClosing, sessionCount: parts.sessionCount });

  // RFC 9728 Protected Resource Metadata, at the path-inserted and the root well-known URLs; public, so
  // any origin may read it.
  const oauth = auth.oauth;
  if (oauth !== undefined) {
    for (const metadataPath of oauth.metadataPaths(MCP_PATH)) {
      app.options(metadataPath, (_req, res) => {
        res.status(204).set({ "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET" }).end();
      });
      app.get(metadataPath, (_req, res) => {
        res.set({ "Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300" });
        res.json(oauth.protectedResourceMetadata());
      });
    }
  }

  const parseBody = express.json({ limit: bodyLimit });
  const guards = [refuseWhileClosing(parts.isClosing), checkHost(parts.hostnames), checkOrigin(parts.origins)];
  const authenticated = checkAuth(auth);
  app.options(MCP_PATH, ...guards, preflight);
  app.post(MCP_PATH, ...guards, authenticated, parts.trackCall, parseBody, routes.post);
  app.get(MCP_PATH, ...guards, authenticated, routes.session);
  app.delete(MCP_PATH, ...guards, authenticated, routes.session);
  app.all(MCP_PATH, (_req, res) => {
    jsonRpcError(res, 405, -32000, "Method not allowed.", { Allow: "GET, POST, DELETE, OPTIONS" });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: `Not found. The MCP endpoint is ${MCP_PATH}; probes are /healthz and /readyz.` });
  });
  // Body errors (size, JSON) become JSON-RPC errors; the limit is named so the caller knows what to change.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = error as { type?: string; status?: number; length?: number; limit?: number };
    if (e.type === "entity.too.large" || e.status === 413) {
      const size = typeof e.length === "number" && Number.isFinite(e.length) ? `${formatMegabytes(e.length)}, ` : "";
      jsonRpcError(
        res,
        413,
        -32600,
        `Request body too large (${size}over this server's limit of ${formatMegabytes(bodyLimit)}, ${bodyLimit} bytes, set by FLUX_FILL_MAX_INPUT_MB=${formatMegabytes(config.maxInputBytes).replace(" MB", "")} for image and mask as base64). Pass the image and mask as file paths or URLs instead of inline data, or raise FLUX_FILL_MAX_INPUT_MB on the server.`,
      );
      return;
    }
    if (e.type === "entity.parse.failed") {
      jsonRpcError(res, 400, -32700, "Parse error: the request body is not valid JSON.");
      return;
    }
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      jsonRpcError(res, e.status, -32600, `Bad request: ${describeError(error).text}`);
      return;
    }
    logger.error(`HTTP request failed: ${describeError(error).text}`);
    jsonRpcError(res, 500, -32603, "Internal server error.");
  });
  return app;
}
