/**
 * Recognises the image formats an input may be in from their first bytes (magic numbers). Pure; used to
 * tell base64 image data from a path that happens to use the base64 alphabet, and to describe inputs.
 */
export type ImageSignature = "png" | "jpeg" | "gif" | "webp" | "tiff" | "bmp" | "avif" | "heic";

/** ISO-BMFF brands (bytes 8..12 after `ftyp`) of AVIF and HEIF/HEIC files. */
const FTYP_BRANDS: Readonly<Record<string, ImageSignature>> = {
  avif: "avif",
  avis: "avif",
  heic: "heic",
  heix: "heic",
  hevc: "heic",
  hevx: "heic",
  heim: "heic",
  heis: "heic",
  mif1: "heic",
  msf1: "heic",
};

/** Bytes needed to recognise every format below. */
export const SIGNATURE_BYTES = 16;

/** The format the bytes start with, or undefined when none is recognised. */
export function detectImageSignature(bytes: Uint8Array): ImageSignature | undefined {
  const at = (i: number) => bytes[i];
  const ascii = (start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
  const startsWith = (...sig: number[]) => bytes.length >= sig.length && sig.every((b, i) => at(i) === b);

  if (startsWith(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (startsWith(0xff, 0xd8, 0xff)) return "jpeg";
  if (bytes.length >= 6 && (ascii(0, 6) === "GIF87a" || ascii(0, 6) === "GIF89a")) return "gif";
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  if (startsWith(0x49, 0x49, 0x2a, 0x00) || startsWith(0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  // "BM" alone is too weak a signature; the 4 reserved bytes after the file size are zero in practice.
  if (bytes.length >= 10 && ascii(0, 2) === "BM" && [6, 7, 8, 9].every((i) => at(i) === 0)) return "bmp";
  if (bytes.length >= 12 && ascii(4, 8) === "ftyp") return FTYP_BRANDS[ascii(8, 12)];
  return undefined;
}
