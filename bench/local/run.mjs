// `npm run bench:local`: the embedded engine side by side with OpenCV's inpainting (Telea, Navier–Stokes,
// radius 5) on the real photos of ../shared/data/photos (issue 6). Runs against dist/ (build first).
// Writes bench/results-local.md; `--examples` also writes the README's before/mask/after triptychs.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { blockMask, coverage, scribbleMask } from "./masks.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const photosDir = path.resolve(root, process.env.BENCH_PHOTOS_DIR ?? "../shared/data/photos");
const python = "/usr/bin/python3";
const args = new Set(process.argv.slice(2));
const WIDTH = 512;
const SEED = 1;
/** Photo upscaled to about a megapixel for the speed goal. */
const SPEED_PHOTO = "astronaut.png";
const SPEED_SIDE = 1024;
const SPEED_REPEAT = args.has("--quick") ? 1 : 3;
/** Photos shown in the README. */
const EXAMPLE_PHOTOS = ["gravel.png", "coffee.png"];

/** BENCH_DIST points at another build (default dist/). */
const distDir = path.resolve(root, process.env.BENCH_DIST ?? "dist");
const dist = (p) => path.join(distDir, p);
if (!existsSync(dist("providers/local/engine/index.js"))) {
  console.error("dist/ is missing: run `npm run build` first (npm run bench:local does).");
  process.exit(1);
}
if (!existsSync(photosDir)) {
  console.log(`Skipping the local engine benchmark: no photos folder at ${photosDir}.`);
  process.exit(0);
}
const opencvCheck = spawnSync(python, ["-c", "import cv2; print(cv2.__version__)"], { encoding: "utf8" });
if (opencvCheck.status !== 0) {
  console.log(`Skipping the local engine benchmark: ${python} cannot import cv2 (apt-get install -y python3-opencv).`);
  process.exit(0);
}

const { holePsnr, smoothFill, textureRatio } = await import(dist("providers/local/engine/index.js"));
const { runEngine } = await import(dist("providers/local/run.js"));
const { createLocalProvider } = await import(dist("providers/local/index.js"));
const { runFill } = await import(dist("pipeline/run.js"));
const { loadConfig } = await import(dist("config.js"));
const { silentLogger } = await import(dist("log.js"));

const exchange = mkdtempSync(path.join(os.tmpdir(), "bench-local-"));
const live = () => new AbortController().signal;

async function loadPhoto(file, width) {
  const { data, info } = await sharp(path.join(photosDir, file))
    .removeAlpha()
    .resize({ width, kernel: "lanczos3" })
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

const png = (image) =>
  sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).png({ compressionLevel: 1 });

