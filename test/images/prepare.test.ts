import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { decodeInput, resizeRaster } from "../../src/images/decode.js";
import { maskStats } from "../../src/images/mask.js";
import { encodePng, prepareFillImages } from "../../src/images/prepare.js";
import type { RasterImage } from "../../src/images/raster.js";
import {
  decodeRaw,
  encodeRaster,
  insideShape,
  makeMask,
  makePhoto,
  makeRgbaWithHole,
  maskPixels,
  orientedAs,
  photoPixels,
  pixelAt,
  pngHeaderClaiming,
  rgbaWithHolePixels,
  type Shape,
  withOrientation,
} from "../helpers/images.js";
import { greyPngWithOrientation, storedForOrientation6 } from "./fixtures.js";

const LIMITS = { maxPixels: 50_000_000 };

async function rejection(promise: Promise<unknown>): Promise<FluxFillError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FluxFillError);
    return error as FluxFillError;
  }
  throw new Error("expected a rejection");
}

const MAGENTA = [255, 0, 255];

/** A photo (as displayed) with a solid magenta marker exactly where `marker` is. */
function photoWithMarker(width: number, height: number, marker: Shape): RasterImage {
  const photo = photoPixels(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if (insideShape(marker, x, y)) photo.data.set(MAGENTA, (y * width + x) * 3);
  }
  return photo;
}

