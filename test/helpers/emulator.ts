/**
 * A faithful fake of the Black Forest Labs FLUX.1 Fill [pro] and Expand [pro] API, over real HTTP on 127.0.0.1.
 *
 * Three servers on three ephemeral ports, like the real deployment (submit host, regional polling host,
 * signed-URL delivery host):
 * - api:      `POST /v1/flux-pro-1.0-fill` and `POST /v1/flux-pro-1.0-expand` (also
 *             `GET /v1/get_result?id=`, the older polling form).
 *             Checks `x-key` (401 missing, 403 wrong), validates the body like FastAPI/pydantic (422 with
 *             `{detail:[{loc,msg,type}]}`, all problems at once, extra fields ignored), then answers
 *             `{id, polling_url, cost, input_mp, output_mp}` with a polling_url on the *polling* port.
 * - polling:  `GET /v1/get_result?id=` checks `x-key`; `Pending` (with `progress`) until the task's
 *             generation time has elapsed, then its terminal outcome. Unknown id → `Task not found`.
 *             `progressMode` shapes `progress`: "linear" (elapsed ÷ generation time, capped at 0.99; the
 *             default, and what `reportProgress: true` means), "steps" (realistic: `null` while queued,
 *             then `progressSteps` uneven steps rounded to 2 decimals, then 1 while finishing), "none"
 *             (always `null`; `reportProgress: false`). Steps are drawn per task from `progressSeed`
 *             and the task index, so runs repeat exactly; `makeProgressProfile`/`progressAt` are the
 *             same functions as pure exports, for simulations without HTTP.
 *             `GET /v1/credits` answers `{credits}` while `credits` is set (each task created takes its
 *             `cost` from it), 404 otherwise (an upstream without the endpoint).
 * - delivery: `GET /samples/<token>.<ext>` serves the result. Any request carrying `x-key` gets 403 (the
 *             real delivery host must never see the key); after `deliveryExpiryMs` past Ready it answers
 *             403 like an expired signed URL.
 *
 * The result of a fill is the submitted image with its inpaint area (mask white, or image alpha
 * transparent when there is no mask) painted in `fillColour(prompt, seed)`, same size; the result of an
 * expansion is the submitted image with `top`/`bottom`/`left`/`right` pixels (0..2048 each, default 0)
 * added around it in that colour. Both are encoded as `output_format` (default jpeg) — so tests can check
 * that the mask or the sides were honoured. `roundTrip` adds what the real model does to the whole image (one
 * colour cast and noise, as a VAE round trip); `resultBytes` serves given bytes instead (a giant result).
 *
 * Usage:
 *   const emu = await startEmulator({ apiKey: "k", generationMs: 50 });
 *   provider = createBflProvider({ apiKey: "k", baseUrl: emu.apiBaseUrl, ... });
 *   emu.configure({ rateLimitNextSubmits: 2, retryAfter: "1" });   // between or inside tests
 *   emu.submits, emu.tasks, emu.requestsTo("delivery"), emu.maxActiveSeen ... // assertions
 *   emu.task(id).pollLog   // every poll of a task: {at, status, progress} — when it arrived, what it
 *                          // answered; with task.readyAt and task.createdAt this gives poll lag
 *                          // (first status "Ready" − readyAt) and poll rates (gaps between `at`s)
 *   emu.reset();                                                      // in beforeEach
 *   await emu.close();                                                // in afterAll
 *
 * Task state is computed from the clock (created + generationMs), so no timers are left running.
 */
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";

export type EmulatorOutcome =
  | "Ready"
  | "Request Moderated"
  | "Content Moderated"
  | "Error"
  | "Failed"
  | "Task not found"
  /** Pending forever. */
  | "never"
  /** Any other status string is reported verbatim (e.g. "Exploded"). */
  | (string & {});

/** What a per-task behaviour function is told about the task. */
export interface TaskInfo {
  id: string;
  /** 0 for the first task created since start/reset. */
  index: number;
  body: Record<string, unknown>;
}

export type ProgressMode = "linear" | "steps" | "none";

