/**
 * `npm run bench:stitch` (issue 24): crop and stitch on the shared photos at 24 MP, against the bfl
 * emulator in its round-trip mode (one colour cast and noise over the whole returned image, as a VAE round
 * trip), through the real pipeline and bfl provider. For small (2 %), medium (10 %) and large (40 %) masks:
 * bytes uploaded, megapixels sent and seconds to the saved file, crop ("auto") against the whole photo
 * ("off") in the same run; pixels changed outside mask + band; the mean ΔE of the masked area against the
 * original with and without colour matching (the model redraws what was there, so all of it is cast).
 * Writes bench/results-stitch.md.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { loadConfig } from "../../src/config.js";
import { meanDeltaE } from "../../src/images/colour-match.js";
import { decodeReturned } from "../../src/images/put-back.js";
import type { RasterImage } from "../../src/images/raster.js";
import { composeFill } from "../../src/images/stitch.js";
import { planStitch } from "../../src/images/stitch-plan.js";
import { silentLogger } from "../../src/log.js";
import { runFill } from "../../src/pipeline/run.js";
import { selectProvider } from "../../src/providers/index.js";
import { castInPlace, startEmulator, VAE_CAST } from "../../test/helpers/emulator.js";
import { collectMachine, formatMachine } from "../machine.js";
import { findRoot } from "../processes.js";

const WIDTH = 6000;
const HEIGHT = 4000;
const MASKS = [
  { name: "small (2 %)", share: 0.02 },
  { name: "medium (10 %)", share: 0.1 },
  { name: "large (40 %)", share: 0.4 },
] as const;
const quick = process.argv.includes("--quick");
const PHOTOS = quick ? ["astronaut.png", "rocket.jpg"] : ["astronaut.png", "coffee.png", "gravel.png", "rocket.jpg"];
const KEY = "bench-stitch-key";

interface Row {
  photo: string;
  mask: string;
  crop: "auto" | "off";
  uploadBytes: number;
  sentMp: number;
  seconds: number;
  changedOutside: number;
  deltaEWith: number;
  deltaEWithout: number;
  /** ΔE of the emulator's noise alone (no cast): what no colour matching can remove. */
  deltaENoise: number;
}

/** A 2:1 rectangle of `share` of the photo, centred a little off the middle. */
function maskRect(share: number) {
  const height = Math.round(Math.sqrt((share * WIDTH * HEIGHT) / 2));
  const width = 2 * height;
  return { x: Math.round(WIDTH * 0.55 - width / 2), y: Math.round(HEIGHT * 0.5 - height / 2), width, height };
}

function rgbRaster(data: Buffer, width: number, height: number): RasterImage {
  return { data, width, height, channels: 3 };
}

