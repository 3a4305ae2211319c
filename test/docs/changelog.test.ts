/** CHANGELOG.md follows Keep a Changelog and its latest release is package.json's version. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type PackageJson, readJson, REPO_ROOT } from "../helpers/package.js";

describe("CHANGELOG.md", () => {
  it("starts with Unreleased, then the current version, each with its link", async () => {
    const { version } = await readJson<PackageJson>("package.json");
    const text = await readFile(path.join(REPO_ROOT, "CHANGELOG.md"), "utf8");
    const releases = [...text.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => m[1]);
    expect(releases.slice(0, 2)).toEqual(["Unreleased", version]);
    for (const release of releases) expect(text, release).toMatch(new RegExp(`^\\[${release!.replace(/\./g, "\\.")}\\]: https://`, "m"));
  });
});
