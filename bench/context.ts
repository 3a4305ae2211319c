/** What every benchmark section shares: the emulator, the built server, a scratch folder, the options. */
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { Emulator, TaskRecord } from "../test/helpers/emulator.js";
import type { FigureRow } from "./figures.js";
import { IMAGE_CACHE_DIR } from "./images.js";
import type { PollRecord, TaskTimeline } from "./polls.js";

export interface BenchContext {
  emu: Emulator;
  apiKey: string;
  /** dist/cli.js of this checkout. */
  cliPath: string;
  /** .bench-out/minimal-server.js: the cold-start floor. */
  minimalServerPath: string;
  /** Scratch folder: the servers' working and output directories, the floor's outputs. */
  workDir: string;
  quick: boolean;
  /** --runs, when given: overrides every section's repetition count. */
  runs: number | undefined;
  /** --dump: where P2 writes its raw timelines, if anywhere. */
  dumpPath: string | undefined;
  log(message: string): void;
}

export interface SectionResult {
  rows: FigureRow[];
  /** Method and extra detail, printed under the table. */
  notes: string[];
}

export function runsFor(ctx: BenchContext, full: number, quick: number): number {
  return ctx.runs ?? (ctx.quick ? quick : full);
}

/** The environment of a server run against the emulator (stdio or HTTP). */
export function serverEnv(ctx: BenchContext, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BFL_API_KEY: ctx.apiKey,
    BFL_API_BASE_URL: ctx.emu.apiBaseUrl,
    FLUX_FILL_PROVIDER: "bfl",
    FLUX_FILL_OUTPUT_DIR: path.join(ctx.workDir, "out"),
    FLUX_FILL_ALLOWED_DIRS: [ctx.workDir, IMAGE_CACHE_DIR].join(path.delimiter),
    ...extra,
  };
}

/** The tool result's text, for error messages. */
export function resultText(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: "text"; text: string } => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

/** Throws with the server's message when a call came back as a tool error. */
export function expectSuccess(result: CallToolResult, what: string): void {
  if (result.isError) throw new Error(`${what} failed: ${resultText(result).slice(0, 500)}`);
}

/** The emulator task created for the call with this (unique) prompt. */
export function taskByPrompt(emu: Emulator, prompt: string): TaskRecord | undefined {
  for (const task of emu.tasks.values()) if (task.body.prompt === prompt) return task;
  return undefined;
}

/** A task's polls from the emulator's poll log: when each arrived and the status it answered. */
export function pollsOf(task: TaskRecord): PollRecord[] {
  return task.pollLog.map((p) => ({ at: p.at, status: p.status }));
}

export function timelineOf(task: TaskRecord, deliveredAt: number | undefined): TaskTimeline {
  return { createdAt: task.createdAt, readyAt: task.readyAt, polls: pollsOf(task), deliveredAt };
}
