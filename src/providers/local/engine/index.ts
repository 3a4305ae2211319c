export { type EngineProgress, type InpaintOptions, inpaint, inpaintSteps, smoothFill } from "./inpaint.js";
export { holePsnr, laplacianStd, textureRatio } from "./metrics.js";
