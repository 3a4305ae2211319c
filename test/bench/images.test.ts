import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { benchArea, ensureImage, maskPng, photoPixels, withAlphaHole } from "../../bench/images.js";

const W = 96;
const H = 64;

function stdDev(data: Buffer): number {
  let sum = 0;
  for (const v of data) sum += v;
  const m = sum / data.length;
  let sq = 0;
  for (const v of data) sq += (v - m) ** 2;
  return Math.sqrt(sq / data.length);
}

describe("photoPixels", () => {
  it("is reproducible for a seed, different for another, and neither flat nor saturated", async () => {
    const a = await photoPixels(W, H, 5, 4);
    expect(a).toHaveLength(W * H * 3);
    expect((await photoPixels(W, H, 5, 4)).equals(a)).toBe(true);
    expect((await photoPixels(W, H, 6, 4)).equals(a)).toBe(false);
    expect(stdDev(a)).toBeGreaterThan(8);
    const extremes = a.filter((v) => v === 0 || v === 255).length;
    expect(extremes / a.length).toBeLessThan(0.05);
  });

  it("grain adds pixel-to-pixel variation", async () => {
    const neighbourDiff = (d: Buffer) => {
      let total = 0;
      for (let i = 3; i < d.length; i++) total += Math.abs(d[i]! - d[i - 3]!);
      return total / (d.length - 3);
    };
    expect(neighbourDiff(await photoPixels(W, H, 5, 8))).toBeGreaterThan(neighbourDiff(await photoPixels(W, H, 5, 0)));
  });
});

describe("masks", () => {
  const area = benchArea(W, H);
  const expectedFraction = (Math.PI * area.rx * area.ry) / (W * H);

  it("maskPng is white inside the ellipse only", async () => {
    const png = await maskPng(W, H, area);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(["png", W, H, 1]);
    const { data } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const white = data.filter((v) => v === 255).length;
    expect(white + data.filter((v) => v === 0).length).toBe(W * H);
    expect(white / (W * H)).toBeCloseTo(expectedFraction, 2);
    expect(data[Math.round(area.cy) * W + Math.round(area.cx)]).toBe(255);
    expect(data[0]).toBe(0);
  });

  it("withAlphaHole keeps the colours and makes the same ellipse transparent", async () => {
    const rgb = await photoPixels(W, H, 1, 2);
    const rgba = withAlphaHole(rgb, W, H, area);
    const transparent = [];
    for (let p = 0; p < W * H; p++) {
      expect(rgba[p * 4 + 1]).toBe(rgb[p * 3 + 1]);
      if (rgba[p * 4 + 3] === 0) transparent.push(p);
    }
    const { data } = await sharp(await maskPng(W, H, area))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(transparent).toEqual([...data.keys()].filter((p) => data[p] === 255));
  });
});

describe("ensureImage", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("writes each kind once and reuses the cached file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bench-images-"));
    dirs.push(dir);
    const jpeg = await ensureImage({ name: "t", width: W, height: H, seed: 1, grain: 4, kind: "jpeg" }, dir);
    const png = await ensureImage({ name: "t", width: W, height: H, seed: 1, grain: 4, kind: "png-alpha" }, dir);
    const meta = await sharp(jpeg).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", W, H]);
    const pngMeta = await sharp(png).metadata();
    expect([pngMeta.format, pngMeta.channels, pngMeta.hasAlpha]).toEqual(["png", 4, true]);
    const before = await readFile(jpeg);
    expect(await ensureImage({ name: "t", width: W, height: H, seed: 1, grain: 4, kind: "jpeg" }, dir)).toBe(jpeg);
    expect((await readFile(jpeg)).equals(before)).toBe(true);
  });
});
