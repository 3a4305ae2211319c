import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { FluxFillError } from "./errors.js";

/** Hosts of FLUX.1 Fill other than Black Forest Labs itself. */
export type HostedProviderName = "fal" | "replicate";
/** Every provider: the upstream ones and the embedded engine. */
export type ProviderName = "bfl" | HostedProviderName | "local";
export const PROVIDER_NAMES: readonly ProviderName[] = ["bfl", "fal", "replicate", "local"];
/** FLUX_FILL_SEGMENTER's values: `auto` or a backend (the names of images/selection/segmenter.ts's SegmenterName). */
export const SEGMENTER_SETTINGS = ["auto", "classic", "onnx", "fal"] as const;
export type SegmenterSetting = (typeof SEGMENTER_SETTINGS)[number];

/**
 * Every setting, parsed once from the environment into one validated object that is passed down
 * explicitly. Nothing else in src/ reads process.env.
 */
export interface Config {
  /** `auto` picks `bfl`, then `fal`, then `replicate` by which key is set, else `local`. */
  provider: "auto" | ProviderName;
  bfl: {
    apiKey: string | undefined;
    baseUrl: string;
    /** Fixed delay between polls of a pending task; undefined = the adaptive schedule. */
    pollIntervalMs: number | undefined;
  };
  /** fal's queue API (FAL_KEY). */
  fal: { apiKey: string | undefined; baseUrl: string };
  /** Replicate's predictions API (REPLICATE_API_TOKEN). */
  replicate: { apiKey: string | undefined; baseUrl: string };
  /** Which FLUX.1 Fill model fal and Replicate run: Fill [pro] or Fill [dev]. */
  model: "pro" | "dev";
  /** What object entries are segmented with; `auto`: onnx when its weights are present, else fal with FAL_KEY, else classic. */
  segmenter: SegmenterSetting;
  /** Where results and their JSON sidecars are saved (absolute). */
  outputDir: string;
  /** Roots under which local files may be read (absolute, symlinks not yet resolved). */
  allowedDirs: string[];
  /**
   * Directories under the allowed roots that file inputs may not come from: other users' results. Not a
   * setting; the server sets it for each caller (empty as loaded).
   */
  deniedDirs: string[];
  /** Let URL references reach loopback/private/link-local addresses (tests, trusted networks). */
  allowPrivateUrls: boolean;
  /** Overall deadline of one fill, submit to saved result. */
  timeoutMs: number;
  /** Deadline for fetching one http(s) input. */
  fetchTimeoutMs: number;
  /** Cap on the encoded size of one input (image or mask), in bytes. */
  maxInputBytes: number;
  /** Cap on the pixel count (width × height) of one input. */
  maxInputPixels: number;
  /** Longest side of the inline preview returned with a result. */
  previewMaxSize: number;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Most upstream tasks in flight at once per API key, across all sessions (the upstream allows 24). */
  maxActive: number;
  /** Credits this server may spend per UTC day; undefined = no limit. */
  dailyCreditLimit: number | undefined;
  /** Credits each named (token file or OAuth) user may spend per UTC day; undefined = no limit of their own. */
  userDailyCreditLimit: number | undefined;
  /** Most upstream tasks one user may have in flight at once (the rest of the slots stay for others). */
  maxActivePerUser: number;
  /** One JSON line per fill: where (a file, or stderr when unset), and whether prompts are included. */
  audit: { file: string | undefined; prompts: boolean };
  /** Where results are kept: the output directory (default) or an S3-compatible bucket (replicas). */
  results: { kind: "local" } | { kind: "s3"; s3: S3Settings };
  /** Shared state of replicas (upstream slot leases); undefined = this process alone (in memory). */
  redis: RedisSettings | undefined;
  /** Model weights for the onnx segmenter (`flux-fill-mcp models pull`). */
  models: { dir: string; baseUrl: string | undefined };
  http: {
    host: string;
    port: number;
    /** Bearer token every HTTP request must carry; unset means no auth (loopback only). */
    token: string | undefined;
    /** Extra Host header values accepted besides the bound host (comma-separated in the env). */
    allowedHosts: string[];
    /** Origins accepted on browser requests (comma-separated in the env). */
    allowedOrigins: string[];
    /** A file of `name:token` / `name:sha256:<hex>` lines: each name is a user. */
    tokensFile: string | undefined;
    /** OAuth 2.1 resource server: accept JWT access tokens from this issuer for `publicUrl`. */
    oauth: OAuthConfig | undefined;
    /** Most open sessions; at the cap the least recently used idle one is ended. */
    maxSessions: number;
    /** Most open sessions of one user (same rule at the cap). */
    maxSessionsPerUser: number;
    /** Bytes of SSE replay events kept across all sessions (oldest dropped first). */
    replayBudgetBytes: number;
  };
}

