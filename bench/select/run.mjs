// `npm run bench:select`: bundles bench/select/harness.ts (with the bench's TypeScript helpers) into
// .bench-out/select/ so Node 20 can run it, then runs it against dist/ (build first; the npm script does).
// Flags: --quick (every fourth case, for a fast look), --real (the real photos only; prints, writes no results file),
// --keep (keep the composites and masks to look at). BENCH_PHOTOS_DIR, BENCH_LOCAL_PHOTOS_DIR (photos not
// stored in the repository, see bench/select/photos/SOURCES.md) and BENCH_DIST override the inputs.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const outfile = path.join(root, ".bench-out/select/harness.js");
await build({
  entryPoints: [path.join(root, "bench/select/harness.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});
const { main } = await import(pathToFileURL(outfile).href);
await main({
  root,
  distDir: path.resolve(root, process.env.BENCH_DIST ?? "dist"),
  photosDir: path.resolve(root, process.env.BENCH_PHOTOS_DIR ?? "../shared/data/photos"),
  quick: process.argv.includes("--quick"),
  realOnly: process.argv.includes("--real"),
  localPhotosDir: path.resolve(root, process.env.BENCH_LOCAL_PHOTOS_DIR ?? "bench/select/photos/local"),
  keep: process.argv.includes("--keep"),
});
