import { type DestinationStream, pino } from 'pino';

/**
 * stdout for the worker's logs, written in batches of about 4 KB instead of one write per line,
 * and at least every `flushEveryMs`. The worker logs a line for most events that are not plain
 * successes (all of them at debug); written one by one (synchronously, or asynchronously without a
 * batch size) a line per event cost ~10% of its CPU in bench/worker.mjs. A line waits at most
 * `flushEveryMs`; pino flushes the rest on exit.
 */
export function batchedStdout(flushEveryMs = 1000): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => dest.flush(() => {}), flushEveryMs).unref();
  return dest;
}
