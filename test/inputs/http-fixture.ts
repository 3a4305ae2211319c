import http from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  url: string;
  headers: http.IncomingHttpHeaders;
  localAddress: string | undefined;
}

export interface TestServer {
  /** http://127.0.0.1:port (or the host it listens on). */
  origin: string;
  port: number;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A real HTTP server on a loopback address; `port` 0 picks a free one. */
export async function startServer(handler: Handler, host = "127.0.0.1", port = 0): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers, localAddress: req.socket.localAddress });
    handler(req, res);
  });
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    origin: `http://${host}:${actualPort}`,
    port: actualPort,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
