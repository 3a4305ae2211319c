import sharp from "sharp";

/** Real encoded images of a few formats, made with sharp (small, solid colour). */
export type FixtureFormat = "png" | "jpeg" | "gif" | "webp" | "tiff" | "avif";

export async function makeImage(format: FixtureFormat, width = 40, height = 30): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 192, g: 128, b: 64 } } })
    .toFormat(format)
    .toBuffer();
}

/** A minimal BMP header (14-byte file header + start of the DIB header): "BM", size, zero reserved, offset. */
export function bmpHeader(): Buffer {
  const header = Buffer.alloc(54);
  header.write("BM", 0, "ascii");
  header.writeUInt32LE(54 + 4, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  return header;
}

/** The start of an ISO-BMFF file with the given major brand (e.g. "heic"). */
export function ftypHeader(brand: string): Buffer {
  const box = Buffer.alloc(24);
  box.writeUInt32BE(24, 0);
  box.write("ftyp", 4, "ascii");
  box.write(brand, 8, "ascii");
  box.write("mif1", 16, "ascii");
  return box;
}

/** Wraps text at `width` columns, as MIME base64 is. */
export function wrap(text: string, width = 76, eol = "\n"): string {
  return text.match(new RegExp(`.{1,${width}}`, "g"))?.join(eol) ?? "";
}
