/** The machine a run happened on, for the header of bench/results.md. */
import os from "node:os";

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  totalMemoryBytes: number;
  node: string;
  os: string;
  date: Date;
  /** 1-minute load average when the run started: above ~0.5 per core, other work was competing. */
  load1: number;
}

export function collectMachine(now = new Date()): MachineFacts {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || "unknown CPU",
    cores: typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    date: now,
    load1: os.loadavg()[0] ?? 0,
  };
}

/** One line: "2 × AMD EPYC 7B13, 23.4 GiB RAM, Linux 6.1 (x64), Node v20.20.2, 2026-11-27 10:31 UTC, load 0.12". */
export function formatMachine(facts: MachineFacts): string {
  const gib = facts.totalMemoryBytes / 2 ** 30;
  const iso = facts.date.toISOString();
  const when = `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  return `${facts.cores} × ${facts.cpuModel}, ${gib.toFixed(1)} GiB RAM, ${facts.os}, Node ${facts.node}, ${when}, load ${facts.load1.toFixed(2)} at start`;
}
