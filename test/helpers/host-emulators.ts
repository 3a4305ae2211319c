/**
 * Faithful fakes of fal's queue API and Replicate's predictions API for FLUX.1 Fill, over real HTTP on
 * 127.0.0.1 (facts: /work/shared/reference/other-hosts.md), with the fault modes of the BFL emulator.
 * Each has two servers: the API (key checked on every request) and a delivery host (fal's CDN,
 * replicate.delivery) that serves results, refuses any request carrying the key (it must never reach
 * it) and answers 404 once a result URL has expired.
 *
 * fal:   (SAM segmentation: `POST /fal-ai/sam-3/image`, `/fal-ai/sam2/image`, see sam-emulation.ts.)
 *        `POST /fal-ai/flux-pro/v1/fill` | `/fal-ai/flux-lora-fill` (Authorization: Key …) → `{request_id,
 *        response_url, status_url, cancel_url, status: "IN_QUEUE", queue_position}`; URLs use owner/app only
 *        (`/fal-ai/flux-pro/requests/{id}`). `GET …/status` → 202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED;
 *        `GET …/requests/{id}` → the model's own answer: 200 `{images:[{url,content_type,width,height}],
 *        seed, has_nsfw_concepts, prompt, timings}`, or its error (422 `{detail:[{loc,msg,type}]}`, 5xx
 *        `{detail, error_type}` + `X-Fal-Error-Type`). `PUT …/cancel` → `{status: CANCELLATION_REQUESTED |
 *        ALREADY_COMPLETED | NOT_FOUND}`. Schema errors answer 422 at submit; an image/mask size mismatch
 *        is the model's error, read from the result.
 * Replicate: `POST /v1/models/black-forest-labs/flux-fill-{pro,dev}/predictions` (Authorization: Bearer …)
 *        with `{input, webhook?, webhook_events_filter?}` → 201 prediction `{id, status: "starting", urls:
 *        {get, cancel, web}}`; `GET /v1/predictions/{id}` → starting → processing → succeeded (output: one
 *        URI for pro, an array for dev) | failed (`error`) | canceled | aborted; after `outputRemovedMs`
 *        `output` is null and `data_removed` true. `POST /v1/predictions/{id}/cancel` → the prediction.
 *        Validation errors are problem+json 422 `{detail, status, title, invalid_fields}`.
 *
 * The result is the image with the mask's white area painted in `fillColour(prompt, seed)` (as the BFL
 * emulator does), so tests can check that the mask was honoured.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { paintFill } from "./emulator.js";
import { findObjects, maskPng, normalisedBox, readSamInput, type SamObject } from "./sam-emulation.js";

/** How a job ends. */

/** fal's answer when the machine running a job went away (both the Fill and the SAM apps give it). */
function falRunnerDisconnected() {
  return {
    status: 503,
    headers: { "x-fal-error-type": "runner_disconnected" },
    body: { detail: "Runner disconnected", error_type: "runner_disconnected" },
  };
}

export type HostOutcome =
  | "ok"
  /** fal: has_nsfw_concepts [true]; Replicate: failed with an NSFW error. */
  | "nsfw"
  /** The model's own error (fal: 503 + X-Fal-Error-Type; Replicate: failed). */
  | "error"
  /** fal only: the model refuses the input when it runs (422 from response_url). */
  | "invalid"
  /** Replicate only: canceled / aborted by the host. */
  | "canceled"
  | "aborted"
  /** Never finishes. */
  | "never"
  /** Any other status string is reported verbatim. */
  | (string & {});

