import { randomBytes } from 'node:crypto';
import type { RedisClient, WorkerMetrics } from '@vod-callbacks/shared';
import {
  type ReconcileReport,
  reconcileJobIds,
  type SyntheticEventWriter,
  type VodApi,
} from '@vod-callbacks/vod-client';
import type { Logger } from 'pino';
import type { UploadTracker } from './upload-tracker.js';

/** Settings and collaborators of the reconciler. */
export interface ReconcilerOptions {
  redis: RedisClient;
  /** The uploads this system started, pending their callback. */
  uploads: UploadTracker;
  api: VodApi;
  events: SyntheticEventWriter;
  metrics: WorkerMetrics;
  logger: Logger;
  /** RECONCILE_AFTER_SECONDS. */
  afterSeconds: number;
  /** RECONCILE_INTERVAL_SECONDS. */
  intervalSeconds: number;
  /** RECONCILE_GIVE_UP_SECONDS. */
  giveUpSeconds: number;
  /** RECONCILE_MAX_PER_PASS. */
  maxPerPass: number;
  now?: () => number;
}

/**
 * Finds re-uploads whose callback never came and asks VOD about them. Every worker process runs a
 * timer; a Redis lock (SET NX PX, left to expire) lets one pass run per interval across all of
 * them, so N workers do not query VOD N times. The pending ZSET's score is "last looked at": a
 * JobId still running, already fed back, or unknown is moved to now and looked at again after
 * RECONCILE_AFTER_SECONDS; the callback's outcome removes it for good (the outcome script).
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly lockKey: string;
  private readonly token = randomBytes(8).toString('hex');

  constructor(private readonly options: ReconcilerOptions) {
    this.lockKey = `${options.uploads.keys.prefix}:reconcile-lock`;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalSeconds * 1000);
  }

  /** One timer tick: run a pass when this process wins the interval's lock. */
  async tick(): Promise<ReconcileReport | undefined> {
    if (this.running) return undefined;
    let won: string | null;
    try {
      won = await this.options.redis.set(
        this.lockKey,
        this.token,
        'PX',
        Math.max(500, this.options.intervalSeconds * 1000 - 100),
        'NX',
      );
    } catch (err) {
      this.options.logger.warn(
        { err },
        'reconcile lock not taken (Redis error); the next interval tries again',
      );
      return undefined;
    }
    if (won !== 'OK') return undefined;
    const pass = this.runPass().catch((err) => {
      this.options.logger.error({ err }, 'reconcile pass failed');
      return undefined;
    });
    this.running = pass;
    try {
      return await pass;
    } finally {
      this.running = undefined;
    }
  }

  /** Looks up the pending JobIds that are due and feeds finished ones back as events. */
  async runPass(): Promise<ReconcileReport> {
    const o = this.options;
    const now = (o.now ?? Date.now)();
    const due = await o.uploads.duePending(now - o.afterSeconds * 1000, o.maxPerPass);
    const empty: ReconcileReport = { emitted: [], running: [], notFound: [], incomplete: [], errors: [] };
    if (due.length === 0) return empty;
    const report = await reconcileJobIds(due, {
      api: o.api,
      knownSource: async (jobId) => (await o.uploads.get(jobId))?.source,
      emit: (event) => o.events.add(event, now),
      now: () => now,
    });

    const lost: string[] = [];
    const keep: string[] = [...report.emitted.map((e) => e.jobId), ...report.running];
    for (const jobId of [...report.notFound, ...report.incomplete]) {
      const startedAt = (await o.uploads.get(jobId))?.startedAt ?? 0;
      if (now - startedAt > o.giveUpSeconds * 1000) lost.push(jobId);
      else keep.push(jobId);
    }
    await o.uploads.touchPending(keep, now);
    await o.uploads.dropPending(lost);

    for (const e of report.emitted) o.metrics.reconciled.inc({ result: e.state });
    if (report.running.length) o.metrics.reconciled.inc({ result: 'running' }, report.running.length);
    const notFound = report.notFound.length + report.incomplete.length;
    if (notFound) o.metrics.reconciled.inc({ result: 'not_found' }, notFound);
    const errored = report.errors.reduce((n, e) => n + e.jobIds.length, 0);
    if (errored) o.metrics.reconciled.inc({ result: 'error' }, errored);
    o.logger.info(
      {
        due: due.length,
        emitted: report.emitted.length,
        running: report.running.length,
        notFound,
        dropped: lost.length,
        errors: report.errors.map((e) => e.code),
      },
      'reconcile pass',
    );
    for (const e of report.emitted) {
      o.logger.info({ jobId: e.jobId, requestId: e.requestId, state: e.state }, 'pending upload reconciled');
    }
    return report;
  }

  /** Stops the timer and waits for a running pass. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
