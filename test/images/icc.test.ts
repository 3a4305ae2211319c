import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { iccProfileDescription, isSrgbDescription } from "../../src/images/icc.js";

async function profileOf(name: string): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#808080" } })
    .withIccProfile(name)
    .jpeg()
    .toBuffer();
  const { icc } = await sharp(jpeg).metadata();
  if (!icc) throw new Error(`sharp embedded no ${name} profile`);
  return icc;
}

/** A minimal ICC v2 profile with one `desc` tag (textDescriptionType). */
function v2ProfileWithDescription(text: string): Buffer {
  const ascii = Buffer.from(`${text}\0`, "latin1");
  const tag = Buffer.alloc(12 + ascii.length);
  tag.write("desc", 0, "latin1");
  tag.writeUInt32BE(ascii.length, 8);
  ascii.copy(tag, 12);
  const header = Buffer.alloc(132 + 12);
  header.writeUInt32BE(1, 128);
  header.write("desc", 132, "latin1");
  header.writeUInt32BE(header.length, 136);
  header.writeUInt32BE(tag.length, 140);
  return Buffer.concat([header, tag]);
}

describe("iccProfileDescription", () => {
  it("names the v4 (mluc) profiles sharp embeds", async () => {
    expect(await profileOf("srgb").then(iccProfileDescription)).toMatch(/sRGB/);
    expect(await profileOf("p3").then(iccProfileDescription)).toMatch(/P3/);
    expect(await profileOf("cmyk").then(iccProfileDescription)).not.toMatch(/sRGB/);
  });

  it("reads a v2 desc tag", () => {
    expect(iccProfileDescription(v2ProfileWithDescription("sRGB IEC61966-2.1"))).toBe("sRGB IEC61966-2.1");
    expect(iccProfileDescription(v2ProfileWithDescription("Adobe RGB (1998)"))).toBe("Adobe RGB (1998)");
  });

  it("does not modify the buffer it reads", async () => {
    const icc = await profileOf("p3");
    const copy = Buffer.from(icc);
    iccProfileDescription(icc);
    expect(icc.equals(copy)).toBe(true);
  });

  it("returns undefined for short, truncated or description-less data instead of throwing", () => {
    const good = v2ProfileWithDescription("sRGB");
    expect(iccProfileDescription(Buffer.alloc(0))).toBeUndefined();
    expect(iccProfileDescription(Buffer.alloc(131))).toBeUndefined();
    expect(iccProfileDescription(good.subarray(0, good.length - 3))).toBeUndefined();
    const noDesc = Buffer.from(good);
    noDesc.write("cprt", 132, "latin1");
    expect(iccProfileDescription(noDesc)).toBeUndefined();
    const lyingCount = Buffer.from(good);
    lyingCount.writeUInt32BE(1000, 128);
    expect(iccProfileDescription(lyingCount)).toBe("sRGB");
    const hugeCount = Buffer.from(good);
    hugeCount.writeUInt32BE(0xffffffff, 144 + 8); // the desc tag (at 144) claims 4 G characters
    expect(iccProfileDescription(hugeCount)).toBeUndefined();
  });
});

describe("isSrgbDescription", () => {
  it.each([
    ["sRGB IEC61966-2.1", true],
    ["sRGB built-in", true],
    ["SRGB", true],
    ["Display P3", false],
    ["Adobe RGB (1998)", false],
    ["ProPhoto RGB", false],
    ["scRGB", false],
  ])("%s → %s", (description, expected) => {
    expect(isSrgbDescription(description)).toBe(expected);
  });
});
