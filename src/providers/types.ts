import type { ProviderName } from "../config.js";
import type { InputImage } from "../images/raster.js";
import type { ExpandParams, FillParams } from "../schema/upstream.js";

/** Everything a provider needs for one fill; produced by the pipeline, never by MCP code. */
export interface FillRequest {
  kind: "fill";
  /** The image as the user sees it; pixels are opaque RGB. */
  image: InputImage;
  /** Same size as `image`; pixels are one channel: 255 = inpaint, 0 = keep, values between are soft edges. */
  mask: InputImage;
  /** The image and mask encoded for upload (PNG or JPEG bytes). */
  upload: { image: Buffer; mask: Buffer };
  params: FillParams;
  /**
   * Settles when the checks made before anything is spent are done, rejecting with the first problem (an
   * error to report as it is). They may still be running when `fill` is called, so that a provider can
   * upload meanwhile; a provider must not let a task be created before this resolves. `pixels()` of
   * either raster waits for it too.
   */
  checked: Promise<void>;
}

/**
 * Everything a provider needs for one expansion (outpainting): the image, and in `params` the pixels to
 * add on each side (already resolved from an aspect ratio, checked) with the other upstream parameters.
 */
export interface ExpandRequest {
  kind: "expand";
  /** The photo as the user sees it; pixels are opaque RGB. Its pixels are kept in the result. */
  image: InputImage;
  /** The image encoded for upload (PNG or JPEG bytes), unpadded: the upstream adds the sides. */
  upload: { image: Buffer };
  params: ExpandParams;
  /** As for FillRequest: no task may be created before it resolves. */
  checked: Promise<void>;
}

/** One unit of provider work; `kind` says which upstream operation it is. */
export type ProviderRequest = FillRequest | ExpandRequest;

/** The size of the image a request produces: the input's for a fill, the expanded canvas for an expansion. */
export function outputSize(request: ProviderRequest): { width: number; height: number } {
  const { width, height } = request.image;
  if (request.kind === "fill") return { width, height };
  const { top, bottom, left, right } = request.params;
  return { width: width + left + right, height: height + top + bottom };
}

export interface FillProgress {
  /** Upstream status (e.g. "Pending") or a stage name of the local engine. */
  status: string;
  elapsedMs: number;
  /** 0..1 when known. */
  fraction?: number;
  message: string;
}

export interface FillContext {
  /** Aborts the whole fill (deadline or shutdown). A client's cancellation is *not* passed here: a paid
   * task keeps being collected so its result is saved. */
  signal: AbortSignal;
  /**
   * Aborts when the caller stopped waiting (the client cancelled the call or went away). Work not started
   * yet is dropped (a call still waiting in the queue is never submitted); a task already submitted is
   * still collected and saved, since it is paid for.
   */
  abandoned?: AbortSignal;
  onProgress?: (progress: FillProgress) => void;
  /**
   * Called once the upstream has created (and charged) a task, before the provider waits on it; the
   * provider awaits it, so the task can be journalled before anything else happens. Errors are ignored.
   */
  onSubmitted?: (task: SubmittedTaskInfo) => Promise<void> | void;
}

/** A task the upstream created: enough to collect its result later, and nothing secret. */
export interface SubmittedTaskInfo {
  upstreamId: string;
  pollingUrl: string;
  /** Credits charged, when the upstream said. */
  cost?: number | undefined;
}

export interface FillOutput {
  provider: ProviderName;
  /** Encoded result image. */
  bytes: Buffer;
  format: "jpeg" | "png";
  upstreamId?: string;
  /** Credits charged, when the upstream reports it. */
  cost?: number;
  seed?: number;
  /** Anything the caller should be told (e.g. "the prompt was ignored by the local engine"). */
  notes: string[];
}

export interface Provider {
  readonly name: ProviderName;
  /** Runs one request of either kind (the name predates expansions). */
  fill(request: ProviderRequest, context: FillContext): Promise<FillOutput>;
  /** Credits one task of `kind` is known to cost before it is submitted; 0 = free. */
  estimateCredits(kind: ProviderRequest["kind"]): number;
  /**
   * Collects the result of a task submitted earlier (by a process that died while waiting on it), given the
   * kind and parameters it was submitted with. Only providers with upstream tasks have it.
   */
  resume?(
    task: SubmittedTaskInfo,
    submitted: Pick<ProviderRequest, "kind" | "params">,
    context: FillContext,
  ): Promise<FillOutput>;
  /** The account's credit balance, when the upstream tells; undefined when it does not answer. */
  balance?(signal: AbortSignal): Promise<number | undefined>;
}