export interface EmulatorBehaviour {
  apiKey: string;
  /** Time from submit to the terminal status. */
  generationMs: number | ((task: TaskInfo) => number);
  outcome: EmulatorOutcome | ((task: TaskInfo) => EmulatorOutcome);
  /** Credits reported by the submit response; `undefined` leaves `cost` out of it. */
  cost: number | undefined;
  /** Account balance served by `GET /v1/credits`; undefined = the endpoint answers 404. */
  credits: number | undefined;
  /** Report `progress` (0..1) while Pending; null otherwise. Shorthand for progressMode linear/none. */
  reportProgress: boolean;
  /** How `progress` evolves; overrides `reportProgress` when set. */
  progressMode: ProgressMode | undefined;
  /** "steps": number of steps of the generation (progress rises by 1/progressSteps, unevenly). */
  progressSteps: number;
  /** "steps": each step lasts its share × U(1 − jitter, 1 + jitter). */
  progressJitter: number;
  /** "steps": longest share of the task spent queued (progress null); each task draws U(0.3, 1) of it. */
  progressHeadFraction: number;
  /** "steps": longest share spent finishing after the last step (progress 1); drawn like the head. */
  progressTailFraction: number;
  /** Seed of the per-task step draws. */
  progressSeed: number;
  /** When false the submit answers like a webhook submit: `{id, status, webhook_url?}` without polling_url. */
  includePollingUrl: boolean;
  /** Every submit (after validation) answers 402. */
  outOfCredits: boolean;
  /** The next N valid submits answer 429. */
  rateLimitNextSubmits: number;
  /** `Retry-After` value sent with those 429s and with failed polls; none when undefined. */
  retryAfter: string | undefined;
  /** The next N submits answer `submitFailureStatus` without creating a task. */
  failNextSubmits: number;
  submitFailureStatus: number;
  /** The next N valid submits create a task, then the connection is destroyed (outcome unknown to the client). */
  dropNextSubmits: number;
  /** The next N polls answer `pollFailureStatus`. */
  failNextPolls: number;
  pollFailureStatus: number;
  /** The next N polls have their connection destroyed. */
  dropNextPolls: number;
  /** Submits beyond this many active tasks answer 429 (upstream: 24 per key). */
  maxActiveTasks: number;
  /** How long a sample URL works after the task became Ready (upstream: 10 minutes). */
  deliveryExpiryMs: number;
  /**
   * Like the real model's round trip: the whole returned image carries one colour cast and some noise (as a
   * VAE round trip does), the inpaint area new content. Undefined: the plain painted result.
   */
  roundTrip: RoundTrip | undefined;
  /** Serves these bytes as the task's result instead of generating one (a broken or giant result). */
  resultBytes: ((task: TaskInfo) => Buffer) | undefined;
}

/** The round-trip mode's cast and noise, and what the inpaint area holds. */
export interface RoundTrip {
  /** Per channel (R, G, B): v' = v·gain + offset, before noise. */
  gain: [number, number, number];
  offset: [number, number, number];
  /** Standard deviation of the Gaussian noise added to every channel (seeded by the task's seed). */
  noise: number;
  /**
   * What the inpaint area shows before the cast: "paint" = fillColour(prompt, seed) (new content, a
   * deliberately new colour); "source" = the submitted pixels (the model redrew what was there).
   */
  content: "paint" | "source";
}

/** A cast like a VAE round trip's: slightly warm, a little contrast lost, noise σ 1.5. */
export const VAE_CAST: RoundTrip = { gain: [0.96, 0.97, 0.94], offset: [9, 4, -2], noise: 1.5, content: "paint" };

export type EmulatorOptions = Partial<EmulatorBehaviour>;

export const DEFAULT_BEHAVIOUR: Readonly<EmulatorBehaviour> = {
  apiKey: "test-bfl-key",
  generationMs: 100,
  outcome: "Ready",
  cost: 5,
  credits: undefined,
  reportProgress: true,
  progressMode: undefined,
  progressSteps: 10,
  progressJitter: 0.3,
  progressHeadFraction: 0.15,
  progressTailFraction: 0.05,
  progressSeed: 1,
  includePollingUrl: true,
  outOfCredits: false,
  rateLimitNextSubmits: 0,
  retryAfter: undefined,
  failNextSubmits: 0,
  submitFailureStatus: 500,
  dropNextSubmits: 0,
  failNextPolls: 0,
  pollFailureStatus: 503,
  dropNextPolls: 0,
  maxActiveTasks: 24,
  deliveryExpiryMs: 10 * 60 * 1000,
  roundTrip: undefined,
  resultBytes: undefined,
};

export type PortName = "api" | "polling" | "delivery";

export interface RequestRecord {
  port: PortName;
  method: string;
  /** Path and query. */
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** Response status; undefined when the connection was dropped. */
  status: number | undefined;
}

/** The two task endpoints. */
export type Endpoint = "fill" | "expand";

export interface SubmitRecord {
  /** Which endpoint was posted to. */
  endpoint: Endpoint;
  at: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
  /** Decoded `image` / `mask` bytes when they were valid base64. */
  image: Buffer | undefined;
  mask: Buffer | undefined;
  /** Response status; undefined when the connection was dropped. */
  status: number | undefined;
  /** The client went away before its body was complete: like any HTTP server, nothing is made of it. */
  bodyIncomplete: boolean;
  /** Set when the submit created a task (also for dropped connections). */
  taskId: string | undefined;
}

/** One poll of a task, as the emulator saw and answered it. */
export interface PollLogEntry {
  /** Arrival time (ms since the epoch). */
  at: number;
  /** The status answered ("Pending", "Ready", ...). */
  status: string;
  /** The progress answered (null when none). */
  progress: number | null;
}

