import zlib from "node:zlib";
import sharp from "sharp";
import type { RasterImage } from "../../src/images/raster.js";

/**
 * Image factories for tests: real, deterministic images encoded with sharp. Every generator takes a seed
 * and uses its own PRNG, so the same call always yields the same bytes.
 */

export type PhotoFormat = "jpeg" | "png" | "webp";

export type Shape =
  | { kind: "rect"; x: number; y: number; width: number; height: number }
  | { kind: "ellipse"; cx: number; cy: number; rx: number; ry: number };

/** A small, fast, deterministic PRNG (mulberry32): returns uint32 values. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** True when (x, y) lies inside the shape (pixel centres). */
export function insideShape(shape: Shape, x: number, y: number): boolean {
  if (shape.kind === "rect") {
    return x >= shape.x && x < shape.x + shape.width && y >= shape.y && y < shape.y + shape.height;
  }
  const dx = (x + 0.5 - shape.cx) / shape.rx;
  const dy = (y + 0.5 - shape.cy) / shape.ry;
  return dx * dx + dy * dy <= 1;
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v | 0);

/**
 * Photo-like RGB pixels: smooth gradients, fine noise texture and a few solid shapes. Not random-looking
 * noise (which no codec compresses) and not flat colour (which every codec compresses to nothing).
 */
export function photoPixels(width: number, height: number, seed = 1): RasterImage {
  const rand = prng(seed);
  const data = Buffer.alloc(width * height * 3);
  const phase = (rand() % 628) / 100;
  const colWave = new Float32Array(width);
  for (let x = 0; x < width; x++) colWave[x] = 30 * Math.sin((x / Math.max(1, width)) * 6.283 + phase);
  const shapes: Array<{ shape: Shape; rgb: [number, number, number] }> = [];
  for (let i = 0; i < 4; i++) {
    const rgb: [number, number, number] = [rand() % 256, rand() % 256, rand() % 256];
    const cx = rand() % Math.max(1, width);
    const cy = rand() % Math.max(1, height);
    const r = 1 + (rand() % Math.max(1, Math.floor(Math.min(width, height) / 5)));
    shapes.push({
      shape:
        i % 2 === 0
          ? { kind: "ellipse", cx, cy, rx: r, ry: r * 0.7 }
          : { kind: "rect", x: cx - r, y: cy - r, width: 2 * r, height: r },
      rgb,
    });
  }
  for (let y = 0; y < height; y++) {
    const fy = y / Math.max(1, height);
    for (let x = 0; x < width; x++) {
      const fx = x / Math.max(1, width);
      const noise = (rand() & 31) - 16;
      const o = (y * width + x) * 3;
      data[o] = clamp8(40 + 160 * fx + colWave[x]! + noise);
      data[o + 1] = clamp8(60 + 120 * fy + noise);
      data[o + 2] = clamp8(200 - 120 * fx * fy - colWave[x]! + noise);
    }
  }
  for (const { shape, rgb } of shapes) {
    const [x0, y0, x1, y1] =
      shape.kind === "rect"
        ? [shape.x, shape.y, shape.x + shape.width, shape.y + shape.height]
        : [shape.cx - shape.rx, shape.cy - shape.ry, shape.cx + shape.rx, shape.cy + shape.ry];
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, Math.ceil(y1)); y++) {
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, Math.ceil(x1)); x++) {
        if (!insideShape(shape, x, y)) continue;
        const o = (y * width + x) * 3;
        data[o] = rgb[0];
        data[o + 1] = rgb[1];
        data[o + 2] = rgb[2];
      }
    }
  }
  return { data, width, height, channels: 3 };
}

