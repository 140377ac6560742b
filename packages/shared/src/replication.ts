import type { Redis } from 'ioredis';
import { createRedis } from './redis.js';
import type { RedisTopology } from './redis-topology.js';

/**
 * Raised when a write was not acknowledged by REDIS_MIN_REPLICAS replicas in time (or the master
 * is known to have fewer connected): the write may exist on the master alone and be lost by a
 * failover. The ingress answers 503 `replication_timeout`; the worker fails the job (it is retried).
 */
export class ReplicationTimeoutError extends Error {
  override name = 'ReplicationTimeoutError';
  constructor(
    readonly acknowledged: number,
    readonly required: number,
  ) {
    super(`write acknowledged by ${acknowledged} of ${required} required replicas`);
  }
}

/**
 * Seconds since a replica's last acknowledgement beyond which it is not counted. Replicas
 * acknowledge every second; a frozen or cut-off one keeps its socket, and so its `online` state,
 * until `repl-timeout` (60 s by default), while WAIT can no longer count on it.
 */
export const MAX_REPLICA_LAG_SECONDS = 3;

/** Replicas `online` and acknowledging in an `INFO replication` reply (the ones WAIT can count on). */
export function onlineReplicas(info: string): number {
  let n = 0;
  for (const m of info.matchAll(/^slave\d+:[^\r\n]*state=([a-z_]+)[^\r\n]*lag=(\d+)/gm))
    if (m[1] === 'online' && Number(m[2]) <= MAX_REPLICA_LAG_SECONDS) n++;
  return n;
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
  deadline: number;
}

/**
 * Confirms that the writes made so far on one connection reached `minReplicas` replicas, with
 * Redis `WAIT` on that same connection (WAIT counts the replicas that have the connection's last
 * write). At most one WAIT is in flight: callers that ask while one runs share the next, which
 * covers all of their writes — so a busy connection sends one WAIT per round trip, never more than
 * one per batch. Each caller gives its own time budget; a round's WAIT gets the shortest one, and a
 * caller whose budget ends first is rejected then (one timer per round).
 */
export class ReplicaAcknowledger {
  private queued: Pending[] = [];
  private running = false;

  /** `onShort` is called once per WAIT round that fell short (for a metric). */
  constructor(
    private readonly redis: Redis,
    readonly minReplicas: number,
    private readonly onShort?: () => void,
  ) {}

  /** Resolves once the connection's writes so far are on `minReplicas` replicas; rejects after `budgetMs`. */
  confirm = (budgetMs: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (budgetMs < 1) return reject(new ReplicationTimeoutError(0, this.minReplicas));
      this.queued.push({ resolve, reject, deadline: Date.now() + budgetMs });
      if (!this.running) this.next();
    });

  private next(): void {
    const round = this.queued;
    this.queued = [];
    if (round.length === 0) {
      this.running = false;
      return;
    }
    this.running = true;
    let finished = false;
    // The round ends at its WAIT's answer or at its deadline, whichever comes first; either way the
    // next round starts then. A WAIT that never answers (a connection stuck mid-failover) so
    // cannot hold the callers behind it: each round still ends on time, and a late answer is ignored.
    const finish = (err: Error | undefined) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (err instanceof ReplicationTimeoutError) this.onShort?.();
      for (const p of round) err ? p.reject(err) : p.resolve();
      this.next();
    };
    const first = Math.min(...round.map((p) => p.deadline));
    const budget = Math.max(1, first - Date.now());
    const timer = setTimeout(() => finish(new ReplicationTimeoutError(0, this.minReplicas)), budget);
    // WAIT 0 would block forever; budget is at least 1 ms.
    this.redis.wait(this.minReplicas, budget).then(
      (acked) =>
        finish(acked >= this.minReplicas ? undefined : new ReplicationTimeoutError(acked, this.minReplicas)),
      (err: Error) => finish(err),
    );
  }
}

/**
 * Polls `INFO replication` on its own connection (a WAIT in progress on a writing connection
 * would delay the answer) to know how many replicas the master has online now: /readyz answers
 * 503 below `minReplicas`, and the ingress answers 503 at once instead of writing an event that
 * cannot be acknowledged. `connected` is undefined until a poll answered, and after a failed one.
 */
export class ReplicaMonitor {
  connected: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  /** `redis`: a connection of its own, closed by the owner after `close()`. */
  constructor(
    readonly redis: Redis,
    readonly minReplicas: number,
    private readonly intervalMs = 1000,
    private readonly onSample?: (connected: number | undefined) => void,
  ) {}

  /** Polls now and then every interval. */
  start(): void {
    if (this.timer) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** True when the last poll saw at least `minReplicas` online replicas. */
  get sufficient(): boolean {
    return this.connected !== undefined && this.connected >= this.minReplicas;
  }

  /** True when the last poll saw fewer than `minReplicas` (not merely: unknown). */
  get knownShort(): boolean {
    return this.connected !== undefined && this.connected < this.minReplicas;
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const info = await Promise.race([
        this.redis.info('replication'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('INFO replication timed out')), this.intervalMs);
        }),
      ]);
      this.connected = /^role:master/m.test(info) ? onlineReplicas(info) : 0;
    } catch {
      this.connected = undefined;
    } finally {
      clearTimeout(timer);
      this.polling = false;
    }
    this.onSample?.(this.connected);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Starts the replica monitor a process runs when `minReplicas` > 0, on a connection of its own
 * named `name`; undefined (nothing to watch) when it is 0. Errors of that connection are not logged
 * here: a failed poll reports them as an unknown count, which /readyz answers as not ready.
 */
export function startReplicaMonitor(
  topology: RedisTopology,
  minReplicas: number,
  name: string,
  onSample: (connected: number | undefined) => void,
): ReplicaMonitor | undefined {
  if (minReplicas <= 0) return undefined;
  const monitor = new ReplicaMonitor(createRedis(topology, 'producer', name), minReplicas, 1000, onSample);
  monitor.redis.on('error', () => {});
  monitor.start();
  return monitor;
}
