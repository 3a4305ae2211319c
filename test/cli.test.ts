import { execFile } from "node:child_process";
import { copyFile, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { decodeRaw, encodeRaster, insideShape, makeMask, makePhoto, objectScenePixels } from "./helpers/images.js";
import { startFalEmulator } from "./helpers/host-emulators.js";
import { CLI_PATH, tempDir } from "./helpers/mcp.js";
import { COFFEE_SPOON } from "./helpers/photo-objects.js";

const run = promisify(execFile);
const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };

describe("flux-fill-mcp command line", () => {
  it("prints help for the program and for each command", async () => {
    const main = await run(process.execPath, [CLI_PATH, "--help"], { env: baseEnv });
    expect(main.stdout).toContain("flux-fill-mcp fill");
    expect(main.stdout).toContain("FLUX_FILL_OUTPUT_DIR");
    const fill = await run(process.execPath, [CLI_PATH, "fill", "--help"], { env: baseEnv });
    expect(fill.stdout).toContain("--image");
    expect(fill.stdout).toContain("--provider");
    const serve = await run(process.execPath, [CLI_PATH, "serve", "--help"], { env: baseEnv });
    expect(serve.stdout).toContain("stdio");
  });

  it("fill runs the pipeline once, reports progress on stderr and prints the saved path", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "in.png"), await makePhoto(50, 40, { seed: 9 }));
    await writeFile(
      path.join(dir, "mask.png"),
      await makeMask(50, 40, { kind: "rect", x: 10, y: 10, width: 10, height: 10 }),
    );
    const { stdout, stderr } = await run(
      process.execPath,
      [
        CLI_PATH,
        "fill",
        "--image",
        "in.png",
        "--mask",
        "mask.png",
        "--prompt",
        "grass",
        "--out",
        "result.png",
        "--provider",
        "local",
      ],
      { cwd: dir, env: { ...baseEnv, FLUX_FILL_OUTPUT_DIR: path.join(dir, "out") } },
    );
    expect(stdout.trim()).toBe(path.join(dir, "result.png"));
    expect(stderr).toMatch(/local: /);
    const result = await decodeRaw(await readFile(path.join(dir, "result.png")));
    expect([result.width, result.height]).toEqual([50, 40]);
  });

  it("fill takes the tool's mask options as flags (shapes, units, grow) and records them in the sidecar", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "in.png"), await makePhoto(80, 40, { seed: 3 }));
    const regions = JSON.stringify([{ shape: "rect", x: 0.25, y: 0.25, width: 0.25, height: 0.5 }]);
    const { stdout } = await run(
      process.execPath,
      [
        CLI_PATH,
        "fill",
        "--image",
        "in.png",
        "--mask-regions",
        regions,
        "--units",
        "fraction",
        "--grow-mask",
        "2",
        "--provider",
        "local",
      ],
      { cwd: dir, env: { ...baseEnv, FLUX_FILL_OUTPUT_DIR: path.join(dir, "out") } },
    );
    const sidecar = JSON.parse(await readFile(stdout.trim().replace(/\.(jpg|png)$/, ".json"), "utf8"));
    expect(sidecar.inputs.mask.source).toMatch(/mask_regions \(rect, fraction\).*grow/);
    // 20×20 px rect grown by 2 px on each side: 24×24 of 80×40.
    expect(sidecar.inputs.mask.coverage).toBeCloseTo((24 * 24) / (80 * 40), 2);
    const bad = await run(process.execPath, [CLI_PATH, "fill", "--image", "in.png", "--mask-regions", "[{oops"], {
      cwd: dir,
      env: baseEnv,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/--mask-regions must be JSON/);
  });

  it("fill takes object and wand entries with op subtract in --mask-regions", async () => {
    const dir = await tempDir();
    const scene = objectScenePixels(120, 80, 2);
    await writeFile(path.join(dir, "scene.png"), await encodeRaster(scene.raster));
    // The ground below the sky, minus the disk (picked by the wand).
    const regions = JSON.stringify([
      { shape: "rect", x: 0, y: scene.skyRows, width: 120, height: 80 - scene.skyRows },
      { shape: "wand", x: 66, y: 48, op: "subtract" },
    ]);
    const { stdout } = await run(
      process.execPath,
      [CLI_PATH, "fill", "--image", "scene.png", "--mask-regions", regions, "--provider", "local"],
      { cwd: dir, env: { ...baseEnv, FLUX_FILL_OUTPUT_DIR: path.join(dir, "out") } },
    );
    const sidecar = JSON.parse(await readFile(stdout.trim().replace(/\.(jpg|png)$/, ".json"), "utf8"));
    expect(sidecar.inputs.mask.source).toMatch(/mask_regions \(rect, wand subtracted, px\)/);
    let ground = 0;
    for (let y = scene.skyRows; y < 80; y++) for (let x = 0; x < 120; x++) if (!insideShape(scene.disk, x, y)) ground++;
    expect(sidecar.inputs.mask.coverage).toBeCloseTo(ground / (120 * 80), 3);
  });

  it("fill selects an object named by text through fal's SAM (emulated) and says so on stderr", async () => {
    const fal = await startFalEmulator({ apiKey: "cli-fal-key", queueMs: 5, generationMs: 20, samObjects: [COFFEE_SPOON] });
    try {
      const dir = await tempDir();
      await copyFile("/work/shared/data/photos/coffee.png", path.join(dir, "coffee.png"));
      const regions = JSON.stringify([{ shape: "object", text: "the spoon" }]);
      const { stdout, stderr } = await run(
        process.execPath,
        [CLI_PATH, "fill", "--image", "coffee.png", "--mask-regions", regions, "--provider", "local"],
        {
          cwd: dir,
          env: {
            ...baseEnv,
            FLUX_FILL_OUTPUT_DIR: path.join(dir, "out"),
            FLUX_FILL_SEGMENTER: "fal",
            FAL_KEY: "cli-fal-key",
            FLUX_FILL_FAL_BASE_URL: fal.apiBaseUrl,
            FLUX_FILL_POLL_INTERVAL_MS: "10",
          },
        },
      );
      expect(stderr).toMatch(/mask_regions\[0\] \(object, segmenter fal, confidence 0\.93\).*photo was sent to fal/);
      const sidecar = JSON.parse(await readFile(stdout.trim().replace(/\.(jpg|png)$/, ".json"), "utf8"));
      expect(sidecar.inputs.mask.coverage).toBeGreaterThan(0.02);
      expect(sidecar.inputs.mask.coverage).toBeLessThan(0.05);
      expect([...fal.jobs.values()].map((j) => j.model)).toEqual(["fal-ai/sam-3"]);
    } finally {
      await fal.close();
    }
  });

  it("fill refuses fractions given in px (the default units) before running anything", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "in.png"), await makePhoto(80, 40, { seed: 3 }));
    const regions = JSON.stringify([{ shape: "rect", x: 0.25, y: 0.25, width: 0.25, height: 0.5 }]);
    const failure = await run(
      process.execPath,
      [CLI_PATH, "fill", "--image", "in.png", "--mask-regions", regions, "--provider", "local"],
      { cwd: dir, env: { ...baseEnv, FLUX_FILL_OUTPUT_DIR: path.join(dir, "out") } },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('These look like fractions; add "units": "fraction".');
    await expect(readdir(path.join(dir, "out"))).rejects.toThrow(/ENOENT/);
  });

  it("fails clearly with a non-zero exit on bad input", async () => {
    const dir = await tempDir();
    const failure = await run(process.execPath, [CLI_PATH, "fill", "--image", "missing.png", "--steps", "99"], {
      cwd: dir,
      env: baseEnv,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain("steps must be an integer from 15 to 50; got 99");
    const missing = await run(process.execPath, [CLI_PATH, "fill", "--image", "missing.png"], {
      cwd: dir,
      env: baseEnv,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toMatch(/missing\.png/);
  });

  it("expand reaches an aspect ratio with the photo at its anchor and records the sides in the sidecar", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "in.png"), await makePhoto(60, 40, { seed: 4 }));
    const help = await run(process.execPath, [CLI_PATH, "expand", "--help"], { env: baseEnv });
    expect(help.stdout).toContain("--aspect-ratio");
    const { stdout, stderr } = await run(
      process.execPath,
      [CLI_PATH, "expand", "--image", "in.png", "--aspect-ratio", "4:5", "--anchor", "bottom", "--out", "tall.png"],
      { cwd: dir, env: { ...baseEnv, FLUX_FILL_OUTPUT_DIR: path.join(dir, "out"), FLUX_FILL_PROVIDER: "local" } },
    );
    expect(stdout.trim()).toBe(path.join(dir, "tall.png"));
    expect(stderr).toMatch(/Local expansion complete/);
    // 60×40 → 4:5 is 75 high: 35 rows, all above the photo.
    const result = await decodeRaw(await readFile(path.join(dir, "tall.png")));
    const photo = await decodeRaw(await readFile(path.join(dir, "in.png")));
    expect([result.width, result.height]).toEqual([60, 75]);
    expect(result.data.subarray(35 * 60 * 3).equals(photo.data)).toBe(true);
    const [sidecar] = (await readdir(path.join(dir, "out"))).filter((f) => f.endsWith(".json"));
    const meta = JSON.parse(await readFile(path.join(dir, "out", sidecar!), "utf8"));
    expect(meta.inputs.expand).toEqual({ top: 35, bottom: 0, left: 0, right: 0 });

    // Sides first, then the ratio: 60×40 + top 8 = 60×48, 1:1 adds 12 rows, centred (6 + 6).
    const both = await run(
      process.execPath,
      [CLI_PATH, "expand", "--image", "in.png", "--top", "8", "--aspect-ratio", "1:1", "--out", "square.png"],
      { cwd: dir, env: { ...baseEnv, FLUX_FILL_OUTPUT_DIR: path.join(dir, "out"), FLUX_FILL_PROVIDER: "local" } },
    );
    expect(both.stdout.trim()).toBe(path.join(dir, "square.png"));
    const square = await decodeRaw(await readFile(path.join(dir, "square.png")));
    expect([square.width, square.height]).toEqual([60, 60]);
    expect(square.data.subarray(14 * 60 * 3, 54 * 60 * 3).equals(photo.data)).toBe(true);

    const already = await run(process.execPath, [CLI_PATH, "expand", "--image", "in.png", "--aspect-ratio", "3:2"], {
      cwd: dir,
      env: { ...baseEnv, FLUX_FILL_PROVIDER: "local" },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(already).toMatchObject({ code: 1 });
    expect((already as { stderr: string }).stderr).toMatch(/already 3:2 \(to the nearest pixel\)/);
  });
});
