/**
 * Objects on the real test photos (../shared/data/photos), outlined by hand by looking at the photos, for
 * the emulated SAM (sam-emulation.ts): what a learned segmenter would return for them. Polygons are in
 * fractions of the photo's width and height (coffee.png is 600×400, astronaut.png 512×512).
 */
import type { SamObject } from "./sam-emulation.js";

const px = (width: number, height: number, points: Array<[number, number]>) =>
  points.map(([x, y]) => [x / width, y / height] as const);

/** The teaspoon leaning on the cup: handle from the rim down to the bowl on the saucer. */
export const COFFEE_SPOON: SamObject = {
  label: "spoon teaspoon",
  score: 0.93,
  polygon: px(600, 400, [
    [398, 72], [410, 66], [423, 70], [420, 92], [408, 140], [395, 186], [386, 215], [384, 236],
    [398, 250], [405, 270], [404, 295], [395, 315], [375, 326], [350, 325], [334, 312], [327, 292],
    [332, 268], [348, 250], [368, 238], [374, 214], [384, 180], [397, 128], [400, 95],
  ]),
};

/** The cup with its handle (not the saucer). */
export const COFFEE_CUP: SamObject = {
  label: "cup mug",
  score: 0.96,
  polygon: px(600, 400, [
    [180, 60], [230, 25], [300, 15], [370, 25], [405, 60], [408, 120], [395, 185], [375, 230],
    [345, 262], [300, 280], [255, 278], [240, 300], [205, 305], [195, 270], [205, 235], [180, 170], [172, 110],
  ]),
};

/** The American flag on the left, behind the suit. */
export const ASTRONAUT_FLAG: SamObject = {
  label: "flag",
  score: 0.91,
  polygon: px(512, 512, [
    [0, 0], [98, 0], [100, 60], [96, 200], [86, 228], [62, 268], [40, 300], [28, 330], [22, 400], [20, 512], [0, 512],
  ]),
};

/** The orange suit (the distractor the colour models confused with the flag). */
export const ASTRONAUT_SUIT: SamObject = {
  label: "suit spacesuit",
  score: 0.95,
  polygon: px(512, 512, [
    [115, 195], [135, 240], [120, 270], [60, 290], [30, 330], [22, 420], [24, 512], [290, 512], [300, 420],
    [340, 350], [362, 330], [350, 280], [300, 245], [300, 195], [250, 250], [180, 250],
  ]),
};
