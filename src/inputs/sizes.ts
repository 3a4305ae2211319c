import { FluxFillError } from "../errors.js";
import type { InputLabel } from "./reference.js";

/** Bytes as MB with one decimal (1 MB = 1024 × 1024 bytes, as FLUX_FILL_MAX_INPUT_MB counts), or as bytes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${bytes} bytes`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The one `too_large` error of every input kind: what it is, its size, the limit and the setting. */
export function inputTooLarge(label: InputLabel, what: string, size: string, limitBytes: number): FluxFillError {
  return new FluxFillError(
    "too_large",
    `The ${label} ${what} is too large: ${size}; the limit is ${formatBytes(limitBytes)} (FLUX_FILL_MAX_INPUT_MB).`,
    {
      suggestion: "Use a smaller image, or raise FLUX_FILL_MAX_INPUT_MB in the server's env.",
      details: { input: label, limitBytes },
    },
  );
}
