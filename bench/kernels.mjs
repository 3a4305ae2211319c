// `npm run bench:kernels`: speed goals of the pure image kernels, as ratios against a baseline measured in
// the same run (the unit tests check only their results; wall-clock bounds there failed on a loaded machine).
// Runs against dist/ (build first). Writes bench/results-kernels.md.
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => path.join(root, "dist", p);
if (!existsSync(dist("images/morphology.js"))) {
  console.error("dist/ is missing: run `npm run build` first (npm run bench:kernels does).");
  process.exit(1);
}
const { growMask, featherMask } = await import(dist("images/morphology.js"));
const { drawRegions } = await import(dist("images/regions.js"));
const { inpaint } = await import(dist("providers/local/engine/inpaint.js"));

const REPEAT = 3;
/** Median milliseconds of `REPEAT` runs of `fn`. */
async function median(fn) {
  const times = [];
  for (let i = 0; i < REPEAT; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(REPEAT / 2)];
}

function rectMask(width, height, x, y, w, h) {
  const data = Buffer.alloc(width * height);
  for (let row = y; row < y + h; row++) data.fill(255, row * width + x, row * width + x + w);
  return { data, width, height, channels: 1 };
}

function texture(width, height) {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
  return { data, width, height, channels: 3 };
}

const rows = [];
function goal(name, measured, baseline, baselineName, maxRatio) {
  const ratio = measured / baseline;
  rows.push({ name, measured, baseline, baselineName, ratio, maxRatio, met: ratio <= maxRatio });
}

const big = rectMask(4000, 3000, 1000, 1000, 500, 500);
goal(
  "growMask 12 MP by 200 px",
  await median(() => growMask(big, 200)),
  await median(() => growMask(big, 20)),
  "by 20 px",
  2,
);
goal(
  "featherMask 12 MP by 100 px",
  await median(() => featherMask(big, 100)),
  await median(() => featherMask(big, 10)),
  "by 10 px",
  2,
);
// Worst case at the point limit: every edge crosses every row, and each row's crossings are sorted, so the
// work grows as n log n in the points: 10× the points ≈ 13× the time. Goal: within twice that.
const zigzag = (n) => Array.from({ length: n }, (_, i) => [(i * 1024) / n, i % 2 ? 0 : 1024]);
goal(
  "10k-point zigzag polygon, 1024²",
  await median(() => drawRegions([{ shape: "polygon", points: zigzag(10_000) }], "px", 1024, 1024)),
  await median(() => drawRegions([{ shape: "polygon", points: zigzag(1000) }], "px", 1024, 1024)),
  "1k-point zigzag",
  Math.round(2 * 10 * (Math.log(10_000) / Math.log(1000))),
);
const photo12 = texture(4000, 3000);
const photo1 = texture(1000, 1000);
goal(
  "engine: 30×30 hole in 12 MP",
  await median(() => inpaint(photo12, rectMask(4000, 3000, 2500, 1200, 30, 30))),
  await median(() => inpaint(photo1, rectMask(1000, 1000, 500, 500, 30, 30))),
  "same hole in 1 MP",
  // 12× the pixels for at most half of 12× the time: the work is around the hole, not over the photo.
  6,
);

const ms = (v) => v.toFixed(1);
const table = [
  "| kernel | ms | baseline | baseline ms | ratio | goal | met |",
  "|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${ms(r.measured)} | ${r.baselineName} | ${ms(r.baseline)} | ${r.ratio.toFixed(2)} | ≤ ${r.maxRatio} | ${r.met ? "yes" : "NO"} |`,
  ),
].join("\n");
const machine = `${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}, load ${os.loadavg()[0].toFixed(1)}, Node ${process.version}`;
writeFileSync(
  path.join(root, "bench", "results-kernels.md"),
  `# Kernel speed (npm run bench:kernels)\n\nMedian of ${REPEAT} runs; each goal is a ratio against a baseline measured in the same run, so it holds on a loaded machine. Machine: ${machine}, ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n`,
);
console.log(table);
if (rows.some((r) => !r.met)) process.exitCode = 1;