async function main(): Promise<void> {
  const root = findRoot();
  const photosDir = path.resolve(root, process.env.BENCH_PHOTOS_DIR ?? "../shared/data/photos");
  if (!existsSync(photosDir)) {
    console.log(`Skipping the stitch benchmark: no photos folder at ${photosDir}.`);
    return;
  }
  const machine = collectMachine();
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-stitch-"));
  const emulator = await startEmulator({ apiKey: KEY, generationMs: 100, roundTrip: { ...VAE_CAST, content: "source" } });
  const config = loadConfig(
    {
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "20",
      FLUX_FILL_OUTPUT_DIR: path.join(work, "out"),
      FLUX_FILL_ALLOWED_DIRS: work,
      FLUX_FILL_TIMEOUT_S: "600",
    },
    work,
  );
  const provider = selectProvider(config);
  const rows: Row[] = [];
  try {
    for (const photo of PHOTOS) {
      // The shared photo upscaled to 24 MP, as a PNG export (what a 24 MP edit usually starts from).
      const file = path.join(work, `${path.parse(photo).name}-24mp.png`);
      await writeFile(
        file,
        await sharp(path.join(photosDir, photo))
          .removeAlpha()
          .resize(WIDTH, HEIGHT, { fit: "fill", kernel: "lanczos3" })
          .png({ compressionLevel: 2, adaptiveFiltering: true })
          .toBuffer(),
      );
      const { data: original } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      for (const mask of MASKS) {
        const rect = maskRect(mask.share);
        for (const crop of ["auto", "off"] as const) {
          emulator.reset();
          const started = Date.now();
          const outcome = await runFill(
            {
              image: file,
              params: {
                prompt: "",
                steps: 50,
                prompt_upsampling: false,
                guidance: 60,
                output_format: "png",
                safety_tolerance: 2,
                seed: 7,
                crop,
                mask_regions: [{ shape: "rect", ...rect }],
              },
            },
            { config, provider, logger: silentLogger },
          );
          const seconds = (Date.now() - started) / 1000;
          const submit = emulator.submits.at(-1)!;
          const sent = await sharp(submit.image!).metadata();
          const band = Number(/a (\d+) px band/.exec(outcome.meta.notes.join("\n"))?.[1] ?? Number.NaN);
          const saved = await sharp(outcome.bytes).removeAlpha().raw().toBuffer();
          let changedOutside = 0;
          const inside: number[] = [];
          for (let y = 0; y < HEIGHT; y++) {
            for (let x = 0; x < WIDTH; x++) {
              const i = y * WIDTH + x;
              const inMask = x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
              if (inMask) {
                if ((x & 3) === 0 && (y & 3) === 0) inside.push(i);
                continue;
              }
              const near =
                x >= rect.x - band && x < rect.x + rect.width + band && y >= rect.y - band && y < rect.y + rect.height + band;
              if (near) continue;
              const o = i * 3;
              if (saved[o] !== original[o] || saved[o + 1] !== original[o + 1] || saved[o + 2] !== original[o + 2]) {
                changedOutside++;
              }
            }
          }
          // The same upstream output put back without colour matching, for the comparison.
          const returned = await decodeReturned(await emulator.task(submit.taskId!).result, {
            width: sent.width,
            height: sent.height,
          });
          const maskRaster: RasterImage = { data: Buffer.alloc(WIDTH * HEIGHT), width: WIDTH, height: HEIGHT, channels: 1 };
          for (let y = rect.y; y < rect.y + rect.height; y++) maskRaster.data.fill(255, y * WIDTH + rect.x, y * WIDTH + rect.x + rect.width);
          const plan = planStitch({ width: WIDTH, height: HEIGHT }, rect, crop);
          const originalRaster = rgbRaster(original, WIDTH, HEIGHT);
          const without = await composeFill(originalRaster, maskRaster, plan, returned, { colourMatch: false });
          // The noise floor: the same pixels with the round trip's noise and no cast.
          const noisy = Buffer.from(original);
          castInPlace(noisy, { ...VAE_CAST, gain: [1, 1, 1], offset: [0, 0, 0] }, 7);
          rows.push({
            deltaENoise: meanDeltaE(noisy, original, inside),
            photo,
            mask: mask.name,
            crop,
            uploadBytes: Number(submit.headers["content-length"]),
            sentMp: (sent.width * sent.height) / 1e6,
            seconds,
            changedOutside,
            deltaEWith: meanDeltaE(saved, original, inside),
            deltaEWithout: meanDeltaE(without.image.data, original, inside),
          });
          const r = rows.at(-1)!;
          console.log(
            `${photo} ${mask.name} crop ${crop}: ${(r.uploadBytes / 1e6).toFixed(2)} MB up, ${r.sentMp.toFixed(2)} MP sent, ${seconds.toFixed(1)} s, ${changedOutside} changed outside, ΔE ${r.deltaEWith.toFixed(2)} (without matching ${r.deltaEWithout.toFixed(2)})`,
          );
        }
      }
      await rm(file);
    }
  } finally {
    await emulator.close();
    await rm(work, { recursive: true, force: true });
  }
  await writeFile(path.join(root, "bench", "results-stitch.md"), report(rows, formatMachine(machine)));
  console.log("Wrote bench/results-stitch.md");
}