export interface HostBehaviour {
  apiKey: string;
  /** Time spent queued (fal IN_QUEUE, Replicate starting). */
  queueMs: number;
  /** Time from submit to the end. */
  generationMs: number;
  outcome: HostOutcome;
  /** Every submit answers 402. */
  outOfCredits: boolean;
  /** The next N valid submits answer 429 (nothing created). */
  rateLimitNextSubmits: number;
  retryAfter: string | undefined;
  /** The next N valid submits create a job, then the connection is destroyed. */
  dropNextSubmits: number;
  /** The next N polls answer 503. */
  failNextPolls: number;
  /** How long a result URL works after the job finished. */
  deliveryExpiryMs: number;
  /** Replicate: how long a prediction keeps its output after it finished. */
  outputRemovedMs: number;
  /** fal SAM: the objects the emulated model finds (see sam-emulation.ts). */
  samObjects: ReadonlyArray<SamObject>;
  /** fal SAM 3 only: how its jobs end, when not as `outcome` (SAM 2 then follows `outcome`). */
  sam3Outcome: HostOutcome | undefined;
}

export const DEFAULT_HOST_BEHAVIOUR: Readonly<HostBehaviour> = {
  apiKey: "test-host-key",
  queueMs: 20,
  generationMs: 100,
  outcome: "ok",
  outOfCredits: false,
  rateLimitNextSubmits: 0,
  retryAfter: undefined,
  dropNextSubmits: 0,
  failNextPolls: 0,
  deliveryExpiryMs: 60 * 60 * 1000,
  outputRemovedMs: 60 * 60 * 1000,
  samObjects: [],
  sam3Outcome: undefined,
};

export interface HostRequest {
  server: "api" | "delivery";
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  status: number | undefined;
}

export interface HostJobRecord {
  id: string;
  /** The model endpoint posted to, e.g. "fal-ai/flux-pro/v1/fill" or "black-forest-labs/flux-fill-pro". */
  model: string;
  /** The submitted JSON body (fal: the input; Replicate: `{input, webhook?}`). */
  body: Record<string, unknown>;
  /** The decoded image and mask. */
  image: Buffer;
  mask: Buffer;
  createdAt: number;
  outcome: HostOutcome;
  cancelledAt: number | undefined;
  seed: number;
  resultUrl: string;
  deliveries: number;
  polls: number;
  result: Promise<Buffer>;
  /** fal SAM: the mask files served by the delivery host (path → PNG), and the model's answer. */
  files?: Map<string, Promise<Buffer>>;
  samAnswer?: Promise<Record<string, unknown>>;
}

export interface HostEmulator {
  readonly apiBaseUrl: string;
  readonly deliveryBaseUrl: string;
  readonly behaviour: Readonly<HostBehaviour>;
  configure(changes: Partial<HostBehaviour>): void;
  reset(changes?: Partial<HostBehaviour>): void;
  readonly requests: readonly HostRequest[];
  /** Submits that reached the model endpoint (rejected ones too). */
  readonly submitCount: number;
  readonly jobs: ReadonlyMap<string, HostJobRecord>;
  job(id: string): HostJobRecord;
  readonly internalErrors: readonly unknown[];
  close(): Promise<void>;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string>; raw?: Buffer; drop?: boolean };
type Route = (req: http.IncomingMessage, body: Buffer, url: URL) => Promise<Answer>;

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A data URI's bytes, when it is one carrying a decodable image. */
async function decodeDataUri(value: unknown): Promise<{ bytes: Buffer; width: number; height: number } | undefined> {
  if (typeof value !== "string") return undefined;
  const match = /^data:image\/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/=]+)$/.exec(value);
  if (!match) return undefined;
  const bytes = Buffer.from(match[2]!, "base64");
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) return undefined;
    return { bytes, width: meta.width, height: meta.height };
  } catch {
    return undefined;
  }
}

interface Base {
  state: HostBehaviour;
  requests: HostRequest[];
  jobs: Map<string, HostJobRecord>;
  internalErrors: unknown[];
  counters: { submits: number };
}