export interface OAuthConfig {
  /** The authorization server's issuer URL, exactly as its tokens carry it in `iss`. */
  issuer: string;
  /** This server's canonical MCP URL: the audience tokens must carry, and the PRM `resource`. */
  publicUrl: string;
  /** The claim that names the user (default `sub`). */
  userClaim: string;
  /** Scopes every token must carry (empty: none). */
  requiredScopes: string[];
}

/** An S3-compatible bucket for results (FLUX_FILL_RESULTS_URL and the usual AWS settings). */
export interface S3Settings {
  bucket: string;
  /** "" or a key prefix ending in "/". */
  prefix: string;
  region: string;
  /** AWS_ENDPOINT_URL_S3 (MinIO, R2, …); AWS itself when undefined. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** Explicit keys; the SDK's default chain (profile, instance role, …) when undefined. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export interface RedisSettings {
  /** As given (may carry a password: never log it; use `redactedRedisUrl`). */
  url: string;
  /** How long a slot lease lives without renewal: a dead replica's slots come back after it. */
  leaseMs: number;
}

/** `s3://bucket/some/prefix` → bucket and prefix ("some/prefix/"); undefined when it is not such a URL. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!match) return undefined;
  const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: match[1]!, prefix: prefix === "" ? "" : `${prefix}/` };
}

/** A Redis URL without its user and password, for logs and /readyz. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(invalid Redis URL)";
  }
}

export const DEFAULTS = {
  baseUrl: "https://api.bfl.ai",
  falBaseUrl: "https://queue.fal.run",
  replicateBaseUrl: "https://api.replicate.com",
  timeoutS: 300,
  fetchTimeoutS: 30,
  maxInputMB: 50,
  maxInputMP: 50,
  previewMaxSize: 768,
  outputDirName: "flux-fill-output",
  maxActive: 24,
  httpHost: "127.0.0.1",
  httpPort: 3000,
  oauthUserClaim: "sub",
  maxSessions: 1000,
  maxSessionsPerUser: 100,
  replayBudgetMB: 16,
  awsRegion: "us-east-1",
  redisLeaseS: 30,
} as const;

/**
 * Default per-user cap: with several users, three quarters of the slots, so a burst always leaves some
 * free for the others; with one user (no tokens file, no OAuth) all of them.
 */
export function defaultMaxActivePerUser(maxActive: number, severalUsers: boolean): number {
  return severalUsers ? Math.max(1, Math.ceil((maxActive * 3) / 4)) : maxActive;
}

