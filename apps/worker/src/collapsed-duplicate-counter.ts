import {
  type CodeClassifier,
  claimCollapsedDuplicates,
  codeLabel,
  type RedisClient,
  type WorkerMetrics,
} from '@vod-callbacks/shared';
import type { Logger } from 'pino';

/** What the counter reads and where it counts. */
export interface CollapsedDuplicateCounterOptions {
  redis: RedisClient;
  /** The consumed shards' prefixes: each has a tally of its own. */
  prefixes: readonly string[];
  classifier: Pick<CodeClassifier, 'catalogueLabel'>;
  metrics: WorkerMetrics;
  logger: Logger;
  /** How often the tallies are claimed (default 1 s). */
  intervalMs?: number;
}

/**
 * Counts the redeliveries the ingress collapsed onto event jobs BullMQ still held (no worker ever
 * sees those copies): it claims each consumed shard's tally every interval and adds it to
 * `vod_events_processed_total{class="duplicate"}` under the code's label, as a duplicate the
 * worker sees itself is counted. A claim takes the whole tally, so with many workers each
 * collapse is counted once.
 */
export class CollapsedDuplicateCounter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private failing = false;

  constructor(private readonly options: CollapsedDuplicateCounterOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.claimOnce(), this.options.intervalMs ?? 1000);
  }

  /** Claims and counts every consumed shard's tally now; resolves with how many were counted. */
  claimOnce(): Promise<number> {
    this.running ??= this.claimAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and counts what is left (metrics are scraped until the process ends). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.claimOnce();
  }

  private async claimAll(): Promise<number> {
    const { redis, prefixes, classifier, metrics, logger } = this.options;
    let counted = 0;
    try {
      for (const prefix of prefixes) {
        for (const [code, n] of await claimCollapsedDuplicates(redis, prefix)) {
          const label = codeLabel(code, (c) => classifier.catalogueLabel(c));
          metrics.processed.inc({ code: label, class: 'duplicate' }, n);
          counted += n;
        }
      }
      if (this.failing) logger.info('collapsed redeliveries are counted again');
      this.failing = false;
    } catch (err) {
      // Once per failing stretch: Redis being away is logged by the connection already.
      if (!this.failing)
        logger.warn(
          { err: (err as Error).message },
          'collapsed redeliveries not counted (Redis error); the tally waits in Redis for the next try',
        );
      this.failing = true;
    }
    return counted;
  }
}