/** Encodes raw pixels (1, 3 or 4 channels) in a format; 1-channel PNGs stay greyscale. */
export async function encodeRaster(
  raster: RasterImage,
  format: PhotoFormat | "gif" | "tiff" | "avif" = "png",
  quality = 90,
): Promise<Buffer> {
  let pipeline = sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: raster.channels } });
  if (raster.channels === 1) pipeline = pipeline.toColourspace("b-w");
  switch (format) {
    case "jpeg":
      return pipeline.jpeg({ quality, ...(quality >= 100 ? { chromaSubsampling: "4:4:4" } : {}) }).toBuffer();
    case "webp":
      return pipeline.webp({ quality }).toBuffer();
    case "gif":
      return pipeline.gif().toBuffer();
    case "tiff":
      return pipeline.tiff().toBuffer();
    case "avif":
      return pipeline.avif({ quality, effort: 0 }).toBuffer();
    default:
      return pipeline.png({ compressionLevel: 1 }).toBuffer();
  }
}

/** A photo-like image, encoded (PNG by default). */
export async function makePhoto(
  width: number,
  height: number,
  options: { format?: PhotoFormat; seed?: number; quality?: number } = {},
): Promise<Buffer> {
  return encodeRaster(photoPixels(width, height, options.seed ?? 1), options.format ?? "png", options.quality ?? 90);
}

/** One-channel mask pixels: 255 inside the shape(s), 0 elsewhere. */
export function maskPixels(width: number, height: number, shapes: Shape | Shape[]): RasterImage {
  const list = Array.isArray(shapes) ? shapes : [shapes];
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (list.some((s) => insideShape(s, x, y))) data[y * width + x] = 255;
    }
  }
  return { data, width, height, channels: 1 };
}

/** A mask as a greyscale PNG: white = inpaint, black = keep. */
export async function makeMask(width: number, height: number, shapes: Shape | Shape[]): Promise<Buffer> {
  return encodeRaster(maskPixels(width, height, shapes), "png");
}

/** A photo-like RGBA PNG whose pixels inside `hole` are fully transparent (RGB values kept underneath). */
export async function makeRgbaWithHole(
  width: number,
  height: number,
  hole: Shape,
  options: { seed?: number; alphaInHole?: number } = {},
): Promise<Buffer> {
  return encodeRaster(rgbaWithHolePixels(width, height, hole, options), "png");
}

export function rgbaWithHolePixels(
  width: number,
  height: number,
  hole: Shape,
  options: { seed?: number; alphaInHole?: number } = {},
): RasterImage {
  const rgb = photoPixels(width, height, options.seed ?? 1);
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      data[i * 4] = rgb.data[i * 3]!;
      data[i * 4 + 1] = rgb.data[i * 3 + 1]!;
      data[i * 4 + 2] = rgb.data[i * 3 + 2]!;
      data[i * 4 + 3] = insideShape(hole, x, y) ? (options.alphaInHole ?? 0) : 255;
    }
  }
  return { data, width, height, channels: 4 };
}

/** Uniform random noise (the worst case for any codec), `channels` per pixel. */
export function noisePixels(width: number, height: number, seed = 1, channels: 3 | 4 = 3): RasterImage {
  const rand = prng(seed);
  const data = Buffer.alloc(width * height * channels);
  const whole = data.length - (data.length % 4);
  for (let i = 0; i < whole; i += 4) data.writeUInt32LE(rand(), i);
  for (let i = whole; i < data.length; i++) data[i] = rand() & 255;
  if (channels === 4) for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { data, width, height, channels };
}

type TaggableFormat = "jpeg" | "png" | "webp";

async function encodeTagged(pipeline: sharp.Sharp, format: TaggableFormat): Promise<Buffer> {
  // Near-lossless settings: tests compare pixels after orientation, not codec artefacts.
  if (format === "jpeg") return pipeline.jpeg({ quality: 100, chromaSubsampling: "4:4:4" }).toBuffer();
  if (format === "webp") return pipeline.webp({ lossless: true }).toBuffer();
  return pipeline.png({ compressionLevel: 1 }).toBuffer();
}

async function taggableFormat(bytes: Buffer, format?: TaggableFormat): Promise<TaggableFormat> {
  if (format) return format;
  const detected = (await sharp(bytes).metadata()).format;
  return detected === "jpeg" || detected === "webp" ? detected : "png";
}

/**
 * Re-encodes `bytes` (same format unless given) with the EXIF Orientation tag set; the stored pixels are
 * unchanged.
 */
