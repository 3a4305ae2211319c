import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { compactBase64, isWellFormedBase64 } from "../../src/inputs/base64.js";
import { classifyReference, expandHome, MIN_BASE64_LENGTH, type ReferenceKind } from "../../src/inputs/reference.js";
import { bmpHeader, ftypHeader, makeImage, wrap } from "./fixtures.js";

const images: Record<string, string> = {};

beforeAll(async () => {
  const jpeg = await makeImage("jpeg", 64, 64);
  images.png = (await makeImage("png")).toString("base64");
  images.jpeg = jpeg.toString("base64");
  images.jpegUrlSafe = jpeg.toString("base64url");
  images.gif = (await makeImage("gif")).toString("base64");
  images.webp = (await makeImage("webp")).toString("base64");
  images.tiff = (await makeImage("tiff")).toString("base64");
  images.avif = (await makeImage("avif")).toString("base64");
  images.bmp = Buffer.concat([bmpHeader(), Buffer.alloc(60, 0xff)]).toString("base64");
  images.heic = Buffer.concat([ftypHeader("heic"), Buffer.alloc(60, 0x2f)]).toString("base64");
});

/** Base64 of bytes that are no image, chosen so that the text has no "/" (0x00 bytes encode to "A"). */
const unknownBytesBase64 = Buffer.alloc(96, 0).toString("base64");
/** Base64 of non-image bytes whose text contains "/" (0xff bytes encode to "/"). */
const unknownBytesWithSlash = Buffer.alloc(96, 0xff).toString("base64");

/** Base64-shaped once spaces are removed; only its spaces make it a path. */
const longSentence = "Screenshot of the whiteboard from the meeting about the budget plan for next year";
const longAbsolutePath = `/srv/${"nested/".repeat(12)}image`;
const longRelativePath = `${"folder/".repeat(12)}picture`;

describe("classifyReference: paths", () => {
  it("the long path cases are well-formed base64 text, so only the / and space rule can decide them", () => {
    for (const text of [longSentence, longAbsolutePath, longRelativePath, unknownBytesWithSlash]) {
      const compact = compactBase64(text);
      expect(compact.length).toBeGreaterThanOrEqual(MIN_BASE64_LENGTH);
      expect(isWellFormedBase64(compact)).toBe(true);
    }
  });


  it.each<[string, string]>([
    ["a bare file name", "photo.png"],
    ["a short name without extension", "photo"],
    ["a relative path", "images/cat.jpg"],
    ["a ./ path", "./cat.jpg"],
    ["a ../ path", "../other/cat.jpg"],
    ["an absolute POSIX path", "/Users/me/Pictures/cat.jpg"],
    ["a home path", "~/Pictures/cat.jpg"],
    ["home itself", "~"],
    ["a Windows path", "C:\\Users\\me\\Pictures\\cat.jpg"],
    ["a Windows path with forward slashes", "c:/Users/me/cat.jpg"],
    ["a bare drive", "D:"],
    ["a UNC path", "\\\\server\\share\\cat.jpg"],
    ["a .\\ path", ".\\cat.jpg"],
    ["a file name with spaces", "my holiday photo.png"],
    ["a long absolute path without dots", longAbsolutePath],
    ["a long relative path without dots", longRelativePath],
    ["a long sentence-like name without dots", longSentence],
    ["non-image base64 containing /", unknownBytesWithSlash],
    ["base64 one character short of the minimum", "A".repeat(MIN_BASE64_LENGTH - 1)],
    ["a long name with a dot", `${"a".repeat(80)}.png`],
    ["an almost-base64 string with an invalid character", `${"A".repeat(80)}!`],
  ])("%s", (_name, ref) => {
    expect(classifyReference(ref)).toBe("path");
  });
});