/** Each environment variable the server reads, with its meaning (used by --help; docs/configuration.md lists the same). */
export const SETTINGS: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: "BFL_API_KEY", meaning: "Black Forest Labs API key; when set, the default provider is `bfl`." },
  { name: "BFL_API_BASE_URL", meaning: `Upstream host (default ${DEFAULTS.baseUrl}; EU https://api.eu.bfl.ai, US https://api.us.bfl.ai).` },
  { name: "FAL_KEY", meaning: "fal API key; runs FLUX.1 Fill on fal (provider `fal`, chosen by `auto` when no BFL_API_KEY is set)." },
  { name: "REPLICATE_API_TOKEN", meaning: "Replicate API token; runs FLUX.1 Fill on Replicate (provider `replicate`, chosen by `auto` when neither BFL_API_KEY nor FAL_KEY is set)." },
  { name: "FLUX_FILL_PROVIDER", meaning: "`auto` (default: bfl, then fal, then replicate by which key is set, else local), `bfl`, `fal`, `replicate` or `local` (embedded offline engine)." },
  { name: "FLUX_FILL_FAL_BASE_URL", meaning: `fal queue host (default ${DEFAULTS.falBaseUrl}); for proxies and tests.` },
  { name: "FLUX_FILL_REPLICATE_BASE_URL", meaning: `Replicate API host (default ${DEFAULTS.replicateBaseUrl}); for proxies and tests.` },
  { name: "FLUX_FILL_SEGMENTER", meaning: "What selects `object` entries: `auto` (default: onnx when its weights are present, else fal when FAL_KEY is set, else classic), `classic` (colour models, offline), `onnx` (SAM 2.1 on the CPU) or `fal` (SAM 3 on fal, reads `text`; $0.005 per object, counted in the daily credit limit as 0.5 credit; sends the photo to fal)." },
  { name: "FLUX_FILL_MODEL", meaning: "`pro` (default) or `dev`: FLUX.1 Fill [pro] or [dev] on fal and Replicate (BFL's own API has only [pro])." },
  { name: "FLUX_FILL_OUTPUT_DIR", meaning: `Where results are saved (default ~/${DEFAULTS.outputDirName}).` },
  { name: "FLUX_FILL_ALLOWED_DIRS", meaning: "Directories files may be read from, separated by the OS path delimiter (default: working directory unless it is / or home, output directory, OS temp directory)." },
  { name: "FLUX_FILL_ALLOW_PRIVATE_URLS", meaning: "`1` lets http(s) inputs reach loopback/private addresses (default off)." },
  { name: "FLUX_FILL_TIMEOUT_S", meaning: `Overall deadline of one fill in seconds (default ${DEFAULTS.timeoutS}).` },
  { name: "FLUX_FILL_FETCH_TIMEOUT_S", meaning: `Deadline for downloading one URL input in seconds (default ${DEFAULTS.fetchTimeoutS}).` },
  { name: "FLUX_FILL_MAX_INPUT_MB", meaning: `Largest accepted input file in MB (default ${DEFAULTS.maxInputMB}).` },
  { name: "FLUX_FILL_MAX_INPUT_MP", meaning: `Largest accepted input, and expanded image of flux_expand, in megapixels (default ${DEFAULTS.maxInputMP}).` },
  { name: "FLUX_FILL_POLL_INTERVAL_MS", meaning: "Fixed delay between status polls in ms. Unset (default): adaptive, learnt from past task durations and the upstream's progress; at most 4 polls/s per task on average, never two within 105 ms." },
  { name: "FLUX_FILL_PREVIEW_MAX_PX", meaning: `Longest side of the inline preview (default ${DEFAULTS.previewMaxSize}).` },
  { name: "FLUX_FILL_MAX_ACTIVE", meaning: `Most upstream tasks in flight at once per API key (default ${DEFAULTS.maxActive}).` },
  { name: "FLUX_FILL_DAILY_CREDIT_LIMIT", meaning: "Credits this server may spend per UTC day (1 credit = $0.01; a fill costs about 5). A call that would pass it is refused before anything is submitted. Unset (default): no limit." },
  { name: "FLUX_FILL_USER_DAILY_CREDIT_LIMIT", meaning: "Credits each user of a team server (named token or OAuth) may spend per UTC day, besides FLUX_FILL_DAILY_CREDIT_LIMIT for the whole server. A call that would pass it is refused before anything is submitted. Unset (default): no limit per user." },
  { name: "FLUX_FILL_RESULTS_URL", meaning: "`s3://bucket/prefix` keeps results and sidecars in an S3-compatible bucket (for replicas) instead of FLUX_FILL_OUTPUT_DIR, which then only holds results waiting to be uploaded (default: unset, local disk)." },
  { name: "AWS_ENDPOINT_URL_S3", meaning: "Endpoint of an S3-compatible store (MinIO, Cloudflare R2, …); unset = AWS S3." },
  { name: "AWS_REGION", meaning: `Region of the bucket (default ${DEFAULTS.awsRegion}; R2 takes \`auto\`).` },
  { name: "AWS_ACCESS_KEY_ID", meaning: "With AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN): the bucket's keys; unset = the AWS SDK's default chain (profile, instance role)." },
  { name: "AWS_SECRET_ACCESS_KEY", meaning: "The secret of AWS_ACCESS_KEY_ID (never logged)." },
  { name: "AWS_SESSION_TOKEN", meaning: "With temporary AWS credentials: their session token (never logged)." },
  { name: "FLUX_FILL_S3_FORCE_PATH_STYLE", meaning: "`1` addresses the bucket as endpoint/bucket/key (MinIO and most self-hosted stores)." },
  { name: "FLUX_FILL_REDIS_URL", meaning: "`redis://host:6379/0`: replicas share the upstream slots (FLUX_FILL_MAX_ACTIVE per key across all of them) through this Redis (default: unset, one process)." },
  { name: "FLUX_FILL_REDIS_LEASE_S", meaning: `Lifetime of an upstream slot lease in Redis, renewed every third of it while the task runs: a dead replica's slots come back after this long (default ${DEFAULTS.redisLeaseS}).` },
  { name: "FLUX_FILL_HTTP_HOST", meaning: `Address the HTTP transport binds (default ${DEFAULTS.httpHost}).` },
  { name: "FLUX_FILL_HTTP_PORT", meaning: `Port of the HTTP transport (default ${DEFAULTS.httpPort}).` },
  { name: "FLUX_FILL_HTTP_TOKEN", meaning: "Bearer token required on every HTTP request (required off loopback)." },
  { name: "FLUX_FILL_HTTP_ALLOWED_HOSTS", meaning: "Extra Host header values the HTTP transport accepts, comma-separated." },
  { name: "FLUX_FILL_HTTP_ALLOWED_ORIGINS", meaning: "Browser origins the HTTP transport accepts, comma-separated." },
  { name: "FLUX_FILL_HTTP_TOKENS_FILE", meaning: "File of named tokens, one `name:token` or `name:sha256:<hex>` per line (`#` starts a comment); the name is the user. Reloaded on change and on SIGHUP." },
  { name: "FLUX_FILL_OAUTH_ISSUER", meaning: "OAuth 2.1 authorization server (issuer URL) whose JWT access tokens are accepted; its JWKS is found through its RFC 8414 / OpenID metadata. Needs FLUX_FILL_PUBLIC_URL." },
  { name: "FLUX_FILL_PUBLIC_URL", meaning: "This server's canonical MCP URL, e.g. https://mcp.example.com/mcp: the audience OAuth tokens must carry." },
  { name: "FLUX_FILL_OAUTH_USER_CLAIM", meaning: `The token claim that names the user (default ${DEFAULTS.oauthUserClaim}).` },
  { name: "FLUX_FILL_OAUTH_REQUIRED_SCOPE", meaning: "Scope(s) every OAuth token must carry, space-separated (default none); a token without them gets 403 insufficient_scope." },
  { name: "FLUX_FILL_MAX_ACTIVE_PER_USER", meaning: "Most upstream tasks one user may have in flight at once (default with named tokens or OAuth: three quarters of FLUX_FILL_MAX_ACTIVE, rounded up; else all). The waiting user with the fewest running tasks goes first, ties in turns." },
  { name: "FLUX_FILL_HTTP_MAX_SESSIONS", meaning: `Most open HTTP sessions (default ${DEFAULTS.maxSessions}); at the cap the least recently used idle session is ended.` },
  { name: "FLUX_FILL_HTTP_MAX_SESSIONS_PER_USER", meaning: `Most open HTTP sessions of one user (default with named tokens or OAuth ${DEFAULTS.maxSessionsPerUser}, else the global cap); at the cap that user's least recently used idle session is ended.` },
  { name: "FLUX_FILL_HTTP_REPLAY_MB", meaning: `Memory for resumable-stream replay events across all sessions, in MB (default ${DEFAULTS.replayBudgetMB}); the oldest are dropped first.` },
  { name: "FLUX_FILL_MODELS_DIR", meaning: "Folder of the onnx segmenter's model weights (`flux-fill-mcp models pull sam2.1-tiny` or `mobilesam`; default: the user's cache folder, e.g. ~/.cache/flux-fill-mcp/models)." },
  { name: "FLUX_FILL_MODELS_BASE_URL", meaning: "Where `models pull` downloads weights from, for every model (default: each model's public home on Hugging Face); for mirrors and tests." },
  { name: "XDG_CACHE_HOME", meaning: "The user's cache folder on Linux (the default FLUX_FILL_MODELS_DIR is under it; default ~/.cache)." },
  { name: "LOCALAPPDATA", meaning: "The user's local application data folder on Windows (the default FLUX_FILL_MODELS_DIR is under it)." },
  { name: "FLUX_FILL_AUDIT_LOG", meaning: "File the audit log (one JSON line per fill) is appended to; default stderr." },
  { name: "FLUX_FILL_AUDIT_PROMPTS", meaning: "`1` puts prompts in the audit log (default off)." },
];

