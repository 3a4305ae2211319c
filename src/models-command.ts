import { parseArgs } from "node:util";
import type { Config } from "./config.js";
import { FluxFillError } from "./errors.js";
import { loadOnnxRuntime, type OrtModule, RUNTIME_FIX, RUNTIME_PACKAGE } from "./segmentation/onnx/runtime.js";
import { MODELS, type ModelSpec } from "./models/catalogue.js";
import { downloadBase, inspectModel, type ModelState, modelFolder, pullModel } from "./models/store.js";

/**
 * `flux-fill-mcp models list|pull NAME`: the onnx segmenter's weights in FLUX_FILL_MODELS_DIR. Output for
 * people: progress on stderr, results on stdout.
 */

export const MODELS_HELP = `Usage: flux-fill-mcp models list
       flux-fill-mcp models pull NAME [--force]

Model weights for the onnx object segmenter (FLUX_FILL_SEGMENTER=onnx, or auto when they are present),
kept in FLUX_FILL_MODELS_DIR. With both pulled, the onnx segmenter uses the first one listed below.

Commands:
  list         What is there: each known model, its state, size on disk, licence, and whether its files
               match their SHA-256 (measured now)
  pull NAME    Download NAME from its public home (or FLUX_FILL_MODELS_BASE_URL), check its SHA-256,
               unpack it; an interrupted download is resumed by running the command again; a model
               already there (files matching their SHA-256) is not downloaded again unless --force

Models: ${MODELS.map((m) => `${m.name} (${m.title}, ${m.licence})`).join("; ")}
ONNX Runtime is needed to run them: npm install -g flux-fill-mcp onnxruntime-node --onnxruntime-node-install=skip
`;

export interface ModelsIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** stderr is a terminal (progress on one line). */
  interactive: boolean;
  /** Tests: another way to load ONNX Runtime (default: the installed onnxruntime-node). */
  loadRuntime?: () => Promise<OrtModule>;
  /** Tests: specs pinned to their own archives (default: the catalogue). */
  models?: ReadonlyArray<ModelSpec>;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

function describeState(state: ModelState): string {
  const { spec } = state;
  const status =
    state.status === "ready"
      ? `ready, ${mb(state.bytes)}, download matched the pinned SHA-256; files match theirs`
      : state.status === "missing"
        ? `not pulled (a ${spec.downloadMB} MB download${state.partialBytes > 0 ? `, ${mb(state.partialBytes)} of it here; pull resumes` : ""})`
        : `corrupt: ${state.problem}`;
  return `${spec.name.padEnd(14)} ${status}\n${" ".repeat(15)}${spec.title}; licence ${spec.licence} (${spec.licenceUrl})`;
}

/** One line on the runtime the models need: its version, or the install line. */
async function runtimeLine(loadRuntime: () => Promise<OrtModule>): Promise<string> {
  try {
    const ort = await loadRuntime();
    return `ONNX Runtime: ${RUNTIME_PACKAGE} ${ort.env.versions.node ?? ort.env.versions.common}`;
  } catch (error) {
    return `ONNX Runtime: ${error instanceof FluxFillError ? error.message : String(error)} ${RUNTIME_FIX}`;
  }
}

async function list(config: Config, io: ModelsIo): Promise<number> {
  io.out(`Models folder: ${config.models.dir}\n`);
  io.out(`${await runtimeLine(io.loadRuntime ?? (() => loadOnnxRuntime()))}\n`);
  let bad = 0;
  for (const spec of io.models ?? MODELS) {
    const state = await inspectModel(spec, config.models.dir, { hash: true });
    if (state.status === "corrupt") bad++;
    io.out(`${describeState(state)}\n`);
  }
  return bad > 0 ? 1 : 0;
}

async function pull(name: string | undefined, force: boolean, config: Config, io: ModelsIo): Promise<number> {
  const models = io.models ?? MODELS;
  const spec = name === undefined ? undefined : models.find((m) => m.name === name);
  if (!spec) {
    throw new FluxFillError("bad_input", `models pull needs a model name${name ? `; "${name}" is not one` : ""}.`, {
      suggestion: `Known: ${models.map((m) => m.name).join(", ")} (e.g. flux-fill-mcp models pull ${models[0]!.name}).`,
    });
  }
  if (!force && (await inspectModel(spec, config.models.dir, { hash: true })).status === "ready") {
    io.err(`${spec.name} is already there and its files match their SHA-256 (--force downloads it again).\n`);
    io.out(`${modelFolder(config.models.dir, spec)}\n`);
    return 0;
  }
  io.err(`Pulling ${spec.name} from ${downloadBase(spec, config.models)} into ${modelFolder(config.models.dir, spec)}\n`);
  let lastShown = 0;
  const { manifest, resumedFrom } = await pullModel(spec, config.models, {
    force,
    onProgress: (received, total) => {
      if (received < lastShown) lastShown = 0; // the next file
      if (received - lastShown < 8 * MB && received !== total) return;
      lastShown = received;
      const line = `${mb(received)}${total ? ` of ${mb(total)}` : ""}`;
      io.err(io.interactive ? `\r\x1b[K${line}` : `${line}\n`);
    },
  });
  if (io.interactive) io.err("\n");
  if (resumedFrom > 0) io.err(`Resumed an earlier download at ${mb(resumedFrom)}.\n`);
  io.err(
    manifest.source.sha256
      ? `Verified: SHA-256 ${manifest.source.sha256} matches the pinned value.\n`
      : `Verified: ${[manifest.files.encoder, manifest.files.decoder].map((f) => f.file).join(" and ")} match their pinned SHA-256.\n`,
  );
  io.out(`${modelFolder(config.models.dir, spec)}\n`);
  return 0;
}

export async function modelsCommand(argv: string[], config: Config, io: ModelsIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { help: { type: "boolean", short: "h" }, force: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  const [sub, name, ...extra] = positionals;
  if (values.help || sub === undefined || sub === "help") {
    io.out(MODELS_HELP);
    return sub === undefined && !values.help ? 2 : 0;
  }
  if (extra.length > 0) throw new FluxFillError("bad_input", `Unexpected arguments: ${extra.join(" ")}`, { suggestion: "See flux-fill-mcp models --help." });
  if (sub === "list") return list(config, io);
  if (sub === "pull") return pull(name, values.force === true, config, io);
  throw new FluxFillError("bad_input", `Unknown models command "${sub}".`, { suggestion: "Use list or pull (flux-fill-mcp models --help)." });
}
