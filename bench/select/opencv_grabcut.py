"""OpenCV's grabCut (rectangle init, 5 iterations) on the selection benchmark's composites, for comparison only.

Run by bench/select/harness.ts with Debian's /usr/bin/python3 (python3-opencv), once for all cases. Reads
jobs.json from the exchange directory given as the only argument: {"seeds": [..], "jobs": [{"image": png,
"rect": [x, y, w, h], "mask": prefix}]}; writes each result as a 0/255 PNG <prefix>.<seed>.png (255 = GC_FGD
or GC_PR_FGD) and the timings (milliseconds of the grabCut call alone, image reading and mask writing
excluded) to grabcut.json in the same directory.

grabCut's k-means initialisation draws from OpenCV's global RNG, so its result depends on every call made
before it in the process; on hard images the IoU moves by up to ~0.3 between seeds. Each call therefore
starts from cv2.setRNGSeed(seed), once per seed given: results do not depend on which cases ran before.
"""
import json
import os
import sys
import time

import cv2
import numpy as np

ITERATIONS = 5


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "jobs.json")) as f:
        spec = json.load(f)
    results = []
    for job in spec["jobs"]:
        image = cv2.imread(os.path.join(folder, job["image"]), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        x, y, w, h = job["rect"]
        # grabCut wants the rectangle inside the image, and some pixels outside it for its background model:
        # a box that covers the whole image (a loose box around an object that fills the photo) is inset by one
        # pixel on each side, as a user of grabCut would do (otherwise it stops with "!bgdSamples.empty()").
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x0 == 0 and y0 == 0 and x1 == width and y1 == height:
            x0, y0, x1, y1 = 1, 1, width - 1, height - 1
        times = []
        for seed in spec["seeds"]:
            mask = np.zeros((height, width), np.uint8)
            bgd = np.zeros((1, 65), np.float64)
            fgd = np.zeros((1, 65), np.float64)
            cv2.setRNGSeed(seed)
            started = time.perf_counter()
            cv2.grabCut(image, mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_RECT)
            times.append((time.perf_counter() - started) * 1000)
            selected = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
            cv2.imwrite(os.path.join(folder, f"{job['mask']}.{seed}.png"), selected)
        results.append({"ms": times})
        print(f"  grabCut {job['image']}: {' '.join(f'{t:.0f}' for t in times)} ms", file=sys.stderr, flush=True)
    with open(os.path.join(folder, "grabcut.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "results": results}, f)


if __name__ == "__main__":
    main()
