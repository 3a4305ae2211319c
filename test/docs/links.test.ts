/**
 * Every relative link and #anchor in README.md, CHANGELOG.md and docs/**.md leads somewhere: the file exists and the
 * anchor is a heading (GitHub's slug) or an explicit id on the page it names.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { anchorsOf, brokenLinks, docPages, githubSlug, linkTargets } from "../helpers/markdown.js";
import { tempDir } from "../helpers/mcp.js";
import { REPO_ROOT } from "../helpers/package.js";

describe("doc links", () => {
  it("resolve in README.md, CHANGELOG.md and docs/", async () => {
    let checked = 0;
    const broken = [];
    for (const page of await docPages(REPO_ROOT)) {
      const result = await brokenLinks(page);
      checked += result.checked;
      broken.push(...result.broken.map((b) => `${path.relative(REPO_ROOT, b.page)}: (${b.target}) ${b.problem}`));
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(5); // the README links pictures and its own sections
  });

  it("anchors headings as GitHub does", () => {
    expect(githubSlug("The `flux_fill` tool")).toBe("the-flux_fill-tool");
    expect(githubSlug("`preview_mask` (free, no upstream call)")).toBe("preview_mask-free-no-upstream-call");
    expect(githubSlug("Clients with short tool-call timeouts: `get_result`")).toBe(
      "clients-with-short-tool-call-timeouts-get_result",
    );
    expect(githubSlug("Settings — the [common](x.md) ones")).toBe("settings--the-common-ones");
    const anchors = anchorsOf("# Notes\n\n## Notes\n```\n# not a heading\n```\n<a id=\"custom\"></a>\n");
    expect([...anchors]).toEqual(["notes", "notes-1", "custom"]);
  });

  it("finds the links of prose, not of code, and reports each broken one", async () => {
    const root = await tempDir("flux-fill-docs-");
    await mkdir(path.join(root, "docs"));
    await writeFile(path.join(root, "docs", "setup.md"), "# Setup\n\n## Install it\n");
    await writeFile(
      path.join(root, "README.md"),
      [
        "# Demo",
        "[ok](docs/setup.md#install-it) [self](#demo) ![pic](missing.png) [web](https://example.com)",
        "[bad anchor](docs/setup.md#uninstall) `[in code](nowhere.md)`",
        "```",
        "[in a fence](nowhere.md)",
        "```",
        "[ref]: docs/gone.md",
      ].join("\n"),
    );
    const readme = path.join(root, "README.md");
    expect(linkTargets(await readFile(readme, "utf8"))).not.toContain("nowhere.md");
    const { checked, broken } = await brokenLinks(readme);
    expect(checked).toBe(5);
    expect(broken.map((b) => `${b.target}: ${b.problem}`)).toEqual([
      "missing.png: no file missing.png",
      "docs/setup.md#uninstall: no heading #uninstall",
      "docs/gone.md: no file docs/gone.md",
    ]);
    expect(await docPages(root)).toEqual([readme, path.join(root, "docs", "setup.md")]);
  });
});
