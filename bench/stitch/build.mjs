// `npm run bench:stitch`: bundles bench/stitch/run.ts (with the server's sources and the bfl emulator) into
// .bench-out/stitch.js (gitignored) and runs it; packages stay external, as in bench/build.mjs.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "..", "..", ".bench-out", "stitch.js");
await build({
  entryPoints: [path.join(here, "run.ts")],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
const run = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(run.status ?? 1);
