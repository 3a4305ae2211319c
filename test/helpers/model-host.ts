import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

/** A .zip of `files` (deflated entries, in folder `folder/` when given), as the model host publishes. */
export function zipOf(files: Record<string, Uint8Array>, folder = ""): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [baseName, data] of Object.entries(files)) {
    const name = Buffer.from(`${folder}${baseName}`);
    const packed = zlib.deflateRawSync(data);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export interface ModelHostRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export interface ModelHost {
  url: string;
  requests: ModelHostRequest[];
  /** Next responses: send only this many body bytes, then drop the connection (once). */
  cutAfter(bytes: number): void;
  /** Answer every request with the whole file (200), ignoring Range. */
  ignoreRange(on: boolean): void;
  close(): Promise<void>;
}

/**
 * A static file host on 127.0.0.1 speaking plain HTTP/1.1 as a CDN does: 200 with Content-Length, or 206
 * with Content-Range for `Range: bytes=N-`, 416 past the end, 404 for unknown paths.
 */
export async function startModelHost(files: Record<string, Uint8Array>): Promise<ModelHost> {
  const requests: ModelHostRequest[] = [];
  let cut: number | undefined;
  let ignore = false;
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!.replace(/^\/+/, ""));
    const body = files[path];
    const range = req.headers.range;
    const record = (status: number) => requests.push({ path, range, status });
    if (!body) {
      record(404);
      res.writeHead(404, { "content-type": "text/plain" }).end("Entry not found");
      return;
    }
    let start = 0;
    const match = range && !ignore ? /^bytes=(\d+)-$/.exec(range) : null;
    if (match) {
      start = Number(match[1]);
      if (start >= body.length) {
        record(416);
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
    }
    const status = match ? 206 : 200;
    record(status);
    const slice = body.subarray(start);
    res.writeHead(status, {
      "content-type": "application/zip",
      "content-length": String(slice.length),
      "accept-ranges": "bytes",
      ...(match ? { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (cut !== undefined) {
      const keep = cut;
      cut = undefined;
      res.write(slice.subarray(0, keep), () => res.socket?.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutAfter: (bytes) => {
      cut = bytes;
    },
    ignoreRange: (on) => {
      ignore = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
