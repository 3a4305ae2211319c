import { decodedImage } from "../../src/images/prepare.js";
import type { FillRequest } from "../../src/providers/types.js";
import type { RasterImage } from "../../src/images/raster.js";

/** A provider request from decoded pixels, its checks already passed (as the pipeline hands one over). */
export function fillRequest(
  image: RasterImage,
  mask: RasterImage,
  upload: FillRequest["upload"],
  params: FillRequest["params"],
): FillRequest {
  return {
    kind: "fill",
    image: decodedImage(image),
    mask: decodedImage(mask),
    upload,
    params,
    checked: Promise.resolve(),
  };
}
