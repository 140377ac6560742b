import type { CliContext } from './cli-context.js';
import { type DeadLetter, getDeadLetter, iterateDeadLetters } from './dead-letters.js';

/** Dead letters of outcome webhooks (rejected, exhausted, or failed in the worker): they carry the notification. */
export async function* iterateFailedDeliveries(ctx: CliContext): AsyncGenerator<DeadLetter> {
  for await (const dl of iterateDeadLetters(ctx)) if (dl.data.notification) yield dl;
}

/** One failed delivery by dead letter id, or undefined (also for a dead letter of another kind). */
export async function getFailedDelivery(ctx: CliContext, id: string): Promise<DeadLetter | undefined> {
  const dl = await getDeadLetter(ctx, id);
  return dl?.data.notification ? dl : undefined;
}
