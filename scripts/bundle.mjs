#!/usr/bin/env node
/**
 * Builds the MCP Bundle (.mcpb) of this checkout for one platform: the npm package's files (the same list
 * `npm pack` takes, so the two never drift), production dependencies only, and manifest.json with
 * `compatibility.platforms` narrowed to the target OS. sharp ships its native code as per-OS/CPU packages
 * (@img/sharp-<os>-<cpu>), so a bundle runs only where its dependencies were installed for.
 *
 *   npm run bundle                                   this machine's OS and CPU (builds dist/ first)
 *   npm run bundle -- --os darwin --cpu arm64        another platform (npm fetches its sharp binaries)
 *   node scripts/bundle.mjs --out-dir DIR --offline  dist/ already built; npm may use only its cache
 *
 * Writes flux-fill-mcp-<version>-<os>-<cpu>.mcpb to the repo root (or --out-dir) and prints its path.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { packExtension } from "@anthropic-ai/mcpb";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const OSES = ["darwin", "linux", "win32"];

function fail(message) {
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(1);
}

async function npm(args, cwd) {
  try {
    return await run(NPM, args, { cwd, maxBuffer: 64 * 1024 * 1024, shell: process.platform === "win32" });
  } catch (error) {
    fail(`npm ${args.join(" ")} failed in ${cwd}:\n${error.stderr || error.message}`);
  }
}

async function exists(file) {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** The files `npm pack` would publish (package.json "files"), relative to the repo root. */
async function packageFiles() {
  const { stdout } = await npm(["pack", "--dry-run", "--json", "--ignore-scripts"], ROOT);
  return JSON.parse(stdout)[0].files.map((f) => f.path);
}

async function main() {
  const { values } = parseArgs({
    options: {
      os: { type: "string", default: process.platform },
      cpu: { type: "string", default: process.arch },
      "out-dir": { type: "string", default: ROOT },
      offline: { type: "boolean", default: false },
    },
  });
  if (!OSES.includes(values.os)) fail(`--os must be one of ${OSES.join(", ")}, got "${values.os}"`);
  for (const built of ["dist/cli.js", "dist/app/mask-editor.html"]) {
    if (!(await exists(path.join(ROOT, built)))) fail(`${built} is missing: run \`npm run build\` (npm run bundle does).`);
  }

  const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8"));
  const manifest = JSON.parse(await readFile(path.join(ROOT, "manifest.json"), "utf8"));
  if (manifest.version !== pkg.version) fail(`manifest.json version ${manifest.version} ≠ package.json ${pkg.version}`);

  const stage = await mkdtemp(path.join(os.tmpdir(), "flux-fill-bundle-"));
  try {
    for (const file of await packageFiles()) {
      await mkdir(path.dirname(path.join(stage, file)), { recursive: true });
      await cp(path.join(ROOT, file), path.join(stage, file));
    }
    // No scripts in the bundle's package.json: `npm ci` below would run `prepare` (tsc) even with
    // --omit=dev, which leaves tsc out; dist/ is already built. The server reads its version from here.
    const { scripts: _scripts, ...staged } = pkg;
    await writeFile(path.join(stage, "package.json"), `${JSON.stringify(staged, null, 2)}\n`);
    await cp(path.join(ROOT, "package-lock.json"), path.join(stage, "package-lock.json"));
    const platformManifest = { ...manifest, compatibility: { ...manifest.compatibility, platforms: [values.os] } };
    await writeFile(path.join(stage, "manifest.json"), `${JSON.stringify(platformManifest, null, 2)}\n`);

    // The lockfile's versions, production only, sharp's binaries for the target OS/CPU. Install scripts
    // are skipped: the only one among the dependencies is sharp's check for a system libvips.
    await npm(
      [
        "ci",
        "--omit=dev",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        `--os=${values.os}`,
        `--cpu=${values.cpu}`,
        values.offline ? "--offline" : "--prefer-offline",
      ],
      stage,
    );

    const outDir = path.resolve(values["out-dir"]);
    await mkdir(outDir, { recursive: true });
    const output = path.join(outDir, `${pkg.name}-${pkg.version}-${values.os}-${values.cpu}.mcpb`);
    if (!(await packExtension({ extensionPath: stage, outputPath: output, silent: true }))) {
      fail("mcpb pack refused the staged bundle (run `npx mcpb validate manifest.json`)");
    }
    const { size } = await stat(output);
    process.stdout.write(`${output}\n`);
    process.stderr.write(`bundle: ${(size / 1024 / 1024).toFixed(1)} MB for ${values.os}-${values.cpu}\n`);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

await main();
