import { describe, expect, it } from "vitest";
import {
  candidateFit,
  chooseCandidate,
  clipBox,
  longestSideFrame,
  type LowResMasks,
  promptToPoints,
  sam1RankingScores,
  rgbToSamInput,
  SAM_INPUT_SIZE,
  toImageFrame,
  toModelFrame,
  upscaleMask,
} from "../../../src/segmentation/onnx/transforms.js";

describe("coordinate transforms", () => {
  it("scales x and y separately into the 1024 frame (SAM 2 does not keep the aspect ratio)", () => {
    expect(toModelFrame([400, 150], 800, 600)).toEqual([512, 256]);
    expect(toModelFrame([0, 0], 800, 600)).toEqual([0, 0]);
    expect(toModelFrame([800, 600], 800, 600)).toEqual([1024, 1024]);
  });

  it("goes back exactly", () => {
    expect(toImageFrame([512, 256], 800, 600)).toEqual([400, 150]);
    for (const [x, y] of [[13, 7], [799, 1], [250.5, 599]] as const) {
      const [mx, my] = toModelFrame([x, y], 800, 600);
      const [bx, by] = toImageFrame([mx, my], 800, 600);
      expect(bx).toBeCloseTo(x, 9);
      expect(by).toBeCloseTo(y, 9);
    }
  });

  it("clips a box to the image, and says when nothing is left", () => {
    expect(clipBox({ x: -10, y: 20, width: 50, height: 1000 }, 100, 200)).toEqual([0, 20, 40, 200]);
    expect(clipBox({ x: 120, y: 0, width: 10, height: 10 }, 100, 200)).toBeUndefined();
    expect(clipBox({ x: 50, y: 60, width: -20, height: -30 }, 100, 200)).toEqual([30, 30, 50, 60]);
  });
});

describe("SAM 1's frame (MobileSAM)", () => {
  it("takes the longest side to 1024 and rounds the other half up, as ResizeLongestSide does", () => {
    expect(longestSideFrame(800, 600)).toEqual({ width: 1024, height: 768 });
    expect(longestSideFrame(600, 900)).toEqual({ width: 683, height: 1024 });
    expect(longestSideFrame(4032, 3024)).toEqual({ width: 1024, height: 768 });
    expect(longestSideFrame(100, 30)).toEqual({ width: 1024, height: 307 });
    expect(longestSideFrame(512, 512)).toEqual({ width: 1024, height: 1024 });
  });

  it("scales points by the resized size over the photo's, the same on both axes up to rounding", () => {
    const frame = longestSideFrame(600, 900);
    const [x, y] = toModelFrame([300, 450], 600, 900, frame);
    expect(x).toBeCloseTo(341.5, 9);
    expect(y).toBeCloseTo(512, 9);
    const [bx, by] = toImageFrame([x, y], 600, 900, frame);
    expect(bx).toBeCloseTo(300, 9);
    expect(by).toBeCloseTo(450, 9);
  });
});

describe("promptToPoints", () => {
  it("SAM 1: the points first, then the box's corners; a padding point (0, 0) labelled −1 only without a box", () => {
    const layout = { frame: longestSideFrame(800, 600), boxLast: true, padWithoutBox: true };
    const withBox = promptToPoints({ box: { x: 100, y: 60, width: 300, height: 240 }, include: [[200, 150]], exclude: [[350, 90]] }, 800, 600, layout);
    expect([...withBox.labels]).toEqual([1, 0, 2, 3]);
    expect([...withBox.coords]).toEqual([256, 192, 448, 115.19999694824219, 128, 76.80000305175781, 512, 384]);
    const pointOnly = promptToPoints({ include: [[400, 300]] }, 800, 600, layout);
    expect([...pointOnly.labels]).toEqual([1, -1]);
    expect([...pointOnly.coords]).toEqual([512, 384, 0, 0]);
  });

  it("puts the box first as two corners labelled 2 and 3, then include (1), then exclude (0)", () => {
    const points = promptToPoints(
      { box: { x: 100, y: 60, width: 300, height: 240 }, include: [[200, 150]], exclude: [[350, 90], [120, 280]] },
      800,
      600,
    );
    expect(points.count).toBe(5);
    expect([...points.labels]).toEqual([2, 3, 1, 0, 0]);
    // (x × 1024/800, y × 1024/600), as float32
    expect(points.coords).toEqual(Float32Array.from([128, 102.4, 512, 512, 256, 256, 448, 153.6, 153.6, 477.8666666]));
  });

  it("sends points alone when there is no box", () => {
    const points = promptToPoints({ include: [[10, 20]] }, 1024, 512);
    expect([...points.labels]).toEqual([1]);
    expect([...points.coords]).toEqual([10, 40]);
  });

  it("drops a box that lies wholly outside the image", () => {
    expect(promptToPoints({ box: { x: 900, y: 0, width: 10, height: 10 } }, 800, 600).count).toBe(0);
  });
});

describe("sam1RankingScores", () => {
  it("folds in SamOnnxModel.select_masks: mask 0 first for 3+ points, last for 2 or fewer; the others keep their order", () => {
    const scores = [0.7, 0.8, 0.9, 0.85];
    const rank = (points: number) => {
      const ranked = sam1RankingScores(scores, points);
      return [0, 1, 2, 3].sort((a, b) => ranked[b]! - ranked[a]!);
    };
    expect(rank(2)).toEqual([2, 3, 1, 0]);
    expect(rank(3)).toEqual([0, 2, 3, 1]);
    expect([...sam1RankingScores(scores, 2)].slice(1)).toEqual([...Float32Array.from(scores)].slice(1));
  });
});

