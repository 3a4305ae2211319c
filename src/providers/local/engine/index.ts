export { Arena } from "./arena.js";
export { type BandJob, type BandRunner, bandArrays, bandWork, FIELD_BANDS, runBand, runBandsInOrder } from "./bands.js";
export { type EngineProgress, type InpaintOptions, inpaint, inpaintSteps, smoothFill, USAGE_WEIGHT } from "./inpaint.js";
export { holePsnr, laplacianStd, textureRatio } from "./metrics.js";
export { improveBand } from "./patchmatch.js";
