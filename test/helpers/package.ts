/**
 * The npm package and the MCP Bundle as users get them, built from this checkout without network: npm
 * runs with --offline on the cache `npm ci` filled. Shared by the packaging tests.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Client, CallToolResult } from "@modelcontextprotocol/client";
import { expect } from "vitest";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { makeMask, makePhoto } from "./images.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const run = promisify(execFile);

export interface PackageJson {
  name: string;
  version: string;
  license: string;
  mcpName: string;
  bin: Record<string, string>;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

export async function readJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await readFile(path.resolve(REPO_ROOT, file), "utf8")) as T;
}

/** npm in `cwd`; a failure carries npm's own message (e.g. ENOTCACHED names the missing package). */
export async function npm(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(NPM, args, { cwd, maxBuffer: 64 * 1024 * 1024, shell: process.platform === "win32" });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`npm ${args.join(" ")} failed in ${cwd}. Offline installs need the cache \`npm ci\` fills.\n${stderr || message}`);
  }
}

/** `npm pack` of the built checkout (no prepare: `npm test` built dist/ and other tests read it). */
export async function packTarball(destination: string): Promise<{ tarball: string; files: string[] }> {
  const stdout = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", destination], REPO_ROOT);
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!packed) throw new Error(`npm pack printed no package: ${stdout}`);
  return { tarball: path.join(destination, packed.filename), files: packed.files.map((f) => f.path) };
}

/**
 * Installs `tarball` into the empty folder `into` as `npm install <tarball>` would, without network:
 * resolving version ranges needs registry metadata the cache lacks, so the install gets a lockfile naming
 * the tarball and the repo lockfile's production packages (the versions `npm ci` installed and tested).
 */
export async function installTarballOffline(tarball: string, into: string): Promise<void> {
  const pkg = await readJson<PackageJson>("package.json");
  const lock = await readJson<{ packages: Record<string, { dev?: boolean }> }>("package-lock.json");
  const spec = `file:${path.relative(into, tarball).split(path.sep).join("/")}`;
  const root = { name: "install-probe", version: "1.0.0", dependencies: { [pkg.name]: spec } };
  const packages: Record<string, unknown> = {
    "": root,
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash("sha512").update(await readFile(tarball)).digest("base64")}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location !== "" && !entry.dev) packages[location] = entry;
  }
  await writeFile(path.join(into, "package.json"), `${JSON.stringify({ ...root, private: true }, null, 2)}\n`);
  await writeFile(
    path.join(into, "package-lock.json"),
    `${JSON.stringify({ name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
  await npm(["ci", "--offline", "--no-audit", "--no-fund"], into);
}

/** The package names installed at the top of a node_modules folder (`@scope/name` for scoped ones). */
export async function installedPackages(nodeModules: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const entry of await readdir(nodeModules)) {
    if (entry.startsWith("@")) {
      for (const scoped of await readdir(path.join(nodeModules, entry))) names.add(`${entry}/${scoped}`);
    } else if (!entry.startsWith(".")) names.add(entry);
  }
  return names;
}

/** A small photo and mask in `dir`, as a user's files. */
export async function writeSmallPicture(dir: string): Promise<{ image: string; mask: string }> {
  const image = path.join(dir, "photo.png");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(48, 32, { seed: 5 }));
  await writeFile(mask, await makeMask(48, 32, { kind: "rect", x: 16, y: 8, width: 12, height: 10 }));
  return { image, mask };
}

/** What every shipped copy must do: introduce itself, list its tools, and run one real fill on the local engine. */
export async function expectServesFill(client: Client, picture: { image: string; mask: string }): Promise<FluxFillOutput> {
  const pkg = await readJson<PackageJson>("package.json");
  expect(client.getServerVersion()).toMatchObject({ name: pkg.name, version: pkg.version });
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("flux_fill");
  const result = (await client.callTool(
    { name: "flux_fill", arguments: { ...picture, prompt: "grass", output_format: "png" } },
  )) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const output = FluxFillOutput.parse(result.structuredContent);
  expect(output).toMatchObject({ provider: "local", width: 48, height: 32, mime_type: "image/png" });
  return output;
}
