import { describe, expect, it } from "vitest";
import {
  DEFAULT_OUT,
  findHttpEndpoint,
  parseBenchArgs,
  parseProcStatCpuSeconds,
  parseProcStatus,
  SECTIONS,
} from "../../bench/parse.js";

describe("parseBenchArgs", () => {
  it("defaults to every section, default runs and bench/results.md", () => {
    const o = parseBenchArgs([]);
    expect(o).not.toBe("help");
    if (o === "help") return;
    expect(o.quick).toBe(false);
    expect(o.runs).toBeUndefined();
    expect([...o.only]).toEqual([...SECTIONS]);
    expect(o.out).toBe(DEFAULT_OUT);
    expect(o.dump).toBeUndefined();
  });

  it("reads --quick, --runs, --only, --out and --dump", () => {
    const o = parseBenchArgs([
      "--quick",
      "--runs",
      "3",
      "--only",
      "P1, p4",
      "--out",
      "/tmp/r.md",
      "--dump",
      "/tmp/p2.json",
    ]);
    if (o === "help") throw new Error("unexpected help");
    expect(o.quick).toBe(true);
    expect(o.runs).toBe(3);
    expect([...o.only]).toEqual(["p1", "p4"]);
    expect(o.out).toBe("/tmp/r.md");
    expect(o.dump).toBe("/tmp/p2.json");
  });

  it("answers help, and rejects bad values and unknown options", () => {
    expect(parseBenchArgs(["--help"])).toBe("help");
    expect(() => parseBenchArgs(["--runs", "0"])).toThrow(/--runs/);
    expect(() => parseBenchArgs(["--runs"])).toThrow(/needs a value/);
    expect(() => parseBenchArgs(["--only", "p9"])).toThrow(/--only/);
    expect(() => parseBenchArgs(["--fast"])).toThrow(/unknown option/);
  });
});

describe("parseProcStatus", () => {
  it("reads VmHWM and VmRSS in bytes", () => {
    const text = "Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  250000 kB\nVmRSS:\t  120000 kB\nThreads:\t11\n";
    expect(parseProcStatus(text)).toEqual({ peakRssBytes: 250000 * 1024, rssBytes: 120000 * 1024 });
  });

  it("fails loudly when a field is missing", () => {
    expect(() => parseProcStatus("VmRSS:\t1 kB\n")).toThrow(/VmHWM/);
  });
});

describe("findHttpEndpoint", () => {
  it("finds the endpoint in the start-up log", () => {
    const log =
      "[flux-fill-mcp] info: provider bfl\n[flux-fill-mcp] info: serving MCP over HTTP at http://127.0.0.1:40123/mcp (stateful sessions, no auth, body limit 60 MB)\n";
    expect(findHttpEndpoint(log)).toBe("http://127.0.0.1:40123/mcp");
    expect(findHttpEndpoint("[flux-fill-mcp] info: provider bfl\n")).toBeUndefined();
  });
});

describe("parseProcStatCpuSeconds", () => {
  it("adds utime and stime (fields 14 and 15) in seconds, even with spaces and parentheses in the name", () => {
    const text =
      "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 5000 0 12 0 250 130 0 0 20 0 11 0 12345 1000000 20000 18446744073709551615";
    expect(parseProcStatCpuSeconds(text)).toBeCloseTo(3.8);
  });

  it("fails loudly on text that is not a stat line", () => {
    expect(() => parseProcStatCpuSeconds("nonsense")).toThrow(/utime/);
  });
});
