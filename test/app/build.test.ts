import { describe, expect, it } from "vitest";
import { buildMaskEditorHtml, fillTemplate, inlineSafe } from "../../src/app/build.js";

describe("inlineSafe", () => {
  it("escapes text that would close the inline element early", () => {
    expect(inlineSafe('a = "</script><b>"; c = "<!--"', "script")).toBe('a = "<\\/script><b>"; c = "<\\!--"');
    expect(inlineSafe('a = "</SCRIPT>"', "script")).toBe('a = "<\\/SCRIPT>"');
    expect(inlineSafe('content: "</style>"', "style")).toBe('content: "<\\2f style>"');
    expect(inlineSafe("x < y && y > z", "script")).toBe("x < y && y > z");
  });
});

describe("fillTemplate", () => {
  it("inserts the value literally (no $ patterns) at the single marker", () => {
    expect(fillTemplate("a /*M*/ b", "/*M*/", "$& $1 $$")).toBe("a $& $1 $$ b");
  });

  it("refuses a template without the marker or with two", () => {
    expect(() => fillTemplate("a b", "/*M*/", "x")).toThrow(/exactly one/);
    expect(() => fillTemplate("/*M*/ /*M*/", "/*M*/", "x")).toThrow(/exactly one/);
  });
});

describe("buildMaskEditorHtml", () => {
  it("is one self-contained page with the test hooks and no external loads", async () => {
    const html = await buildMaskEditorHtml();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    for (const hook of ["mask-canvas", "prompt", "apply-fill", "result-image"]) {
      expect(html).toContain(`data-testid="${hook}"`);
    }
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link\b/i);
    // CSS loads (`new URL("https://…")` in the bundled JSON Schema validator is a base URL, not a load).
    expect(html).not.toMatch(/@import|(?<!new\s+)url\(\s*["']?https?:/i);
    expect(html).not.toContain("__SCRIPT__");
    expect(html).not.toContain("__STYLES__");
    // Exactly one inline script and style, each closed once.
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html.match(/<\/script>/gi)).toHaveLength(1);
    expect(html.match(/<\/style>/gi)).toHaveLength(1);
    // The bundle carries the App client and the call to flux_fill.
    expect(html).toContain("ui/initialize");
    expect(html).toContain("flux_fill");
    expect(Buffer.byteLength(html)).toBeLessThan(1024 * 1024);
  }, 30_000);
});
