import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import {
  decodeInput,
  decodeMaskFile,
  decodeMaskInput,
  decodeResized,
  formatMegapixels,
  isPlainGrey,
} from "../../src/images/decode.js";
import { maskFromLuminance } from "../../src/images/mask.js";
import type { RasterImage } from "../../src/images/raster.js";
import {
  encodeRaster,
  makeMask,
  makePhoto,
  makeRgbaWithHole,
  maskPixels,
  orientedAs,
  pixelAt,
  pngHeaderClaiming,
} from "../helpers/images.js";
import { greyPngWithOrientation, storedForOrientation6 } from "./fixtures.js";

const LIMITS = { maxPixels: 50_000_000 };
/** A round trip through a press profile is not exact even in gamut. */
const TOLERANCE_CMYK = 15;

type Rgb = [number, number, number];
const RED: Rgb = [220, 30, 30];
const GREEN: Rgb = [30, 200, 60];
const BLUE: Rgb = [40, 50, 210];
const GREY: Rgb = [128, 128, 128];

/** Four solid quadrants (red, green / blue, grey): tells apart every rotation and flip. */
function quadrants(
  width: number,
  height: number,
  colours: [Rgb, Rgb, Rgb, Rgb] = [RED, GREEN, BLUE, GREY],
): RasterImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = colours[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!;
      data.set(c, (y * width + x) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

/** Asserts the colour at the centre of each quadrant, within a codec tolerance. */
function expectQuadrants(
  raster: RasterImage,
  tolerance: number,
  colours: [Rgb, Rgb, Rgb, Rgb] = [RED, GREEN, BLUE, GREY],
) {
  const { width, height } = raster;
  const centres = [
    [width / 4, height / 4],
    [(3 * width) / 4, height / 4],
    [width / 4, (3 * height) / 4],
    [(3 * width) / 4, (3 * height) / 4],
  ];
  centres.forEach(([x, y], i) => {
    const actual = pixelAt(raster, Math.floor(x!), Math.floor(y!)).slice(0, 3);
    actual.forEach((v, c) => {
      expect(
        Math.abs(v - colours[i]![c]!),
        `quadrant ${i} channel ${c}: ${actual} vs ${colours[i]}`,
      ).toBeLessThanOrEqual(tolerance);
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<FluxFillError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FluxFillError);
    return error as FluxFillError;
  }
  throw new Error("expected a rejection");
}

const base = () => {
  const q = quadrants(64, 48);
  return sharp(q.data, { raw: { width: 64, height: 48, channels: 3 } });
};

describe("decodeInput: formats", () => {
  it.each([
    ["jpeg", () => base().jpeg({ quality: 95 }).toBuffer(), 8],
    ["png", () => base().png().toBuffer(), 0],
    ["webp", () => base().webp({ lossless: true }).toBuffer(), 0],
    ["tiff", () => base().tiff({ compression: "lzw" }).toBuffer(), 0],
    ["heif", () => base().avif({ quality: 90, effort: 0 }).toBuffer(), 12],
    ["gif", () => base().gif().toBuffer(), 6],
  ] as const)("%s decodes to 8-bit sRGB RGB with its colours", async (format, make, tolerance) => {
    const decoded = await decodeInput(await make(), "image", LIMITS);
    expect(decoded.format).toBe(format);
    expect(decoded).toMatchObject({ width: 64, height: 48 });
    expect(decoded.raster).toMatchObject({ width: 64, height: 48, channels: 3 });
    expect(decoded.raster.data.length).toBe(64 * 48 * 3);
    expectQuadrants(decoded.raster, tolerance);
  });

  it("reduces a 16-bit PNG to 8 bits", async () => {
    const png16 = await base().toColourspace("rgb16").png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe("ushort");
    const decoded = await decodeInput(png16, "image", LIMITS);
    expect(decoded.raster.channels).toBe(3);
    expect(decoded.raster.data.length).toBe(64 * 48 * 3);
    expect(decoded.stored.depth).toBe("ushort");
    expectQuadrants(decoded.raster, 1);
  });

  it("expands a greyscale PNG to RGB with equal channels", async () => {
    const grey = await base().toColourspace("b-w").png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const decoded = await decodeInput(grey, "image", LIMITS);
    expect(decoded.raster.channels).toBe(3);
    const [r, g, b] = pixelAt(decoded.raster, 10, 10);
    expect(r).toBe(g);
    expect(g).toBe(b);
    // Red's luminance is dark-ish, grey stays mid-grey.
    expect(pixelAt(decoded.raster, 48, 36)[0]).toBeGreaterThan(110);
    expect(pixelAt(decoded.raster, 48, 36)[0]).toBeLessThan(145);
  });

  it("expands a palette PNG", async () => {
    const palette = await base().png({ palette: true }).toBuffer();
    expect((await sharp(palette).metadata()).isPalette).toBe(true);
    const decoded = await decodeInput(palette, "image", LIMITS);
    expect(decoded.raster.channels).toBe(3);
    expectQuadrants(decoded.raster, 6);
  });

  it("converts a CMYK JPEG to sRGB", async () => {
    // Muted colours: saturated ones lie outside the press (CMYK) gamut and would shift on the way there.
    const muted: [Rgb, Rgb, Rgb, Rgb] = [
      [180, 90, 80],
      [90, 150, 100],
      [80, 100, 170],
      [128, 128, 128],
    ];
    const q = quadrants(64, 48, muted);
    const cmyk = await sharp(q.data, { raw: { width: 64, height: 48, channels: 3 } })
      .toColourspace("cmyk")
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    const decoded = await decodeInput(cmyk, "image", LIMITS);
    expect(decoded.raster.channels).toBe(3);
    expect(decoded.stored.space).toBe("cmyk");
    expectQuadrants(decoded.raster, TOLERANCE_CMYK, muted);
  });

  it.each(["gif", "webp"] as const)("takes the first frame of an animated %s", async (format) => {
    const frames = Buffer.concat([quadrants(32, 24).data, quadrants(32, 24, [GREY, GREY, GREY, GREY]).data]);
    const animated = await sharp(frames, { raw: { width: 32, height: 48, channels: 3, pageHeight: 24 } })
      .toFormat(format, format === "webp" ? { lossless: true } : {})
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    const decoded = await decodeInput(animated, "image", LIMITS);
    expect(decoded).toMatchObject({ width: 32, height: 24 });
    expectQuadrants(decoded.raster, 6);
  });
});

describe("decodeInput: alpha", () => {
  it("keeps 4 channels when some pixel is transparent", async () => {
    const png = await makeRgbaWithHole(40, 30, { kind: "rect", x: 5, y: 5, width: 10, height: 10 });
    const decoded = await decodeInput(png, "image", LIMITS);
    expect(decoded.hasAlpha).toBe(true);
    expect(decoded.raster.channels).toBe(4);
    expect(pixelAt(decoded.raster, 7, 7)[3]).toBe(0);
    expect(pixelAt(decoded.raster, 30, 20)[3]).toBe(255);
  });

  it("drops an alpha channel in which every pixel is opaque, but reports that the file has one", async () => {
    const opaqueRgba = await base().ensureAlpha(1).png().toBuffer();
    expect((await sharp(opaqueRgba).metadata()).channels).toBe(4);
    const decoded = await decodeInput(opaqueRgba, "image", LIMITS);
    expect(decoded.hasAlpha).toBe(true);
    expect(decoded.raster.channels).toBe(3);
    expectQuadrants(decoded.raster, 0);
  });
});

describe("decodeInput: EXIF orientation", () => {
  it.each([3, 6, 8] as const)("orientation %i gives the pixels as displayed", async (orientation) => {
    const view = await encodeRaster(quadrants(60, 40), "jpeg", 100);
    const stored = await orientedAs(view, orientation);
    const meta = await sharp(stored).metadata();
    expect(meta.orientation).toBe(orientation);
    // The stored pixels really are turned (otherwise this test would pass without orientation handling).
    expect([meta.width, meta.height]).toEqual(orientation === 3 ? [60, 40] : [40, 60]);
    const decoded = await decodeInput(stored, "image", LIMITS);
    expect(decoded.orientation).toBe(orientation);
    expect(decoded).toMatchObject({ width: 60, height: 40 });
    expect(decoded.raster).toMatchObject({ width: 60, height: 40 });
    expectQuadrants(decoded.raster, 10);
  });

  it("orients PNGs too", async () => {
    const stored = await orientedAs(await encodeRaster(quadrants(30, 20)), 6);
    const decoded = await decodeInput(stored, "image", LIMITS);
    expect(decoded.raster).toMatchObject({ width: 30, height: 20 });
    expectQuadrants(decoded.raster, 0);
  });
});

describe("decodeInput: size limit", () => {
  it("refuses a header claiming 10 gigapixels before decoding it", async () => {
    const bomb = pngHeaderClaiming(100_000, 100_000);
    expect(bomb.length).toBeLessThan(100);
    const error = await rejection(decodeInput(bomb, "image", LIMITS));
    expect(error.kind).toBe("too_large");
    expect(error.message).toBe(
      "The image is 100000×100000 pixels (10000 MP), over the limit of 50 MP set by FLUX_FILL_MAX_INPUT_MP.",
    );
    expect(error.suggestion).toContain("FLUX_FILL_MAX_INPUT_MP");
  });

  it("names the mask when the mask is too large", async () => {
    const error = await rejection(decodeInput(pngHeaderClaiming(9000, 8000), "mask", LIMITS));
    expect(error.kind).toBe("too_large");
    expect(error.message).toMatch(/^The mask is 9000×8000 pixels \(72 MP\)/);
  });

  it("applies the limit to real images, and accepts an image exactly at the limit", async () => {
    const photo = await makePhoto(1000, 1000, { format: "jpeg" });
    const error = await rejection(decodeInput(photo, "image", { maxPixels: 999_999 }));
    expect(error.kind).toBe("too_large");
    expect(error.message).toContain("1000×1000 pixels (1 MP), over the limit of 1 MP");
    await expect(decodeInput(photo, "image", { maxPixels: 1_000_000 })).resolves.toMatchObject({ width: 1000 });
  });

  it("reports the displayed size of a rotated image", async () => {
    const stored = await orientedAs(await makePhoto(300, 200), 6);
    const error = await rejection(decodeInput(stored, "image", { maxPixels: 10_000 }));
    expect(error.message).toContain("300×200 pixels (0.06 MP)");
  });
});

describe("decodeInput: not an image", () => {
  it.each([
    ["text", Buffer.from("hello, this is not an image")],
    ["HTML", Buffer.from("<!doctype html><html><body>404 Not Found</body></html>")],
    ["random bytes", Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256))],
  ])("%s → bad_input naming the input and the accepted formats", async (_, bytes) => {
    const error = await rejection(decodeInput(bytes, "mask", LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(/^The mask is not a readable image/);
    expect(error.message).toContain("JPEG, PNG, WebP, AVIF, GIF");
    expect(error.message).toContain("TIFF");
    expect(error.message).toContain("HEIC");
  });

  it("an empty file", async () => {
    const error = await rejection(decodeInput(Buffer.alloc(0), "image", LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toBe("The image is empty (0 bytes), so it is not an image.");
  });

  it("refuses SVG (and any format outside the list) without rendering it", async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    );
    const error = await rejection(decodeInput(svg, "image", LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(/^The image is SVG, which is not accepted here\. Accepted formats: JPEG/);
  });

  it("a truncated JPEG: readable header, broken pixels", async () => {
    const jpeg = await makePhoto(200, 150, { format: "jpeg" });
    const error = await rejection(decodeInput(jpeg.subarray(0, Math.floor(jpeg.length / 2)), "image", LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(
      /^The image looks like JPEG but could not be decoded: the file is truncated or corrupt/,
    );
  });

  it("a PNG whose pixel data is missing", async () => {
    const error = await rejection(decodeInput(pngHeaderClaiming(64, 64), "image", LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("PNG but could not be decoded");
  });
});

describe("decodeMaskInput", () => {
  it("returns one channel with the exact values of a greyscale mask", async () => {
    const mask = await decodeMaskInput(
      await makeMask(20, 10, { kind: "rect", x: 5, y: 2, width: 4, height: 3 }),
      LIMITS,
    );
    expect(mask).toMatchObject({ width: 20, height: 10, channels: 1 });
    expect(mask.data.length).toBe(200);
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 20; x++) {
        const inside = x >= 5 && x < 9 && y >= 2 && y < 5;
        expect(mask.data[y * 20 + x]).toBe(inside ? 255 : 0);
      }
    }
  });

  it("reduces a colour mask to luminance (white stays 255, black 0)", async () => {
    const colours: [Rgb, Rgb, Rgb, Rgb] = [
      [255, 255, 255],
      [0, 0, 0],
      [255, 0, 0],
      [0, 255, 0],
    ];
    const mask = await decodeMaskInput(await encodeRaster(quadrants(8, 8, colours)), LIMITS);
    expect(mask.channels).toBe(1);
    expect([mask.data[0], mask.data[7], mask.data[7 * 8]! < mask.data[7 * 8 + 7]!]).toEqual([255, 0, true]);
  });

  it("ignores an alpha channel that is fully opaque", async () => {
    const opaque = await sharp(await makeMask(10, 10, { kind: "rect", x: 0, y: 0, width: 5, height: 10 }))
      .ensureAlpha(1)
      .png()
      .toBuffer();
    expect((await sharp(opaque).metadata()).channels).toBe(4);
    const mask = await decodeMaskInput(opaque, LIMITS);
    expect([mask.data[0], mask.data[9]]).toEqual([255, 0]);
  });

  it("flattens a mask's own transparency onto black (transparent = keep)", async () => {
    const rgba = Buffer.alloc(2 * 1 * 4);
    rgba.set([255, 255, 255, 0, 255, 255, 255, 255]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    const mask = await decodeMaskInput(png, LIMITS);
    expect([...mask.data]).toEqual([0, 255]);
  });

  it("applies the mask's EXIF orientation", async () => {
    const view = await makeMask(30, 20, { kind: "rect", x: 0, y: 0, width: 10, height: 5 });
    const mask = await decodeMaskInput(await orientedAs(view, 8), LIMITS);
    expect(mask).toMatchObject({ width: 30, height: 20 });
    expect(mask.data[0]).toBe(255);
    expect(mask.data[4 * 30 + 9]).toBe(255);
    expect(mask.data[5 * 30 + 9]).toBe(0);
    expect(mask.data[4 * 30 + 10]).toBe(0);
  });
});

describe("decodeMaskFile", () => {
  /** Every grey value 0..255, in a 64×4 image. */
  const allGreys = () => {
    const data = Buffer.alloc(64 * 4 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    return { data: data.subarray(0, 64 * 16), width: 64, height: 16, channels: 1 as const };
  };

  it("decodes a plain 8-bit greyscale PNG to one channel with the same values as the sRGB route", async () => {
    const png = await encodeRaster(allGreys());
    const fast = await decodeMaskFile(png, LIMITS);
    expect(fast.raster).toMatchObject({ width: 64, height: 16, channels: 1 });
    expect(fast.raster.data.equals(allGreys().data)).toBe(true);
    // The general route (sRGB, then luminance) gives exactly the same mask.
    const general = await decodeInput(png, "mask", LIMITS);
    expect(general.raster.channels).toBe(3);
    expect(maskFromLuminance(general.raster).data.equals(fast.raster.data)).toBe(true);
    expect(fast.stored).toMatchObject({ channels: 1, space: "b-w", depth: "uchar", bitsPerSample: 8, palette: false });
  });

  it("applies orientation on the one-channel route too", async () => {
    const view = maskPixels(30, 20, { kind: "rect", x: 0, y: 0, width: 10, height: 5 });
    const file = await greyPngWithOrientation(storedForOrientation6(view), 6);
    expect(await sharp(file).metadata()).toMatchObject({ channels: 1, hasProfile: false, orientation: 6 });
    const decoded = await decodeMaskFile(file, LIMITS);
    expect(decoded.raster).toMatchObject({ width: 30, height: 20, channels: 1 });
    expect(decoded.raster.data.equals(view.data)).toBe(true);
    expect(decoded.orientation).toBe(6);
  });

  it.each([
    ["colour", async (png: Buffer) => sharp(png).toColourspace("srgb").png().toBuffer(), 3],
    ["16-bit grey", async (png: Buffer) => sharp(png).toColourspace("grey16").png().toBuffer(), 3],
    ["grey with an ICC profile", async (png: Buffer) => sharp(png).withIccProfile("srgb").png().toBuffer(), 3],
  ])("takes the sRGB route for a %s file (same mask as before)", async (_, make, channels) => {
    const file = await make(await encodeRaster(allGreys()));
    const decoded = await decodeMaskFile(file, LIMITS);
    expect(decoded.raster.channels).toBe(channels);
    const general = await decodeInput(file, "mask", LIMITS);
    expect(decoded.raster.data.equals(general.raster.data)).toBe(true);
  });

  it("keeps the mask's errors: size limit and corrupt data name the mask", async () => {
    await expect(decodeMaskFile(pngHeaderClaiming(20_000, 20_000), LIMITS)).rejects.toMatchObject({
      kind: "too_large",
    });
    const png = await encodeRaster(allGreys());
    const broken = await rejection(decodeMaskFile(png.subarray(0, Math.floor(png.length * 0.6)), LIMITS));
    expect(broken.kind).toBe("bad_input");
    expect(broken.message).toMatch(/^The mask /);
  });

  it("isPlainGrey is true only for 8-bit one-channel b-w without a profile", () => {
    const plain = { channels: 1, depth: "uchar", space: "b-w", hasProfile: false } as const;
    expect(isPlainGrey(plain)).toBe(true);
    expect(isPlainGrey({ ...plain, channels: 2 })).toBe(false);
    expect(isPlainGrey({ ...plain, depth: "ushort" })).toBe(false);
    expect(isPlainGrey({ ...plain, space: "grey16" })).toBe(false);
    expect(isPlainGrey({ ...plain, hasProfile: true })).toBe(false);
  });
});

describe("decodeInput: an all-opaque alpha is dropped without a copy", () => {
  it("returns RGB packed inside the decoded buffer", async () => {
    const opaque = await sharp(await makePhoto(33, 21))
      .ensureAlpha(1)
      .png()
      .toBuffer();
    const decoded = await decodeInput(opaque, "image", LIMITS);
    const rgb = await sharp(opaque).removeAlpha().raw().toBuffer();
    expect(decoded.raster.channels).toBe(3);
    expect(decoded.raster.data.equals(rgb)).toBe(true);
    // A view of the RGBA buffer sharp decoded into, not a new 3-channel allocation.
    expect(decoded.raster.data.buffer.byteLength).toBeGreaterThanOrEqual(33 * 21 * 4);
  });
});

describe("formatMegapixels", () => {
  it.each([
    [50_000_000, "50"],
    [12_345_678, "12.3"],
    [1_000_000, "1"],
    [250_000, "0.25"],
    [60_000, "0.06"],
  ])("%i → %s", (pixels, text) => {
    expect(formatMegapixels(pixels)).toBe(text);
  });
});

describe("decodeResized (previews of a checked input)", () => {
  /** Mean absolute difference per channel value. */
  const meanDifference = (a: RasterImage, b: RasterImage) => {
    let sum = 0;
    for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
    return sum / a.data.length;
  };

  it("gives the displayed image at the asked size, close to resizing the full decode", async () => {
    const view = await makePhoto(640, 480, { format: "jpeg", seed: 4 });
    const rotated = await orientedAs(view, 6, "jpeg");
    const small = await decodeResized(rotated, 160, 120, LIMITS);
    expect(small).toMatchObject({ width: 160, height: 120, channels: 3 });
    const full = (await decodeInput(rotated, "image", LIMITS)).raster;
    const reference = await sharp(full.data, { raw: { width: 640, height: 480, channels: 3 } })
      .resize(160, 120, { fit: "fill" })
      .raw()
      .toBuffer();
    expect(meanDifference(small, { ...small, data: reference })).toBeLessThan(4);
  });

  it("drops the alpha and keeps the colours of a transparent image", async () => {
    const png = await makeRgbaWithHole(60, 40, { kind: "rect", x: 0, y: 0, width: 60, height: 20 });
    const same = await decodeResized(png, 60, 40, LIMITS);
    expect(same).toMatchObject({ width: 60, height: 40, channels: 3 });
    const full = (await decodeInput(png, "image", LIMITS)).raster;
    for (const [x, y] of [
      [5, 5],
      [30, 30],
    ] as const) {
      expect(pixelAt(same, x, y)).toEqual(pixelAt(full, x, y).slice(0, 3));
    }
  });
});