const flag = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .optional()
  .transform((v) => v === "1" || v === "true" || v === "yes");

const positive = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: "custom", message: `${name} must be a positive number, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

/** How a URL setting is checked: its schemes, and what the message says is accepted. */
interface UrlRule {
  schemes: readonly string[];
  accepted: string;
  noFragment?: boolean;
  /** The value may hold a password: the message does not echo it. */
  secret?: boolean;
}

const HTTP_SCHEMES = ["http:", "https:"];

/** `raw` when it is a URL the rule accepts; else an issue naming the setting, and z.NEVER. */
function checkedUrl(name: string, raw: string, rule: UrlRule, ctx: z.RefinementCtx): string {
  try {
    const url = new URL(raw);
    if (rule.schemes.includes(url.protocol) && !(rule.noFragment === true && url.hash !== "")) return raw;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: "custom", message: `${name} must be ${rule.accepted}${rule.secret ? "" : `, got "${raw}"`}` });
  return z.NEVER;
}

/** A URL setting kept exactly as written (trimmed); unset or empty = undefined. */
const optionalUrl = (name: string, rule: UrlRule) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v?.trim();
      return raw ? checkedUrl(name, raw, rule, ctx) : undefined;
    });

/**
 * An http(s) URL without fragment, kept exactly as written (issuers and audiences are compared as exact
 * strings, a trailing slash included).
 */
const exactHttpUrl = (name: string) =>
  optionalUrl(name, { schemes: HTTP_SCHEMES, accepted: "an http(s) URL without a fragment", noFragment: true });

/** Credits (0 or more); unset or empty = no limit. */
const creditLimit = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        ctx.addIssue({
          code: "custom",
          message: `${name} must be a number of credits of 0 or more (or unset for no limit), got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