describe("prepareFillImages with a mask", () => {
  it("decodes both, keeps the mask's values and reports coverage", async () => {
    const rect: Shape = { kind: "rect", x: 10, y: 8, width: 30, height: 20 };
    const imageBytes = await makePhoto(96, 64, { format: "png" });
    const prepared = await prepareFillImages(imageBytes, await makeMask(96, 64, rect), LIMITS);
    expect(await prepared.image.pixels()).toMatchObject({ width: 96, height: 64, channels: 3 });
    expect(prepared.mask.data.equals(maskPixels(96, 64, rect).data)).toBe(true);
    expect(prepared.info).toEqual({
      width: 96,
      height: 64,
      maskSource: "mask",
      coverage: (30 * 20) / (96 * 64),
      imageFormat: "png",
    });
  });

  it("uploads a lossless RGB PNG of the image and a one-channel PNG of the mask", async () => {
    const rect: Shape = { kind: "ellipse", cx: 40, cy: 30, rx: 20, ry: 12 };
    const prepared = await prepareFillImages(
      await makePhoto(80, 60, { format: "webp" }),
      await makeMask(80, 60, rect),
      LIMITS,
    );
    const [imageMeta, maskMeta] = await Promise.all([
      sharp(prepared.upload.image).metadata(),
      sharp(prepared.upload.mask).metadata(),
    ]);
    expect(imageMeta).toMatchObject({ format: "png", channels: 3, width: 80, height: 60 });
    expect(maskMeta).toMatchObject({ format: "png", channels: 1, width: 80, height: 60 });
    expect((await decodeRaw(prepared.upload.image)).data.equals((await prepared.image.pixels()).data)).toBe(true);
    expect((await decodeRaw(prepared.upload.mask)).data.equals(prepared.mask.data)).toBe(true);
  });

  it("drops the image's alpha when a separate mask is given (the mask wins)", async () => {
    const hole: Shape = { kind: "rect", x: 0, y: 0, width: 10, height: 10 };
    const rgba = await makeRgbaWithHole(40, 30, hole);
    const maskRect: Shape = { kind: "rect", x: 20, y: 10, width: 10, height: 10 };
    const prepared = await prepareFillImages(rgba, await makeMask(40, 30, maskRect), LIMITS);
    expect(prepared.info.maskSource).toBe("mask");
    expect((await prepared.image.pixels()).channels).toBe(3);
    expect(maskStats(prepared.mask).bbox).toEqual({ x: 20, y: 10, width: 10, height: 10 });
    // RGB under the formerly transparent pixels is kept, not replaced.
    const expected = rgbaWithHolePixels(40, 30, hole);
    expect(pixelAt(await prepared.image.pixels(), 2, 2)).toEqual(pixelAt(expected, 2, 2).slice(0, 3));
  });

  it("refuses masks of another size, naming both sizes", async () => {
    const error = await rejection(
      prepareFillImages(
        await makePhoto(100, 80),
        await makeMask(50, 40, { kind: "rect", x: 0, y: 0, width: 5, height: 5 }),
        LIMITS,
      ),
    );
    expect(error.kind).toBe("bad_input");
    expect(error.message).toBe(
      "The mask is 50×40 but the image is 100×80; they must be the same size (the upstream requires it).",
    );
  });

  it("compares sizes after orientation and hints at rotation when they are swapped", async () => {
    // The photo is displayed 60×40; a mask made from the stored (unrotated) pixels is 40×60.
    const image = await orientedAs(await makePhoto(60, 40, { format: "jpeg" }), 6);
    const error = await rejection(
      prepareFillImages(image, await makeMask(40, 60, { kind: "rect", x: 0, y: 0, width: 5, height: 5 }), LIMITS),
    );
    expect(error.message).toBe(
      "The mask is 40×60 but the image is 60×40; they must be the same size (the upstream requires it).",
    );
    expect(error.suggestion).toContain("rotated");
  });

  it("refuses an empty mask (nothing reaches mid-grey) before anything is uploaded", async () => {
    const black = await makeMask(40, 30, []);
    const error = await rejection(prepareFillImages(await makePhoto(40, 30), black, LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(/^The mask is empty/);
    expect(error.suggestion).toContain("invert");

    const faint = await encodeRaster({ data: Buffer.alloc(40 * 30, 100), width: 40, height: 30, channels: 1 });
    await expect(prepareFillImages(await makePhoto(40, 30), faint, LIMITS)).rejects.toThrow(/^The mask is empty/);
  });

  it("reports the image's problem first when both inputs are bad", async () => {
    const error = await rejection(prepareFillImages(Buffer.from("not an image"), Buffer.from("nor this"), LIMITS));
    expect(error.message).toMatch(/^The image is not a readable image/);
  });

  it("names the mask when only the mask is bad or too large", async () => {
    const photo = await makePhoto(40, 30);
    expect((await rejection(prepareFillImages(photo, Buffer.from("GIF89a-ish junk"), LIMITS))).message).toMatch(
      /^The mask /,
    );
    const tooLarge = await rejection(prepareFillImages(photo, pngHeaderClaiming(20_000, 20_000), LIMITS));
    expect(tooLarge.kind).toBe("too_large");
    expect(tooLarge.message).toMatch(/^The mask is 20000×20000 pixels/);
  });
});

describe("prepareFillImages: EXIF orientation of image and mask", () => {
  const marker: Shape = { kind: "rect", x: 6, y: 4, width: 12, height: 8 };

  it.each([3, 6, 8] as const)(
    "orientation %i: a mask drawn on the displayed image lines up, whether or not the mask is tagged too",
    async (orientation) => {
      const view = photoWithMarker(60, 40, marker);
      const imageBytes = await orientedAs(await encodeRaster(view, "png"), orientation, "jpeg");
      const viewMask = await makeMask(60, 40, marker);
      for (const maskBytes of [viewMask, await orientedAs(viewMask, orientation)]) {
        const prepared = await prepareFillImages(imageBytes, maskBytes, LIMITS);
        expect(prepared.info).toMatchObject({ width: 60, height: 40 });
        expect(maskStats(prepared.mask).bbox).toEqual({ x: 6, y: 4, width: 12, height: 8 });
        // Every pixel the mask selects is the magenta marker in the oriented image (JPEG tolerance, 1 px margin).
        for (let y = marker.y + 1; y < marker.y + marker.height - 1; y++) {
          for (let x = marker.x + 1; x < marker.x + marker.width - 1; x++) {
            const [r, g, b] = pixelAt(await prepared.image.pixels(), x, y);
            expect(r!).toBeGreaterThan(200);
            expect(g!).toBeLessThan(60);
            expect(b!).toBeGreaterThan(200);
          }
        }
        // The uploaded image is re-encoded upright: no orientation tag, displayed size.
        const uploaded = await sharp(prepared.upload.image).metadata();
        expect(uploaded).toMatchObject({ format: "png", width: 60, height: 40 });
        expect(uploaded.orientation ?? 1).toBe(1);
      }
    },
  );
});

describe("prepareFillImages: transparency as the mask", () => {
  it("turns alpha into the mask exactly (255 − alpha), with an opaque RGB image keeping its colours", async () => {
    // Alpha steps 0, 64, 128, 200, 255 across five columns of a 5×2 image.
    const alphas = [0, 64, 128, 200, 255];
    const rgb = photoPixels(5, 2, 9);
    const rgba = Buffer.alloc(5 * 2 * 4);
    for (let i = 0; i < 10; i++) {
      rgba.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = alphas[i % 5]!;
    }
    const png = await sharp(rgba, { raw: { width: 5, height: 2, channels: 4 } })
      .png()
      .toBuffer();
    const prepared = await prepareFillImages(png, undefined, LIMITS);
    expect(prepared.info.maskSource).toBe("alpha");
    expect([...prepared.mask.data]).toEqual([255, 191, 127, 55, 0, 255, 191, 127, 55, 0]);
    expect(prepared.info.coverage).toBe(4 / 10);
    expect((await prepared.image.pixels()).channels).toBe(3);
    expect((await prepared.image.pixels()).data.equals(rgb.data)).toBe(true);
    const uploaded = await sharp(prepared.upload.image).metadata();
    expect(uploaded).toMatchObject({ format: "png", channels: 3, hasAlpha: false });
    expect((await decodeRaw(prepared.upload.mask)).data.equals(prepared.mask.data)).toBe(true);
  });

  it("works with a WebP with transparency", async () => {
    const hole: Shape = { kind: "ellipse", cx: 20, cy: 15, rx: 8, ry: 6 };
    const webp = await sharp(rgbaWithHolePixels(40, 30, hole).data, { raw: { width: 40, height: 30, channels: 4 } })
      .webp({ lossless: true })
      .toBuffer();
    const prepared = await prepareFillImages(webp, undefined, LIMITS);
    expect(prepared.info).toMatchObject({ maskSource: "alpha", imageFormat: "webp" });
    expect(prepared.mask.data.equals(maskPixels(40, 30, hole).data)).toBe(true);
  });

  it("explains the ways to mark the area when there is no mask and nothing is transparent", async () => {
    const opaqueRgba = await sharp(await makePhoto(40, 30))
      .ensureAlpha(1)
      .png()
      .toBuffer();
    const error = await rejection(prepareFillImages(opaqueRgba, undefined, LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toBe(
      "There is no mask, and the image has no transparent pixels (it has an alpha channel, but every pixel is fully opaque), so nothing marks the area to inpaint.",
    );
    expect(error.suggestion).toMatch(/1\) `mask_regions`.*"fraction"/);
    expect(error.suggestion).toMatch(/2\) `mask_svg`.*white = inpaint/);
    expect(error.suggestion).toMatch(/3\) `mask`.*white = inpaint.*black = keep/);
    expect(error.suggestion).toMatch(/4\) .*transparent pixels mark the area.*image editor.*PNG with transparency/);
    expect(error.suggestion).toMatch(/preview_mask/);

    const jpegError = await rejection(
      prepareFillImages(await makePhoto(40, 30, { format: "jpeg" }), undefined, LIMITS),
    );
    expect(jpegError.message).toBe(
      "There is no mask, and the image has no transparent pixels, so nothing marks the area to inpaint.",
    );
  });

  it("refuses transparency too faint to mark anything", async () => {
    const faint = await makeRgbaWithHole(
      20,
      20,
      { kind: "rect", x: 0, y: 0, width: 20, height: 20 },
      { alphaInHole: 200 },
    );
    const error = await rejection(prepareFillImages(faint, undefined, LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(/transparency marks nothing to inpaint/);
  });
});

describe("prepareFillImages: JPEG pass-through", () => {
  const mask = () => makeMask(64, 48, { kind: "rect", x: 0, y: 0, width: 8, height: 8 });
  const HOLE: Shape = { kind: "rect", x: 10, y: 10, width: 20, height: 20 };

  it("sends a plain sRGB JPEG byte for byte", async () => {
    const jpeg = await makePhoto(64, 48, { format: "jpeg" });
    const prepared = await prepareFillImages(jpeg, await mask(), LIMITS);
    expect(prepared.upload.image.equals(jpeg)).toBe(true);
    expect(prepared.info.imageFormat).toBe("jpeg");
  });

  it("proves the JPEG decodes without decoding it for the upload: a truncated one is refused", async () => {
    const jpeg = await makePhoto(400, 300, { format: "jpeg" });
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    expect((await sharp(truncated).metadata()).width).toBe(400);
    const error = await rejection(prepareFillImages(truncated, await makeMask(400, 300, HOLE), LIMITS));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(
      /^The image looks like JPEG but could not be decoded: the file is truncated or corrupt/,
    );
  });

  it("decodes the pixels of a file sent as it is only when asked, to the same pixels as decodeInput", async () => {
    const jpeg = await makePhoto(120, 90, { format: "jpeg" });
    const prepared = await prepareFillImages(jpeg, await makeMask(120, 90, HOLE), LIMITS);
    expect(prepared.upload.image.equals(jpeg)).toBe(true);
    expect(prepared.image).toMatchObject({ width: 120, height: 90 });
    const pixels = await prepared.image.pixels();
    expect(pixels).toMatchObject({ width: 120, height: 90, channels: 3 });
    expect(pixels.data.equals((await decodeInput(jpeg, "image", LIMITS)).raster.data)).toBe(true);
    expect(await prepared.image.pixels()).toBe(pixels);
  });

  it("scales an image sent as it is for previews, from its pixels once they are decoded", async () => {
    const jpeg = await makePhoto(400, 300, { format: "jpeg", seed: 5 });
    const prepared = await prepareFillImages(jpeg, await makeMask(400, 300, HOLE), LIMITS);
    const fromFile = await prepared.image.scaled(100, 75);
    expect(fromFile).toMatchObject({ width: 100, height: 75, channels: 3 });
    const pixels = await prepared.image.pixels();
    const fromPixels = await prepared.image.scaled(100, 75);
    expect(fromPixels.data.equals(await resizeRaster(pixels, 100, 75).then((r) => r.data))).toBe(true);
    let difference = 0;
    for (let i = 0; i < fromFile.data.length; i++) difference += Math.abs(fromFile.data[i]! - fromPixels.data[i]!);
    expect(difference / fromFile.data.length).toBeLessThan(4);
  });

  it("also with an sRGB profile or an Orientation tag of 1", async () => {
    const srgb = await sharp(await makePhoto(64, 48))
      .withIccProfile("srgb")
      .jpeg()
      .toBuffer();
    expect((await sharp(srgb).metadata()).hasProfile).toBe(true);
    expect((await prepareFillImages(srgb, await mask(), LIMITS)).upload.image.equals(srgb)).toBe(true);
    const upright = await withOrientation(await makePhoto(64, 48, { format: "jpeg" }), 1);
    expect((await prepareFillImages(upright, await mask(), LIMITS)).upload.image.equals(upright)).toBe(true);
  });

  it.each([
    ["rotated (EXIF 6)", async () => orientedAs(await makePhoto(64, 48, { format: "jpeg" }), 6)],
    [
      "Display P3",
      async () =>
        sharp(await makePhoto(64, 48))
          .withIccProfile("p3")
          .jpeg()
          .toBuffer(),
    ],
    [
      "CMYK",
      async () =>
        sharp(await makePhoto(64, 48))
          .toColourspace("cmyk")
          .jpeg()
          .toBuffer(),
    ],
    [
      "greyscale",
      async () =>
        sharp(await makePhoto(64, 48))
          .toColourspace("b-w")
          .jpeg()
          .toBuffer(),
    ],
  ])("re-encodes a %s JPEG as PNG", async (_, make) => {
    const jpeg = await make();
    const prepared = await prepareFillImages(jpeg, await mask(), LIMITS);
    expect(prepared.upload.image.equals(jpeg)).toBe(false);
    expect(await sharp(prepared.upload.image).metadata()).toMatchObject({
      format: "png",
      channels: 3,
      width: 64,
      height: 48,
    });
  });
});

describe("prepareFillImages: PNG pass-through", () => {
  const mask = () => makeMask(64, 48, { kind: "rect", x: 0, y: 0, width: 8, height: 8 });

  it("sends a plain 8-bit RGB PNG byte for byte (no second encode of a big lossless file)", async () => {
    const png = await makePhoto(64, 48, { format: "png" });
    expect(await sharp(png).metadata()).toMatchObject({
      channels: 3,
      bitsPerSample: 8,
      isPalette: false,
      hasProfile: false,
    });
    const prepared = await prepareFillImages(png, await mask(), LIMITS);
    expect(prepared.upload.image.equals(png)).toBe(true);
    // The bytes sent hold exactly the pixels the checks were made on.
    expect((await decodeRaw(prepared.upload.image)).data.equals((await prepared.image.pixels()).data)).toBe(true);
  });

  it.each([
    [
      "with an alpha channel, even a fully opaque one",
      async () =>
        sharp(await makePhoto(64, 48))
          .ensureAlpha(1)
          .png()
          .toBuffer(),
    ],
    [
      "16-bit",
      async () =>
        sharp(await makePhoto(64, 48))
          .toColourspace("rgb16")
          .png()
          .toBuffer(),
    ],
    [
      "palette",
      async () =>
        sharp(await makePhoto(64, 48))
          .png({ palette: true, colours: 64 })
          .toBuffer(),
    ],
    [
      "greyscale",
      async () =>
        sharp(await makePhoto(64, 48))
          .toColourspace("b-w")
          .png()
          .toBuffer(),
    ],
    [
      "Display P3",
      async () =>
        sharp(await makePhoto(64, 48))
          .withIccProfile("p3")
          .png()
          .toBuffer(),
    ],
    ["rotated (EXIF 6)", async () => orientedAs(await makePhoto(64, 48), 6, "png")],
  ])("re-encodes a PNG %s as plain RGB", async (_, make) => {
    const png = await make();
    const prepared = await prepareFillImages(png, await mask(), LIMITS);
    expect(prepared.upload.image.equals(png)).toBe(false);
    expect(await sharp(prepared.upload.image).metadata()).toMatchObject({
      format: "png",
      channels: 3,
      width: 64,
      height: 48,
    });
    expect((await decodeRaw(prepared.upload.image)).data.equals((await prepared.image.pixels()).data)).toBe(true);
  });
});

describe("prepareFillImages: mask file pass-through", () => {
  const rect: Shape = { kind: "rect", x: 10, y: 8, width: 20, height: 12 };
  const photo = () => makePhoto(64, 48, { format: "jpeg" });

  it("sends a plain 8-bit greyscale PNG mask byte for byte when nothing changes it", async () => {
    const maskBytes = await makeMask(64, 48, rect);
    const prepared = await prepareFillImages(await photo(), maskBytes, LIMITS);
    expect(prepared.upload.mask.equals(maskBytes)).toBe(true);
    expect(prepared.mask.data.equals(maskPixels(64, 48, rect).data)).toBe(true);
  });

  it.each([
    ["inverted", {}, { invert_mask: true }],
    ["grown", {}, { grow_mask: 3 }],
    ["feathered", {}, { feather_mask: 2 }],
  ] as const)("encodes the final mask when it was %s", async (_, __, options) => {
    const maskBytes = await makeMask(64, 48, rect);
    const prepared = await prepareFillImages(await photo(), maskBytes, LIMITS, options);
    expect(prepared.upload.mask.equals(maskBytes)).toBe(false);
    expect((await decodeRaw(prepared.upload.mask)).data.equals(prepared.mask.data)).toBe(true);
  });

  it.each([
    [
      "fitted to the image",
      async () => makeMask(32, 24, { kind: "rect", x: 5, y: 4, width: 10, height: 6 }),
      { fit_mask: true },
    ],
    [
      "colour",
      async () =>
        sharp(await makeMask(64, 48, rect))
          .toColourspace("srgb")
          .png()
          .toBuffer(),
      {},
    ],
    [
      "16-bit",
      async () =>
        sharp(await makeMask(64, 48, rect))
          .toColourspace("grey16")
          .png()
          .toBuffer(),
      {},
    ],
    [
      "palette (1-bit)",
      async () =>
        sharp(await makeMask(64, 48, rect))
          .png({ colours: 2, palette: true })
          .toBuffer(),
      {},
    ],
    [
      "rotated (EXIF 6, otherwise plain grey)",
      async () => greyPngWithOrientation(storedForOrientation6(maskPixels(64, 48, rect)), 6),
      {},
    ],
    [
      "with an ICC profile",
      async () =>
        sharp(await makeMask(64, 48, rect))
          .withIccProfile("srgb")
          .png()
          .toBuffer(),
      {},
    ],
    [
      "read through its alpha (alpha_convention openai)",
      async () => {
        // Grey + alpha: black everywhere, transparent inside the rectangle (OpenAI's "edit here").
        const ga = Buffer.alloc(64 * 48 * 2);
        for (let i = 0; i < 64 * 48; i++) ga[i * 2 + 1] = insideShape(rect, i % 64, Math.floor(i / 64)) ? 0 : 255;
        return sharp(ga, { raw: { width: 64, height: 48, channels: 2 } })
          .png()
          .toBuffer();
      },
      { alpha_convention: "openai" },
    ],
  ] as const)("encodes the final mask for a %s mask file", async (_, make, options) => {
    const maskBytes = await make();
    const prepared = await prepareFillImages(await photo(), maskBytes, LIMITS, options);
    expect(prepared.upload.mask.equals(maskBytes)).toBe(false);
    expect(await sharp(prepared.upload.mask).metadata()).toMatchObject({
      format: "png",
      channels: 1,
      width: 64,
      height: 48,
    });
    expect((await decodeRaw(prepared.upload.mask)).data.equals(prepared.mask.data)).toBe(true);
  });
});

describe("prepareFillImages: the alpha route's pixels", () => {
  it("uploads exactly the input's RGB (the RGBA buffer is packed in place, not copied)", async () => {
    const hole: Shape = { kind: "ellipse", cx: 50, cy: 40, rx: 20, ry: 15 };
    const rgba = rgbaWithHolePixels(101, 77, hole, { seed: 4 });
    const png = await encodeRaster(rgba, "png");
    const prepared = await prepareFillImages(png, undefined, LIMITS);
    const expectedRgb = Buffer.alloc(101 * 77 * 3);
    for (let i = 0; i < 101 * 77; i++) rgba.data.copy(expectedRgb, i * 3, i * 4, i * 4 + 3);
    expect(await prepared.image.pixels()).toMatchObject({ width: 101, height: 77, channels: 3 });
    expect((await prepared.image.pixels()).data.equals(expectedRgb)).toBe(true);
    expect(prepared.mask.data.equals(maskPixels(101, 77, hole).data)).toBe(true);
    const uploaded = await decodeRaw(prepared.upload.image);
    expect(uploaded).toMatchObject({ channels: 3, width: 101, height: 77 });
    expect(uploaded.data.equals(expectedRgb)).toBe(true);
  });
});

describe("encodePng", () => {
  it("is lossless and, with adaptive filtering, much smaller than an unfiltered PNG of a photo", async () => {
    const photo = photoPixels(400, 300, 5);
    const png = await encodePng(photo);
    expect((await decodeRaw(png)).data.equals(photo.data)).toBe(true);
    const unfiltered = await sharp(photo.data, { raw: { width: 400, height: 300, channels: 3 } })
      .png({ compressionLevel: 2 })
      .toBuffer();
    expect(png.length).toBeLessThan(unfiltered.length * 0.8);
  });

  it("keeps a one-channel mask one channel", async () => {
    const mask = maskPixels(64, 48, { kind: "ellipse", cx: 30, cy: 20, rx: 12, ry: 9 });
    const png = await encodePng(mask);
    expect(await sharp(png).metadata()).toMatchObject({ channels: 1, format: "png" });
    expect((await decodeRaw(png)).data.equals(mask.data)).toBe(true);
  });
});
