/**
 * On start: the tasks a previous process submitted and never saw finish (it was killed, or the machine
 * stopped) are collected and saved as undelivered results, so the identical retry gets them free. Only
 * tasks still inside the upstream's 10-minute result window are tried.
 */
import { checkResultSize } from "./images/result-size.js";
import type { Logger } from "./log.js";
import { collectJournalledTask, UPSTREAM_RESULT_WINDOW_MS } from "./pay-once.js";
import { type PipelineDeps, resultStoreOf } from "./pipeline/deps.js";
import { loadOutcome, saveOutput } from "./pipeline/save.js";
import { configForUser } from "./results/users.js";
import type { Provider, ProviderRequest } from "./providers/types.js";
import type { JournalEntry, PaidTaskState } from "./state/types.js";

/** Whether a process with this id runs (signal 0 checks without sending anything). */
function processIsAlive(pid: unknown): boolean {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}

export interface RecoveryDeps extends Pick<PipelineDeps, "config" | "kept" | "writer" | "results"> {
  /** A user's results store (a named user's task is saved among that user's results). */
  resultsFor?: ((user: string) => PipelineDeps["results"]) | undefined;
  logger: Logger;
  paid: PaidTaskState;
  /** The provider to collect with; may throw (e.g. no API key any more). */
  provider: () => Provider;
  /** Aborts collecting (shutdown). */
  signal: AbortSignal;
  now?: () => number;
}

/** The size a journalled task was sent at (what its result should have). */
function sentSize(entry: JournalEntry): { width: number; height: number } {
  const { image, sent, expand } = entry.inputs;
  if (sent !== undefined) return sent;
  return {
    width: image.width + (expand?.left ?? 0) + (expand?.right ?? 0),
    height: image.height + (expand?.top ?? 0) + (expand?.bottom ?? 0),
  };
}

/** A crop's result cannot be put back after a restart (the photo is not at hand): say what it is. */
function notPutBack(entry: JournalEntry): string[] {
  const sent = entry.inputs.sent;
  if (sent === undefined) return [];
  const { area } = sent;
  return [
    `It is the upstream's image of what was sent (${area.width}×${area.height} px at (${area.x}, ${area.y}) of the photo, sent as ${sent.width}×${sent.height}), not put back onto the photo, which was not at hand after the restart.`,
  ];
}

/**
 * Starts collecting every recoverable journalled task. `registered` resolves once they all joined the
 * in-flight runs (a call arriving after that attaches to them); `done` when they have all ended.
 */
export function recoverUnfinishedTasks(deps: RecoveryDeps): { registered: Promise<void>; done: Promise<void> } {
  const { paid, logger } = deps;
  const now = deps.now ?? Date.now;
  let finish: (runs: Promise<unknown>[]) => void = () => undefined;
  const runs = new Promise<Promise<unknown>[]>((resolve) => {
    finish = resolve;
  });
  const registered = (async () => {
    const started: Promise<unknown>[] = [];
    try {
      const entries = await paid.journal.unfinished();
      for (const entry of entries) {
        const age = now() - Date.parse(entry.submitted_at);
        if (!(age <= UPSTREAM_RESULT_WINDOW_MS)) {
          logger.warn(
            `task ${entry.upstream_id} (submitted ${entry.submitted_at}) was never collected and is past the upstream's 10-minute result window; dropped from the journal`,
          );
          await paid.journal.finish(entry.upstream_id);
          continue;
        }
        if (entry.owner_pid !== process.pid && processIsAlive(entry.owner_pid)) {
          // Another server using this output directory is still waiting on it.
          continue;
        }
        let provider: Provider;
        try {
          provider = deps.provider();
        } catch (error) {
          logger.warn(`cannot collect task ${entry.upstream_id} after the restart: ${String(error)}`);
          continue;
        }
        const resume = provider.resume?.bind(provider);
        if (provider.name !== entry.provider || resume === undefined) {
          logger.warn(
            `cannot collect ${entry.provider} task ${entry.upstream_id}: the provider is now ${provider.name}`,
          );
          continue;
        }
        logger.info(`collecting task ${entry.upstream_id}, submitted ${entry.submitted_at} before a restart`);
        if (entry.kind !== "fill" && entry.kind !== "expand") {
          logger.warn(`cannot collect task ${entry.upstream_id}: unknown request kind "${entry.kind}"`);
          continue;
        }
        // The parameters as journalled (validated when the task was submitted; the webhook secret left out).
        const submitted = { kind: entry.kind, params: entry.params } as Pick<ProviderRequest, "kind" | "params">;
        const params = submitted.params;
        // A named user's task is saved among that user's results.
        const savingDeps =
          entry.user === undefined
            ? deps
            : { ...deps, config: configForUser(deps.config, entry.user), results: deps.resultsFor?.(entry.user) };
        const { done } = collectJournalledTask(
          entry,
          async (hooks) => {
            const startedAt = now();
            const output = await resume(
              { upstreamId: entry.upstream_id, pollingUrl: entry.polling_url, cost: entry.cost ?? undefined },
              submitted,
              { signal: deps.signal, onProgress: hooks.onProgress },
            );
            await checkResultSize(output.bytes, sentSize(entry), output.upstreamId);
            return saveOutput(
              output,
              {
                params,
                inputs: entry.inputs,
                notes: ["Collected after a server restart: the task was submitted before it.", ...notPutBack(entry)],
                identity: entry.identity,
                started: startedAt,
                prepareMs: 0,
                providerMs: now() - startedAt,
              },
              savingDeps,
            );
          },
          { state: paid, logger, now, loadSaved: (id) => loadOutcome(resultStoreOf(savingDeps), id) },
        );
        started.push(
          done.then(
            (saved) => logger.info(`saved ${saved.path} from task ${entry.upstream_id} (collected after a restart)`),
            (error: unknown) => logger.warn(`could not collect task ${entry.upstream_id}: ${String(error)}`),
          ),
        );
      }
    } catch (error) {
      logger.warn(`could not read the task journal: ${String(error)}`);
    } finally {
      finish(started);
    }
  })();
  const done = runs.then((all) => Promise.all(all)).then(() => undefined);
  return { registered, done };
}
