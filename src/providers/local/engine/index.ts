export { type EngineProgress, type InpaintOptions, inpaint, inpaintSteps, smoothFill } from "./inpaint.js";
export { type BandJob, type BandRunner, FIELD_BANDS, improveBand, runBand, runBandsInOrder } from "./patchmatch.js";
export { holePsnr, laplacianStd, textureRatio } from "./metrics.js";
