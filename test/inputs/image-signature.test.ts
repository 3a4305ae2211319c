import { describe, expect, it } from "vitest";
import { detectImageSignature } from "../../src/inputs/image-signature.js";
import { bmpHeader, type FixtureFormat, ftypHeader, makeImage } from "./fixtures.js";

describe("detectImageSignature", () => {
  it.each(["png", "jpeg", "gif", "webp", "tiff", "avif"] satisfies FixtureFormat[])(
    "recognises a real %s made by sharp",
    async (format) => {
      expect(detectImageSignature(await makeImage(format))).toBe(format);
    },
  );

  it("recognises big-endian TIFF", () => {
    expect(detectImageSignature(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe("tiff");
  });

  it("recognises a BMP header, but not any text starting with BM", () => {
    expect(detectImageSignature(bmpHeader())).toBe("bmp");
    expect(detectImageSignature(Buffer.from("BMW owners manual, chapter one"))).toBeUndefined();
  });

  it.each([
    ["heic", "heic"],
    ["heix", "heic"],
    ["mif1", "heic"],
    ["avif", "avif"],
    ["avis", "avif"],
  ] as const)("recognises ftyp brand %s as %s", (brand, format) => {
    expect(detectImageSignature(ftypHeader(brand))).toBe(format);
  });

  it.each([
    ["an MP4 video (ftyp isom)", ftypHeader("isom")],
    ["plain text", Buffer.from("hello, world, this is not an image")],
    ["a PDF", Buffer.from("%PDF-1.7\n")],
    ["a truncated PNG signature", Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ["a RIFF that is not WebP (WAV)", Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1")],
    ["nothing", Buffer.alloc(0)],
  ])("does not recognise %s", (_name, bytes) => {
    expect(detectImageSignature(bytes)).toBeUndefined();
  });
});
