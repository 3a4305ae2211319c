/**
 * Photo-like test images made with sharp at run time (nothing large is committed): smooth random
 * blobs at two scales (light, shapes) plus per-pixel grain (sensor noise, fine texture), from a seed.
 * Flat colour would flatter every codec and pure noise would defeat them; this sits between, like a photo.
 */
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { seededRandom } from "./random.js";

/** Bump when the generator changes, so cached files are not reused. */
const GENERATOR_VERSION = 2;

async function smoothLayer(width: number, height: number, cell: number, random: () => number): Promise<Buffer> {
  const w = Math.max(2, Math.round(width / cell));
  const h = Math.max(2, Math.round(height / cell));
  const coarse = Buffer.alloc(w * h * 3);
  for (let i = 0; i < coarse.length; i++) coarse[i] = Math.floor(random() * 256);
  return sharp(coarse, { raw: { width: w, height: h, channels: 3 } })
    .resize(width, height, { kernel: "cubic", fit: "fill" })
    .raw()
    .toBuffer();
}

/** Photo-like RGB pixels: `grain` is the amplitude (±) of the per-pixel noise. */
export async function photoPixels(width: number, height: number, seed: number, grain: number): Promise<Buffer> {
  const random = seededRandom(seed);
  const large = await smoothLayer(width, height, 64, random);
  const small = await smoothLayer(width, height, 8, random);
  const out = Buffer.alloc(width * height * 3);
  const span = grain * 2 + 1;
  for (let i = 0; i < out.length; i++) {
    const value = 0.7 * large[i]! + 0.3 * small[i]! + Math.floor(random() * span) - grain;
    out[i] = Math.min(255, Math.max(0, value));
  }
  return out;
}

export interface EllipseArea {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

function inside(area: EllipseArea, x: number, y: number): boolean {
  const dx = (x + 0.5 - area.cx) / area.rx;
  const dy = (y + 0.5 - area.cy) / area.ry;
  return dx * dx + dy * dy <= 1;
}

/** The area to inpaint used by every benchmark image: an ellipse a tenth of the picture across. */
export function benchArea(width: number, height: number): EllipseArea {
  return { cx: width * 0.55, cy: height * 0.6, rx: width * 0.1, ry: height * 0.08 };
}

/** A one-channel mask PNG: white inside the ellipse (inpaint), black elsewhere. */
export async function maskPng(width: number, height: number, area: EllipseArea): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height);
  for (let y = Math.floor(area.cy - area.ry); y <= Math.ceil(area.cy + area.ry); y++) {
    if (y < 0 || y >= height) continue;
    for (let x = Math.floor(area.cx - area.rx); x <= Math.ceil(area.cx + area.rx); x++) {
      if (x >= 0 && x < width && inside(area, x, y)) pixels[y * width + x] = 255;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 1 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
}

/** RGB pixels + alpha (0 inside the ellipse: transparent = inpaint) as RGBA. */
export function withAlphaHole(rgb: Buffer, width: number, height: number, area: EllipseArea): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      rgba[p * 4] = rgb[p * 3]!;
      rgba[p * 4 + 1] = rgb[p * 3 + 1]!;
      rgba[p * 4 + 2] = rgb[p * 3 + 2]!;
      rgba[p * 4 + 3] = inside(area, x, y) ? 0 : 255;
    }
  }
  return rgba;
}

export interface ImageSpec {
  name: string;
  width: number;
  height: number;
  seed: number;
  grain: number;
  kind: "jpeg" | "png-alpha" | "mask";
}

/** Where generated images are kept between runs (OS temp dir; regenerated when missing). */
export const IMAGE_CACHE_DIR = path.join(os.tmpdir(), "flux-fill-bench-images");

async function encode(spec: ImageSpec): Promise<Buffer> {
  const { width, height } = spec;
  const area = benchArea(width, height);
  if (spec.kind === "mask") return maskPng(width, height, area);
  const rgb = await photoPixels(width, height, spec.seed, spec.grain);
  if (spec.kind === "jpeg") {
    return sharp(rgb, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
  }
  // Adaptive filtering, as image editors save photos (sharp's default, no filter, makes them twice as big).
  return sharp(withAlphaHole(rgb, width, height, area), { raw: { width, height, channels: 4 } })
    .png({ adaptiveFiltering: true })
    .toBuffer();
}

/** The image's path in the cache, generating it first when it is not there yet. */
export async function ensureImage(spec: ImageSpec, dir = IMAGE_CACHE_DIR): Promise<string> {
  const ext = spec.kind === "jpeg" ? "jpg" : "png";
  const file = path.join(
    dir,
    `v${GENERATOR_VERSION}-${spec.name}-${spec.width}x${spec.height}-s${spec.seed}-g${spec.grain}.${ext}`,
  );
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, await encode(spec));
  await rename(temp, file);
  return file;
}