export interface TaskRecord {
  id: string;
  endpoint: Endpoint;
  index: number;
  body: Record<string, unknown>;
  seed: number;
  outputFormat: "jpeg" | "png";
  createdAt: number;
  generationMs: number;
  outcome: EmulatorOutcome;
  /** When the terminal status is (or will be) reported; undefined for "never". */
  terminalAt: number | undefined;
  /** When the task became (or will become) Ready; undefined unless the outcome is Ready. */
  readyAt: number | undefined;
  sampleUrl: string;
  polls: number;
  pollTimes: number[];
  /** Every poll of this task with what it answered, in arrival order. */
  pollLog: PollLogEntry[];
  /** How this task reports progress while Pending. */
  progressProfile: ProgressProfile;
  deliveries: number;
  deliveryTimes: number[];
  /** The generated result (bytes are produced at submit time). */
  result: Promise<Buffer>;
}

export interface Emulator {
  /** Base URL of the submit host, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly apiBaseUrl: string;
  readonly pollingBaseUrl: string;
  readonly deliveryBaseUrl: string;
  readonly behaviour: Readonly<EmulatorBehaviour>;
  /** Change behaviour from now on (counters like rateLimitNextSubmits are consumed as they fire). */
  configure(changes: EmulatorOptions): void;
  /** Forget all tasks and records; restore the start options, then apply `changes`. */
  reset(changes?: EmulatorOptions): void;
  /** Every request seen, in arrival order. */
  readonly requests: readonly RequestRecord[];
  requestsTo(port: PortName): RequestRecord[];
  /** Every submit to either endpoint, including rejected ones. */
  readonly submits: readonly SubmitRecord[];
  readonly submitCount: number;
  readonly tasks: ReadonlyMap<string, TaskRecord>;
  task(id: string): TaskRecord;
  /** Tasks submitted and not yet terminal, at `at` (default now). */
  activeTaskCount(at?: number): number;
  /** Highest number of simultaneously active tasks since start/reset. */
  readonly maxActiveSeen: number;
  /** Errors thrown inside the emulator's handlers (a non-empty list means an emulator bug). */
  readonly internalErrors: readonly unknown[];
  close(): Promise<void>;
}

/** The colour the emulator paints into the inpaint area: a function of prompt and seed only. */
export function fillColour(prompt: string, seed: number): [number, number, number] {
  const digest = createHash("sha256").update(`${prompt}\u0000${seed}`).digest();
  return [digest[0]!, digest[1]!, digest[2]!];
}

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** How one task's `progress` evolves over its life. */
export interface ProgressProfile {
  mode: ProgressMode;
  /** Creation to terminal status. */
  durationMs: number;
  /** "steps": progress is null before this (queued). */
  startMs: number;
  /** "steps": when each step ends (ms since creation), ascending; after the last, progress is 1. */
  stepEndsMs: number[];
}

export interface ProgressShape {
  steps: number;
  jitter: number;
  headFraction: number;
  tailFraction: number;
}

/** Draws one task's progress profile (`random` is only used in "steps" mode). */
export function makeProgressProfile(
  mode: ProgressMode,
  durationMs: number,
  shape: ProgressShape,
  random: () => number,
): ProgressProfile {
  if (mode !== "steps") return { mode, durationMs, startMs: 0, stepEndsMs: [] };
  const head = durationMs * shape.headFraction * (0.3 + 0.7 * random());
  const tail = durationMs * shape.tailFraction * (0.3 + 0.7 * random());
  const steps = Math.max(1, Math.floor(shape.steps));
  const weights = Array.from({ length: steps }, () => 1 - shape.jitter + 2 * shape.jitter * random());
  const total = weights.reduce((a, b) => a + b, 0);
  const span = Math.max(0, durationMs - head - tail);
  const stepEndsMs: number[] = [];
  let at = head;
  for (const w of weights) {
    at += (span * w) / total;
    stepEndsMs.push(at);
  }
  return { mode, durationMs, startMs: head, stepEndsMs };
}

/** The `progress` a Pending answer carries `elapsedMs` after creation. */
export function progressAt(profile: ProgressProfile, elapsedMs: number): number | null {
  if (profile.mode === "none") return null;
  if (profile.mode === "linear") return Math.min(0.99, Math.max(0, elapsedMs / Math.max(1, profile.durationMs)));
  if (elapsedMs < profile.startMs) return null;
  const done = profile.stepEndsMs.filter((end) => end <= elapsedMs).length;
  return Math.round((done / profile.stepEndsMs.length) * 100) / 100;
}

/** The progress mode a behaviour asks for. */
export function progressModeOf(behaviour: Pick<EmulatorBehaviour, "progressMode" | "reportProgress">): ProgressMode {
  return behaviour.progressMode ?? (behaviour.reportProgress ? "linear" : "none");
}