/** A key: trimmed; unset or blank = undefined. */
const apiKey = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

/** An upstream host: an http(s) URL, trailing slashes dropped; unset = `fallback`. */
const baseUrl = (name: string, fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v?.trim() || fallback;
      const checked = checkedUrl(name, raw, { schemes: HTTP_SCHEMES, accepted: "an http(s) URL" }, ctx);
      return checked === raw ? raw.replace(/\/+$/, "") : checked;
    });

const EnvSchema = z.object({
  BFL_API_KEY: apiKey,
  BFL_API_BASE_URL: baseUrl("BFL_API_BASE_URL", DEFAULTS.baseUrl),
  FAL_KEY: apiKey,
  REPLICATE_API_TOKEN: apiKey,
  FLUX_FILL_FAL_BASE_URL: baseUrl("FLUX_FILL_FAL_BASE_URL", DEFAULTS.falBaseUrl),
  FLUX_FILL_REPLICATE_BASE_URL: baseUrl("FLUX_FILL_REPLICATE_BASE_URL", DEFAULTS.replicateBaseUrl),
  FLUX_FILL_MODEL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = (v?.trim() || "pro").toLowerCase();
      if (value === "pro" || value === "dev") return value;
      ctx.addIssue({ code: "custom", message: `FLUX_FILL_MODEL must be pro or dev, got "${v}"` });
      return z.NEVER;
    }),
  FLUX_FILL_SEGMENTER: z
    .string()
    .optional()
    .transform((v, ctx): SegmenterSetting => {
      const value = (v?.trim() || "auto").toLowerCase();
      const known = SEGMENTER_SETTINGS.find((name) => name === value);
      if (known !== undefined) return known;
      ctx.addIssue({
        code: "custom",
        message: `FLUX_FILL_SEGMENTER must be ${SEGMENTER_SETTINGS.join(", ")}, got "${v}"`,
      });
      return z.NEVER;
    }),
  FLUX_FILL_PROVIDER: z
    .string()
    .optional()
    .transform((v, ctx): "auto" | ProviderName => {
      const value = (v?.trim() || "auto").toLowerCase();
      if (value === "auto") return value;
      const known = PROVIDER_NAMES.find((name) => name === value);
      if (known !== undefined) return known;
      ctx.addIssue({
        code: "custom",
        message: `FLUX_FILL_PROVIDER must be auto, ${PROVIDER_NAMES.slice(0, -1).join(", ")} or ${PROVIDER_NAMES.at(-1)}, got "${v}"`,
      });
      return z.NEVER;
    }),
  FLUX_FILL_OUTPUT_DIR: z.string().optional(),
  FLUX_FILL_ALLOWED_DIRS: z.string().optional(),
  FLUX_FILL_ALLOW_PRIVATE_URLS: flag,
  FLUX_FILL_TIMEOUT_S: positive("FLUX_FILL_TIMEOUT_S", DEFAULTS.timeoutS),
  FLUX_FILL_FETCH_TIMEOUT_S: positive("FLUX_FILL_FETCH_TIMEOUT_S", DEFAULTS.fetchTimeoutS),
  FLUX_FILL_MAX_INPUT_MB: positive("FLUX_FILL_MAX_INPUT_MB", DEFAULTS.maxInputMB),
  FLUX_FILL_MAX_INPUT_MP: positive("FLUX_FILL_MAX_INPUT_MP", DEFAULTS.maxInputMP),
  // Unset: the adaptive schedule (undefined); set: a fixed interval in ms.
  FLUX_FILL_POLL_INTERVAL_MS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({
          code: "custom",
          message: `FLUX_FILL_POLL_INTERVAL_MS must be a positive number of ms (or unset for the adaptive schedule), got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    }),
  FLUX_FILL_PREVIEW_MAX_PX: positive("FLUX_FILL_PREVIEW_MAX_PX", DEFAULTS.previewMaxSize),
  FLUX_FILL_MAX_ACTIVE: positive("FLUX_FILL_MAX_ACTIVE", DEFAULTS.maxActive),
  FLUX_FILL_DAILY_CREDIT_LIMIT: creditLimit("FLUX_FILL_DAILY_CREDIT_LIMIT"),
  FLUX_FILL_USER_DAILY_CREDIT_LIMIT: creditLimit("FLUX_FILL_USER_DAILY_CREDIT_LIMIT"),
  FLUX_FILL_RESULTS_URL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const location = parseS3Url(v);
      if (!location) {
        ctx.addIssue({
          code: "custom",
          message: `FLUX_FILL_RESULTS_URL must be s3://bucket or s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, dots, hyphens), got "${v}"`,
        });
        return z.NEVER;
      }
      return location;
    }),
  AWS_ENDPOINT_URL_S3: optionalUrl("AWS_ENDPOINT_URL_S3", { schemes: HTTP_SCHEMES, accepted: "an http(s) URL" }),
  AWS_REGION: z.string().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  FLUX_FILL_S3_FORCE_PATH_STYLE: flag,
  FLUX_FILL_REDIS_URL: optionalUrl("FLUX_FILL_REDIS_URL", {
    schemes: ["redis:", "rediss:"],
    accepted: "a redis:// or rediss:// URL",
    secret: true,
  }),
  FLUX_FILL_REDIS_LEASE_S: positive("FLUX_FILL_REDIS_LEASE_S", DEFAULTS.redisLeaseS),
  FLUX_FILL_HTTP_HOST: z.string().optional(),
  FLUX_FILL_HTTP_PORT: positive("FLUX_FILL_HTTP_PORT", DEFAULTS.httpPort),
  FLUX_FILL_HTTP_TOKEN: z.string().optional(),
  FLUX_FILL_HTTP_ALLOWED_HOSTS: z.string().optional(),
  FLUX_FILL_HTTP_ALLOWED_ORIGINS: z.string().optional(),
  FLUX_FILL_HTTP_TOKENS_FILE: z.string().optional(),
  FLUX_FILL_OAUTH_ISSUER: exactHttpUrl("FLUX_FILL_OAUTH_ISSUER"),
  FLUX_FILL_PUBLIC_URL: exactHttpUrl("FLUX_FILL_PUBLIC_URL"),
  FLUX_FILL_OAUTH_USER_CLAIM: z.string().optional(),
  FLUX_FILL_OAUTH_REQUIRED_SCOPE: z.string().optional(),
  FLUX_FILL_MAX_ACTIVE_PER_USER: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1) {
        ctx.addIssue({
          code: "custom",
          message: `FLUX_FILL_MAX_ACTIVE_PER_USER must be a number of 1 or more, got "${v}"`,
        });
        return z.NEVER;
      }
      return Math.floor(n);
    }),
  FLUX_FILL_HTTP_MAX_SESSIONS: positive("FLUX_FILL_HTTP_MAX_SESSIONS", DEFAULTS.maxSessions),
  // Unset: DEFAULTS.maxSessionsPerUser with several users, else the global cap (NaN marks "unset").
  FLUX_FILL_HTTP_MAX_SESSIONS_PER_USER: positive("FLUX_FILL_HTTP_MAX_SESSIONS_PER_USER", Number.NaN),
  FLUX_FILL_HTTP_REPLAY_MB: positive("FLUX_FILL_HTTP_REPLAY_MB", DEFAULTS.replayBudgetMB),
  FLUX_FILL_AUDIT_LOG: z.string().optional(),
  FLUX_FILL_AUDIT_PROMPTS: flag,
  FLUX_FILL_MODELS_DIR: z.string().optional(),
  FLUX_FILL_MODELS_BASE_URL: optionalUrl("FLUX_FILL_MODELS_BASE_URL", { schemes: HTTP_SCHEMES, accepted: "an http(s) URL" }),
  XDG_CACHE_HOME: z.string().optional(),
  LOCALAPPDATA: z.string().optional(),
});

