/** Image files for the image-stage tests that test/helpers/images.ts cannot make with sharp alone. */
import { crc32 } from "node:zlib";
import sharp from "sharp";
import type { RasterImage } from "../../src/images/raster.js";

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A plain 8-bit greyscale PNG (no ICC profile) with an EXIF Orientation tag in an eXIf chunk. sharp can
 * only write the tag together with an sRGB profile and RGB pixels, which would hide what is tested.
 * `stored` is the raster as stored (before the viewer applies the orientation).
 */
export async function greyPngWithOrientation(stored: RasterImage, orientation: number): Promise<Buffer> {
  if (stored.channels !== 1) throw new Error("greyPngWithOrientation: needs a one-channel raster");
  const png = await sharp(stored.data, { raw: { width: stored.width, height: stored.height, channels: 1 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
  // Little-endian TIFF: header, one IFD with one SHORT entry (0x0112 Orientation), no next IFD.
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write("II*\0", 0, "latin1");
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(1, 8);
  tiff.writeUInt16LE(0x0112, 10);
  tiff.writeUInt16LE(3, 12);
  tiff.writeUInt32LE(1, 14);
  tiff.writeUInt16LE(orientation, 18);
  const ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length/type, IHDR data, CRC
  return Buffer.concat([png.subarray(0, ihdrEnd), pngChunk("eXIf", tiff), png.subarray(ihdrEnd)]);
}

/** Rotates a one-channel raster 90° anticlockwise: what a camera stores for a view tagged Orientation 6. */
export function storedForOrientation6(view: RasterImage): RasterImage {
  const { width, height } = view;
  const data = Buffer.alloc(width * height);
  // Displayed (x, y) comes from stored (y, width − 1 − x) in a height × width raster.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[(width - 1 - x) * height + y] = view.data[y * width + x]!;
  }
  return { data, width: height, height: width, channels: 1 };
}
