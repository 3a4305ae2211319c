/** Small parsers the harness needs: its own arguments, /proc/<pid>/status, the HTTP server's start-up line. */

export const SECTIONS = ["cold", "p1", "p2", "p3", "p4", "p4r", "soak", "soak26", "eras"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  /** Repetitions for the median figures (P1, cold start, P3, P4); undefined = the section's default. */
  runs: number | undefined;
  only: Set<Section>;
  /** Where the Markdown report goes. */
  out: string;
  /** When set, the raw P2 timelines (every poll of every task) are written there as JSON. */
  dump: string | undefined;
}

export const DEFAULT_OUT = "bench/results.md";

export const USAGE = `Usage: npm run bench [-- options]
  --quick         fewer repetitions, 12 instead of 32 P2 tasks, no P2 no-progress batch (about 2 minutes)
  --runs N        repetitions for every median figure (default cold 7, P1 5, P3 3, P4 3, P4r 3, eras 5; --quick 3, 2, 1, 1, 1, 2)
  --only LIST     comma-separated sections: ${SECTIONS.join(",")} (default: all)
  --out FILE      where to write the report (default ${DEFAULT_OUT})
  --dump FILE     also write P2's raw per-task poll timelines as JSON
  -h, --help      this help`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions | "help" {
  const options: BenchOptions = {
    quick: false,
    runs: undefined,
    only: new Set(SECTIONS),
    out: DEFAULT_OUT,
    dump: undefined,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") return "help";
    if (arg === "--quick") options.quick = true;
    else if (arg === "--runs") {
      const n = Number(value(i++, arg));
      if (!Number.isInteger(n) || n < 1) throw new Error(`--runs must be a whole number ≥ 1, got "${argv[i]}"`);
      options.runs = n;
    } else if (arg === "--only") {
      const names = value(i++, arg)
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
      if (unknown.length > 0 || names.length === 0) {
        throw new Error(`--only takes ${SECTIONS.join(", ")}; got "${argv[i]}"`);
      }
      options.only = new Set(names as Section[]);
    } else if (arg === "--out") options.out = value(i++, arg);
    else if (arg === "--dump") options.dump = value(i++, arg);
    else throw new Error(`unknown option "${arg}"\n${USAGE}`);
  }
  return options;
}

export interface ProcMemory {
  /** Peak resident set size (VmHWM), bytes. */
  peakRssBytes: number;
  /** Current resident set size (VmRSS), bytes. */
  rssBytes: number;
}

/** Reads VmHWM and VmRSS (reported in kB = KiB) from the text of /proc/<pid>/status. */
export function parseProcStatus(text: string): ProcMemory {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s*(\\d+)\\s*kB\\s*$`, "m").exec(text);
    if (!match) throw new Error(`/proc status has no ${name} line`);
    return Number(match[1]) * 1024;
  };
  return { peakRssBytes: field("VmHWM"), rssBytes: field("VmRSS") };
}

/** The MCP endpoint from the HTTP server's "serving MCP over HTTP at http://…/mcp" log line, if present. */
export function findHttpEndpoint(stderr: string): string | undefined {
  return /serving MCP over HTTP at (http:\/\/\S+\/mcp)\b/.exec(stderr)?.[1];
}

/** Linux's USER_HZ: /proc/<pid>/stat reports CPU time in these ticks (100 on every mainstream kernel). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds from the text of /proc/<pid>/stat (fields 14 and 15, after the `(comm)`). */
export function parseProcStatCpuSeconds(text: string): number {
  // The command name may contain spaces and parentheses: fields are counted after the last ")".
  const rest = text
    .slice(text.lastIndexOf(")") + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so utime (field 14) is rest[11] and stime (field 15) is rest[12].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error("/proc stat: no utime/stime fields");
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}