async function readPng(file) {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

function runOpenCv(jobs) {
  writeFileSync(path.join(exchange, "jobs.json"), JSON.stringify(jobs));
  execFileSync(python, [path.join(root, "bench/local/opencv_inpaint.py"), exchange], { stdio: "inherit" });
  return JSON.parse(readFileSync(path.join(exchange, "timings.json"), "utf8"));
}

// ---- Quality: every photo × both mask families at 512 px wide.
const photos = readdirSync(photosDir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
const cases = [];
for (const file of photos) {
  const image = await loadPhoto(file, WIDTH);
  for (const [family, mask] of [
    ["block", blockMask(image.width, image.height)],
    ["scribble", scribbleMask(image.width, image.height)],
  ]) {
    const name = `${path.parse(file).name}-${family}`;
    await png(image).toFile(path.join(exchange, `${name}.png`));
    await png(mask).toFile(path.join(exchange, `${name}-mask.png`));
    cases.push({ file, family, name, image, mask });
  }
}
console.log(`OpenCV ${opencvCheck.stdout.trim()} on ${cases.length} cases…`);
const opencv = runOpenCv(
  cases.map(({ name }) => ({ image: `${name}.png`, mask: `${name}-mask.png`, telea: `${name}-telea.png`, ns: `${name}-ns.png`, repeat: 1 })),
);

const rows = [];
for (const [k, c] of cases.entries()) {
  const started = performance.now();
  const local = await runEngine({ image: c.image, mask: c.mask, seed: SEED }, { signal: live() });
  const localMs = performance.now() - started;
  const telea = await readPng(path.join(exchange, `${c.name}-telea.png`));
  const ns = await readPng(path.join(exchange, `${c.name}-ns.png`));
  const smooth = smoothFill(c.image, c.mask);
  const measure = (result) => ({ texture: textureRatio(c.image, result, c.mask), psnr: holePsnr(c.image, result, c.mask) });
  const row = {
    name: c.name,
    family: c.family,
    coverage: coverage(c.mask),
    local: measure(local),
    telea: measure(telea),
    ns: measure(ns),
    smooth: measure(smooth),
    localMs,
    teleaMs: opencv.timings[k].telea_ms,
  };
  rows.push(row);
  c.local = local;
  console.log(
    `${c.name.padEnd(20)} texture ${row.local.texture.toFixed(2)} (Telea ${row.telea.texture.toFixed(2)}, NS ${row.ns.texture.toFixed(2)})  PSNR ${row.local.psnr.toFixed(2)} (Telea ${row.telea.psnr.toFixed(2)}, NS ${row.ns.psnr.toFixed(2)})  ${localMs.toFixed(0)} ms`,
  );
}

// ---- Speed: one whole flux_fill job (files in, saved file out) on a ~1 MP photo with the scribble mask.
const big = await loadPhoto(SPEED_PHOTO, SPEED_SIDE);
const bigMask = scribbleMask(big.width, big.height);
const bigImageFile = path.join(exchange, "speed.png");
const bigMaskFile = path.join(exchange, "speed-mask.png");
await png(big).toFile(bigImageFile);
await png(bigMask).toFile(bigMaskFile);
const speedCv = runOpenCv([{ image: "speed.png", mask: "speed-mask.png", telea: "speed-telea.png", ns: "speed-ns.png", repeat: SPEED_REPEAT }]);
const config = loadConfig(
  { FLUX_FILL_PROVIDER: "local", FLUX_FILL_OUTPUT_DIR: path.join(exchange, "out"), FLUX_FILL_ALLOWED_DIRS: exchange },
  exchange,
);
const provider = createLocalProvider();
const fillTimes = [];
for (let i = 0; i < SPEED_REPEAT; i++) {
  const started = performance.now();
  await runFill(
    { image: bigImageFile, mask: bigMaskFile, params: { prompt: "", steps: 50, prompt_upsampling: false, guidance: 60, output_format: "jpeg", safety_tolerance: 2, seed: SEED } },
    { config, provider, logger: silentLogger },
  );
  fillTimes.push(performance.now() - started);
}
const fillMs = Math.min(...fillTimes);
// The same call as the very first of a fresh process: the engine thread starts while the inputs are read,
// and its working memory is touched for the first time.
const firstCall = JSON.parse(
  execFileSync(process.execPath, [path.join(root, "bench/local/profile.mjs"), "1", "--json"], { encoding: "utf8", env: { ...process.env, BENCH_DIST: distDir } }),
).runs[0];
const teleaBigMs = speedCv.timings[0].telea_ms;
console.log(`1 MP scribble: flux_fill (local) ${fillMs.toFixed(0)} ms (first call of a fresh process ${firstCall} ms), OpenCV Telea ${teleaBigMs.toFixed(0)} ms, NS ${speedCv.timings[0].ns_ms.toFixed(0)} ms`);

// ---- Memory: peak RSS of a fresh process filling a 10% block at growing sizes.
const memory = [];
for (const megapixels of args.has("--quick") ? [] : [1, 4, 16]) {
  const out = execFileSync(process.execPath, [path.join(root, "bench/local/memory.mjs"), String(megapixels)], { encoding: "utf8" });
  memory.push(JSON.parse(out));
  console.log(`memory ${megapixels} MP: ${JSON.stringify(memory.at(-1))}`);
}

// ---- Summary and results file.
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const meanOf = (pick, family) => mean(rows.filter((r) => family === undefined || r.family === family).map(pick));
const summary = {};
for (const family of [undefined, "block", "scribble"]) {
  summary[family ?? "all"] = Object.fromEntries(
    ["local", "telea", "ns", "smooth"].map((m) => [m, { texture: meanOf((r) => r[m].texture, family), psnr: meanOf((r) => r[m].psnr, family) }]),
  );
}
const all = summary.all;
const bestCv = Math.max(all.telea.psnr, all.ns.psnr);
const goals = [
  ["Texture ratio mean in 0.75..1.25", all.local.texture.toFixed(2), all.local.texture >= 0.75 && all.local.texture <= 1.25],
  ["Mean hole PSNR ≥ best OpenCV − 1 dB", `${all.local.psnr.toFixed(2)} vs ${(bestCv - 1).toFixed(2)} dB`, all.local.psnr >= bestCv - 1],
  ["1 MP scribble flux_fill ≤ 2× Telea", `${(fillMs / 1000).toFixed(2)} s vs 2 × ${(teleaBigMs / 1000).toFixed(2)} s`, fillMs <= 2 * teleaBigMs],
];
for (const [goal, figure, met] of goals) console.log(`${met ? "MET " : "MISS"} ${goal}: ${figure}`);

const cpus = os.cpus();
const machine = `${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}, OpenCV ${speedCv.opencv} (Debian python3-opencv)`;
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : String(v));
const lines = [
  "# Local engine vs OpenCV",
  "",
  `Written by \`npm run bench:local\` on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine}.`,
  "",
  `Photos from \`../shared/data/photos\` resized to ${WIDTH} px wide; masks: a block of 1/8 × 1/8 centred a third in from the top-left, and 20 random scribbles ${WIDTH}/60 px thick (fixed seed). Texture ratio = std of the 4-neighbour Laplacian of luma inside the hole, result ÷ original (1 = as much fine detail as the photo). PSNR over the hole's pixels. OpenCV: \`cv2.inpaint\` radius 5. Engine seed ${SEED}.`,
  "",
  "## Goals",
  "",
  "| goal | figure | met |",
  "|---|---|---|",
  ...goals.map(([goal, figure, met]) => `| ${goal} | ${figure} | ${met ? "yes" : "**no**"} |`),
  "",
  "## Means",
  "",
  "| set | texture local | Telea | NS | smooth | PSNR local | Telea | NS | smooth |",
  "|---|---|---|---|---|---|---|---|---|",
  ...Object.entries(summary).map(
    ([set, s]) =>
      `| ${set} | ${f2(s.local.texture)} | ${f2(s.telea.texture)} | ${f2(s.ns.texture)} | ${f2(s.smooth.texture)} | ${f2(s.local.psnr)} | ${f2(s.telea.psnr)} | ${f2(s.ns.psnr)} | ${f2(s.smooth.psnr)} |`,
  ),
  "",
  "## Per image",
  "",
  "| case | hole | texture local | Telea | NS | PSNR local | Telea | NS | local ms | Telea ms |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${(100 * r.coverage).toFixed(1)}% | ${f2(r.local.texture)} | ${f2(r.telea.texture)} | ${f2(r.ns.texture)} | ${f2(r.local.psnr)} | ${f2(r.telea.psnr)} | ${f2(r.ns.psnr)} | ${r.localMs.toFixed(0)} | ${r.teleaMs.toFixed(0)} |`,
  ),
  "",
  "## Speed",
  "",
  `${SPEED_PHOTO} at ${big.width}×${big.height} with the scribble mask (${(100 * coverage(bigMask)).toFixed(1)}% of the pixels), best of ${SPEED_REPEAT} calls in one process (its engine thread stays warm between calls, as in a running server):`,
  "",
  "| what | time |",
  "|---|---|",
  `| whole \`flux_fill\` job, local provider (read PNGs, decode, engine, encode JPEG — the default —, save) | ${fillMs.toFixed(0)} ms |`,
  `| the same, as the first call of a fresh process (engine thread starting meanwhile, its memory still fresh) | ${firstCall} ms |`,
  `| OpenCV Telea (\`cv2.inpaint\` alone) | ${teleaBigMs.toFixed(0)} ms |`,
  `| OpenCV NS (\`cv2.inpaint\` alone) | ${speedCv.timings[0].ns_ms.toFixed(0)} ms |`,
  "",
  "## Memory",
  "",
  "Peak resident memory of a fresh Node process that decodes nothing, builds a noisy picture and fills a centred block of 10% of it:",
  "",
  "| size | peak RSS | engine time |",
  "|---|---|---|",
  ...memory.map((m) => `| ${m.width}×${m.height} | ${m.peakMb} MB | ${m.ms} ms |`),
  "",
];
writeFileSync(path.join(root, "bench/results-local.md"), lines.join("\n"));
console.log("wrote bench/results-local.md");