const SUBMIT_PATHS: Record<string, Endpoint> = {
  "/v1/flux-pro-1.0-fill": "fill",
  "/v1/flux-pro-1.0-expand": "expand",
};
const EXPAND_SIDES = ["top", "bottom", "left", "right"] as const;
type Sides = Record<(typeof EXPAND_SIDES)[number], number>;
const POLL_PATH = "/v1/get_result";
const CREDITS_PATH = "/v1/credits";
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const TERMINAL_DETAILS: Record<string, unknown> = {
  "Request Moderated": { "Moderation Reasons": ["Derivative Works Filter"] },
  "Content Moderated": { "Moderation Reasons": ["NSFW"] },
  Error: { error: "Internal generation error (emulated)" },
  Failed: { error: "Generation failed (emulated)" },
};

interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
  input?: unknown;
}

interface ValidBody {
  image: Buffer;
  mask: Buffer | undefined;
  /** An expansion's sides (undefined for a fill). */
  sides: Sides | undefined;
  width: number;
  height: number;
  prompt: string;
  seed: number | undefined;
  outputFormat: "jpeg" | "png";
}

function isBase64(text: string): boolean {
  const compact = text.replace(/\s+/g, "");
  return compact.length > 0 && compact.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact);
}

async function decodeImageField(
  value: unknown,
  field: "image" | "mask",
  issues: ValidationIssue[],
): Promise<{ bytes: Buffer; width: number; height: number } | undefined> {
  if (typeof value !== "string") {
    issues.push({ loc: ["body", field], msg: "Input should be a valid string", type: "string_type" });
    return undefined;
  }
  if (!isBase64(value)) {
    issues.push({
      loc: ["body", field],
      msg: `Value error, Invalid base64 encoding for ${field}`,
      type: "value_error",
    });
    return undefined;
  }
  const bytes = Buffer.from(value, "base64");
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error("no size");
    return { bytes, width: meta.width, height: meta.height };
  } catch {
    issues.push({
      loc: ["body", field],
      msg: `Value error, Could not decode ${field} as an image`,
      type: "value_error",
    });
    return undefined;
  }
}

/** pydantic's lax integer: ints, integral floats and integer strings. */
function laxInt(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

function laxNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function checkRange(
  field: string,
  value: number,
  min: number,
  max: number,
  input: unknown,
  issues: ValidationIssue[],
): void {
  if (value < min) {
    issues.push({
      loc: ["body", field],
      msg: `Input should be greater than or equal to ${min}`,
      type: "greater_than_equal",
      input,
    });
  } else if (value > max) {
    issues.push({
      loc: ["body", field],
      msg: `Input should be less than or equal to ${max}`,
      type: "less_than_equal",
      input,
    });
  }
}

/**
 * Validates a submit body the way the upstream's pydantic model of that endpoint does (FluxProFillInputs
 * or FluxProExpandInputs: extra fields ignored, so a `mask` sent to expand is not an error); collects
 * every problem.
 */
async function validateSubmitBody(
  body: unknown,
  endpoint: Endpoint,
): Promise<{ issues: ValidationIssue[]; valid?: ValidBody; image?: Buffer; mask?: Buffer }> {
  const issues: ValidationIssue[] = [];
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    issues.push({
      loc: ["body"],
      msg: "Input should be a valid dictionary or object to extract fields from",
      type: "model_attributes_type",
    });
    return { issues };
  }
  const b = body as Record<string, unknown>;
  let image: Awaited<ReturnType<typeof decodeImageField>>;
  if (b.image === undefined) {
    issues.push({ loc: ["body", "image"], msg: "Field required", type: "missing" });
  } else {
    image = await decodeImageField(b.image, "image", issues);
  }
  let mask: Awaited<ReturnType<typeof decodeImageField>>;
  if (endpoint === "fill" && b.mask !== undefined && b.mask !== null) {
    mask = await decodeImageField(b.mask, "mask", issues);
    if (image && mask && (mask.width !== image.width || mask.height !== image.height)) {
      issues.push({
        loc: ["body", "mask"],
        msg: `Value error, Mask dimensions (${mask.width}x${mask.height}) must match image dimensions (${image.width}x${image.height})`,
        type: "value_error",
      });
    }
  }
  if (b.prompt !== undefined && b.prompt !== null && typeof b.prompt !== "string") {
    issues.push({
      loc: ["body", "prompt"],
      msg: "Input should be a valid string",
      type: "string_type",
      input: b.prompt,
    });
  }
  const intField = (field: string, min: number, max: number, nullable: boolean) => {
    const raw = b[field];
    if (raw === undefined || (nullable && raw === null)) return;
    const n = laxInt(raw);
    if (n === undefined) {
      issues.push({ loc: ["body", field], msg: "Input should be a valid integer", type: "int_type", input: raw });
      return;
    }
    checkRange(field, n, min, max, raw, issues);
  };
  if (endpoint === "expand") for (const side of EXPAND_SIDES) intField(side, 0, 2048, true);
  intField("steps", 15, 50, true);
  intField("safety_tolerance", 0, 6, false);
  intField("seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  if (b.guidance !== undefined && b.guidance !== null) {
    const g = laxNumber(b.guidance);
    if (g === undefined) {
      issues.push({
        loc: ["body", "guidance"],
        msg: "Input should be a valid number",
        type: "float_type",
        input: b.guidance,
      });
    } else {
      checkRange("guidance", g, 1.5, 100, b.guidance, issues);
    }
  }
  if (b.prompt_upsampling !== undefined && b.prompt_upsampling !== null && typeof b.prompt_upsampling !== "boolean") {
    issues.push({
      loc: ["body", "prompt_upsampling"],
      msg: "Input should be a valid boolean",
      type: "bool_type",
      input: b.prompt_upsampling,
    });
  }
  if (
    b.output_format !== undefined &&
    b.output_format !== null &&
    b.output_format !== "jpeg" &&
    b.output_format !== "png"
  ) {
    issues.push({
      loc: ["body", "output_format"],
      msg: "Input should be 'jpeg' or 'png'",
      type: "enum",
      input: b.output_format,
    });
  }
  if (b.webhook_url !== undefined && b.webhook_url !== null) {
    const url = b.webhook_url;
    if (typeof url !== "string") {
      issues.push({
        loc: ["body", "webhook_url"],
        msg: "URL input should be a string or URL",
        type: "url_type",
        input: url,
      });
    } else if (url.length < 1) {
      issues.push({
        loc: ["body", "webhook_url"],
        msg: "String should have at least 1 character",
        type: "string_too_short",
        input: url,
      });
    } else if (url.length > 2083) {
      issues.push({
        loc: ["body", "webhook_url"],
        msg: "String should have at most 2083 characters",
        type: "string_too_long",
        input: url,
      });
    } else {
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        issues.push({
          loc: ["body", "webhook_url"],
          msg: "Input should be a valid URL, relative URL without a base",
          type: "url_parsing",
          input: url,
        });
      }
      if (parsed && parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        issues.push({
          loc: ["body", "webhook_url"],
          msg: "URL scheme should be 'http' or 'https'",
          type: "url_scheme",
          input: url,
        });
      }
    }
  }
  if (b.webhook_secret !== undefined && b.webhook_secret !== null && typeof b.webhook_secret !== "string") {
    issues.push({ loc: ["body", "webhook_secret"], msg: "Input should be a valid string", type: "string_type" });
  }
  const decoded = { image: image?.bytes, mask: mask?.bytes };
  if (issues.length > 0 || !image) return { issues, ...decoded };
  return {
    issues,
    ...decoded,
    valid: {
      image: image.bytes,
      mask: mask?.bytes,
      sides:
        endpoint === "expand"
          ? (Object.fromEntries(EXPAND_SIDES.map((side) => [side, laxInt(b[side]) ?? 0])) as Sides)
          : undefined,
      width: image.width,
      height: image.height,
      prompt: typeof b.prompt === "string" ? b.prompt : "",
      seed: b.seed === undefined || b.seed === null ? undefined : laxInt(b.seed),
      outputFormat: b.output_format === "png" ? "png" : "jpeg",
    },
  };
}

