import { describe, expect, it } from "vitest";
import { progressGate } from "../../src/tools/progress.js";

const report = (status: string, elapsedMs: number) => ({ status, elapsedMs, message: status });

describe("progressGate", () => {
  it("passes every change of status at once and a repeated status at most once per interval", () => {
    const gate = progressGate(1000);
    const sent = [
      report("reading", 0),
      report("Submitted", 40),
      report("Pending", 500),
      report("Pending", 600), // 100 ms after the last Pending: dropped
      report("Pending", 1400),
      report("Pending", 1500), // 1000 ms after 500: sent
      report("Pending", 2400),
      report("Downloading", 2450), // a new status is never held back
      report("saving", 2460),
    ].filter(gate);
    expect(sent.map((p) => `${p.status}@${p.elapsedMs}`)).toEqual([
      "reading@0",
      "Submitted@40",
      "Pending@500",
      "Pending@1500",
      "Downloading@2450",
      "saving@2460",
    ]);
  });

  it("sends the same status again after a different one in between", () => {
    const gate = progressGate(1000);
    expect([report("Pending", 0), report("RateLimited", 10), report("Pending", 20)].map(gate)).toEqual([
      true,
      true,
      true,
    ]);
  });
});