function report(rows: Row[], machine: string): string {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const pair = (photo: string, mask: string) => ({
    auto: rows.find((r) => r.photo === photo && r.mask === mask && r.crop === "auto")!,
    off: rows.find((r) => r.photo === photo && r.mask === mask && r.crop === "off")!,
  });
  const smallRatios = [...new Set(rows.map((r) => r.photo))].map((photo) => {
    const { auto, off } = pair(photo, MASKS[0].name);
    return auto.uploadBytes / off.uploadBytes;
  });
  const changed = rows.reduce((n, r) => n + r.changedOutside, 0);
  // The cast is what lies above the noise floor.
  const removed = rows.map((r) => (r.deltaEWithout - r.deltaEWith) / (r.deltaEWithout - r.deltaENoise));
  const goals = [
    `| A 2 % mask on a 24 MP photo uploads ≤ 1/8 of the whole photo's bytes | ${smallRatios.map((x) => `1/${(1 / x).toFixed(1)}`).join(", ")} | ${smallRatios.every((x) => x <= 1 / 8) ? "yes" : "no"} |`,
    `| 0 changed pixels outside mask + band (every run) | ${changed} | ${changed === 0 ? "yes" : "no"} |`,
    `| Colour matching removes ≥ 60 % of the emulator's cast (ΔE inside the mask above the noise floor) | ${(Math.min(...removed) * 100).toFixed(0)} % (worst), ${(mean(removed) * 100).toFixed(0)} % (mean) | ${removed.every((x) => x >= 0.6) ? "yes" : "no"} |`,
  ];
  const table = rows.map(
    (r) =>
      `| ${r.photo} | ${r.mask} | ${r.crop} | ${(r.uploadBytes / 1e6).toFixed(2)} | ${r.sentMp.toFixed(2)} | ${r.seconds.toFixed(1)} | ${r.changedOutside} | ${r.deltaEWithout.toFixed(2)} | ${r.deltaEWith.toFixed(2)} | ${r.deltaENoise.toFixed(2)} |`,
  );
  const speed = MASKS.map((m) => {
    const autos = rows.filter((r) => r.mask === m.name && r.crop === "auto");
    const offs = rows.filter((r) => r.mask === m.name && r.crop === "off");
    return `| ${m.name} | ${mean(autos.map((r) => r.uploadBytes / 1e6)).toFixed(2)} | ${mean(offs.map((r) => r.uploadBytes / 1e6)).toFixed(2)} | ${mean(autos.map((r) => r.seconds)).toFixed(1)} | ${mean(offs.map((r) => r.seconds)).toFixed(1)} | ${(mean(offs.map((r) => r.seconds)) / mean(autos.map((r) => r.seconds))).toFixed(2)}× |`;
  });
  return `# Crop and stitch (issue 24)

Written by \`npm run bench:stitch\` on ${new Date().toISOString().slice(0, 10)}. ${machine}

Method: each shared photo (\`../shared/data/photos\`) upscaled to 6000×4000 (24 MP) and saved as a PNG; a 2:1
rectangle of 2 %, 10 % or 40 % of the photo is filled by \`runFill\` (the tools' pipeline) with the bfl provider
against the emulator on 127.0.0.1 in its round-trip mode: the whole returned image carries one colour cast
(gain ${VAE_CAST.gain.join("/")}, offset ${VAE_CAST.offset.join("/")} per RGB channel) and Gaussian noise (σ ${VAE_CAST.noise}),
and the masked area is the photo redrawn (so all of its difference from the original is the cast). Each case
runs with \`crop: "auto"\` and \`crop: "off"\` (the whole photo as it is), both with \`keep_unmasked: true\`,
output PNG. Uploaded = the submit's body (base64 image and mask, JSON). Seconds = the call to the saved file
(the emulator's own work included). Changed outside = pixels outside the mask grown by the reply's band
that differ from the original. ΔE = mean CIE76 ΔE of the masked area (every 4th pixel) against the original,
put back with and without colour matching (the same upstream output); the noise floor is the ΔE of the
emulator's noise alone on the same pixels, which no colour matching removes: the share of the cast removed is
(ΔE without − ΔE with) ÷ (ΔE without − floor).

## Goals

| goal | figure | met |
|---|---|---|
${goals.join("\n")}

## Crop against the whole photo (means over the photos)

| mask | MB up, crop | MB up, whole | s, crop | s, whole | whole ÷ crop (time) |
|---|---|---|---|---|---|
${speed.join("\n")}

## Every run

| photo | mask | crop | MB up | MP sent | s to saved file | changed outside | ΔE without matching | ΔE with | ΔE noise floor |
|---|---|---|---|---|---|---|---|---|---|
${table.join("\n")}
`;
}

await main();