describe("classifyReference: base64", () => {
  it.each(["png", "jpeg", "gif", "webp", "tiff", "avif", "bmp", "heic"])("base64 of a %s image", (format) => {
    expect(classifyReference(images[format] ?? "")).toBe("base64");
  });

  it("JPEG base64 starts with / like a path, and is still base64", () => {
    expect(images.jpeg?.startsWith("/9j/")).toBe(true);
    expect(classifyReference(images.jpeg ?? "")).toBe("base64");
  });

  it("URL-safe JPEG base64", () => {
    expect(images.jpegUrlSafe?.startsWith("_9j_")).toBe(true);
    expect(classifyReference(images.jpegUrlSafe ?? "")).toBe("base64");
  });

  it("line-wrapped base64 (LF and CRLF), with surrounding whitespace", () => {
    expect(classifyReference(wrap(images.jpeg ?? ""))).toBe("base64");
    expect(classifyReference(`\n  ${wrap(images.png ?? "", 64, "\r\n")}\n`)).toBe("base64");
  });

  it("base64 of unrecognised bytes without / or spaces", () => {
    expect(unknownBytesBase64).not.toContain("/");
    expect(classifyReference(unknownBytesBase64)).toBe("base64");
  });

  it("exactly the minimum length", () => {
    expect(classifyReference("A".repeat(MIN_BASE64_LENGTH))).toBe("base64");
  });
});

describe("classifyReference: URLs and data URIs", () => {
  it.each<[string, ReferenceKind]>([
    ["file:///tmp/cat.png", "file_url"],
    ["FILE:///tmp/cat.png", "file_url"],
    ["file://localhost/tmp/cat.png", "file_url"],
    ["http://example.com/cat.png", "http_url"],
    ["https://example.com/cat.png?token=abc", "http_url"],
    ["HTTPS://EXAMPLE.COM/CAT.PNG", "http_url"],
    ["  https://example.com/cat.png  ", "http_url"],
    ["data:image/png;base64,iVBORw0KGgo=", "data_uri"],
    ["DATA:image/jpeg;base64,/9j/", "data_uri"],
    ["data:text/plain,hello", "data_uri"],
  ])("%s → %s", (ref, kind) => {
    expect(classifyReference(ref)).toBe(kind);
  });
});

describe("classifyReference: refusals", () => {
  it.each([
    ["ftp://example.com/cat.png", "ftp"],
    ["javascript:alert(1)", "javascript"],
    ["s3://bucket/cat.png", "s3"],
    ["blob:https://example.com/1234", "blob"],
    ["gopher://example.com:70/", "gopher"],
    ["my:file.png", "my"],
  ])("%s is refused, naming the scheme %s and the accepted forms", (ref, scheme) => {
    const error = catchError(() => classifyReference(ref, "mask"));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain(`"${scheme}:"`);
    expect(error.message).toMatch(/^The mask reference/);
    expect(error.message).toContain("file://");
    expect(error.message).toContain("http(s)://");
    expect(error.message).toContain("data:image/");
    expect(error.message).toContain("base64");
  });

  it.each(["", "   ", "\n\t"])("an empty reference %j is refused", (ref) => {
    const error = catchError(() => classifyReference(ref, "image"));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(/^The image reference is empty/);
  });
});

describe("expandHome", () => {
  const home = path.resolve("/home/me");
  it.each([
    ["~", home],
    ["~/Pictures/cat.png", path.join(home, "Pictures/cat.png")],
    ["~\\Pictures", path.join(home, "Pictures")],
    ["/abs/cat.png", "/abs/cat.png"],
    ["cat~1.png", "cat~1.png"],
    ["./~/x", "./~/x"],
  ])("%s → %s", (input, expected) => {
    expect(expandHome(input, home)).toBe(expected);
  });

  it("refuses ~user, naming the input", () => {
    const error = catchError(() => expandHome("~alice/cat.png", home, "mask"));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("mask");
    expect(error.message).toContain("~alice/cat.png");
  });
});

function catchError(run: () => unknown): FluxFillError {
  try {
    run();
  } catch (error) {
    if (error instanceof FluxFillError) return error;
    throw error;
  }
  throw new Error("expected a FluxFillError");
}
