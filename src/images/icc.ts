/**
 * Just enough ICC parsing to name an embedded colour profile: the pipeline sends a JPEG upstream
 * untouched only when its colours already mean sRGB, and sharp reports that a profile exists but not
 * which one.
 */

/** The profile's description ("sRGB IEC61966-2.1", "Display P3", …), or undefined when unreadable. */
export function iccProfileDescription(icc: Buffer): string | undefined {
  if (icc.length < 132) return undefined;
  const tagCount = icc.readUInt32BE(128);
  for (let i = 0; i < tagCount; i++) {
    const entry = 132 + i * 12;
    if (entry + 12 > icc.length) return undefined;
    if (icc.toString("latin1", entry, entry + 4) !== "desc") continue;
    const offset = icc.readUInt32BE(entry + 4);
    const size = icc.readUInt32BE(entry + 8);
    if (offset + size > icc.length || size < 12) return undefined;
    return readTextTag(icc.subarray(offset, offset + size));
  }
  return undefined;
}

/** Decodes a `desc` (ICC v2 textDescriptionType) or `mluc` (ICC v4 multiLocalizedUnicodeType) tag. */
function readTextTag(tag: Buffer): string | undefined {
  const type = tag.toString("latin1", 0, 4);
  if (type === "desc") {
    const count = tag.readUInt32BE(8);
    if (12 + count > tag.length) return undefined;
    return clean(tag.toString("latin1", 12, 12 + count));
  }
  if (type === "mluc") {
    if (tag.length < 16) return undefined;
    const records = tag.readUInt32BE(8);
    const recordSize = tag.readUInt32BE(12);
    if (records < 1 || recordSize < 12 || 16 + recordSize > tag.length) return undefined;
    // The first record is enough: profile names are not translated in practice.
    const length = tag.readUInt32BE(16 + 4);
    const offset = tag.readUInt32BE(16 + 8);
    if (offset + length > tag.length) return undefined;
    // UTF-16BE; copied because swap16 works in place and the tag shares memory with the caller's buffer.
    const utf16be = Buffer.from(tag.subarray(offset, offset + (length & ~1)));
    return clean(utf16be.swap16().toString("utf16le"));
  }
  return undefined;
}

function clean(text: string): string | undefined {
  const trimmed = text.replace(/\0+$/, "").trim();
  return trimmed === "" ? undefined : trimmed;
}

/** True when the description names an sRGB profile (the usual spellings of camera and OS vendors). */
export function isSrgbDescription(description: string): boolean {
  return /\bsRGB\b/i.test(description);
}
