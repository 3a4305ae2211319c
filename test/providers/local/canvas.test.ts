import { describe, expect, it } from "vitest";
import { padCanvas } from "../../../src/providers/local/canvas.js";
import { photoPixels, pixelAt } from "../../helpers/images.js";

describe("padCanvas", () => {
  it("places the photo at (left, top) bit for bit and marks exactly the border for filling", () => {
    const photo = photoPixels(7, 5, 3);
    const sides = { top: 2, bottom: 1, left: 3, right: 4 };
    const { image, mask } = padCanvas(photo, sides);
    expect([image.width, image.height, mask.width, mask.height]).toEqual([14, 8, 14, 8]);
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const inside = x >= 3 && x < 10 && y >= 2 && y < 7;
        expect(pixelAt(mask, x, y)[0], `mask at ${x},${y}`).toBe(inside ? 0 : 255);
        if (inside) expect(pixelAt(image, x, y)).toEqual(pixelAt(photo, x - 3, y - 2));
      }
    }
  });
});