/** The two servers and the shared bookkeeping; `api` routes are the host's own. */
async function startHost(
  options: Partial<HostBehaviour>,
  api: (base: Base, apiBaseUrl: () => string, deliveryBaseUrl: () => string) => Route,
): Promise<HostEmulator> {
  const start = { ...DEFAULT_HOST_BEHAVIOUR, ...options };
  const base: Base = {
    state: { ...start },
    requests: [],
    jobs: new Map(),
    internalErrors: [],
    counters: { submits: 0 },
  };
  let apiUrl = "";
  let deliveryUrl = "";
  const serve = (name: "api" | "delivery", route: Route) =>
    http.createServer((req, res) => {
      const record: HostRequest = {
        server: name,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        status: undefined,
      };
      base.requests.push(record);
      readBody(req)
        .then((body) => route(req, body, new URL(req.url ?? "/", "http://127.0.0.1")))
        .then((answer) => {
          if (answer.drop) {
            req.socket.destroy();
            return;
          }
          record.status = answer.status;
          const payload =
            answer.raw ?? (answer.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(answer.body)));
          res.writeHead(answer.status, {
            "content-type": answer.raw ? "image/*" : "application/json",
            ...answer.headers,
          });
          res.end(payload);
        })
        .catch((error: unknown) => {
          base.internalErrors.push(error);
          res.writeHead(500).end();
        });
    });
  const delivery: Route = async (req, _body, url) => {
    const match = /^\/files\/([^/.]+)\.(png|jpeg|jpg)$/.exec(url.pathname);
    const job = match
      ? [...base.jobs.values()].find((j) => j.resultUrl.endsWith(url.pathname) || j.files?.has(url.pathname))
      : undefined;
    if (!job) return { status: 404, body: { detail: "Not found" } };
    if (req.headers.authorization !== undefined)
      return { status: 403, body: { detail: "credentials not accepted here" } };
    const finishedAt = job.createdAt + base.state.generationMs;
    if (Date.now() > finishedAt + base.state.deliveryExpiryMs) return { status: 404, body: { detail: "File expired" } };
    job.deliveries++;
    return { status: 200, raw: await (job.files?.get(url.pathname) ?? job.result) };
  };
  const apiServer = serve(
    "api",
    api(
      base,
      () => apiUrl,
      () => deliveryUrl,
    ),
  );
  const deliveryServer = serve("delivery", delivery);
  apiUrl = await listen(apiServer);
  deliveryUrl = await listen(deliveryServer);
  return {
    get apiBaseUrl() {
      return apiUrl;
    },
    get deliveryBaseUrl() {
      return deliveryUrl;
    },
    get behaviour() {
      return base.state;
    },
    configure(changes) {
      Object.assign(base.state, changes);
    },
    reset(changes = {}) {
      base.state = { ...start, ...changes };
      base.requests.length = 0;
      base.jobs.clear();
      base.internalErrors.length = 0;
      base.counters.submits = 0;
    },
    get requests() {
      return base.requests;
    },
    get submitCount() {
      return base.counters.submits;
    },
    get jobs() {
      return base.jobs;
    },
    job(id) {
      const job = base.jobs.get(id);
      if (!job) throw new Error(`no job ${id}`);
      return job;
    },
    get internalErrors() {
      return base.internalErrors;
    },
    async close() {
      await Promise.all(
        [apiServer, deliveryServer].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}

type JobPhase = "queued" | "running" | "done" | "cancelled";

function phaseOf(job: HostJobRecord, state: HostBehaviour, at = Date.now()): JobPhase {
  if (job.cancelledAt !== undefined) return "cancelled";
  if (job.outcome === "never") return at - job.createdAt < state.queueMs ? "queued" : "running";
  if (at - job.createdAt < state.queueMs) return "queued";
  if (at - job.createdAt < state.generationMs) return "running";
  return "done";
}

/** Shared submit gates: credits, rate limit; then the job is made and possibly the answer dropped. */
function gate(state: HostBehaviour, outOfCredits: Answer, throttled: Answer): Answer | undefined {
  if (state.outOfCredits) return outOfCredits;
  if (state.rateLimitNextSubmits > 0) {
    state.rateLimitNextSubmits--;
    return { ...throttled, headers: state.retryAfter === undefined ? {} : { "retry-after": state.retryAfter } };
  }
  return undefined;
}

function makeJob(
  base: Base,
  model: string,
  body: Record<string, unknown>,
  image: Buffer,
  mask: Buffer,
  prompt: string,
  seed: number | undefined,
  format: "jpeg" | "png",
  deliveryBaseUrl: string,
): HostJobRecord {
  const id = randomUUID();
  const chosenSeed = seed ?? Math.floor(Math.random() * 1_000_000);
  const result = paintFill(image, mask, prompt, chosenSeed, format);
  result.catch(() => undefined);
  const job: HostJobRecord = {
    id,
    model,
    body,
    image,
    mask,
    createdAt: Date.now(),
    outcome: base.state.outcome,
    cancelledAt: undefined,
    seed: chosenSeed,
    resultUrl: `${deliveryBaseUrl}/files/${randomUUID().replaceAll("-", "")}.${format === "png" ? "png" : "jpeg"}`,
    deliveries: 0,
    polls: 0,
    result,
  };
  base.jobs.set(id, job);
  return job;
}

// ---------------------------------------------------------------------------------------------- fal

const FAL_MODELS: Record<string, { app: string; dev: boolean }> = {
  "/fal-ai/flux-pro/v1/fill": { app: "fal-ai/flux-pro", dev: false },
  "/fal-ai/flux-lora-fill": { app: "fal-ai/flux-lora-fill", dev: true },
};

const SAM_MODELS: Record<string, { app: string; version: 2 | 3 }> = {
  "/fal-ai/sam-3/image": { app: "fal-ai/sam-3", version: 3 },
  "/fal-ai/sam2/image": { app: "fal-ai/sam2", version: 2 },
};

/** A SAM submit: validated as fal does, then a job whose answer and mask files are made at once. */
async function samSubmit(
  base: Base,
  sam: { app: string; version: 2 | 3 },
  raw: Buffer,
  apiUrl: string,
  deliveryUrl: string,
): Promise<Answer> {
  const state = base.state;
  base.counters.submits++;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
  } catch {
    return { status: 422, body: { detail: [{ loc: ["body"], msg: "Invalid JSON", type: "value_error.jsondecode" }] } };
  }
  const image = await decodeDataUri(body.image_url);
  const { input, problems } = readSamInput(body, sam.version);
  if (!image) problems.push({ loc: ["body", "image_url"], msg: "field required: an image URL or data URI", type: "value_error" });
  if (problems.length > 0) return { status: 422, body: { detail: problems } };
  const refused = gate(
    state,
    { status: 402, body: { detail: "Insufficient balance: top up your fal account to continue." } },
    { status: 429, body: { detail: "Too many requests" } },
  );
  if (refused) return refused;
  const { width, height } = image!;
  const found = findObjects(state.samObjects, input, width, height);
  const files = new Map<string, Promise<Buffer>>();
  const file = (png: Promise<Buffer>) => {
    const name = `/files/${randomUUID().replaceAll("-", "")}.png`;
    png.catch(() => undefined);
    files.set(name, png);
    return { url: `${deliveryUrl}${name}`, content_type: "image/png", width, height };
  };
  let answer: Record<string, unknown>;
  if (sam.version === 3) {
    const masks = found.map((f) => file(maskPng([f.polygon], width, height)));
    const boxes = found.map((f) => normalisedBox(f.polygon, width, height));
    answer = {
      masks,
      ...(masks[0] ? { image: masks[0] } : {}),
      ...(body.include_scores === true ? { scores: found.map((f) => f.score) } : {}),
      ...(body.include_boxes === true ? { boxes } : {}),
      metadata: found.map((f, index) => ({ index, score: f.score, box: boxes[index] })),
    };
  } else {
    answer = { image: file(maskPng(found.map((f) => f.polygon), width, height)) };
  }
  const id = randomUUID();
  const job: HostJobRecord = {
    id,
    model: sam.app,
    body,
    image: image!.bytes,
    mask: Buffer.alloc(0),
    createdAt: Date.now(),
    outcome: sam.version === 3 ? (state.sam3Outcome ?? state.outcome) : state.outcome,
    cancelledAt: undefined,
    seed: 0,
    resultUrl: `${deliveryUrl}/files/none-${id}.png`,
    deliveries: 0,
    polls: 0,
    result: Promise.resolve(Buffer.alloc(0)),
    files,
    samAnswer: Promise.resolve(answer),
  };
  base.jobs.set(id, job);
  if (state.dropNextSubmits > 0) {
    state.dropNextSubmits--;
    return { status: 200, drop: true };
  }
  const requestBase = `${apiUrl}/${sam.app}/requests/${id}`;
  return {
    status: 200,
    headers: { "x-fal-request-id": id },
    body: {
      request_id: id,
      response_url: requestBase,
      status_url: `${requestBase}/status`,
      cancel_url: `${requestBase}/cancel`,
      status: "IN_QUEUE",
      queue_position: 0,
    },
  };
}

export async function startFalEmulator(options: Partial<HostBehaviour> = {}): Promise<HostEmulator> {
  return startHost({ apiKey: "test-fal-key", ...options }, (base, apiUrl, deliveryUrl) => async (req, raw, url) => {
    const state = base.state;
    if (req.headers.authorization !== `Key ${state.apiKey}`)
      return {
        status: 401,
        body: {
          detail: "Cannot access application 'fal-ai/flux-pro'. Authentication is required to access this application.",
        },
      };
    const sam = SAM_MODELS[url.pathname];
    if (req.method === "POST" && sam) return samSubmit(base, sam, raw, apiUrl(), deliveryUrl());
    const model = FAL_MODELS[url.pathname];
    if (req.method === "POST" && model) {
      base.counters.submits++;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      } catch {
        return {
          status: 422,
          body: { detail: [{ loc: ["body"], msg: "Invalid JSON", type: "value_error.jsondecode" }] },
        };
      }
      const problems: { loc: string[]; msg: string; type: string }[] = [];
      const problem = (field: string, msg: string, type = "value_error") =>
        problems.push({ loc: ["body", field], msg, type });
      if (!model.dev && typeof body.prompt !== "string") problem("prompt", "field required", "value_error.missing");
      const image = await decodeDataUri(body.image_url);
      const mask = await decodeDataUri(body.mask_url);
      if (!image) problem("image_url", "field required: an image URL or data URI");
      if (!mask) problem("mask_url", "field required: an image URL or data URI");
      if (body.seed !== undefined && !Number.isInteger(body.seed)) problem("seed", "value is not a valid integer");
      if (
        body.num_images !== undefined &&
        !(Number.isInteger(body.num_images) && (body.num_images as number) >= 1 && (body.num_images as number) <= 4)
      )
        problem("num_images", "ensure this value is between 1 and 4");
      if (!model.dev) {
        if (body.output_format !== undefined && body.output_format !== "jpeg" && body.output_format !== "png")
          problem(
            "output_format",
            "value is not a valid enumeration member; permitted: 'jpeg', 'png'",
            "type_error.enum",
          );
        if (
          body.safety_tolerance !== undefined &&
          !["1", "2", "3", "4", "5", "6"].includes(body.safety_tolerance as string)
        )
          problem(
            "safety_tolerance",
            "value is not a valid enumeration member; permitted: '1', '2', '3', '4', '5', '6'",
            "type_error.enum",
          );
        if (body.enhance_prompt !== undefined && typeof body.enhance_prompt !== "boolean")
          problem("enhance_prompt", "value could not be parsed to a boolean");
      } else {
        if (body.num_inference_steps !== undefined && !Number.isInteger(body.num_inference_steps))
          problem("num_inference_steps", "value is not a valid integer");
        if (body.guidance_scale !== undefined && typeof body.guidance_scale !== "number")
          problem("guidance_scale", "value is not a valid float");
      }
      if (problems.length > 0) return { status: 422, body: { detail: problems } };
      const refused = gate(
        state,
        { status: 402, body: { detail: "Insufficient balance: top up your fal account to continue." } },
        { status: 429, body: { detail: "Too many requests" } },
      );
      if (refused) return refused;
      const format = !model.dev && body.output_format === "png" ? "png" : "jpeg";
      const job = makeJob(
        base,
        url.pathname.slice(1),
        body,
        image!.bytes,
        mask!.bytes,
        String(body.prompt ?? ""),
        body.seed as number | undefined,
        format,
        deliveryUrl(),
      );
      if (state.dropNextSubmits > 0) {
        state.dropNextSubmits--;
        return { status: 200, drop: true };
      }
      const requestBase = `${apiUrl()}/${model.app}/requests/${job.id}`;
      return {
        status: 200,
        headers: { "x-fal-request-id": job.id },
        body: {
          request_id: job.id,
          response_url: requestBase,
          status_url: `${requestBase}/status`,
          cancel_url: `${requestBase}/cancel`,
          status: "IN_QUEUE",
          queue_position: 0,
        },
      };
    }
    const match = /^\/(fal-ai\/[^/]+)\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(url.pathname);
    const job = match ? base.jobs.get(match[2]!) : undefined;
    if (!match || !job) return { status: 404, body: { detail: "Request not found" } };
    const requestBase = `${apiUrl()}/${match[1]}/requests/${job.id}`;
    const phase = phaseOf(job, state);
    if (match[3] === "/status" && req.method === "GET") {
      job.polls++;
      if (state.failNextPolls > 0) {
        state.failNextPolls--;
        return {
          status: 503,
          body: { detail: "Service unavailable" },
          headers: state.retryAfter ? { "retry-after": state.retryAfter } : {},
        };
      }
      const common = {
        request_id: job.id,
        response_url: requestBase,
        status_url: `${requestBase}/status`,
        cancel_url: `${requestBase}/cancel`,
      };
      if (phase === "queued") return { status: 202, body: { status: "IN_QUEUE", queue_position: 0, ...common } };
      if (phase === "running") return { status: 202, body: { status: "IN_PROGRESS", logs: [], ...common } };
      if (phase === "done" && !["ok", "nsfw", "error", "invalid"].includes(job.outcome))
        return { status: 200, body: { status: job.outcome, ...common } };
      return {
        status: 200,
        body: { status: "COMPLETED", logs: [], metrics: { inference_time: state.generationMs / 1000 }, ...common },
      };
    }
    if (match[3] === "/cancel" && req.method === "PUT") {
      if (phase === "done") return { status: 400, body: { status: "ALREADY_COMPLETED" } };
      if (phase !== "cancelled") job.cancelledAt = Date.now();
      return { status: 202, body: { status: "CANCELLATION_REQUESTED" } };
    }
    if (match[3] === undefined && req.method === "GET") {
      if (phase === "cancelled") return { status: 400, body: { detail: "Request was cancelled" } };
      if (phase !== "done") return { status: 400, body: { detail: "Request is still in progress" } };
      if (job.samAnswer !== undefined) {
        if (job.outcome === "invalid")
          return {
            status: 422,
            body: { detail: [{ loc: ["body", "prompt"], msg: "Could not segment with the given prompts", type: "value_error" }] },
          };
        if (job.outcome === "error")
          return falRunnerDisconnected();
        return { status: 200, body: await job.samAnswer };
      }
      const meta = await sharp(job.image).metadata();
      const maskMeta = await sharp(job.mask).metadata();
      if (meta.width !== maskMeta.width || meta.height !== maskMeta.height)
        return {
          status: 422,
          body: {
            detail: [
              { loc: ["body", "mask_url"], msg: "image and mask must have the same dimensions", type: "value_error" },
            ],
          },
        };
      if (job.outcome === "invalid")
        return {
          status: 422,
          body: { detail: [{ loc: ["body", "image_url"], msg: "Image could not be processed", type: "value_error" }] },
        };
      if (job.outcome === "error")
        return falRunnerDisconnected();
      const out = await sharp(await job.result).metadata();
      return {
        status: 200,
        body: {
          images: [
            {
              url: job.resultUrl,
              content_type: `image/${out.format === "png" ? "png" : "jpeg"}`,
              width: out.width,
              height: out.height,
            },
          ],
          seed: job.seed,
          has_nsfw_concepts: [job.outcome === "nsfw"],
          prompt: job.body.prompt,
          timings: { inference: state.generationMs / 1000 },
        },
      };
    }
    return { status: 405, body: { detail: "Method not allowed" } };
  });
}

