/**
 * The audit log: one JSON line per fill — when, who, which tool, which result and upstream task, what it
 * cost, how it ended — on stderr or appended to FLUX_FILL_AUDIT_LOG. Never image data or secrets;
 * prompts only when FLUX_FILL_AUDIT_PROMPTS=1.
 */
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "./config.js";
import type { ErrorKind } from "./errors.js";
import type { Logger } from "./log.js";

export interface FillAudit {
  user: string;
  tool: string;
  result_id: string | null;
  upstream_id: string | null;
  cost: number | null;
  /** `ok`, or the error kind the call ended with. */
  outcome: "ok" | ErrorKind;
  elapsed_ms: number;
  prompt?: string;
}

export interface AuditLog {
  fill(entry: FillAudit): void;
  /** Resolves once every line so far is written (tests, shutdown). */
  flushed(): Promise<void>;
}

/** The line for an entry: `time` first, the prompt only when allowed. */
export function auditLine(entry: FillAudit, includePrompt: boolean, now = new Date()): string {
  const { prompt, ...rest } = entry;
  return `${JSON.stringify({ time: now.toISOString(), event: "fill", ...rest, ...(includePrompt && prompt !== undefined ? { prompt } : {}) })}\n`;
}

export function createAuditLog(
  settings: Config["audit"],
  logger: Logger,
  writeStderr: (line: string) => void = (line) => process.stderr.write(line),
): AuditLog {
  let pending: Promise<void> = Promise.resolve();
  const file = settings.file;
  const write =
    file === undefined
      ? writeStderr
      : (line: string) => {
          // Lines are appended in order; a failing disk is logged, never thrown at the call.
          pending = pending
            .then(() => mkdir(path.dirname(file), { recursive: true }))
            .then(() => appendFile(file, line))
            .catch((error: unknown) =>
              logger.warn(`audit log ${file}: ${error instanceof Error ? error.message : String(error)}`),
            );
        };
  return {
    fill: (entry) => write(auditLine(entry, settings.prompts)),
    flushed: () => pending,
  };
}
