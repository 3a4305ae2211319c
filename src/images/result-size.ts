/**
 * A result's size, read from its header before anything decodes it: the model returns the size it was
 * sent, so a result far larger is broken (a 15000×15000 PNG of 0.7 MB decodes to ~0.7 GB of pixels) and
 * is refused without being decoded or saved.
 */
import { FluxFillError } from "../errors.js";
import { imageSizeOf } from "./preview.js";

/** A result may have at most this many times the pixels that were sent. */
export const MAX_RESULT_PIXEL_RATIO = 4;

/** The result's header size and format, after checking it against the size sent; throws upstream_failed. */
export async function checkResultSize(
  bytes: Buffer,
  sent: { width: number; height: number },
  upstreamId: string | undefined,
): Promise<{ width: number; height: number; format: string }> {
  const task = upstreamId === undefined ? "" : ` (paid upstream task ${upstreamId})`;
  let size: { width: number; height: number; format: string };
  try {
    size = await imageSizeOf(bytes);
  } catch (cause) {
    throw new FluxFillError("upstream_failed", `The provider returned data that is not a readable image${task}; it was not saved.`, {
      suggestion: "Try again; the file the provider delivered was broken.",
      cause,
    });
  }
  const limit = MAX_RESULT_PIXEL_RATIO * sent.width * sent.height;
  if (!(size.width > 0 && size.height > 0) || size.width * size.height > limit) {
    throw new FluxFillError(
      "upstream_failed",
      `The provider returned a broken result${task}: a ${size.width}×${size.height} image for a ${sent.width}×${sent.height} input (more than ${MAX_RESULT_PIXEL_RATIO}× the pixels sent). It was refused without being decoded and was not saved.`,
      {
        suggestion: "Try again (a new seed); if it repeats, report the task id to the provider.",
        details: { ...(upstreamId === undefined ? {} : { taskId: upstreamId }), width: size.width, height: size.height },
      },
    );
  }
  return size;
}
