// Child of run.mjs: peak memory of one engine run on a synthetic picture of the given megapixels with a
// centred block hole of 10% of the pixels. Prints one JSON line.
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { runEngine } = await import(
  path.join(path.resolve(root, process.env.BENCH_DIST ?? "dist"), "providers/local/run.js")
);
const megapixels = Number(process.argv[2] ?? 1);
const width = Math.round(Math.sqrt((megapixels * 1e6 * 4) / 3));
const height = Math.round((width * 3) / 4);
const data = Buffer.alloc(width * height * 3);
// Noise over blobs, cheap to make at any size.
let state = 7;
for (let i = 0; i < data.length; i++) {
  state = (state * 1103515245 + 12345) >>> 0;
  const x = Math.floor(i / 3) % width;
  const y = Math.floor(i / 3 / width);
  data[i] = (((x >> 4) * 37 + (y >> 4) * 91) % 160) + (state >>> 27);
}
const mask = Buffer.alloc(width * height);
const side = Math.sqrt(0.1);
const bw = Math.round(width * side);
const bh = Math.round(height * side);
const x0 = Math.round((width - bw) / 2);
const y0 = Math.round((height - bh) / 2);
for (let y = y0; y < y0 + bh; y++) mask.fill(255, y * width + x0, y * width + x0 + bw);
const started = performance.now();
await runEngine(
  { image: { data, width, height, channels: 3 }, mask: { data: mask, width, height, channels: 1 }, seed: 1 },
  { signal: new AbortController().signal },
);
const ms = Math.round(performance.now() - started);
const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify({ megapixels, width, height, peakMb, ms })}\n`);