/** The size of a task's result: the image's, grown by the sides for an expansion. */
function outputSize(valid: ValidBody): { width: number; height: number } {
  const s = valid.sides ?? { top: 0, bottom: 0, left: 0, right: 0 };
  return { width: valid.width + s.left + s.right, height: valid.height + s.top + s.bottom };
}

/**
 * A fill: the inpaint area of the image painted with the prompt's colour, weighted by the (soft) mask.
 * An expansion: the image (its alpha flattened, as the model sees RGB) with the sides added in that colour.
 */
async function generateSample(valid: ValidBody, seed: number, roundTrip?: RoundTrip): Promise<Buffer> {
  const colour = fillColour(valid.prompt, seed);
  if (valid.sides) {
    const [r, g, b] = colour;
    const { data, info } = await sharp(valid.image)
      .flatten({ background: "#000000" })
      .removeAlpha()
      .extend({ ...valid.sides, background: { r, g, b } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (roundTrip) castInPlace(data, roundTrip, seed);
    const out = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } });
    return valid.outputFormat === "png" ? out.png().toBuffer() : out.jpeg({ quality: 95 }).toBuffer();
  }
  const { data: rgba, info } = await sharp(valid.image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const pixels = width * height;
  const weight = Buffer.alloc(pixels);
  if (valid.mask) {
    const { data: m, info: mi } = await sharp(valid.mask)
      .flatten({ background: "#000000" })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let i = 0; i < pixels; i++) weight[i] = m[i * mi.channels]!;
  } else {
    // No mask: transparent pixels of the image are the area to inpaint.
    for (let i = 0; i < pixels; i++) weight[i] = 255 - rgba[i * 4 + 3]!;
  }
  const rgb = Buffer.alloc(pixels * 3);
  const paint = roundTrip?.content !== "source";
  for (let i = 0; i < pixels; i++) {
    const w = paint ? weight[i]! / 255 : 0;
    for (let c = 0; c < 3; c++) {
      rgb[i * 3 + c] = Math.round(rgba[i * 4 + c]! * (1 - w) + colour[c]! * w);
    }
  }
  if (roundTrip) castInPlace(rgb, roundTrip, seed);
  const out = sharp(rgb, { raw: { width, height, channels: 3 } });
  return valid.outputFormat === "png" ? out.png({ compressionLevel: 1 }).toBuffer() : out.jpeg({ quality: 95 }).toBuffer();
}

