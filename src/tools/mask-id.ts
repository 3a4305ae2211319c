import { FluxFillError } from "../errors.js";
import type { MaskOptions } from "../images/mask-spec.js";
import { MASK_ID_TTL_MS, type MaskStore, type PreviewedMask } from "../state/masks.js";

/**
 * `mask_id` in flux_fill and open_mask_editor: the mask preview_mask showed, in place of the mask fields.
 * Given both, the call is refused: the id already is the finished mask (drawn, modified and checked).
 */

/** The mask fields a call gives besides `mask_id` (defaults do not count). */
export function maskFieldsBeside(fields: { mask?: string | undefined } & MaskOptions): string[] {
  const given: string[] = [];
  if (fields.mask !== undefined) given.push("mask");
  if (fields.mask_regions !== undefined) given.push("mask_regions");
  if (fields.mask_svg !== undefined) given.push("mask_svg");
  if (fields.units === "fraction") given.push("units");
  if (fields.alpha_convention !== undefined && fields.alpha_convention !== "transparent_is_inpaint") {
    given.push("alpha_convention");
  }
  if (fields.invert_mask === true) given.push("invert_mask");
  if ((fields.grow_mask ?? 0) > 0) given.push("grow_mask");
  if ((fields.feather_mask ?? 0) > 0) given.push("feather_mask");
  if (fields.fit_mask === true) given.push("fit_mask");
  return given;
}

/** The user's previewed mask for `id`, after refusing mask fields beside it; a clear error when it is gone. */
export async function previewedMask(
  id: string,
  fields: { mask?: string | undefined } & MaskOptions,
  masks: MaskStore,
  user: string,
): Promise<PreviewedMask> {
  const beside = maskFieldsBeside(fields);
  if (beside.length > 0) {
    throw new FluxFillError(
      "bad_input",
      `mask_id is the whole mask preview_mask showed (already drawn, modified and checked); this call also gives ${beside.join(", ")}.`,
      {
        suggestion: `Remove ${beside.join(", ")} to use the previewed mask as it is, or remove mask_id and give the mask fields (check them again with preview_mask).`,
      },
    );
  }
  const mask = await masks.get(user, id);
  if (mask === undefined) {
    throw new FluxFillError(
      "bad_input",
      `mask_id "${id.slice(0, 40)}" is unknown or has expired: a mask_id is valid for ${MASK_ID_TTL_MS / 60_000} minutes after preview_mask returned it, for the user who called it.`,
      { suggestion: "Call preview_mask again with the same image and mask fields (free) and pass the new mask_id." },
    );
  }
  return mask;
}