describe("rgbToSamInput", () => {
  it("normalises with ImageNet mean and std into channel-first planes", () => {
    const size = 2;
    const rgb = Uint8Array.from([255, 0, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const out = rgbToSamInput(rgb, size);
    expect(out.length).toBe(12);
    expect(out[0]).toBeCloseTo((1 - 0.485) / 0.229, 5); // R of pixel 0
    expect(out[4]).toBeCloseTo((0 - 0.456) / 0.224, 5); // G plane, pixel 0
    expect(out[8]).toBeCloseTo((128 / 255 - 0.406) / 0.225, 5); // B plane, pixel 0
    expect(out[1]).toBeCloseTo((0 - 0.485) / 0.229, 5);
  });

  it("refuses data of the wrong size", () => {
    expect(() => rgbToSamInput(new Uint8Array(10))).toThrow(/expected 3145728/);
    expect(SAM_INPUT_SIZE).toBe(1024);
  });
});

/** Logits on a w × h grid from a function of the cell's centre in the 1024 frame. */
function grid(count: number, w: number, h: number, f: (k: number, x: number, y: number) => number): LowResMasks {
  const data = new Float32Array(count * w * h);
  for (let k = 0; k < count; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data[k * w * h + y * w + x] = f(k, ((x + 0.5) * 1024) / w, ((y + 0.5) * 1024) / h);
  return { data, count, lowWidth: w, lowHeight: h };
}

describe("upscaleMask", () => {
  it("upsamples bilinearly (align_corners=False) and thresholds at 0: a linear edge lands on the exact pixel", () => {
    // logit = x − 300 in the 1024 frame; on a 1000-pixel-wide image the edge is at x = 300 × 1000/1024.
    const masks = grid(1, 256, 256, (_k, x) => x - 300);
    const out = upscaleMask(masks, 0, 1000, 10);
    const edge = (300 * 1000) / 1024; // 292.97: pixel centres x + 0.5 > edge are in
    for (let x = 0; x < 1000; x++) expect(out[5 * 1000 + x], `x=${x}`).toBe(x + 0.5 > edge ? 255 : 0);
  });

  it("picks the candidate asked for, and 0 is not selected", () => {
    const masks = grid(2, 4, 4, (k) => (k === 0 ? -1 : 0));
    expect([...upscaleMask(masks, 0, 3, 3)]).toEqual(Array(9).fill(0));
    expect([...upscaleMask(masks, 1, 3, 3)]).toEqual(Array(9).fill(0));
    const positive = grid(2, 4, 4, (k) => (k === 0 ? -1 : 0.01));
    expect([...upscaleMask(positive, 1, 3, 3)]).toEqual(Array(9).fill(255));
  });

  it("clamps at the borders instead of reading past the grid", () => {
    const masks = grid(1, 2, 2, (_k, x, y) => (x < 512 && y < 512 ? 1 : -1));
    expect([...upscaleMask(masks, 0, 4, 4)]).toEqual([255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("choosing among candidates", () => {
  // 0: a small disc at (256, 256); 1: the box 200..600; 2: everything (overflows the box).
  const masks = grid(3, 256, 256, (k, x, y) => {
    if (k === 0) return 40 - Math.hypot(x - 256, y - 256);
    if (k === 1) return Math.min(x - 200, 600 - x, y - 200, 600 - y);
    return 1;
  });
  const box = { x: 200, y: 200, width: 400, height: 400 }; // image = 1024 × 1024: frames coincide

  it("measures how much of a candidate lies outside the box", () => {
    expect(candidateFit(masks, 1, { box }, 1024, 1024)).toMatchObject({ outsideBox: 0, fits: true });
    const all = candidateFit(masks, 2, { box }, 1024, 1024);
    expect(all.area).toBe(65536);
    expect(all.outsideBox).toBeGreaterThan(0.8);
    expect(all.fits).toBe(false);
  });

  it("takes the best-scoring candidate that fits the box, not the best-scoring one", () => {
    const choice = chooseCandidate(masks, [0.7, 0.8, 0.99], { box }, 1024, 1024);
    expect(choice).toMatchObject({ index: 1, fits: true });
  });

  it("without a box, the best score wins", () => {
    expect(chooseCandidate(masks, [0.7, 0.8, 0.99], {}, 1024, 1024).index).toBe(2);
  });

  it("an exclude point inside a candidate, or an include point outside it, rules it out", () => {
    expect(chooseCandidate(masks, [0.7, 0.9, 0.1], { box }, 1024, 1024).index).toBe(1);
    expect(chooseCandidate(masks, [0.7, 0.9, 0.1], { box, exclude: [[550, 550]] }, 1024, 1024).index).toBe(0);
    expect(chooseCandidate(masks, [0.9, 0.8, 0.1], { box, include: [[500, 500]] }, 1024, 1024).index).toBe(1);
    expect(chooseCandidate(masks, [0.9, 0.8, 0.1], { box, include: [[256, 256]] }, 1024, 1024).index).toBe(0);
  });

  it("when none fits, the best-scoring non-empty one is taken and flagged", () => {
    const empty = grid(2, 8, 8, (k) => (k === 0 ? -1 : 1));
    const choice = chooseCandidate(empty, [0.9, 0.2], { box: { x: 0, y: 0, width: 10, height: 10 } }, 1024, 1024);
    expect(choice).toMatchObject({ index: 1, fits: false });
  });
});