/** The names of every environment variable the server reads (the keys of its schema). */
export const SETTING_NAMES: ReadonlyArray<string> = Object.keys(EnvSchema.shape);

const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);

/** True for a directory that must never become an allowed root by default: `/`, a drive root, or home. */
export function isTooBroadForDefaultRoot(dir: string, home = os.homedir()): boolean {
  const resolved = path.resolve(dir);
  return resolved === path.parse(resolved).root || resolved === path.resolve(home);
}

/**
 * A placeholder an MCP Bundle host left unfilled: the MCPB reference code (`getMcpConfigForManifest` in
 * @anthropic-ai/mcpb, used by Claude's apps) replaces `${user_config.KEY}` only when KEY has a value or a
 * default and keeps the text otherwise. Such a value means "not set", never a key or a folder name.
 */
export function isUnfilledPlaceholder(value: string | undefined): boolean {
  return value !== undefined && /^\$\{user_config\.[^}]*\}$/.test(value.trim());
}

/**
 * Where model weights go by default: the platform's per-user cache folder — $XDG_CACHE_HOME (else
 * ~/.cache) on Linux and other Unixes, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows — then
 * flux-fill-mcp/models.
 */
export function defaultModelsDir(
  env: { xdgCacheHome?: string | undefined; localAppData?: string | undefined },
  platform: NodeJS.Platform = process.platform,
  home = os.homedir(),
): string {
  const p = platform === "win32" ? path.win32 : path.posix;
  let cache: string;
  if (platform === "win32") cache = env.localAppData?.trim() || p.join(home, "AppData", "Local");
  else if (platform === "darwin") cache = p.join(home, "Library", "Caches");
  else cache = env.xdgCacheHome?.trim() && p.isAbsolute(env.xdgCacheHome.trim()) ? env.xdgCacheHome.trim() : p.join(home, ".cache");
  return p.join(cache, "flux-fill-mcp", "models");
}

