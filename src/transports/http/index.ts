/** The HTTP transport's public face: start it in-process, or run it as the CLI does. */
export { MCP_PATH } from "./endpoint.js";
export { type ServeHttpOptions, serveHttp } from "./serve.js";
export { type HttpServerHandle, type HttpServerOptions, startHttpServer } from "./server.js";
