import { constants } from 'node:os';
import type { Logger } from 'pino';

/** One cleanup step: a name for logs and the work. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/** What ends a process: a signal, or a reason of its own with the exit code it calls for. */
export type ShutdownCause = { signal: 'SIGTERM' | 'SIGINT' } | { reason: string; exitCode: number };

/** Exit code after a signal: 128 + its number, as a shell reports a process the signal ended. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** Exit code when a step failed or the steps outlived the timeout. */
export const SHUTDOWN_FAILED_EXIT = 1;

/**
 * The one shutdown owner of a process. Steps run once, in the given order; a failing step is
 * logged and the next one still runs. Installs SIGTERM/SIGINT handlers; a second signal during
 * shutdown exits at once (an operator pressing Ctrl-C twice means it). The exit code: after a
 * signal 128 + its number (143 for SIGTERM, 130 for SIGINT), for another cause the code it names,
 * and 1 when a step failed or the steps took longer than `timeoutMs`.
 */
export function installShutdown(
  logger: Logger,
  steps: ShutdownStep[],
  options: {
    timeoutMs?: number;
    exit?: (code: number) => void;
    /** Where the signals come from (tests pass their own emitter). */
    signals?: Pick<NodeJS.EventEmitter, 'on'>;
  } = {},
): { shutdown: (cause: ShutdownCause) => Promise<void> } {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  const shutdown = (cause: ShutdownCause): Promise<void> => {
    if (running) return running;
    running = (async () => {
      logger.info('signal' in cause ? { signal: cause.signal } : { reason: cause.reason }, 'shutting down');
      // The step under way when the guard fires is the one that hung: named so it can be looked into.
      let current: string | undefined;
      const guard = setTimeout(() => {
        logger.error({ timeoutMs: options.timeoutMs, step: current }, 'shutdown timed out; exiting');
        exit(SHUTDOWN_FAILED_EXIT);
      }, options.timeoutMs ?? 30_000);
      guard.unref();
      let failed = false;
      for (const step of steps) {
        current = step.name;
        try {
          await step.run();
        } catch (err) {
          failed = true;
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(guard);
      logger.info('shutdown complete');
      if (failed) exit(SHUTDOWN_FAILED_EXIT);
      else exit('signal' in cause ? signalExitCode(cause.signal) : cause.exitCode);
    })();
    return running;
  };

  const signals = options.signals ?? process;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    signals.on(signal, () => {
      if (running) {
        logger.warn({ signal }, 'second signal during shutdown; exiting now');
        exit(signalExitCode(signal));
        return;
      }
      void shutdown({ signal });
    });
  }
  return { shutdown };
}

/**
 * Runs every close at once and waits for all of them, each even when another fails; then rejects
 * with an AggregateError naming the ones that failed (so a shutdown step logs them) instead of
 * dropping their errors.
 */
export async function closeAll(closes: Record<string, () => Promise<unknown> | unknown>): Promise<void> {
  const names = Object.keys(closes);
  const results = await Promise.allSettled(names.map(async (name) => closes[name]!()));
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ name: names[i]!, err: r.reason as unknown }] : [],
  );
  if (failed.length === 0) return;
  throw new AggregateError(
    failed.map((f) => f.err),
    `failed to close ${failed.map((f) => `${f.name} (${(f.err as Error)?.message ?? String(f.err)})`).join(', ')}`,
  );
}
