import type * as Ort from "onnxruntime-node";
import { FluxFillError } from "../../errors.js";

/**
 * ONNX Runtime, loaded only when the onnx segmenter first runs. `onnxruntime-node` is an optional peer
 * dependency: its npm package carries native CPU libraries for every platform (~290 MB unpacked) and its
 * install script fetches GPU libraries from outside npm unless told to skip, so `npx flux-fill-mcp` must not
 * pull it in. Whoever wants the onnx segmenter installs it beside flux-fill-mcp (docs/configuration.md).
 */
export type OrtModule = typeof Ort;

export const RUNTIME_PACKAGE = "onnxruntime-node";
export const RUNTIME_FIX =
  "Install ONNX Runtime beside flux-fill-mcp: `npm install -g flux-fill-mcp onnxruntime-node --onnxruntime-node-install=skip` (or `npx -p flux-fill-mcp -p onnxruntime-node flux-fill-mcp`), or set FLUX_FILL_SEGMENTER=classic.";

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

/** The runtime module; a clear error naming the fix when it is not installed or does not load. */
export async function loadOnnxRuntime(specifier: string = RUNTIME_PACKAGE): Promise<OrtModule> {
  try {
    const loaded = (await import(specifier)) as OrtModule & { default?: OrtModule };
    return loaded.InferenceSession ? loaded : (loaded.default ?? loaded);
  } catch (error) {
    const missing = isModuleNotFound(error);
    throw new FluxFillError(
      "service_unavailable",
      missing
        ? `The onnx segmenter needs ONNX Runtime (the ${specifier} package), which is not installed.`
        : `ONNX Runtime (${specifier}) is installed but does not load: ${(error as Error).message}`,
      { suggestion: RUNTIME_FIX, cause: error },
    );
  }
}
