/**
 * The submit body: the upstream parameters (undefined ones left out) plus the images as base64 (`image`,
 * and `mask` for a fill; an expansion sends only `image`, its sides are parameters).
 *
 * For a big image the body is tens of megabytes. Built as one value it exists several times over (base64
 * string, JSON string, UTF-8 bytes), so it is streamed instead: a JSON prefix, the base64 of each image
 * produced a slice at a time, and a suffix, with the exact length known up front for Content-Length.
 * Parsed, the stream is the same JSON as `JSON.stringify(buildSubmitBody(request))`.
 *
 * The request's checks may still be running while it uploads: the body's last bytes wait for them, so a
 * failed check ends the upload short of a complete body, and no upstream can have made a task of it.
 */
import type { ProviderRequest } from "../types.js";

type BodySource = {
  params: ProviderRequest["params"];
  upload: { image: Buffer; mask?: Buffer };
  checked?: Promise<void>;
};

/** The images of a body in the order they are sent: `image`, then `mask` when there is one. */
function uploads(request: BodySource): [name: string, bytes: Buffer][] {
  const { image, mask } = request.upload;
  return mask === undefined ? [["image", image]] : [["image", image], ["mask", mask]];
}

/** The submit body as an object (for tests and small bodies). */
export function buildSubmitBody(request: BodySource): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request.params)) {
    if (value !== undefined) body[key] = value;
  }
  for (const [name, bytes] of uploads(request)) body[name] = bytes.toString("base64");
  return body;
}

/**
 * Bytes of input encoded per chunk: a multiple of 3, so the chunks' base64 joins without padding inside.
 * 48 KiB (64 KiB of base64): small chunks are freed by the young-generation GC as they go, where 1 MiB
 * chunks pile up until a full GC (measured: +60 MB instead of +35 MB of RSS for a 41 MB body).
 */
export const BASE64_SLICE_BYTES = 3 * 16 * 1024;

export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The base64 of `bytes` as consecutive ASCII chunks whose concatenation is `bytes.toString("base64")`. */
export function* base64Chunks(bytes: Buffer, sliceBytes = BASE64_SLICE_BYTES): Generator<Buffer> {
  if (sliceBytes <= 0 || sliceBytes % 3 !== 0)
    throw new Error(`base64Chunks: slice size ${sliceBytes} is not a positive multiple of 3`);
  for (let start = 0; start < bytes.length; start += sliceBytes) {
    yield Buffer.from(bytes.subarray(start, start + sliceBytes).toString("base64"), "latin1");
  }
}

export interface StreamedBody {
  /** Exact length in bytes (for Content-Length). */
  length: number;
  /** A fresh stream of the whole body; call again for each attempt (a stream is used up once sent). */
  stream(): ReadableStream<Uint8Array>;
  /**
   * Whether the latest stream has handed over its last bytes. Until then the upstream cannot hold a
   * complete body, so a request that failed before it created nothing.
   */
  handedOverWhole(): boolean;
  /**
   * The fetch options a streamed request body needs: `body` (a fresh stream) and `duplex`, and no
   * redirects (see streamSubmitBody).
   */
  init(): RequestInit;
}

/**
 * The submit body as a stream of small chunks. The parameters are serialised by JSON.stringify (so every
 * escape is the standard one); base64 needs no escaping inside a JSON string.
 */
export function streamSubmitBody(request: BodySource, sliceBytes = BASE64_SLICE_BYTES): StreamedBody {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request.params)) {
    if (value !== undefined && key !== "image" && key !== "mask") params[key] = value;
  }
  const head = JSON.stringify(params).slice(0, -1); // "{...params" without the closing brace
  // Each image is `"name":"<base64>` after a comma (none after a bare "{"); the body ends with `"}`.
  const images = uploads(request).map(([name, bytes], index) => ({
    opening: Buffer.from(`${index === 0 && head === "{" ? "" : index === 0 ? "," : '",'}"${name}":"`, "utf8"),
    bytes,
  }));
  const prefix = Buffer.from(head, "utf8");
  const suffix = Buffer.from('"}', "utf8");
  const length =
    prefix.length +
    images.reduce((sum, { opening, bytes }) => sum + opening.length + base64Length(bytes.length), 0) +
    suffix.length;
  const parts = function* (): Generator<Buffer> {
    yield prefix;
    for (const { opening, bytes } of images) {
      yield opening;
      yield* base64Chunks(bytes, sliceBytes);
    }
    yield suffix;
  };
  let whole = false;
  const stream = (): ReadableStream<Uint8Array> => {
    const chunks = parts();
    whole = false;
    // Pull-based: a chunk is encoded only when the socket has taken the previous one.
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = chunks.next();
        if (next.done) {
          controller.close();
          return;
        }
        // A rejection here errors the stream: the request fails without its last bytes.
        if (next.value === suffix && request.checked !== undefined) await request.checked;
        controller.enqueue(next.value);
        if (next.value === suffix) whole = true;
      },
      cancel() {
        chunks.return(undefined);
      },
    });
  };
  return {
    length,
    stream,
    handedOverWhole: () => whole,
    init() {
      const init: RequestInit & { duplex: "half" } = {
        body: stream(),
        // Required by fetch with a stream body; TypeScript's RequestInit does not list it yet.
        duplex: "half",
        // Unless redirects are refused (and there is no window), fetch tees the body to be able to replay
        // it on a redirect, and the unread branch keeps every chunk: the whole body, again, in memory.
        // A submit has no business being redirected anyway: following one would carry the key and the
        // images to another host.
        redirect: "error",
        window: null,
      };
      return init;
    },
  };
}
