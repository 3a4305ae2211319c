/**
 * The npm package as `npx -y flux-fill-mcp` gets it: the packed tarball's contents, then the tarball
 * installed into an empty folder and its bin spoken to over stdio by a real MCP client.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStdio, tempDir } from "../helpers/mcp.js";
import {
  expectServesFill,
  installedPackages,
  installTarballOffline,
  type PackageJson,
  packTarball,
  REPO_ROOT,
  readJson,
  writeSmallPicture,
} from "../helpers/package.js";

const INSTALL_TIMEOUT_MS = 180_000;

describe("npm package", () => {
  let packed: { tarball: string; files: string[] };
  let pkg: PackageJson;
  let work: string;

  beforeAll(async () => {
    pkg = await readJson<PackageJson>("package.json");
    work = await tempDir("flux-fill-pack-");
    packed = await packTarball(work);
  }, INSTALL_TIMEOUT_MS);

  // The install is ~50 MB: not left behind in the temp folder.
  afterAll(() => rm(work, { recursive: true, force: true }));

  it("holds the built server, its page, LICENSE, README and the docs it links, and no sources, tests, benches, CI files or maps", async () => {
    const { files } = packed;
    for (const needed of ["package.json", "LICENSE", "README.md", "docs/configuration.md", pkg.bin["flux-fill-mcp"], "dist/app/mask-editor.html"]) {
      expect(files).toContain(needed);
    }
    const outside = files.filter(
      (f) => !/^(dist|examples|docs)\//.test(f) && !["package.json", "LICENSE", "README.md", "mcp.json"].includes(f),
    );
    expect(outside).toEqual([]);
    const unwanted = files.filter((f) => /^(src|test|bench|scripts|\.ci)\/|\.(map|d\.ts)$|\.test\.|^dist\/(test|bench)\//.test(f));
    expect(unwanted).toEqual([]);
    const license = await readFile(path.join(REPO_ROOT, "LICENSE"), "utf8");
    expect(pkg.license).toBe("MIT");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} flux-fill-mcp contributors\n/);
  });

  it(
    "installs into an empty folder without network and its bin serves MCP over stdio with a real fill",
    async () => {
      const app = path.join(work, "app");
      await mkdir(app);
      await installTarballOffline(packed.tarball, app);
      const installed = await readJson<PackageJson>(path.join(app, "node_modules", pkg.name, "package.json"));
      expect(installed.version).toBe(pkg.version);
      // Only the runtime dependencies are there, so the server below proves they suffice.
      const present = await installedPackages(path.join(app, "node_modules"));
      expect(Object.keys(pkg.devDependencies).filter((name) => present.has(name))).toEqual([]);

      const pictures = path.join(app, "pictures");
      await mkdir(pictures);
      const picture = await writeSmallPicture(pictures);
      const output = path.join(app, "out");
      const bin = path.join(app, "node_modules", ".bin", process.platform === "win32" ? "flux-fill-mcp.cmd" : "flux-fill-mcp");
      // The bin link and its shebang, as npx runs it; cwd is the install folder, far from this checkout.
      const { client, stderr } = await startStdio({ FLUX_FILL_ALLOWED_DIRS: pictures, FLUX_FILL_OUTPUT_DIR: output }, app, {
        command: bin,
        args: [],
      });
      try {
        const result = await expectServesFill(client, picture);
        expect(result.path.startsWith(output + path.sep)).toBe(true);
        // The mask editor's page is a build output: it must be in the package, not only in this checkout.
        const page = await client.readResource({ uri: "ui://flux-fill/mask-editor" });
        expect(JSON.stringify(page.contents)).toContain("<html");
        expect(stderr()).toContain(`output ${output}`);
      } finally {
        await client.close();
      }
    },
    INSTALL_TIMEOUT_MS,
  );
});
