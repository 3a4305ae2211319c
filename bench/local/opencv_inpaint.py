"""OpenCV's inpainting (Telea and Navier-Stokes, radius 5) on the benchmark's images, for comparison only.

Run by bench/local/run.mjs with Debian's /usr/bin/python3 (python3-opencv). Reads jobs.json from the
exchange directory given as the only argument: [{"image": png, "mask": png, "telea": png, "ns": png,
"repeat": n}]; writes the results as PNG and their timings (milliseconds of cv2.inpaint alone, the best
of `repeat` runs) to timings.json in the same directory.
"""
import json
import os
import sys
import time

import cv2

RADIUS = 5


def best_time(image, mask, flag, repeat):
    best = float("inf")
    result = None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = cv2.inpaint(image, mask, RADIUS, flag)
        best = min(best, (time.perf_counter() - started) * 1000)
    return result, best


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "jobs.json")) as f:
        jobs = json.load(f)
    timings = []
    for job in jobs:
        image = cv2.imread(os.path.join(folder, job["image"]), cv2.IMREAD_COLOR)
        mask = cv2.imread(os.path.join(folder, job["mask"]), cv2.IMREAD_GRAYSCALE)
        _, mask = cv2.threshold(mask, 127, 255, cv2.THRESH_BINARY)
        repeat = int(job.get("repeat", 1))
        telea, telea_ms = best_time(image, mask, cv2.INPAINT_TELEA, repeat)
        ns, ns_ms = best_time(image, mask, cv2.INPAINT_NS, repeat)
        cv2.imwrite(os.path.join(folder, job["telea"]), telea)
        cv2.imwrite(os.path.join(folder, job["ns"]), ns)
        timings.append({"telea_ms": telea_ms, "ns_ms": ns_ms})
    with open(os.path.join(folder, "timings.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "timings": timings}, f)


if __name__ == "__main__":
    main()
