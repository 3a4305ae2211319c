import { describe, expect, it } from "vitest";
import { collectMachine, formatMachine } from "../../bench/machine.js";

describe("formatMachine", () => {
  it("puts cores, CPU, RAM in GiB, OS, Node, the UTC date and the load on one line", () => {
    const line = formatMachine({
      cpuModel: "AMD EPYC 7B13",
      cores: 2,
      totalMemoryBytes: 24 * 2 ** 30,
      node: "v20.20.2",
      os: "Linux 6.1.0 (x64)",
      date: new Date(Date.UTC(2026, 10, 27, 9, 5, 30)),
      load1: 2.345,
    });
    expect(line).toBe(
      "2 × AMD EPYC 7B13, 24.0 GiB RAM, Linux 6.1.0 (x64), Node v20.20.2, 2026-11-27 09:05 UTC, load 2.35 at start",
    );
  });

  it("describes this machine with real values", () => {
    const facts = collectMachine(new Date(0));
    expect(facts.cores).toBeGreaterThan(0);
    expect(facts.totalMemoryBytes).toBeGreaterThan(0);
    expect(facts.node).toBe(process.version);
    expect(facts.load1).toBeGreaterThanOrEqual(0);
    expect(formatMachine(facts)).toContain("1970-01-01 00:00 UTC");
  });
});
