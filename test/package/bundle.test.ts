/**
 * The MCP Bundle as Claude's apps install it: scripts/bundle.mjs builds the .mcpb for this platform, the
 * MCPB reference code unpacks it and turns manifest + the user's choices into the launch command, and a
 * real MCP client talks to that process over stdio.
 */
import { execFile } from "node:child_process";
import { access, mkdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { getMcpConfigForManifest, type McpbManifestAny, unpackExtension } from "@anthropic-ai/mcpb";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStdio, tempDir } from "../helpers/mcp.js";
import {
  expectServesFill,
  installedPackages,
  type PackageJson,
  REPO_ROOT,
  readJson,
  writeSmallPicture,
} from "../helpers/package.js";

const run = promisify(execFile);
const BUNDLE_TIMEOUT_MS = 180_000;

describe("MCP Bundle (npm run bundle)", () => {
  let pkg: PackageJson;
  let work: string;
  let bundle: string;
  let unpacked: string;

  beforeAll(async () => {
    pkg = await readJson<PackageJson>("package.json");
    work = await tempDir("flux-fill-bundle-test-");
    // dist/ is built by `npm test`; --offline: npm installs from the cache `npm ci` filled.
    await run(process.execPath, [path.join(REPO_ROOT, "scripts/bundle.mjs"), "--out-dir", work, "--offline"], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    bundle = path.join(work, `${pkg.name}-${pkg.version}-${process.platform}-${process.arch}.mcpb`);
    unpacked = path.join(work, "installed");
    expect(await unpackExtension({ mcpbPath: bundle, outputDir: unpacked, silent: true })).toBe(true);
  }, BUNDLE_TIMEOUT_MS);

  // The bundle and its unpacked copy are ~60 MB: not left behind in the temp folder.
  afterAll(() => rm(work, { recursive: true, force: true }));

  it("holds the server, production dependencies with this platform's sharp binary, and a manifest for this OS", async () => {
    const manifest = JSON.parse(await readFile(path.join(unpacked, "manifest.json"), "utf8")) as McpbManifestAny;
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.compatibility?.platforms).toEqual([process.platform]);
    await access(path.join(unpacked, manifest.server.entry_point));
    const present = await installedPackages(path.join(unpacked, "node_modules"));
    for (const dependency of Object.keys(pkg.dependencies)) expect(present.has(dependency), dependency).toBe(true);
    expect(Object.keys(pkg.devDependencies).filter((name) => present.has(name))).toEqual([]);
    expect(present.has(`@img/sharp-${process.platform}-${process.arch}`) || present.has(`@img/sharp-linuxmusl-${process.arch}`)).toBe(true);
    const unpackedPkg = JSON.parse(await readFile(path.join(unpacked, "package.json"), "utf8")) as Partial<PackageJson> & {
      scripts?: unknown;
    };
    expect(unpackedPkg.scripts).toBeUndefined();
  });

  it(
    "runs from its unpacked folder as the host launches it: the chosen folders readable, others refused, results in the output folder",
    async () => {
      const chosen = [path.join(work, "photos"), path.join(work, "more photos")];
      const notChosen = path.join(work, "private");
      for (const dir of [...chosen, notChosen]) await mkdir(dir);
      const picture = await writeSmallPicture(chosen[1] as string);
      const secret = await writeSmallPicture(notChosen);
      const output = path.join(work, "results");
      const manifest = JSON.parse(await readFile(path.join(unpacked, "manifest.json"), "utf8")) as McpbManifestAny;
      const launch = await getMcpConfigForManifest({
        manifest,
        extensionPath: unpacked,
        systemDirs: { HOME: os.homedir(), DESKTOP: work, DOCUMENTS: work, DOWNLOADS: work },
        userConfig: { allowed_dirs: chosen, output_dir: output, bfl_api_key: "" },
        pathSeparator: path.sep,
      });
      expect(launch?.command).toBe("node");
      // The host runs its own Node (or the system's): here, the Node running the tests.
      const { client, stderr } = await startStdio(launch?.env ?? {}, unpacked, {
        command: process.execPath,
        args: launch?.args ?? [],
      });
      try {
        const result = await expectServesFill(client, picture);
        expect(path.dirname(result.path)).toBe(output);
        const refused = (await client.callTool(
          { name: "flux_fill", arguments: { ...secret, prompt: "grass" } },
        )) as CallToolResult;
        expect(refused.isError).toBe(true);
        const refusal = (refused.content as Array<{ type: string; text?: string }>)[0]?.text ?? "";
        expect(refusal).toContain("Error (not_allowed)");
        // The remedy names the bundle's own setting, by the title its manifest gives it.
        expect(refusal).toContain(`"${manifest.user_config?.allowed_dirs?.title}"`);
        expect(stderr()).toContain(`allowed dirs ${chosen.join(path.delimiter)}`);
      } finally {
        await client.close();
      }
    },
    BUNDLE_TIMEOUT_MS,
  );
});
