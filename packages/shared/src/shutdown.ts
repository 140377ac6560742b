import type { Logger } from 'pino';

/** One cleanup step: a name for logs and the work. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * The one shutdown owner of a process. Steps run once, in the given order; a failing step is
 * logged and the next one still runs. Installs SIGTERM/SIGINT handlers; a second signal during
 * shutdown exits at once (an operator pressing Ctrl-C twice means it).
 */
export function installShutdown(
  logger: Logger,
  steps: ShutdownStep[],
  options: { timeoutMs?: number; exit?: (code: number) => void } = {},
): { shutdown: (reason: string) => Promise<void> } {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  const shutdown = (reason: string): Promise<void> => {
    if (running) return running;
    running = (async () => {
      logger.info({ reason }, 'shutting down');
      const guard = setTimeout(() => {
        logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; exiting');
        exit(1);
      }, options.timeoutMs ?? 30_000);
      guard.unref();
      let failed = false;
      for (const step of steps) {
        try {
          await step.run();
        } catch (err) {
          failed = true;
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(guard);
      logger.info('shutdown complete');
      exit(failed ? 1 : 0);
    })();
    return running;
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (running) {
        logger.warn({ signal }, 'second signal during shutdown; exiting now');
        exit(130);
      }
      void shutdown(signal);
    });
  }
  return { shutdown };
}
