/**
 * manifest.json, the MCP Bundle's description: valid for `mcpb validate`, in step with package.json and
 * the server, and its install-time choices turned by the MCPB reference code (what Claude's apps run)
 * into a launch the server's config reads as meant, whether the user filled them in or not.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { getMcpConfigForManifest, type McpbManifestAny } from "@anthropic-ai/mcpb";
import { describe, expect, it } from "vitest";
import { type Config, effectiveProvider, loadConfig, SETTINGS } from "../../src/config.js";
import { startInMemory } from "../helpers/mcp.js";
import { type PackageJson, REPO_ROOT, readJson } from "../helpers/package.js";

const run = promisify(execFile);
const MCPB_CLI = path.join(REPO_ROOT, "node_modules/@anthropic-ai/mcpb/dist/cli/cli.js");
const HOME = path.join(os.tmpdir(), "home-of-someone");

/** What the server's config is when the host launches it with `userConfig` (cwd `/`, as desktop hosts do). */
async function configAtLaunch(manifest: McpbManifestAny, userConfig: Record<string, string | string[]>): Promise<Config> {
  const launch = await getMcpConfigForManifest({
    manifest,
    extensionPath: "/bundles/flux-fill-mcp",
    systemDirs: { HOME, DESKTOP: HOME, DOCUMENTS: HOME, DOWNLOADS: HOME },
    userConfig,
    pathSeparator: path.sep,
  });
  if (!launch) throw new Error("the host refused to launch the bundle with this configuration");
  expect(launch.command).toBe("node");
  const [entry, command, ...dirs] = launch.args ?? [];
  expect(entry).toBe(`/bundles/flux-fill-mcp/${manifest.server.entry_point}`);
  expect(command).toBe("serve");
  return loadConfig(launch.env ?? {}, "/", { allowedDirs: dirs });
}

describe("manifest.json (MCP Bundle)", () => {
  it("passes `mcpb validate`", async () => {
    const { stdout } = await run(process.execPath, [MCPB_CLI, "validate", path.join(REPO_ROOT, "manifest.json")]);
    expect(stdout).toContain("Manifest schema validation passes");
  });

  it("is in step with package.json: name, version, license, Node version, entry point", async () => {
    const manifest = await readJson<McpbManifestAny>("manifest.json");
    const pkg = await readJson<PackageJson>("package.json");
    expect(manifest.manifest_version).toBe("0.3");
    expect({ name: manifest.name, version: manifest.version, license: manifest.license }).toEqual({
      name: pkg.name,
      version: pkg.version,
      license: pkg.license,
    });
    expect(manifest.compatibility?.runtimes?.node).toBe(`${pkg.engines.node}.0.0`);
    expect(manifest.server.entry_point).toBe(pkg.bin["flux-fill-mcp"]);
  });

  it("lists exactly the tools the server has", async () => {
    const manifest = await readJson<McpbManifestAny>("manifest.json");
    const server = await startInMemory();
    try {
      const { tools } = await server.client.listTools();
      expect((manifest.tools ?? []).map((t) => t.name).sort()).toEqual(tools.map((t) => t.name).sort());
    } finally {
      await server.close();
    }
  });

  it("asks for the API key (masked), the folders to read (several) and the output folder, and maps them to settings the server reads", async () => {
    const manifest = await readJson<McpbManifestAny>("manifest.json");
    expect(manifest.user_config).toMatchObject({
      bfl_api_key: { type: "string", sensitive: true, required: false },
      allowed_dirs: { type: "directory", multiple: true, required: false },
      output_dir: { type: "directory", required: false },
    });
    const settingNames = SETTINGS.map((s) => s.name);
    for (const name of Object.keys(manifest.server.mcp_config.env ?? {})) expect(settingNames).toContain(name);

    const filled = await configAtLaunch(manifest, {
      bfl_api_key: "bfl-test-key",
      allowed_dirs: ["/Users/someone/Pictures", "/Volumes/Shoot 2026"],
      output_dir: "/Users/someone/Pictures/flux-fill",
    });
    expect(filled.bfl.apiKey).toBe("bfl-test-key");
    expect(effectiveProvider(filled)).toBe("bfl");
    expect(filled.allowedDirs).toEqual(["/Users/someone/Pictures", "/Volumes/Shoot 2026"]);
    expect(filled.outputDir).toBe("/Users/someone/Pictures/flux-fill");
  });

  it("launches with the server's own defaults when the user leaves every choice empty", async () => {
    const manifest = await readJson<McpbManifestAny>("manifest.json");
    const defaults = loadConfig({}, "/");
    const leftEmpty: Array<Record<string, string | string[]>> = [{}, { bfl_api_key: "", allowed_dirs: [], output_dir: "" }];
    for (const userConfig of leftEmpty) {
      const config = await configAtLaunch(manifest, userConfig);
      expect(config.bfl.apiKey).toBeUndefined();
      expect(effectiveProvider(config)).toBe("local");
      expect(config.outputDir).toBe(defaults.outputDir);
      expect(config.allowedDirs).toEqual(defaults.allowedDirs);
    }
  });
});
