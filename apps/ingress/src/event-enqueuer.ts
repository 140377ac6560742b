import {
  EVENTS_QUEUE,
  type EventJobData,
  eventJobDataJson,
  eventJobId,
  eventJobOptions,
  openQueue,
  type RedisClient,
  ReplicaAcknowledger,
  type ReplicaMonitor,
  ReplicationTimeoutError,
  type ShardLayout,
  shardLayoutOf,
  shardOfEvent,
  tallyCollapsedDuplicate,
} from '@vod-callbacks/shared';
import type { JobsOptions, Queue } from 'bullmq';
import type { IngressConfig } from './config.js';
import { type AddResult, EventJobWriter } from './event-job-writer.js';

/** Settings of the enqueue path. */
export interface EnqueuerOptions {
  /** The shards (EVENT_SHARDS) and their key prefixes. */
  layout: ShardLayout;
  /** Options of every event job (`eventJobOptions`). */
  jobOptions: JobsOptions;
  /** Cap of BullMQ's events stream. */
  eventsMaxLen: number;
  /** Longest wait for Redis per event, replica acknowledgement included. */
  timeoutMs: number;
  /** Replicas that must acknowledge a batch (Redis WAIT) before its events are answered 200. */
  minReplicas: number;
}

/** How the enqueue path learns about replicas when `minReplicas` > 0. */
export interface EnqueuerReplication {
  /** Polls the master's online replicas: below `minReplicas`, events are refused without a write. */
  monitor?: ReplicaMonitor;
  /** Called once per WAIT round that fell short (metrics). */
  onShort?: () => void;
}

/** The enqueue settings of an ingress configuration. */
export function enqueuerOptionsOf(
  config: IngressConfig,
  layout: ShardLayout = shardLayoutOf(config.QUEUE_PREFIX, config.EVENT_SHARDS),
): EnqueuerOptions {
  return {
    layout,
    jobOptions: eventJobOptions(config),
    eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN,
    timeoutMs: config.ENQUEUE_TIMEOUT_MS,
    minReplicas: config.REDIS_MIN_REPLICAS,
  };
}

/** Raised when Redis did not store the event in time or refused it; the route answers 503. */
export class EnqueueUnavailableError extends Error {
  override name = 'EnqueueUnavailableError';
}

/** One shard's way in: its events queue (for what reads it) and the lean writer adds take. */
interface ShardWriter {
  prefix: string;
  queue: Queue<EventJobData>;
  writer: EventJobWriter;
}

/**
 * Stores callbacks as `vod-events` jobs, each in the shard of its upload source (`shardOfEvent`).
 * The job id is derived from RequestId, so a redelivered callback collapses onto the existing job
 * (the add is a no-op for a known id) in the same shard.
 */
export class EventEnqueuer {
  /** Each shard's events queue, by shard index (bull-board and the gauges read them). */
  readonly queues: Queue<EventJobData>[];
  private readonly shards: ShardWriter[];
  private readonly monitor: ReplicaMonitor | undefined;

  constructor(
    private readonly connection: RedisClient,
    options: EnqueuerOptions,
    replication: EnqueuerReplication = {},
  ) {
    this.monitor = options.minReplicas > 0 ? replication.monitor : undefined;
    this.shards = options.layout.prefixes.map((prefix) => {
      // Connection errors surface per request as 503s, and main.ts logs the connection's state.
      const queue = openQueue<EventJobData>(EVENTS_QUEUE, {
        connection,
        prefix,
        streams: { events: { maxLen: options.eventsMaxLen } },
        defaultJobOptions: options.jobOptions,
      });
      // WAIT on the writing connection itself (on a cluster: to the shard's master): it counts the
      // replicas holding that connection's writes.
      const acknowledger =
        options.minReplicas > 0
          ? new ReplicaAcknowledger(connection, options.minReplicas, replication.onShort, `${prefix}:`)
          : undefined;
      // The queue above stays for what reads it (bull-board, gauges); adds take the lean path.
      const writer = new EventJobWriter(
        connection,
        prefix,
        options,
        { ms: options.timeoutMs, error: () => new EnqueueUnavailableError('enqueue timed out') },
        acknowledger && ((remaining) => acknowledger.confirm(remaining ?? options.timeoutMs)),
      );
      return { prefix, queue, writer };
    });
    this.queues = this.shards.map((s) => s.queue);
  }

  /** The shard of a parsed callback (its upload source's); 0 with one shard. */
  shardOf(event: unknown): number {
    return shardOfEvent(event, this.shards.length);
  }

  /**
   * Stores `body` (JSON text the caller has parsed: it is embedded in the job as-is) in `shard`
   * (`shardOf` the parsed form: the caller need not keep that alive while Redis answers). Resolves
   * once Redis holds the job (and, with `minReplicas`, that many replicas do); rejects with
   * EnqueueUnavailableError or ReplicationTimeoutError otherwise. `duplicate`: a job with this
   * RequestId's id was there already (a redelivery), and nothing was stored.
   */
  async enqueue(requestId: string, body: string, receivedAt: number, shardIndex: number): Promise<AddResult> {
    // Not connected: refuse at once. Queuing the add until Redis returns would hold every body of an
    // outage in memory, for callbacks already answered 503.
    if (this.connection.status !== 'ready')
      throw new EnqueueUnavailableError(`redis ${this.connection.status}`);
    const shard = this.shards[shardIndex];
    if (!shard) throw new RangeError(`no shard ${shardIndex} of ${this.shards.length}`);
    // Known to be short of replicas: a WAIT could only time out, and would hold the connection
    // (WAIT blocks it) for the whole budget while later batches queue behind it.
    if (this.monitor?.knownShort(`${shard.prefix}:`))
      throw new ReplicationTimeoutError(
        this.monitor.connected ?? 0,
        this.monitor.minReplicas,
        'the master was short of replicas at the last poll',
      );
    try {
      return await shard.writer.add(eventJobId(requestId), eventJobDataJson(body, receivedAt), receivedAt);
    } catch (err) {
      if (err instanceof EnqueueUnavailableError || err instanceof ReplicationTimeoutError) throw err;
      throw new EnqueueUnavailableError((err as Error).message);
    }
  }

  /**
   * Tallies a redelivery `enqueue` found a job for, under its `Data.Code` (`collapsedCodeOf`), for
   * the workers of `shardIndex` to count as class `duplicate`.
   */
  tallyDuplicate(shardIndex: number, code: string): Promise<void> {
    const shard = this.shards[shardIndex];
    if (!shard) throw new RangeError(`no shard ${shardIndex} of ${this.shards.length}`);
    return tallyCollapsedDuplicate(this.connection, shard.prefix, code);
  }

  /** The key each shard's replica count is polled by (`ReplicaMonitor`'s shard keys). */
  get shardKeys(): string[] {
    return this.shards.map((s) => `${s.prefix}:`);
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