export async function withOrientation(bytes: Buffer, orientation: number, format?: TaggableFormat): Promise<Buffer> {
  return encodeTagged(sharp(bytes).withMetadata({ orientation }), await taggableFormat(bytes, format));
}

/**
 * Stores `viewBytes` the way a camera would for the given EXIF orientation: the pixels are rotated so
 * that a viewer applying the tag shows exactly `viewBytes` again (one encoding, in `format` or the
 * input's format). Supports 1, 3, 6 and 8.
 */
export async function orientedAs(
  viewBytes: Buffer,
  orientation: 1 | 3 | 6 | 8,
  format?: TaggableFormat,
): Promise<Buffer> {
  // Orientation 6 is displayed by rotating the stored pixels 90° clockwise, so they are stored 90° anticlockwise.
  const undo = { 1: 0, 3: 180, 6: 270, 8: 90 }[orientation];
  const stored = sharp(viewBytes).rotate(undo).withMetadata({ orientation });
  const encoded = await encodeTagged(stored, await taggableFormat(viewBytes, format));
  const tagged = (await sharp(encoded).metadata()).orientation ?? 1;
  if (tagged !== orientation) throw new Error(`orientedAs: wrote orientation ${orientation}, read back ${tagged}`);
  return encoded;
}

/**
 * Decodes without applying orientation or colour conversion: the pixels as stored, with the stored
 * number of channels (a greyscale PNG stays one channel).
 */
export async function decodeRaw(
  bytes: Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { channels } = await sharp(bytes).metadata();
  let pipeline = sharp(bytes);
  if (channels <= 2) pipeline = pipeline.toColourspace("b-w");
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Pixel (x, y) of a raster as an array of its channel values. */
export function pixelAt(image: { data: Buffer; width: number; channels: number }, x: number, y: number): number[] {
  const o = (y * image.width + x) * image.channels;
  return [...image.data.subarray(o, o + image.channels)];
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * A tiny PNG whose header claims `width`×`height` RGB pixels but whose pixel data is a stub: the shape of a
 * decompression bomb. Reading the header is fine; decoding it must never be attempted.
 */
export function pngHeaderClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", Buffer.from([0x78, 0x01])),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * A valid PNG of `width`×`height` black RGB pixels that is tiny as a file (its rows deflate to almost
 * nothing: 15000×15000 is ~0.7 MB) and huge decoded (15000×15000 is 675 MB): what a broken upstream once
 * delivered. Built a row at a time, so making it never holds the pixels.
 */
export async function giantFlatPng(width: number, height: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const deflate = zlib.createDeflate({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on("end", resolve);
    deflate.on("error", reject);
  });
  const row = Buffer.alloc(1 + width * 3); // filter byte 0, then black pixels
  for (let y = 0; y < height; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once("drain", resolve));
  }
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", Buffer.concat(chunks)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * A scene for the selection tests: a flat blue "sky" band over the top quarter, a green textured ground,
 * and an orange disk (the "object") on the ground. Each area has mild noise (±`noise`), far below the
 * colour steps between them, so a magic wand selects each area exactly and an object box finds the disk.
 */
export function objectScenePixels(
  width: number,
  height: number,
  seed = 1,
  noise = 6,
): { raster: RasterImage; disk: Shape; skyRows: number } {
  const rand = prng(seed);
  const skyRows = Math.round(height / 4);
  const r = Math.round(Math.min(width, height) / 5);
  const disk: Shape = { kind: "ellipse", cx: Math.round(width * 0.55), cy: Math.round(height * 0.6), rx: r, ry: r };
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base: [number, number, number] =
        y < skyRows
          ? [90, 150, 230]
          : insideShape(disk, x, y)
            ? [235, 140, 40]
            : [60 + ((x * 7 + y * 3) % 23), 130 + ((x * 5 + y * 11) % 19), 50 + ((x * 3) % 13)];
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = clamp8(base[c]! + ((rand() % (2 * noise + 1)) - noise));
    }
  }
  return { raster: { data, width, height, channels: 3 }, disk, skyRows };
}
