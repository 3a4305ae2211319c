// Bundles the TypeScript harness (bench/*.ts, with test/helpers/emulator.ts) into .bench-out/ (gitignored) so Node 20
// can run it; packages stay external and load from node_modules, like dist/ does.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [path.join(here, "run.ts"), path.join(here, "minimal-server.ts")],
  outdir: path.join(here, "..", ".bench-out"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});
