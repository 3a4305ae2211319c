import sharp from "sharp";
import { FluxFillError } from "../../errors.js";
import type { FillContext, FillOutput, Provider, ProviderRequest } from "../types.js";
import type { RasterImage } from "../../images/raster.js";
import { padCanvas } from "./canvas.js";
import { cancelledError, runEngine, warmEngineThread } from "./run.js";

export const PROMPT_IGNORED_NOTE =
  "The local engine ignores the prompt: it continues the surrounding texture. Set BFL_API_KEY (or FAL_KEY, REPLICATE_API_TOKEN) to use FLUX.1 Fill.";
export const EXPAND_PROMPT_IGNORED_NOTE =
  "The local engine ignores the prompt: it continues the photo's texture into the new border. Set BFL_API_KEY to use FLUX.1 Expand [pro].";

const JPEG_QUALITY = 92;

export interface LocalProviderOptions {
  /** Run the engine in a worker thread when available (default true). */
  useWorker?: boolean;
}

/**
 * The engine's input for a request: a fill's image and mask as they are; an expansion's photo padded
 * to the new canvas, with the border as the area to fill.
 */
async function engineInput(request: ProviderRequest): Promise<{ image: RasterImage; mask: RasterImage }> {
  if (request.kind === "fill") {
    const [image, mask] = await Promise.all([request.image.pixels(), request.mask.pixels()]);
    return { image: toRgb(image), mask };
  }
  return padCanvas(toRgb(await request.image.pixels()), request.params);
}

/**
 * The embedded offline engine: exemplar-based inpainting that continues the surrounding texture, with no
 * network and no key. It fills a mask, or the new border of an expansion (patches come only from the
 * photo). The prompt is ignored (and the caller told so).
 */
export function createLocalProvider(options: LocalProviderOptions = {}): Provider {
  // The provider is made before the inputs are read, so an engine thread can start meanwhile.
  if (options.useWorker !== false) warmEngineThread();
  return {
    name: "local",
    estimateCredits: () => 0,
    async fill(request: ProviderRequest, context: FillContext): Promise<FillOutput> {
      const started = Date.now();
      const report = (status: string, message: string, fraction?: number) =>
        context.onProgress?.({
          status,
          elapsedMs: Date.now() - started,
          message,
          ...(fraction === undefined ? {} : { fraction }),
        });
      if (context.signal.aborted) throw cancelledError();
      const seed = request.params.seed ?? Math.floor(Math.random() * 2 ** 31);
      report("start", "Local engine started.", 0);
      await request.checked;
      const { image, mask } = await engineInput(request);
      const filled = await runEngine(
        { image, mask, seed },
        {
          signal: context.signal,
          onProgress: (progress) => report(progress.stage, progress.message, 0.95 * progress.fraction),
          ...(options.useWorker === undefined ? {} : { useWorker: options.useWorker }),
        },
      );
      if (context.signal.aborted) throw cancelledError();
      const format = request.params.output_format;
      report("encode", `Encoding the result as ${format}.`, 0.95);
      const bytes = await encode(filled, format);
      report("done", request.kind === "fill" ? "Local fill complete." : "Local expansion complete.", 1);
      const ignored = request.kind === "fill" ? PROMPT_IGNORED_NOTE : EXPAND_PROMPT_IGNORED_NOTE;
      const notes = request.params.prompt.trim() === "" ? [] : [ignored];
      return { provider: "local", bytes, format, seed, notes };
    },
  };
}

function encode(image: RasterImage, format: "jpeg" | "png"): Promise<Buffer> {
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  return format === "jpeg" ? pipeline.jpeg({ quality: JPEG_QUALITY }).toBuffer() : pipeline.png().toBuffer();
}

/** The pipeline hands over opaque RGB; tolerate RGBA or grey by converting rather than failing. */
function toRgb(image: RasterImage): RasterImage {
  if (image.channels === 3) return image;
  const pixels = image.width * image.height;
  if (image.data.length !== pixels * image.channels) {
    throw new FluxFillError(
      "bad_input",
      `The image buffer holds ${image.data.length} bytes, not ${image.width}×${image.height}×${image.channels}.`,
    );
  }
  const data = Buffer.alloc(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = image.data[i * image.channels + (image.channels === 1 ? 0 : c)]!;
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}