// ---------------------------------------------------------------------------------------- Replicate

const REPLICATE_MODELS: Record<string, boolean> = {
  "black-forest-labs/flux-fill-pro": false,
  "black-forest-labs/flux-fill-dev": true,
};

export async function startReplicateEmulator(options: Partial<HostBehaviour> = {}): Promise<HostEmulator> {
  return startHost({ apiKey: "test-replicate-token", ...options }, (base, apiUrl, deliveryUrl) => {
    const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}): Answer => ({
      status,
      headers: { "content-type": "application/problem+json" },
      body: { title, detail, status, ...extra },
    });
    const prediction = (job: HostJobRecord) => {
      const state = base.state;
      const phase = phaseOf(job, state);
      const finishedAt = job.createdAt + state.generationMs;
      const dev = REPLICATE_MODELS[job.model] === true;
      const removed = phase === "done" && Date.now() > finishedAt + state.outputRemovedMs;
      let status =
        phase === "queued"
          ? "starting"
          : phase === "running"
            ? "processing"
            : phase === "cancelled"
              ? "canceled"
              : "succeeded";
      let error: string | null = null;
      let output: unknown = null;
      if (status === "succeeded") {
        if (job.outcome === "nsfw") {
          status = "failed";
          error = "NSFW content detected. Try running it again, or try a different prompt.";
        } else if (job.outcome === "error") {
          status = "failed";
          error = "CUDA out of memory";
        } else if (job.outcome === "canceled" || job.outcome === "aborted") {
          status = job.outcome;
        } else if (job.outcome !== "ok") {
          status = job.outcome;
        } else if (!removed) {
          output = dev ? [job.resultUrl] : job.resultUrl;
        }
      }
      const url = `${apiUrl()}/v1/predictions/${job.id}`;
      return {
        id: job.id,
        model: job.model,
        version: "hidden",
        input: { prompt: (job.body.input as Record<string, unknown>).prompt },
        output,
        error,
        status,
        logs: "",
        metrics: status === "succeeded" ? { predict_time: state.generationMs / 1000 } : {},
        created_at: new Date(job.createdAt).toISOString(),
        data_removed: removed,
        source: "api",
        urls: { get: url, cancel: `${url}/cancel`, web: `https://replicate.com/p/${job.id}` },
      };
    };
    return async (req, raw, url) => {
      const state = base.state;
      if (req.headers.authorization !== `Bearer ${state.apiKey}`)
        return problem(401, "Unauthenticated", "You did not pass a valid authentication token");
      const create = /^\/v1\/models\/([^/]+\/[^/]+)\/predictions$/.exec(url.pathname);
      if (req.method === "POST" && create) {
        const model = create[1]!;
        if (!(model in REPLICATE_MODELS))
          return problem(404, "Not found", "The requested resource could not be found.");
        base.counters.submits++;
        const dev = REPLICATE_MODELS[model]!;
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
        } catch {
          return problem(400, "Bad request", "Request body is not valid JSON");
        }
        const input = (typeof body.input === "object" && body.input !== null ? body.input : {}) as Record<
          string,
          unknown
        >;
        const invalid: { field: string; description: string }[] = [];
        const bad = (field: string, description: string) => invalid.push({ field: `input.${field}`, description });
        const int = (field: string, min: number, max: number) => {
          const v = input[field];
          if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max))
            bad(field, `Must be an integer from ${min} to ${max}`);
        };
        const num = (field: string, min: number, max: number) => {
          const v = input[field];
          if (v !== undefined && !(typeof v === "number" && v >= min && v <= max))
            bad(field, `Must be a number from ${min} to ${max}`);
        };
        const image = await decodeDataUri(input.image);
        const mask = await decodeDataUri(input.mask);
        if (!image) bad("image", "Must be a URI or data URL of an image");
        if (input.mask !== undefined && !mask) bad("mask", "Must be a URI or data URL of an image");
        if (image && mask && (image.width !== mask.width || image.height !== mask.height))
          bad("mask", "Must be the same size as image");
        int("seed", -(2 ** 31), 2 ** 31 - 1);
        if (!dev) {
          // Schema of version 9609ba73 (other-hosts.md).
          int("steps", 1, 50);
          num("guidance", 2, 5);
          int("safety_tolerance", 1, 6);
          if (input.output_format !== undefined && !["jpg", "png"].includes(input.output_format as string))
            bad("output_format", "Must be one of: jpg, png");
        } else {
          int("num_outputs", 1, 4);
          int("num_inference_steps", 1, 50);
          num("guidance", 0, 100);
          if (input.megapixels !== undefined && !["1", "match_input"].includes(input.megapixels as string))
            bad("megapixels", "Must be one of: 1, match_input");
          if (input.output_format !== undefined && !["webp", "jpg", "png"].includes(input.output_format as string))
            bad("output_format", "Must be one of: webp, jpg, png");
        }
        if (body.webhook !== undefined && !(typeof body.webhook === "string" && body.webhook.startsWith("https://")))
          invalid.push({ field: "webhook", description: "Must be an https URL" });
        if (invalid.length > 0)
          return problem(
            422,
            "Input validation failed",
            invalid.map((i) => `- ${i.field}: ${i.description}`).join("\n"),
            { invalid_fields: invalid },
          );
        const refused = gate(
          state,
          problem(
            402,
            "Insufficient credit",
            "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit.",
          ),
          problem(429, "Request was throttled.", "Request was throttled. Your rate limit resets in ~30s."),
        );
        if (refused) return refused;
        const format = input.output_format === "png" ? "png" : "jpeg";
        const job = makeJob(
          base,
          model,
          body,
          image!.bytes,
          mask!.bytes,
          String(input.prompt ?? ""),
          input.seed as number | undefined,
          format,
          deliveryUrl(),
        );
        if (state.dropNextSubmits > 0) {
          state.dropNextSubmits--;
          return { status: 201, drop: true };
        }
        return { status: 201, headers: { location: `${apiUrl()}/v1/predictions/${job.id}` }, body: prediction(job) };
      }
      const match = /^\/v1\/predictions\/([^/]+)(\/cancel)?$/.exec(url.pathname);
      const job = match ? base.jobs.get(match[1]!) : undefined;
      if (!match || !job) return problem(404, "Not found", "The requested resource could not be found.");
      if (match[2] === "/cancel" && req.method === "POST") {
        if (phaseOf(job, state) === "queued" || phaseOf(job, state) === "running") job.cancelledAt = Date.now();
        return { status: 200, body: prediction(job) };
      }
      if (match[2] === undefined && req.method === "GET") {
        job.polls++;
        if (state.failNextPolls > 0) {
          state.failNextPolls--;
          return problem(503, "Service unavailable", "Try again later");
        }
        return { status: 200, body: prediction(job) };
      }
      return problem(405, "Method not allowed", "Method not allowed");
    };
  });
}
