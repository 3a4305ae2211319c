#!/usr/bin/env node
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Config, DEFAULTS, effectiveProvider, loadConfig, PROVIDER_NAMES, type ProviderName, SETTINGS } from "./config.js";
import { describeError } from "./errors.js";
import { createLogger } from "./log.js";
import type { PipelineJob } from "./pipeline/job.js";
import { runFill } from "./pipeline/run.js";
import { selectProvider } from "./providers/index.js";
import { FluxExpandToolInputSchema, FluxFillToolInputSchema } from "./schema/tool.js";
import { createRuntime, SERVER_VERSION } from "./server.js";
import { serveStdio } from "./transports/stdio.js";
import { describeSegmenter } from "./segmentation/index.js";

/** The settings' outcome that --help names: the segmenter object entries go through with this environment. */
function segmenterNow(): string {
  try {
    return `\nWith this environment, object entries are segmented by: ${describeSegmenter(loadConfig())}.\n`;
  } catch {
    return "";
  }
}

const MAIN_HELP = `flux-fill-mcp ${SERVER_VERSION} — inpainting with FLUX.1 Fill [pro] as an MCP server

Usage:
  flux-fill-mcp [serve [DIR...]] Run the MCP server over stdio (what MCP clients start); DIRs are readable.
  flux-fill-mcp --http [options] Run it over Streamable HTTP at /mcp (see flux-fill-mcp --http --help).
  flux-fill-mcp fill [options]   Inpaint one image from the shell and print the saved path.
  flux-fill-mcp expand [options] Expand (outpaint) one image from the shell and print the saved path.
  flux-fill-mcp models list|pull Model weights for the onnx object segmenter (flux-fill-mcp models --help).
  flux-fill-mcp <command> --help Help for a command.
  flux-fill-mcp --version

Settings (environment variables):
${SETTINGS.map((s) => `  ${s.name.padEnd(30)} ${s.meaning}`).join("\n")}
`;

const SERVE_HELP = `Usage: flux-fill-mcp [serve [DIR...]]

Runs the MCP server over stdio: JSON-RPC on stdin/stdout, logs on stderr. MCP clients start it this way;
see mcp.json for a ready entry. Settings come from the environment (flux-fill-mcp --help lists them).
Each DIR is one more folder files may be read from, besides FLUX_FILL_ALLOWED_DIRS (the MCP Bundle
passes the folders chosen at install this way).
`;

const FILL_HELP = `Usage: flux-fill-mcp fill --image PATH [--mask PATH | --mask-regions JSON | --mask-svg SVG] [--prompt TEXT] [options]

Runs the same pipeline as the flux_fill tool once and prints the saved file's path on stdout
(progress on stderr). Without a mask option, the image's transparent pixels are the area to inpaint.

Options:
  --image REF              Image: path, file:// or http(s):// URL, data: URI (required)
  --mask REF               Mask of the same size: white = inpaint, black = keep
  --mask-regions JSON      Shapes or selections, applied in order ("op":"subtract" removes), e.g.
                           '[{"shape":"rect","x":0.4,"y":0.3,"width":0.2,"height":0.2}]',
                           '[{"shape":"object","x":0.3,"y":0.2,"width":0.3,"height":0.6}]' (the thing in the box),
                           '[{"shape":"object","text":"the spoon"}]' (named; needs FLUX_FILL_SEGMENTER=fal),
                           '[{"shape":"wand","x":0.5,"y":0.05,"tolerance":32}]' (that colour, like a magic wand)
  --units px|fraction      Units of --mask-regions (default px)
  --mask-svg SVG           SVG markup: white = inpaint
  --alpha-convention NAME  transparent_is_inpaint (default) | opaque_is_inpaint | openai
  --invert-mask            Repaint everything except the marked area
  --grow-mask N            Expand the area by N pixels
  --feather-mask N         Soften the edge over about N pixels
  --fit-mask               Stretch a mask file of another size to the image
  --prompt TEXT            What the masked area should show (ignored by the local engine)
  --out PATH               Also copy the result to PATH (its .png/.jpg extension sets the format)
  --provider NAME          auto | bfl | local (default: FLUX_FILL_PROVIDER, else auto)
  --format jpeg|png        Output format (default jpeg)
  --seed N                 Integer seed
  --steps N                15..50 (default 50)
  --guidance X             1.5..100 (default 60)
  --safety-tolerance N     0..6 (default 2)
  --prompt-upsampling      Let the upstream rewrite the prompt
  -h, --help               This help
`;

