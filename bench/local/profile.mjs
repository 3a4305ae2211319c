// Where the time of one `flux_fill` call with the local provider goes (issue 6's speed goal): the 1 MP
// scribble case of run.mjs, timed phase by phase from the pipeline's and the engine's progress reports.
// `node bench/local/profile.mjs [repeats] [--json]`; BENCH_DIST points at another build (default dist/).
// --json prints only {"runs": [ms, …]} (run.mjs uses it for the first call in a fresh process).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { scribbleMask } from "./masks.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dist = path.resolve(root, process.env.BENCH_DIST ?? "dist");
const photosDir = path.resolve(root, process.env.BENCH_PHOTOS_DIR ?? "../shared/data/photos");
const json = process.argv.includes("--json");
const repeats = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);

const { runFill } = await import(path.join(dist, "pipeline", "run.js"));
const { loadConfig } = await import(path.join(dist, "config.js"));
const { silentLogger } = await import(path.join(dist, "log.js"));
const { createLocalProvider } = await import(path.join(dist, "providers/local/index.js"));

const exchange = mkdtempSync(path.join(os.tmpdir(), "bench-profile-"));
const { data, info } = await sharp(path.join(photosDir, "astronaut.png"))
  .removeAlpha()
  .resize({ width: 1024, kernel: "lanczos3" })
  .toColourspace("srgb")
  .raw()
  .toBuffer({ resolveWithObject: true });
const mask = scribbleMask(info.width, info.height);
const imageFile = path.join(exchange, "image.png");
const maskFile = path.join(exchange, "mask.png");
await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
  .png({ compressionLevel: 1 })
  .toFile(imageFile);
await sharp(mask.data, { raw: { width: info.width, height: info.height, channels: 1 } })
  .png({ compressionLevel: 1 })
  .toFile(maskFile);

const config = loadConfig(
  { FLUX_FILL_PROVIDER: "local", FLUX_FILL_OUTPUT_DIR: path.join(exchange, "out"), FLUX_FILL_ALLOWED_DIRS: exchange },
  exchange,
);
const provider = createLocalProvider();
const runs = [];
for (let run = 0; run < repeats; run++) {
  const marks = [];
  const started = performance.now();
  const mark = (label) => marks.push([label, performance.now() - started]);
  await runFill(
    {
      image: imageFile,
      mask: maskFile,
      params: {
        prompt: "",
        steps: 50,
        prompt_upsampling: false,
        guidance: 60,
        output_format: "jpeg",
        safety_tolerance: 2,
        seed: 1,
      },
    },
    { config, provider, logger: silentLogger },
    { onProgress: (p) => mark(`${p.status}: ${p.message}`) },
  );
  mark("saved");
  runs.push(Math.round(marks.at(-1)[1]));
  if (json) continue;
  console.log(`run ${run + 1}: ${marks.at(-1)[1].toFixed(0)} ms`);
  let previous = 0;
  for (const [label, at] of marks) {
    console.log(`  ${at.toFixed(0).padStart(6)} ms  +${(at - previous).toFixed(0).padStart(5)}  ${label}`);
    previous = at;
  }
}
if (json) console.log(JSON.stringify({ runs }));
rmSync(exchange, { recursive: true, force: true });
