import { FluxFillError } from "../errors.js";
import { selectObject } from "../images/selection/object.js";
import type { Segmentation, Segmenter } from "../images/selection/segmenter.js";

/**
 * The `classic` segmenter: today's colour-model selection (images/selection/object.ts) behind the
 * Segmenter interface. Offline, free, one mask per box; it cannot read text.
 */

export function createClassicSegmenter(): Segmenter {
  return {
    name: "classic",
    readsText: false,
    hosted: false,
    async segment(image, prompt): Promise<Segmentation> {
      if (prompt.box === undefined) {
        throw new FluxFillError("internal", "The classic segmenter needs a box (text prompts are refused earlier).");
      }
      const selection = selectObject(image, prompt.box, {
        ...(prompt.include ? { include: prompt.include } : {}),
        ...(prompt.exclude ? { exclude: prompt.exclude } : {}),
      });
      return {
        mask: selection.mask,
        decided: selection.decided,
        reason: selection.reason,
        confidence: selection.confidence,
        candidates: 1,
        segmenter: "classic",
        costUsd: 0,
      };
    },
  };
}