const EXPAND_HELP = `Usage: flux-fill-mcp expand --image PATH [--top N --bottom N --left N --right N] [--aspect-ratio W:H [--anchor NAME]] [options]

Runs the same pipeline as the flux_expand tool once and prints the saved file's path on stdout
(progress on stderr). The photo's pixels are kept; new ones are added around it.

Options:
  --image REF              Image: path, file:// or http(s):// URL, data: URI (required)
  --aspect-ratio W:H       Shape to reach after the sides, e.g. 16:9, 1:1, 4:5: the width grows if
                           narrower, else the height
  --anchor NAME            Where the photo stays: center (default) | top | bottom | left | right |
                           top_left | top_right | bottom_left | bottom_right
  --top N, --bottom N, --left N, --right N
                           Pixels to add on that side (0..2048), added before --aspect-ratio
  --prompt TEXT            What the new areas should show (ignored by the local engine)
  --out PATH               Also copy the result to PATH (its .png/.jpg extension sets the format)
  --provider NAME          auto | bfl | local (default: FLUX_FILL_PROVIDER, else auto)
  --format jpeg|png        Output format (default jpeg)
  --seed N                 Integer seed
  --steps N                15..50 (default 50)
  --guidance X             1.5..100 (default 60)
  --safety-tolerance N     0..6 (default 2)
  --prompt-upsampling      Let the upstream rewrite the prompt
  -h, --help               This help
`;

