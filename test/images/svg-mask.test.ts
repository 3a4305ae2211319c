import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { checkSvgMarkup, decodeXmlReferences, MAX_SVG_CHARS, renderSvgMask, sizeSvgRoot } from "../../src/images/svg-mask.js";
import { maskPixels } from "../helpers/images.js";

function refusal(svg: string): string {
  try {
    checkSvgMarkup(svg);
  } catch (error) {
    expect(error).toBeInstanceOf(FluxFillError);
    return (error as FluxFillError).message;
  }
  throw new Error(`accepted: ${svg}`);
}

const wrap = (inner: string, attrs = "") => `<svg xmlns="http://www.w3.org/2000/svg"${attrs}>${inner}</svg>`;

describe("checkSvgMarkup", () => {
  it("accepts plain shapes, groups, gradients, styles and local references", () => {
    const ok = wrap(
      '<defs><linearGradient id="g"><stop offset="0" stop-color="white"/></linearGradient><path id="p" d="M0 0h5v5z"/></defs>' +
        '<style>.a{fill:white}</style><g class="a"><rect width="4" height="4" fill="url(#g)"/><use href="#p"/><use xlink:href="#p"/></g>',
      ' xmlns:xlink="http://www.w3.org/1999/xlink"',
    );
    expect(() => checkSvgMarkup(ok)).not.toThrow();
  });

  it.each([
    ["script", wrap("<script>alert(1)</script>"), /<script>/],
    ["namespaced script", wrap("<svg:script>1</svg:script>"), /<script>/],
    ["event handler", wrap('<rect width="1" height="1" onload="x()"/>'), /event handler attribute \(onload\)/],
    ["event handler in other case", wrap('<rect width="1" height="1" ONCLICK="x()"/>'), /event handler/],
    ["external use", wrap('<use href="http://evil.example/a.svg#x"/>'), /only links to elements of the same document/],
    ["file use", wrap('<use xlink:href="file:///etc/passwd#x"/>'), /only links/],
    ["data: href", wrap('<a href="data:text/html,x"><rect/></a>'), /only links/],
    ["entity-encoded href", wrap('<use href="&#104;ttp://evil.example/#x"/>'), /only links/],
    ["image", wrap('<image href="#x"/>'), /<image>/],
    ["foreignObject", wrap("<foreignObject><div/></foreignObject>"), /<foreignObject>/],
    ["xinclude", wrap('<xi:include href="/etc/passwd" xmlns:xi="http://www.w3.org/2001/XInclude"/>'), /<include>/],
    ["external url()", wrap('<rect fill="url(http://evil.example/x)"/>'), /url\(http/],
    ["external url() in style", wrap("<style>rect{fill:url('https://x.example/p')}</style>"), /url\(/],
    ["@import", wrap("<style>@import 'x.css';</style>"), /@import/],
    ["css escape", wrap("<style>rect{fill:\\75 rl(http://x)}</style>"), /backslash/],
    ["doctype", `<!DOCTYPE svg [<!ENTITY x "y">]>${wrap("<rect/>")}`, /DOCTYPE/],
    ["entity", `<!ENTITY x SYSTEM "file:///etc/passwd">${wrap("<rect/>")}`, /DOCTYPE or ENTITY/],
    ["stylesheet PI", `<?xml-stylesheet href="http://x/a.css"?>${wrap("<rect/>")}`, /stylesheet/],
    ["animation changing href", wrap('<set attributeName="href" to="http://x"/>'), /<set>/],
    ["not svg", "<html><body/></html>", /no <svg> element/],
  ])("refuses %s", (_name, svg, pattern) => {
    expect(refusal(svg)).toMatch(pattern);
  });

  it("refuses oversize markup with the limit in the message", () => {
    const big = wrap(`<path d="M0 0${" l1 1".repeat(MAX_SVG_CHARS / 5)}"/>`);
    expect(refusal(big)).toBe(`mask_svg is ${big.length} characters; at most ${MAX_SVG_CHARS} are accepted.`);
  });

  it("decodes character references for the second check", () => {
    expect(decodeXmlReferences("&#104;&#x74;tp &lt;script&gt; &amp;")).toBe("http <script> &");
  });
});

describe("sizeSvgRoot", () => {
  it("sets the image size, keeps a viewBox, and adds one from the caller's size or the image's", () => {
    expect(sizeSvgRoot('<svg viewBox="0 0 1 1"><rect/></svg>', 96, 64)).toBe(
      '<svg viewBox="0 0 1 1" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect/></svg>',
    );
    expect(sizeSvgRoot('<svg width="48" height="32" xmlns="http://www.w3.org/2000/svg"><rect/></svg>', 96, 64)).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 32" preserveAspectRatio="none" width="96" height="64"><rect/></svg>',
    );
    expect(sizeSvgRoot("<svg><rect/></svg>", 96, 64)).toBe(
      '<svg viewBox="0 0 96 64" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect/></svg>',
    );
  });

  it("keeps a preserveAspectRatio the caller gave", () => {
    expect(sizeSvgRoot('<svg viewBox="0 0 1 1" preserveAspectRatio="xMidYMid meet"><rect/></svg>', 96, 64)).toBe(
      '<svg viewBox="0 0 1 1" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect/></svg>',
    );
  });
});

describe("renderSvgMask: a viewBox of another aspect is stretched to the image", () => {
  it('viewBox="0 0 1 1" on 600×400: x=0, width=0.5 covers exactly columns 0..299, every row', async () => {
    const m = await renderSvgMask('<svg viewBox="0 0 1 1"><rect x="0" width="0.5" height="1" fill="white"/></svg>', 600, 400);
    expect(m.data.equals(maskPixels(600, 400, { kind: "rect", x: 0, y: 0, width: 300, height: 400 }).data)).toBe(true);
  });

  it("the error hint's own example marks the area it says (x 0.3..0.7, y 0.4..0.7)", async () => {
    const hint = badSvgHint();
    const example = /<svg viewBox.*?<\/svg>/s.exec(hint)![0];
    const m = await renderSvgMask(example, 600, 400);
    expect(m.data.equals(maskPixels(600, 400, { kind: "rect", x: 180, y: 160, width: 240, height: 120 }).data)).toBe(true);
  });

  it("an explicit meet still letterboxes (the caller asked for it)", async () => {
    const m = await renderSvgMask(
      '<svg viewBox="0 0 1 1" preserveAspectRatio="xMidYMid meet"><rect x="0" width="0.5" height="1" fill="white"/></svg>',
      600,
      400,
    );
    expect(m.data.equals(maskPixels(600, 400, { kind: "rect", x: 100, y: 0, width: 200, height: 400 }).data)).toBe(true);
  });
});

/** The suggestion of a mask_svg error, which carries the example. */
function badSvgHint(): string {
  try {
    checkSvgMarkup("not svg");
  } catch (error) {
    return `${(error as FluxFillError).message} ${(error as FluxFillError).suggestion ?? ""}`;
  }
  throw new Error("checkSvgMarkup accepted text without <svg>");
}

describe("renderSvgMask", () => {
  it("renders white shapes as 255 at the image size, in pixels and in viewBox fractions", async () => {
    const px = await renderSvgMask('<svg><rect x="10" y="8" width="30" height="20" fill="white"/></svg>', 96, 64);
    expect(px).toMatchObject({ width: 96, height: 64, channels: 1 });
    expect(px.data.equals(maskPixels(96, 64, { kind: "rect", x: 10, y: 8, width: 30, height: 20 }).data)).toBe(true);

    const frac = await renderSvgMask('<svg viewBox="0 0 1 1" preserveAspectRatio="none"><rect x="0.25" y="0.5" width="0.5" height="0.25" fill="#fff"/></svg>', 96, 64);
    expect(frac.data.equals(maskPixels(96, 64, { kind: "rect", x: 24, y: 32, width: 48, height: 16 }).data)).toBe(true);
  });

  it("reads black and transparent as keep, grey as a soft value", async () => {
    const m = await renderSvgMask(
      '<svg><rect width="10" height="10" fill="black"/><rect x="10" width="10" height="10" fill="#808080"/><rect x="20" width="10" height="10" fill="white" fill-opacity="0"/></svg>',
      30,
      10,
    );
    expect([m.data[5 * 30 + 5], m.data[5 * 30 + 15], m.data[5 * 30 + 25]]).toEqual([0, 128, 0]);
  });

  it("refuses malformed SVG with a clear error (no crash)", async () => {
    await expect(renderSvgMask('<svg><rect width="10"', 10, 10)).rejects.toThrow(/mask_svg could not be rendered: it is not well-formed SVG/);
    await expect(renderSvgMask('<svg><rect width="10" height="10" fill="white"></svg>', 10, 10)).rejects.toThrow(FluxFillError);
  });
});