/** The round trip's cast and seeded Gaussian noise over every pixel of an RGB buffer. */
export function castInPlace(rgb: Buffer, trip: RoundTrip, seed: number): void {
  const random = seededRandom(seed ^ 0x5bd1e995);
  // A table of Gaussian draws walked with a seeded stride: fast enough for 24 MP, and repeatable.
  const table = new Float32Array(1 << 16);
  for (let i = 0; i < table.length; i++) {
    table[i] = trip.noise * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  const mask = table.length - 1;
  let at = Math.floor(random() * table.length);
  const stride = 2 * Math.floor(random() * 10_000) + 7919;
  const lut = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => v * trip.gain[c]! + trip.offset[c]!));
  for (let i = 0; i < rgb.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      at = (at + stride) & mask;
      const v = Math.round(lut[c]![rgb[i + c]!]! + table[at]!);
      rgb[i + c] = Math.max(0, Math.min(255, v));
    }
  }
}

/**
 * A fill result as every emulator paints it (the other hosts' emulators too): the image with its mask's
 * white area painted in `fillColour(prompt, seed)`, encoded as `outputFormat`.
 */
export async function paintFill(
  image: Buffer,
  mask: Buffer,
  prompt: string,
  seed: number,
  outputFormat: "jpeg" | "png",
): Promise<Buffer> {
  const meta = await sharp(image).metadata();
  return generateSample(
    { image, mask, sides: undefined, width: meta.width ?? 0, height: meta.height ?? 0, prompt, seed, outputFormat },
    seed,
  );
}

function resolveBehaviour<T>(value: T | ((task: TaskInfo) => T), task: TaskInfo): T {
  return typeof value === "function" ? (value as (task: TaskInfo) => T)(task) : value;
}