// ---- README pictures: before | mask | after, 256 px wide each.
if (args.has("--examples")) {
  const outDir = path.join(root, "examples/local-engine");
  mkdirSync(outDir, { recursive: true });
  for (const file of EXAMPLE_PHOTOS) {
    for (const family of ["block", "scribble"]) {
      const c = cases.find((x) => x.file === file && x.family === family);
      if (c === undefined) continue;
      const tile = 256;
      const height = Math.round((c.image.height * tile) / c.image.width);
      const shrink = (image) => png(image).resize({ width: tile, height, kernel: "lanczos3" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
      const maskRgb = Buffer.alloc(c.mask.data.length * 3);
      for (let i = 0; i < c.mask.data.length; i++) maskRgb.fill(c.mask.data[i], 3 * i, 3 * i + 3);
      const tiles = await Promise.all([shrink(c.image), shrink({ ...c.mask, data: maskRgb, channels: 3 }), shrink(c.local)]);
      const gap = 4;
      const out = path.join(outDir, `${c.name}.jpg`);
      await sharp({ create: { width: 3 * tile + 2 * gap, height, channels: 3, background: "#ffffff" } })
        .composite(tiles.map((input, i) => ({ input, raw: { width: tile, height, channels: 3 }, left: i * (tile + gap), top: 0 })))
        .jpeg({ quality: 74, mozjpeg: true })
        .toFile(out);
      console.log(`wrote ${path.relative(root, out)}`);
    }
  }
}
rmSync(exchange, { recursive: true, force: true });
