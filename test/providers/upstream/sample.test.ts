import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import { checkSample, detectImageFormat } from "../../../src/providers/upstream/sample.js";

const rgb = () => sharp({ create: { width: 6, height: 4, channels: 3, background: { r: 200, g: 10, b: 50 } } });

describe("detectImageFormat", () => {
  it("recognises JPEG, PNG, WebP and GIF from real encodings", async () => {
    expect(detectImageFormat(await rgb().jpeg().toBuffer())).toBe("jpeg");
    expect(detectImageFormat(await rgb().png().toBuffer())).toBe("png");
    expect(detectImageFormat(await rgb().webp().toBuffer())).toBe("webp");
    expect(detectImageFormat(await rgb().gif().toBuffer())).toBe("gif");
  });

  it.each([
    ["empty", Buffer.alloc(0)],
    ["text", Buffer.from("<html>403</html>")],
    ["truncated PNG signature", Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ["RIFF that is not WebP", Buffer.from("RIFF\0\0\0\0WAVE")],
  ])("%s → undefined", (_name, bytes) => {
    expect(detectImageFormat(bytes)).toBeUndefined();
  });
});

describe("checkSample", () => {
  it("passes JPEG and PNG through unchanged, with their size", async () => {
    for (const format of ["jpeg", "png"] as const) {
      const bytes = await rgb().toFormat(format).toBuffer();
      const checked = await checkSample(bytes, "t1");
      expect(checked).toMatchObject({ format, width: 6, height: 4, notes: [] });
      expect(checked.bytes).toBe(bytes);
    }
  });

  it("converts WebP to PNG with a note", async () => {
    const checked = await checkSample(await rgb().webp({ lossless: true }).toBuffer(), "t1");
    expect(checked.format).toBe("png");
    expect(detectImageFormat(checked.bytes)).toBe("png");
    expect(checked.notes).toEqual(["The upstream delivered webp; it was converted to png."]);
    const { data } = await sharp(checked.bytes).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray(0, 3)]).toEqual([200, 10, 50]);
  });

  it("rejects bytes that are not an image, naming the task", async () => {
    const error = await checkSample(Buffer.from("expired"), "task-7").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as FluxFillError).kind).toBe("upstream_failed");
    expect((error as FluxFillError).message).toContain("task-7");
  });

  it("reads only the header: a truncated JPEG passes here and is refused by the pipeline's full decode", async () => {
    const noise = Buffer.alloc(256 * 256 * 3).map((_, i) => (i * 7) % 251);
    const bytes = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
      .jpeg()
      .toBuffer();
    const checked = await checkSample(bytes.subarray(0, bytes.length >> 1), "t2");
    expect([checked.format, checked.width, checked.height]).toEqual(["jpeg", 256, 256]);
    const noHeader = await checkSample(bytes.subarray(0, 40), "t3").catch((e: unknown) => e);
    expect((noHeader as FluxFillError).message).toContain("does not decode");
  });
});
