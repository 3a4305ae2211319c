/**
 * docs/configuration.md lists every setting the server reads, and nothing it does not read; --help (SETTINGS)
 * names the same ones.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SETTING_NAMES, SETTINGS } from "../../src/config.js";
import { REPO_ROOT } from "../helpers/package.js";

/** The variables in the first column of the page's tables: `| \`NAME\` | …`. */
async function documentedSettings(): Promise<string[]> {
  const page = await readFile(path.join(REPO_ROOT, "docs", "configuration.md"), "utf8");
  return [...page.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

describe("docs/configuration.md", () => {
  it("documents every setting the code reads, and only those (its own ones: FLUX_FILL_* and BFL_*)", async () => {
    const documented = await documentedSettings();
    const ours = documented.filter((name) => /^(FLUX_FILL|BFL)_/.test(name));
    expect([...SETTING_NAMES].filter((name) => !documented.includes(name)), "read but not documented").toEqual([]);
    expect(ours.filter((name) => !SETTING_NAMES.includes(name)), "documented but not read").toEqual([]);
    expect(new Set(ours).size, "each setting once").toBe(ours.length);
  });

  it("--help lists the same settings", () => {
    expect(SETTINGS.map((s) => s.name).sort()).toEqual([...SETTING_NAMES].sort());
  });
});