function fail(message: string, code = 1): never {
  process.stderr.write(`flux-fill-mcp: ${message}\n`);
  process.exit(code);
}

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got "${value}"`, 2);
  return n;
}

function jsonOption(value: string | undefined, name: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    fail(
      `--${name} must be JSON, e.g. '[{"shape":"rect","x":10,"y":10,"width":50,"height":40}]'; got ${value.slice(0, 80)}`,
      2,
    );
  }
}

function formatFromExtension(file: string): "jpeg" | "png" | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".png") return "png";
  if (ext === ".jpg" || ext === ".jpeg") return "jpeg";
  return undefined;
}

/** The options both commands share with the upstream's common fields, in tool-argument form. */
function sharedOptions(values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const text = (name: string) => values[name] as string | undefined;
  const out = text("out");
  return {
    prompt: text("prompt"),
    output_format: text("format") ?? (out ? formatFromExtension(out) : undefined),
    seed: numberOption(text("seed"), "seed"),
    steps: numberOption(text("steps"), "steps"),
    guidance: numberOption(text("guidance"), "guidance"),
    safety_tolerance: numberOption(text("safety-tolerance"), "safety-tolerance"),
    prompt_upsampling: values["prompt-upsampling"] as boolean | undefined,
  };
}

const SHARED_OPTIONS = {
  prompt: { type: "string" },
  out: { type: "string" },
  provider: { type: "string" },
  format: { type: "string" },
  seed: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  "safety-tolerance": { type: "string" },
  "prompt-upsampling": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function providerOption(value: string | undefined, config: Config): "auto" | ProviderName {
  const provider = value ?? config.provider;
  const known = provider === "auto" ? "auto" : PROVIDER_NAMES.find((name) => name === provider);
  if (known === undefined) fail(`--provider must be auto, ${PROVIDER_NAMES.join(", ")}, got "${provider}"`, 2);
  return known;
}

async function fillCommand(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: "string" },
      mask: { type: "string" },
      "mask-regions": { type: "string" },
      units: { type: "string" },
      "mask-svg": { type: "string" },
      "alpha-convention": { type: "string" },
      "invert-mask": { type: "boolean" },
      "grow-mask": { type: "string" },
      "feather-mask": { type: "string" },
      "fit-mask": { type: "boolean" },
      ...SHARED_OPTIONS,
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(FILL_HELP);
    return;
  }
  if (!values.image) fail("fill needs --image (see flux-fill-mcp fill --help)", 2);
  const provider = providerOption(values.provider, config);
  const parsed = FluxFillToolInputSchema.safeParse({
    image: values.image,
    mask: values.mask,
    mask_regions: jsonOption(values["mask-regions"], "mask-regions"),
    units: values.units,
    mask_svg: values["mask-svg"],
    alpha_convention: values["alpha-convention"],
    invert_mask: values["invert-mask"],
    grow_mask: numberOption(values["grow-mask"], "grow-mask"),
    feather_mask: numberOption(values["feather-mask"], "feather-mask"),
    fit_mask: values["fit-mask"],
    ...sharedOptions(values),
  });
  if (!parsed.success) fail(parsed.error.issues.map((i) => i.message).join("\n"), 2);
  const { image, mask, mask_id: _maskId, ...params } = parsed.data;
  await runOnce({ image, mask, params }, config, provider, values.out);
}

async function expandCommand(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: "string" },
      "aspect-ratio": { type: "string" },
      anchor: { type: "string" },
      top: { type: "string" },
      bottom: { type: "string" },
      left: { type: "string" },
      right: { type: "string" },
      ...SHARED_OPTIONS,
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(EXPAND_HELP);
    return;
  }
  if (!values.image) fail("expand needs --image (see flux-fill-mcp expand --help)", 2);
  const provider = providerOption(values.provider, config);
  const parsed = FluxExpandToolInputSchema.safeParse({
    image: values.image,
    aspect_ratio: values["aspect-ratio"],
    anchor: values.anchor,
    top: numberOption(values.top, "top"),
    bottom: numberOption(values.bottom, "bottom"),
    left: numberOption(values.left, "left"),
    right: numberOption(values.right, "right"),
    ...sharedOptions(values),
  });
  if (!parsed.success) fail(parsed.error.issues.map((i) => i.message).join("\n"), 2);
  const { image, aspect_ratio, anchor, dry_run: _dryRun, ...params } = parsed.data;
  await runOnce({ kind: "expand", image, params, aspectRatio: aspect_ratio, anchor }, config, provider, values.out);
}

/** Runs one job with progress on stderr, copies the result to `out` when given, prints the saved path. */
async function runOnce(
  job: PipelineJob,
  config: Config,
  provider: "auto" | ProviderName,
  out: string | undefined,
): Promise<void> {
  const chosen = effectiveProvider({ ...config, provider });
  const logger = createLogger("warn");
  const interactive = process.stderr.isTTY === true;
  const outcome = await runFill(
    job,
    { config, provider: selectProvider(config, chosen), logger },
    {
      onProgress: (p) => {
        const line = `[${(p.elapsedMs / 1000).toFixed(1)} s] ${chosen}: ${p.message}`;
        process.stderr.write(interactive ? `\r\x1b[K${line}` : `${line}\n`);
      },
    },
  );
  if (interactive) process.stderr.write("\n");
  for (const note of outcome.meta.notes) process.stderr.write(`note: ${note}\n`);
  let finalPath = outcome.path;
  if (out) {
    finalPath = path.resolve(out);
    await mkdir(path.dirname(finalPath), { recursive: true });
    await copyFile(outcome.path, finalPath);
  }
  process.stdout.write(`${finalPath}\n`);
}

const HTTP_HELP = `Usage: flux-fill-mcp --http [--host H] [--port P] [--stateless] [--insecure-no-auth]

Serves MCP over Streamable HTTP at http://H:P/mcp, with /healthz (liveness) and /readyz (readiness)
beside it. Stateful sessions by default; SIGINT/SIGTERM stop accepting requests and wait up to 30 s for
running fills to be saved.

Options:
  --host H             Address to bind (default FLUX_FILL_HTTP_HOST, else ${DEFAULTS.httpHost})
  --port P             Port (default FLUX_FILL_HTTP_PORT, else ${DEFAULTS.httpPort}; 0 picks a free one)
  --stateless          No sessions: every request stands alone (for several instances behind a load balancer)
  --insecure-no-auth   Allow a non-loopback --host without FLUX_FILL_HTTP_TOKEN (only behind another auth layer)
  -h, --help           This help

Security: with FLUX_FILL_HTTP_TOKEN set, every /mcp request needs "Authorization: Bearer <token>".
Binding anything but loopback without a token is refused. Host and Origin headers are checked (extra
ones: FLUX_FILL_HTTP_ALLOWED_HOSTS, FLUX_FILL_HTTP_ALLOWED_ORIGINS).
`;

async function httpCommand(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      http: { type: "boolean" },
      host: { type: "string" },
      port: { type: "string" },
      stateless: { type: "boolean" },
      "insecure-no-auth": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HTTP_HELP);
    return;
  }
  let port = config.http.port;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      fail(`--port must be an integer from 0 to 65535, got "${values.port}"`, 2);
  }
  const host = values.host?.trim() || config.http.host;
  const logger = createLogger();
  logger.info(
    `provider ${effectiveProvider(config)}, output ${config.outputDir}, allowed dirs ${config.allowedDirs.join(path.delimiter)}`,
  );
  // Loaded only here, so the stdio server does not pay for express at start-up.
  const { serveHttp } = await import("./transports/http/index.js");
  await serveHttp(
    { ...config, http: { ...config.http, host, port } },
    { logger, stateless: values.stateless === true, insecureNoAuth: values["insecure-no-auth"] === true },
  );
  process.exit(0);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${MAIN_HELP}${segmenterNow()}`);
    return;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return;
  }
  if (command === "fill") return fillCommand(rest, loadConfig());
  if (command === "expand") return expandCommand(rest, loadConfig());
  if (command === "models") {
    const { modelsCommand } = await import("./models-command.js");
    const io = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t), interactive: process.stderr.isTTY === true };
    process.exitCode = await modelsCommand(rest, loadConfig(), io);
    return;
  }
  if (command === "--http" || ((command === undefined || command === "serve") && rest.includes("--http"))) {
    return httpCommand(command === "--http" ? [command, ...rest] : rest, loadConfig());
  }
  if (command === undefined || command === "serve") {
    let parsed: { values: { help?: boolean }; positionals: string[] };
    try {
      parsed = parseArgs({ args: rest, options: { help: { type: "boolean", short: "h" } }, allowPositionals: true });
    } catch (error) {
      fail(`${(error as Error).message} (flux-fill-mcp serve --help)`, 2);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(SERVE_HELP);
      return;
    }
    const config = loadConfig(process.env, process.cwd(), { allowedDirs: positionals });
    const logger = createLogger();
    const runtime = createRuntime(config, { logger });
    logger.info(
      `provider ${effectiveProvider(config)}, segmenter ${describeSegmenter(config)}, output ${config.outputDir}, allowed dirs ${config.allowedDirs.join(path.delimiter)}`,
    );
    process.stdout.on("error", () => process.exit(0)); // the client went away
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        logger.info(`${signal}: waiting up to 30 s for running fills to be saved`);
        const force = setTimeout(() => {
          runtime.abort();
          process.exit(1);
        }, 30_000);
        force.unref();
        void runtime.idle().then(() => process.exit(0));
      });
    }
    await serveStdio(runtime, config, logger);
    return;
  }
  fail(`unknown command "${command}". Run flux-fill-mcp --help.`, 2);
}

main().catch((error: unknown) => {
  fail(describeError(error).text);
});
