/**
 * What the pipeline is asked to run, and the split of the tool's arguments into what goes upstream and what
 * only this server reads (mask options, stitch options).
 */
import { MASK_OPTION_NAMES, type MaskOptions } from "../images/mask-spec.js";
import type { Anchor } from "../images/expand.js";
import type { CropMode } from "../images/stitch-plan.js";
import type { ExpandParams, FillParams } from "../schema/upstream.js";
import type { PreviewedMask } from "../state/masks.js";

/** One fill as the pipeline sees it: references still unresolved, parameters validated with defaults. */
export interface FillJob {
  kind?: "fill";
  image: string;
  mask?: string | undefined;
  /**
   * The upstream parameters. Callers may pass the whole parsed tool input here (mask options included):
   * the mask options are taken out before anything is sent upstream.
   */
  params: FillParams & MaskOptions & StitchOptions;
  /** Where to inpaint besides `mask` (shapes, SVG, conventions, modifiers); overrides the same keys in params. */
  maskOptions?: MaskOptions;
  /** A mask preview_mask showed (mask_id), sent as it is instead of `mask`; only for the image it was drawn on. */
  previewed?: PreviewedMask | undefined;
}

/**
 * One expansion as the pipeline sees it: the reference still unresolved, parameters validated with
 * defaults. The sides in `params` are added first; `aspectRatio`, when given, then grows the dimension
 * short of it (placed by `anchor`).
 */
export interface ExpandJob {
  kind: "expand";
  image: string;
  params: ExpandParams & Omit<StitchOptions, "crop">;
  aspectRatio?: string | undefined;
  anchor?: Anchor | undefined;
}

/** What the pipeline runs: a fill (the default kind) or an expansion, through the same stages. */
export type PipelineJob = FillJob | ExpandJob;

/**
 * How the result is made from the upstream's output (tool-only, never sent): `crop` what is sent,
 * `keep_unmasked` whether only the mask is put back onto the original (images/stitch*.ts).
 */
export interface StitchOptions {
  crop?: CropMode | undefined;
  keep_unmasked?: boolean | undefined;
  /** How many candidates (tasks with distinct seeds) to make: 1..4. */
  variations?: number | undefined;
}

const STITCH_OPTION_NAMES = ["crop", "keep_unmasked", "variations"] as const satisfies ReadonlyArray<keyof StitchOptions>;

/** Takes the stitch options out of the parameters (defaults: crop auto, keep_unmasked true). */
export function splitStitchOptions<P extends object>(params: P & StitchOptions): { params: P; stitch: Required<StitchOptions> } {
  const upstream: Record<string, unknown> = { ...(params as Record<string, unknown>) };
  for (const name of STITCH_OPTION_NAMES) delete upstream[name];
  return {
    params: upstream as P,
    stitch: { crop: params.crop ?? "auto", keep_unmasked: params.keep_unmasked ?? true, variations: params.variations ?? 1 },
  };
}

/** Splits the mask options (tool-only) from the upstream parameters, so they never reach the upstream. */
export function splitMaskOptions(params: FillParams & MaskOptions): { params: FillParams; maskOptions: MaskOptions } {
  const upstream: Record<string, unknown> = { ...params };
  const maskOptions: Record<string, unknown> = {};
  for (const name of MASK_OPTION_NAMES) {
    if (name in upstream) {
      if (upstream[name] !== undefined) maskOptions[name] = upstream[name];
      delete upstream[name];
    }
  }
  return { params: upstream as FillParams, maskOptions: maskOptions as MaskOptions };
}