/** The body, undefined when over MAX_BODY_BYTES, "incomplete" when the client went away before its end. */
async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined | "incomplete"> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return undefined;
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (!req.complete) return "incomplete";
    throw error;
  }
  return req.complete ? Buffer.concat(chunks) : "incomplete";
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const startOptions = { ...DEFAULT_BEHAVIOUR, ...options };
  let behaviour: EmulatorBehaviour = { ...startOptions };
  let requests: RequestRecord[] = [];
  let submits: SubmitRecord[] = [];
  let tasks = new Map<string, TaskRecord>();
  let tasksByToken = new Map<string, TaskRecord>();
  let maxActiveSeen = 0;
  const internalErrors: unknown[] = [];

  const servers = {
    api: http.createServer(),
    polling: http.createServer(),
    delivery: http.createServer(),
  };
  const ports = {
    api: await listen(servers.api),
    polling: await listen(servers.polling),
    delivery: await listen(servers.delivery),
  };
  const base = (port: PortName) => `http://127.0.0.1:${ports[port]}`;

  const isTerminal = (task: TaskRecord, at: number) => task.terminalAt !== undefined && at >= task.terminalAt;
  const activeTaskCount = (at = Date.now()) => {
    let count = 0;
    for (const task of tasks.values()) if (!isTerminal(task, at)) count++;
    return count;
  };

  const record = (port: PortName, req: http.IncomingMessage): RequestRecord => {
    const entry: RequestRecord = {
      port,
      method: req.method ?? "",
      url: req.url ?? "",
      headers: { ...req.headers },
      at: Date.now(),
      status: undefined,
    };
    requests.push(entry);
    return entry;
  };

  const sendJson = (
    res: http.ServerResponse,
    entry: { status: number | undefined },
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    entry.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  const drop = (req: http.IncomingMessage) => {
    req.socket.destroy();
  };

  /** FastAPI's APIKeyHeader: 401 when missing, 403 when wrong. True when the request may proceed. */
  const authorised = (req: http.IncomingMessage, res: http.ServerResponse, entry: RequestRecord): boolean => {
    const key = req.headers["x-key"];
    if (key === undefined || key === "") {
      sendJson(res, entry, 401, { detail: "Not authenticated" });
      return false;
    }
    if (key !== behaviour.apiKey) {
      sendJson(res, entry, 403, { detail: "Invalid API key" });
      return false;
    }
    return true;
  };

  const handleSubmit = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestRecord,
    endpoint: Endpoint,
  ) => {
    const submit: SubmitRecord = {
      endpoint,
      at: entry.at,
      headers: entry.headers,
      body: undefined,
      image: undefined,
      mask: undefined,
      status: undefined,
      taskId: undefined,
      bodyIncomplete: false,
    };
    submits.push(submit);
    const raw = await readBody(req);
    if (raw === "incomplete") {
      submit.bodyIncomplete = true;
      return;
    }
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      submit.status = status;
      sendJson(res, entry, status, body, headers);
    };
    if (!authorised(req, res, entry)) {
      submit.status = entry.status;
      return;
    }
    if (raw === undefined) return answer(413, { detail: "Request body too large" });
    if (behaviour.failNextSubmits > 0) {
      behaviour.failNextSubmits--;
      return answer(behaviour.submitFailureStatus, { detail: "Internal Server Error" });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return answer(422, { detail: [{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error", input: {} }] });
    }
    submit.body = body;
    const { issues, valid, image, mask } = await validateSubmitBody(body, endpoint);
    submit.image = image;
    submit.mask = mask;
    if (!valid || issues.length > 0) return answer(422, { detail: issues });
    if (behaviour.outOfCredits) {
      return answer(402, { detail: "Insufficient credits. Please add credits at https://dashboard.bfl.ai" });
    }
    if (behaviour.rateLimitNextSubmits > 0) {
      behaviour.rateLimitNextSubmits--;
      const headers = behaviour.retryAfter === undefined ? undefined : { "retry-after": behaviour.retryAfter };
      return answer(429, { detail: "Rate limit exceeded. Please retry later." }, headers);
    }
    const now = Date.now();
    if (activeTaskCount(now) >= behaviour.maxActiveTasks) {
      return answer(429, { detail: `You have reached the maximum of ${behaviour.maxActiveTasks} active tasks.` });
    }
    const id = randomUUID();
    const info: TaskInfo = { id, index: tasks.size, body: body as Record<string, unknown> };
    const generationMs = resolveBehaviour(behaviour.generationMs, info);
    const outcome = resolveBehaviour(behaviour.outcome, info);
    const seed = valid.seed ?? Math.floor(Math.random() * 2 ** 31);
    const token = randomUUID().replace(/-/g, "");
    const terminalAt = outcome === "never" ? undefined : now + generationMs;
    const result = behaviour.resultBytes
      ? Promise.resolve(behaviour.resultBytes(info))
      : generateSample(valid, seed, behaviour.roundTrip);
    result.catch((error: unknown) => internalErrors.push(error));
    const task: TaskRecord = {
      id,
      endpoint,
      index: info.index,
      body: info.body,
      seed,
      outputFormat: valid.outputFormat,
      createdAt: now,
      generationMs,
      outcome,
      terminalAt,
      readyAt: outcome === "Ready" ? terminalAt : undefined,
      sampleUrl: `${base("delivery")}/samples/${token}.${valid.outputFormat === "png" ? "png" : "jpg"}`,
      polls: 0,
      pollTimes: [],
      pollLog: [],
      progressProfile: makeProgressProfile(
        progressModeOf(behaviour),
        generationMs,
        {
          steps: behaviour.progressSteps,
          jitter: behaviour.progressJitter,
          headFraction: behaviour.progressHeadFraction,
          tailFraction: behaviour.progressTailFraction,
        },
        seededRandom(Math.imul(behaviour.progressSeed, 0x9e3779b1) + info.index),
      ),
      deliveries: 0,
      deliveryTimes: [],
      result,
    };
    tasks.set(id, task);
    tasksByToken.set(token, task);
    submit.taskId = id;
    if (behaviour.credits !== undefined) behaviour.credits -= behaviour.cost ?? 5;
    maxActiveSeen = Math.max(maxActiveSeen, activeTaskCount(now));
    if (behaviour.dropNextSubmits > 0) {
      behaviour.dropNextSubmits--;
      drop(req);
      return;
    }
    const megapixels = (width: number, height: number) => Math.round((width * height) / 10_000) / 100;
    const output = outputSize(valid);
    const response: Record<string, unknown> = behaviour.includePollingUrl
      ? { id, polling_url: `${base("polling")}${POLL_PATH}?id=${id}` }
      : { id, status: "Pending", webhook_url: (body as Record<string, unknown>).webhook_url ?? null };
    answer(200, {
      ...response,
      ...(behaviour.cost === undefined ? {} : { cost: behaviour.cost }),
      input_mp: megapixels(valid.width, valid.height),
      output_mp: megapixels(output.width, output.height),
    });
  };

  const handlePoll = (req: http.IncomingMessage, res: http.ServerResponse, entry: RequestRecord, url: URL) => {
    if (!authorised(req, res, entry)) return;
    if (behaviour.dropNextPolls > 0) {
      behaviour.dropNextPolls--;
      drop(req);
      return;
    }
    if (behaviour.failNextPolls > 0) {
      behaviour.failNextPolls--;
      const headers = behaviour.retryAfter === undefined ? undefined : { "retry-after": behaviour.retryAfter };
      sendJson(res, entry, behaviour.pollFailureStatus, { detail: "Service temporarily unavailable" }, headers);
      return;
    }
    const id = url.searchParams.get("id") ?? "";
    const task = tasks.get(id);
    if (!task) {
      sendJson(res, entry, 200, { id, status: "Task not found" });
      return;
    }
    const now = Date.now();
    task.polls++;
    task.pollTimes.push(now);
    if (!isTerminal(task, now)) {
      const progress = task.terminalAt !== undefined ? progressAt(task.progressProfile, now - task.createdAt) : null;
      task.pollLog.push({ at: now, status: "Pending", progress });
      sendJson(res, entry, 200, { id, status: "Pending", result: null, progress, details: null, preview: null });
      return;
    }
    task.pollLog.push({ at: now, status: task.outcome, progress: null });
    if (task.outcome === "Ready") {
      const start = task.createdAt / 1000;
      const end = task.terminalAt! / 1000;
      sendJson(res, entry, 200, {
        id,
        status: "Ready",
        result: {
          sample: task.sampleUrl,
          prompt: typeof task.body.prompt === "string" ? task.body.prompt : "",
          seed: task.seed,
          start_time: start,
          end_time: end,
          duration: end - start,
        },
        progress: null,
        details: null,
        preview: null,
      });
      return;
    }
    if (task.outcome === "Task not found") {
      sendJson(res, entry, 200, { id, status: "Task not found" });
      return;
    }
    sendJson(res, entry, 200, {
      id,
      status: task.outcome,
      result: null,
      progress: null,
      details: TERMINAL_DETAILS[task.outcome] ?? null,
      preview: null,
    });
  };

  const handleDelivery = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestRecord,
    url: URL,
  ) => {
    const reject = (status: number, code: string, message: string) => {
      entry.status = status;
      const text = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
      res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== "GET") return reject(405, "MethodNotAllowed", "Only GET is supported");
    if (req.headers["x-key"] !== undefined) {
      return reject(403, "AccessDenied", "Unexpected x-key header: API keys must not be sent to the delivery host");
    }
    const match = /^\/samples\/([0-9a-f]+)\.(jpg|png)$/.exec(url.pathname);
    const task = match ? tasksByToken.get(match[1]!) : undefined;
    const now = Date.now();
    if (!task || task.readyAt === undefined || now < task.readyAt) {
      return reject(404, "BlobNotFound", "The specified blob does not exist.");
    }
    if (now > task.readyAt + behaviour.deliveryExpiryMs) {
      return reject(403, "AuthenticationFailed", "Signed expiry time has expired.");
    }
    const bytes = await task.result;
    task.deliveries++;
    task.deliveryTimes.push(now);
    entry.status = 200;
    res.writeHead(200, {
      "content-type": task.outputFormat === "png" ? "image/png" : "image/jpeg",
      "content-length": bytes.length,
    });
    res.end(bytes);
  };

  const route = (port: PortName) => async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const entry = record(port, req);
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (port === "delivery") return await handleDelivery(req, res, entry, url);
      const endpoint = SUBMIT_PATHS[url.pathname];
      if (endpoint !== undefined && port === "api") {
        if (req.method !== "POST") return sendJson(res, entry, 405, { detail: "Method Not Allowed" });
        return await handleSubmit(req, res, entry, endpoint);
      }
      if (url.pathname === CREDITS_PATH && port === "api" && behaviour.credits !== undefined) {
        if (req.method !== "GET") return sendJson(res, entry, 405, { detail: "Method Not Allowed" });
        if (!authorised(req, res, entry)) return;
        return sendJson(res, entry, 200, { credits: behaviour.credits });
      }
      if (url.pathname === POLL_PATH) {
        if (req.method !== "GET") return sendJson(res, entry, 405, { detail: "Method Not Allowed" });
        return handlePoll(req, res, entry, url);
      }
      sendJson(res, entry, 404, { detail: "Not Found" });
    } catch (error) {
      internalErrors.push(error);
      if (!res.headersSent) sendJson(res, entry, 500, { detail: "Emulator internal error" });
      else res.destroy();
    }
  };
  servers.api.on("request", route("api"));
  servers.polling.on("request", route("polling"));
  servers.delivery.on("request", route("delivery"));

  return {
    apiBaseUrl: base("api"),
    pollingBaseUrl: base("polling"),
    deliveryBaseUrl: base("delivery"),
    get behaviour() {
      return behaviour;
    },
    configure(changes) {
      behaviour = { ...behaviour, ...changes };
    },
    reset(changes = {}) {
      behaviour = { ...startOptions, ...changes };
      requests = [];
      submits = [];
      tasks = new Map();
      tasksByToken = new Map();
      maxActiveSeen = 0;
      internalErrors.length = 0;
    },
    get requests() {
      return requests;
    },
    requestsTo(port) {
      return requests.filter((r) => r.port === port);
    },
    get submits() {
      return submits;
    },
    get submitCount() {
      return submits.length;
    },
    get tasks() {
      return tasks;
    },
    task(id) {
      const task = tasks.get(id);
      if (!task) throw new Error(`emulator: no task ${id}`);
      return task;
    },
    activeTaskCount,
    get maxActiveSeen() {
      return maxActiveSeen;
    },
    internalErrors,
    async close() {
      await Promise.all(
        Object.values(servers).map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
