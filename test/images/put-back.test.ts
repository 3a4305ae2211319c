import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { stitchUpload } from "../../src/images/put-back.js";
import { cropForUpload, markedBox } from "../../src/images/stitch.js";
import { planStitch } from "../../src/images/stitch-plan.js";
import { maskPixels, photoPixels } from "../helpers/images.js";

describe("stitchUpload", () => {
  const width = 1200;
  const height = 900;
  const image = photoPixels(width, height, 4);
  const mask = maskPixels(width, height, { kind: "rect", x: 500, y: 400, width: 120, height: 80 });
  const plan = planStitch({ width, height }, markedBox(mask), "auto");

  it("uploads the planned crop as PNG, and hands a provider exactly its pixels, decoded from that upload", async () => {
    expect(plan.kind).toBe("crop");
    const expected = await cropForUpload(image, mask, plan);
    const sent = await stitchUpload({ width, height, pixels: async () => image }, mask, plan);
    expect([sent.image.width, sent.image.height]).toEqual([plan.sent.width, plan.sent.height]);
    expect([sent.mask.width, sent.mask.height]).toEqual([plan.sent.width, plan.sent.height]);
    const [imagePixels, maskPixelsSent] = await Promise.all([sent.image.pixels(), sent.mask.pixels()]);
    expect(imagePixels.channels).toBe(3);
    expect(imagePixels.data.equals(expected.image.data)).toBe(true);
    expect(maskPixelsSent.channels).toBe(1);
    expect(maskPixelsSent.data.equals(expected.mask.data)).toBe(true);
    // The upload is those pixels as PNG, the same bytes a provider that decodes them gets.
    expect((await sharp(sent.upload.image).metadata()).format).toBe("png");
    const uploaded = await sharp(sent.upload.mask).toColourspace("b-w").raw().toBuffer();
    expect(uploaded.equals(expected.mask.data)).toBe(true);
    // Decoded once: the second call gives the same raster.
    expect(await sent.image.pixels()).toBe(imagePixels);
  });
});
