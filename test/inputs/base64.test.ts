import { describe, expect, it } from "vitest";
import { base64Problem, compactBase64, decodedBase64Length, isWellFormedBase64 } from "../../src/inputs/base64.js";

describe("base64Problem", () => {
  it.each([
    ["standard, padded", "aGVsbG8gd29ybGQ="],
    ["standard, no padding needed", "aGVsbG8gd29y"],
    ["standard, unpadded", "aGVsbG8gd29ybGQ"],
    ["two padding characters", "aGVsbG8gd29ybA=="],
    ["with + and /", "+/+/abcd"],
    ["URL-safe", "-_-_abcd"],
  ])("accepts %s", (_name, text) => {
    expect(base64Problem(text)).toBeUndefined();
    expect(isWellFormedBase64(text)).toBe(true);
  });

  it.each([
    ["empty", "", /empty/],
    ["a dot", "abcd.efg", /"\." at position 5/],
    ["padding in the middle", "ab=cdefg", /"=" at position 3/],
    ["three padding characters", "abcde===", /"=" at position 6/],
    ["a control character", "abc\u0001defg", /U\+0001 at position 4/],
    ["mixed alphabets", "ab+/cd-_", /mixes/],
    ["a length of 4n+1", "abcde", /length/],
    ["padding with a wrong total length", "abcdef=", /length/],
  ])("rejects %s", (_name, text, message) => {
    expect(base64Problem(text)).toMatch(message);
    expect(isWellFormedBase64(text)).toBe(false);
  });
});

describe("decodedBase64Length", () => {
  it.each([0, 1, 2, 3, 4, 5, 100, 1001])("matches Buffer's decoding for %i bytes, padded and unpadded", (n) => {
    const bytes = Buffer.alloc(n, 0xab);
    const padded = bytes.toString("base64");
    const unpadded = bytes.toString("base64url");
    expect(decodedBase64Length(padded)).toBe(n);
    expect(decodedBase64Length(unpadded)).toBe(n);
    expect(Buffer.from(unpadded, "base64")).toEqual(bytes);
  });
});

describe("compactBase64", () => {
  it("removes spaces, tabs and line breaks", () => {
    expect(compactBase64(" ab\r\ncd\tef \n")).toBe("abcdef");
  });
});
