/** The pixel types every stage passes along: decoded rasters, and inputs decoded on demand. */

/** Decoded pixels, 8 bits per channel, row-major, no padding. */
export interface RasterImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/**
 * An input raster: its size, known from the file's header, and its pixels only when asked for. Decoding a
 * 12 MP JPEG costs ~170 ms and 36 MB that a provider which uploads the file as it is never needs.
 */
export interface InputImage {
  /** Size as displayed (EXIF orientation applied). */
  width: number;
  height: number;
  /** Decoded on the first call and kept (unless already decoded). */
  pixels(): Promise<RasterImage>;
}