/** Options that come from the command line rather than the environment. */
export interface ConfigArgs {
  /** More roots files may be read from (`flux-fill-mcp serve DIR...`), besides FLUX_FILL_ALLOWED_DIRS. */
  allowedDirs?: readonly string[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), args: ConfigArgs = {}): Config {
  const filled = Object.fromEntries(Object.entries(env).filter(([, value]) => !isUnfilledPlaceholder(value)));
  const parsed = EnvSchema.safeParse(filled);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message).join("; ");
    throw new FluxFillError("bad_input", `Invalid configuration: ${problems}`, {
      suggestion: "Fix the environment variable(s) named above in your MCP client's config (\"env\").",
    });
  }
  const e = parsed.data;
  const maxActive = Math.max(1, Math.floor(e.FLUX_FILL_MAX_ACTIVE));
  const severalUsers = Boolean(e.FLUX_FILL_HTTP_TOKENS_FILE?.trim() || e.FLUX_FILL_OAUTH_ISSUER);
  const maxSessions = Math.floor(e.FLUX_FILL_HTTP_MAX_SESSIONS);
  const outputDir = path.resolve(cwd, e.FLUX_FILL_OUTPUT_DIR?.trim() || path.join(os.homedir(), DEFAULTS.outputDirName));
  let allowedDirs = [...(e.FLUX_FILL_ALLOWED_DIRS ?? "").split(path.delimiter), ...(args.allowedDirs ?? [])]
    .map((d) => d.trim())
    .filter((d) => d !== "" && !isUnfilledPlaceholder(d))
    .map((d) => path.resolve(cwd, d));
  if (allowedDirs.length === 0) {
    allowedDirs = [outputDir, os.tmpdir()];
    if (!isTooBroadForDefaultRoot(cwd)) allowedDirs.unshift(path.resolve(cwd));
  }
  return {
    provider: e.FLUX_FILL_PROVIDER,
    bfl: { apiKey: e.BFL_API_KEY, baseUrl: e.BFL_API_BASE_URL, pollIntervalMs: e.FLUX_FILL_POLL_INTERVAL_MS },
    fal: { apiKey: e.FAL_KEY, baseUrl: e.FLUX_FILL_FAL_BASE_URL },
    replicate: { apiKey: e.REPLICATE_API_TOKEN, baseUrl: e.FLUX_FILL_REPLICATE_BASE_URL },
    model: e.FLUX_FILL_MODEL,
    segmenter: e.FLUX_FILL_SEGMENTER,
    outputDir,
    allowedDirs: [...new Set(allowedDirs)],
    deniedDirs: [],
    allowPrivateUrls: e.FLUX_FILL_ALLOW_PRIVATE_URLS,
    timeoutMs: e.FLUX_FILL_TIMEOUT_S * 1000,
    fetchTimeoutMs: e.FLUX_FILL_FETCH_TIMEOUT_S * 1000,
    maxInputBytes: Math.round(e.FLUX_FILL_MAX_INPUT_MB * 1024 * 1024),
    maxInputPixels: Math.round(e.FLUX_FILL_MAX_INPUT_MP * 1_000_000),
    previewMaxSize: Math.round(e.FLUX_FILL_PREVIEW_MAX_PX),
    cwd,
    maxActive,
    dailyCreditLimit: e.FLUX_FILL_DAILY_CREDIT_LIMIT,
    userDailyCreditLimit: e.FLUX_FILL_USER_DAILY_CREDIT_LIMIT,
    maxActivePerUser: e.FLUX_FILL_MAX_ACTIVE_PER_USER ?? defaultMaxActivePerUser(maxActive, severalUsers),
    audit: {
      file: e.FLUX_FILL_AUDIT_LOG?.trim() ? path.resolve(cwd, e.FLUX_FILL_AUDIT_LOG.trim()) : undefined,
      prompts: e.FLUX_FILL_AUDIT_PROMPTS,
    },
    results:
      e.FLUX_FILL_RESULTS_URL === undefined
        ? { kind: "local" }
        : {
            kind: "s3",
            s3: {
              ...e.FLUX_FILL_RESULTS_URL,
              region: e.AWS_REGION?.trim() || DEFAULTS.awsRegion,
              endpoint: e.AWS_ENDPOINT_URL_S3,
              forcePathStyle: e.FLUX_FILL_S3_FORCE_PATH_STYLE,
              credentials:
                e.AWS_ACCESS_KEY_ID?.trim() && e.AWS_SECRET_ACCESS_KEY?.trim()
                  ? {
                      accessKeyId: e.AWS_ACCESS_KEY_ID.trim(),
                      secretAccessKey: e.AWS_SECRET_ACCESS_KEY.trim(),
                      ...(e.AWS_SESSION_TOKEN?.trim() ? { sessionToken: e.AWS_SESSION_TOKEN.trim() } : {}),
                    }
                  : undefined,
            },
          },
    models: {
      dir: e.FLUX_FILL_MODELS_DIR?.trim()
        ? path.resolve(cwd, e.FLUX_FILL_MODELS_DIR.trim())
        : defaultModelsDir({ xdgCacheHome: e.XDG_CACHE_HOME, localAppData: e.LOCALAPPDATA }),
      baseUrl: e.FLUX_FILL_MODELS_BASE_URL,
    },
    redis:
      e.FLUX_FILL_REDIS_URL === undefined
        ? undefined
        : { url: e.FLUX_FILL_REDIS_URL, leaseMs: Math.round(e.FLUX_FILL_REDIS_LEASE_S * 1000) },
    http: {
      host: e.FLUX_FILL_HTTP_HOST?.trim() || DEFAULTS.httpHost,
      port: Math.floor(e.FLUX_FILL_HTTP_PORT),
      token: e.FLUX_FILL_HTTP_TOKEN?.trim() || undefined,
      allowedHosts: list(e.FLUX_FILL_HTTP_ALLOWED_HOSTS),
      allowedOrigins: list(e.FLUX_FILL_HTTP_ALLOWED_ORIGINS),
      tokensFile: e.FLUX_FILL_HTTP_TOKENS_FILE?.trim()
        ? path.resolve(cwd, e.FLUX_FILL_HTTP_TOKENS_FILE.trim())
        : undefined,
      oauth: oauthConfig(e),
      maxSessions,
      maxSessionsPerUser: Number.isNaN(e.FLUX_FILL_HTTP_MAX_SESSIONS_PER_USER)
        ? severalUsers
          ? Math.min(maxSessions, DEFAULTS.maxSessionsPerUser)
          : maxSessions
        : Math.floor(e.FLUX_FILL_HTTP_MAX_SESSIONS_PER_USER),
      replayBudgetBytes: Math.round(e.FLUX_FILL_HTTP_REPLAY_MB * 1024 * 1024),
    },
  };
}

