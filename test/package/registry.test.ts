/**
 * server.json, the entry for the official MCP Registry: the registry's rules that a file can break, and
 * one name and one version across server.json, package.json (`mcpName`, checked by the registry against
 * the published npm package) and manifest.json.
 */
import type { McpbManifestAny } from "@anthropic-ai/mcpb";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../../src/config.js";
import { type PackageJson, readJson } from "../helpers/package.js";

interface EnvironmentVariable {
  name: string;
  description?: string;
  isRequired?: boolean;
  isSecret?: boolean;
  format?: string;
}

interface ServerJson {
  $schema: string;
  name: string;
  description: string;
  version: string;
  repository?: { url: string; source: string };
  packages: Array<{
    registryType: string;
    registryBaseUrl?: string;
    identifier: string;
    version: string;
    transport: { type: string };
    environmentVariables?: EnvironmentVariable[];
  }>;
}

describe("server.json (MCP Registry)", () => {
  it("names the server io.github.<owner>/<package> as package.json's mcpName, its repository under the same owner", async () => {
    const server = await readJson<ServerJson>("server.json");
    const pkg = await readJson<PackageJson>("package.json");
    expect(server.$schema).toMatch(/^https:\/\/static\.modelcontextprotocol\.io\/schemas\/\d{4}-\d{2}-\d{2}\/server\.schema\.json$/);
    expect(server.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    const owner = /^io\.github\.([A-Za-z0-9-]+)\/(.+)$/.exec(server.name);
    expect(owner?.[2]).toBe(pkg.name);
    expect(pkg.mcpName).toBe(server.name);
    expect(server.repository).toEqual({ url: `https://github.com/${owner?.[1]}/${pkg.name}`, source: "github" });
    expect(server.description.length).toBeGreaterThan(0);
    expect(server.description.length).toBeLessThanOrEqual(100);
  });

  it("has one exact version everywhere: server.json, its npm package, package.json, manifest.json", async () => {
    const server = await readJson<ServerJson>("server.json");
    const pkg = await readJson<PackageJson>("package.json");
    const manifest = await readJson<McpbManifestAny>("manifest.json");
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect([server.version, server.packages[0]?.version, manifest.version]).toEqual([pkg.version, pkg.version, pkg.version]);
  });

  it("offers the npm package over stdio, with the settings a user sets described and the API key secret", async () => {
    const server = await readJson<ServerJson>("server.json");
    const pkg = await readJson<PackageJson>("package.json");
    expect(server.packages).toHaveLength(1);
    const [npmPackage] = server.packages;
    expect(npmPackage).toMatchObject({
      registryType: "npm",
      registryBaseUrl: "https://registry.npmjs.org",
      identifier: pkg.name,
      transport: { type: "stdio" },
    });
    const variables = npmPackage?.environmentVariables ?? [];
    expect(variables.map((v) => v.name)).toEqual(["BFL_API_KEY", "FLUX_FILL_ALLOWED_DIRS", "FLUX_FILL_OUTPUT_DIR"]);
    const settingNames = SETTINGS.map((s) => s.name);
    for (const variable of variables) {
      expect(settingNames).toContain(variable.name);
      expect(variable.description?.length ?? 0, variable.name).toBeGreaterThan(20);
      // The server runs with none of them (offline engine, default folders).
      expect(variable.isRequired ?? false, variable.name).toBe(false);
      expect(variable.isSecret ?? false, variable.name).toBe(variable.name === "BFL_API_KEY");
    }
  });
});
