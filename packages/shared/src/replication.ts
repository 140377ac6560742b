import { connectionForKey, createRedis, type RedisClient, refreshSlotMap } from './redis.js';
import type { RedisTopology } from './redis-topology.js';

/**
 * Raised when a write was not acknowledged by REDIS_MIN_REPLICAS replicas in time (or the master
 * is known to have fewer connected): the write may exist on the master alone and be lost by a
 * failover. The ingress answers 503 `replication_timeout`; the worker fails the job (it is retried).
 */
export class ReplicationTimeoutError extends Error {
  override name = 'ReplicationTimeoutError';
  /** `why`: how it was decided (WAIT answered short, no answer in time, replicas known missing …). */
  constructor(
    readonly acknowledged: number,
    readonly required: number,
    why = 'WAIT answered',
  ) {
    super(`write acknowledged by ${acknowledged} of ${required} required replicas (${why})`);
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

  /**
   * `onShort` is called once per WAIT round that fell short (for a metric). On a cluster the WAIT
   * goes to the client's connection to the master holding `shardKey` (a key of the shard whose
   * writes are confirmed); on one server `shardKey` does not matter.
   */
  constructor(
    private readonly redis: RedisClient,
    readonly minReplicas: number,
    private readonly onShort?: () => void,
    private readonly shardKey = '',
  ) {}

  /** Resolves once the connection's writes so far are on `minReplicas` replicas; rejects after `budgetMs`. */
  confirm = (budgetMs: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (budgetMs < 1) return reject(new ReplicationTimeoutError(0, this.minReplicas, 'no time left'));
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
    const timer = setTimeout(
      () => finish(new ReplicationTimeoutError(0, this.minReplicas, `no WAIT answer within ${budget} ms`)),
      budget,
    );
    const connection = connectionForKey(this.redis, this.shardKey);
    if (!connection) {
      // The shard's master left the slot map (killed, failed over): learn the promoted one.
      refreshSlotMap(this.redis);
      finish(new ReplicationTimeoutError(0, this.minReplicas, 'shard master unknown'));
      return;
    }
    // WAIT 0 would block forever; budget is at least 1 ms.
    connection.wait(this.minReplicas, budget).then(
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
 * cannot be acknowledged. On a cluster each shard's master is polled (`shardKeys`, one key per
 * shard), and `connected` is the fewest any of them has. A count is undefined until a poll
 * answered, and after a failed one.
 */
export class ReplicaMonitor {
  private readonly counts = new Map<string, number | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  /** `redis`: a connection of its own, closed by the owner after `close()`. */
  constructor(
    readonly redis: RedisClient,
    readonly minReplicas: number,
    private readonly intervalMs = 1000,
    private readonly onSample?: (connected: number | undefined) => void,
    private readonly shardKeys: readonly string[] = [''],
  ) {}

  /** Polls now and then every interval. */
  start(): void {
    if (this.timer) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Fewest online replicas of any shard's master at the last poll; undefined when one is unknown. */
  get connected(): number | undefined {
    let fewest: number | undefined;
    for (const key of this.shardKeys) {
      const n = this.counts.get(key);
      if (n === undefined) return undefined;
      fewest = fewest === undefined ? n : Math.min(fewest, n);
    }
    return fewest;
  }

  /** True when the last poll saw at least `minReplicas` online replicas on every shard's master. */
  get sufficient(): boolean {
    const n = this.connected;
    return n !== undefined && n >= this.minReplicas;
  }

  /** True when the last poll saw fewer than `minReplicas` on the master of `shardKey`'s shard (not merely: unknown). */
  knownShort(shardKey = ''): boolean {
    const n = this.counts.get(shardKey);
    return n !== undefined && n < this.minReplicas;
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      // Shards on one master share its answer.
      const answers = new Map<unknown, Promise<number | undefined>>();
      await Promise.all(
        this.shardKeys.map(async (key) => {
          const connection = connectionForKey(this.redis, key);
          if (!answers.has(connection)) answers.set(connection, this.onlineOn(connection));
          this.counts.set(key, await answers.get(connection));
        }),
      );
    } finally {
      this.polling = false;
    }
    // On a cluster a shard with no answer, or none but 0, may be polled at a dead or demoted node:
    // after a failover only a fresh slot map names the promoted master (cheap: one CLUSTER SLOTS).
    if (this.shardKeys.some((key) => !this.counts.get(key))) refreshSlotMap(this.redis);
    this.onSample?.(this.connected);
  }

  /** Online replicas of the master on `connection`; 0 when it is no master, undefined when it did not answer. */
  private async onlineOn(connection: RedisClient | undefined): Promise<number | undefined> {
    if (!connection) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const info = await Promise.race([
        connection.info('replication'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('INFO replication timed out')), this.intervalMs);
        }),
      ]);
      return /^role:master/m.test(info) ? onlineReplicas(info) : 0;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
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
  shardKeys: readonly string[] = [''],
): ReplicaMonitor | undefined {
  if (minReplicas <= 0) return undefined;
  const monitor = new ReplicaMonitor(
    createRedis(topology, 'producer', name),
    minReplicas,
    1000,
    onSample,
    shardKeys,
  );
  monitor.redis.on('error', () => {});
  monitor.start();
  return monitor;
}
