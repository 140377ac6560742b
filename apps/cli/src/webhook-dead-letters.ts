import type { CliContext } from './cli-context.js';
import { type DeadLetter, getDeadLetter, iterateDeadLetters } from './dead-letters.js';

/** Dead letters of outcome webhooks (rejected, exhausted, or failed in the worker): they carry the notification. */
export async function* iterateFailedDeliveries(ctx: CliContext): AsyncGenerator<DeadLetter> {
  for await (const dl of iterateDeadLetters(ctx)) if (dl.data.notification) yield dl;
}

/**
 * One failed delivery by dead letter id (`<shard>/<id>` or a bare id), or undefined (also for a
 * dead letter of another kind).
 */
export async function getFailedDelivery(ctx: CliContext, ref: string): Promise<DeadLetter | undefined> {
  const dl = await getDeadLetter(ctx, ref);
  return dl?.data.notification ? dl : undefined;
}