function oauthConfig(e: z.infer<typeof EnvSchema>): OAuthConfig | undefined {
  const issuer = e.FLUX_FILL_OAUTH_ISSUER;
  if (issuer === undefined) return undefined;
  if (e.FLUX_FILL_PUBLIC_URL === undefined) {
    throw new FluxFillError(
      "bad_input",
      "Invalid configuration: FLUX_FILL_OAUTH_ISSUER is set but FLUX_FILL_PUBLIC_URL is not.",
      {
        suggestion:
          "Set FLUX_FILL_PUBLIC_URL to the URL clients use for this server's MCP endpoint (e.g. https://mcp.example.com/mcp); OAuth tokens must be issued for that audience.",
      },
    );
  }
  return {
    issuer,
    publicUrl: e.FLUX_FILL_PUBLIC_URL,
    userClaim: e.FLUX_FILL_OAUTH_USER_CLAIM?.trim() || DEFAULTS.oauthUserClaim,
    requiredScopes: (e.FLUX_FILL_OAUTH_REQUIRED_SCOPE ?? "").split(/\s+/).filter(Boolean),
  };
}

/** The provider a config resolves to. */
export function effectiveProvider(config: Config): ProviderName {
  if (config.provider !== "auto") return config.provider;
  if (config.bfl.apiKey) return "bfl";
  if (config.fal.apiKey) return "fal";
  if (config.replicate.apiKey) return "replicate";
  return "local";
}

/** The key a provider needs (undefined for the local engine, or when it is not set). */
export function providerKey(config: Config, provider: ProviderName): string | undefined {
  if (provider === "local") return undefined;
  return config[provider].apiKey;
}
