import { Redis } from 'ioredis';
import { connectedAddress } from './connected-address.js';
import type { RedisTopology } from './redis-topology.js';

type SentinelTopology = Extract<RedisTopology, { kind: 'sentinel' }>;

/** How often the Sentinels are asked which master they name. */
const SENTINEL_CHECK_INTERVAL_MS = 1000;
/** Checks in a row that must find a connection on another server before it is moved. */
const MISMATCHES_TO_MOVE = 2;

/** The master one Sentinel names: its run id (empty until the Sentinel has read its INFO) and address. */
export interface NamedMaster {
  runId: string;
  address: string;
  /** The Sentinel's flags for it: `master`, plus `s_down`, `o_down`, `failover_in_progress` … */
  flags: string;
}

/** Reads a `SENTINEL MASTER <name>` reply (field, value, field, value …). */
export function parseSentinelMaster(reply: unknown): NamedMaster | undefined {
  if (!Array.isArray(reply)) return undefined;
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  const ip = fields.get('ip');
  const port = fields.get('port');
  if (!ip || !port) return undefined;
  return { runId: fields.get('runid') ?? '', address: `${ip}:${port}`, flags: fields.get('flags') ?? '' };
}

/** The `run_id` in an `INFO server` reply. */
export function runIdOf(info: string): string | undefined {
  return /^run_id:([0-9a-f]+)/m.exec(info)?.[1];
}

interface Followed {
  redis: Redis;
  /** Run id of the server the connection is on, read once per connect. */
  runId?: string;
  mismatches: number;
}

/**
 * Keeps connections on the master the Sentinels name now. ioredis asks the Sentinels only when it
 * connects, and a master the Sentinels failed over while it was alive (stalled longer than
 * `down-after-milliseconds`, cut off by a partition) keeps its clients until Sentinel converts it to
 * a replica, about 8 s after it sees it again: whatever they write there meanwhile is dropped by the
 * conversion (with REDIS_MIN_REPLICAS=0, callbacks answered 200 and lost). Every second one Sentinel
 * is asked for the master's run id; a followed connection whose server has another one at two
 * checks in a row is disconnected — with an 'error' saying why, which the connection's state log
 * reports — and reconnects through the Sentinels.
 */
class SentinelMasterFollower {
  private readonly followed = new Set<Followed>();
  private sentinel: Redis | undefined;
  private sentinelIndex = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly topology: SentinelTopology,
    private readonly onIdle: () => void,
  ) {}

  follow(redis: Redis): void {
    const entry: Followed = { redis, mismatches: 0 };
    this.followed.add(entry);
    const readRunId = () => {
      entry.runId = undefined;
      entry.mismatches = 0;
      redis.info('server').then(
        (info) => {
          entry.runId = runIdOf(info);
        },
        () => {},
      );
    };
    if (redis.status === 'ready') readRunId();
    redis.on('ready', readRunId);
    redis.once('end', () => this.unfollow(entry));
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), SENTINEL_CHECK_INTERVAL_MS);
      this.timer.unref();
    }
  }

  private unfollow(entry: Followed): void {
    this.followed.delete(entry);
    if (this.followed.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sentinel?.disconnect();
    this.sentinel = undefined;
    this.onIdle();
  }

  /** The master the Sentinels name, asked of one of them (the next one after a failure). */
  private async namedMaster(): Promise<NamedMaster | undefined> {
    const { sentinels, sentinelPassword, masterName } = this.topology;
    if (!this.sentinel) {
      const at = sentinels[this.sentinelIndex % sentinels.length]!;
      this.sentinel = new Redis({
        host: at.host,
        port: at.port,
        password: sentinelPassword,
        connectionName: 'vod-callbacks:sentinel-check',
        enableOfflineQueue: true,
        maxRetriesPerRequest: 0,
        connectTimeout: SENTINEL_CHECK_INTERVAL_MS,
        retryStrategy: () => null,
      });
      this.sentinel.on('error', () => {});
    }
    const sentinel = this.sentinel;
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        sentinel.call('SENTINEL', 'MASTER', masterName),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), SENTINEL_CHECK_INTERVAL_MS);
        }),
      ]);
      return parseSentinelMaster(reply);
    } catch {
      sentinel.disconnect();
      if (this.sentinel === sentinel) this.sentinel = undefined;
      this.sentinelIndex++;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const named = await this.namedMaster();
      // Mid-failover, or not yet read by the Sentinel: nothing to compare with.
      if (!named?.runId || /failover_in_progress|s_down|o_down/.test(named.flags)) return;
      for (const entry of this.followed) {
        if (entry.redis.status !== 'ready' || !entry.runId || entry.runId === named.runId) {
          entry.mismatches = 0;
          continue;
        }
        if (++entry.mismatches < MISMATCHES_TO_MOVE) continue;
        this.move(entry, named);
      }
    } finally {
      this.checking = false;
    }
  }

  private move(entry: Followed, named: NamedMaster): void {
    const { redis } = entry;
    const here = connectedAddress(redis) ?? 'the server';
    entry.runId = undefined;
    entry.mismatches = 0;
    const err = new Error(
      `the Sentinels name ${named.address} as master "${this.topology.masterName}", and no longer ${here}, which this connection is on: reconnecting through them`,
    );
    if (redis.listenerCount('error') > 0) redis.emit('error', err);
    // Closed at once: a stalled server would not answer a polite close (ioredis waits 2 s for one).
    // Not a manual close, so ioredis reconnects, and a reconnect asks the Sentinels.
    redis.stream?.destroy();
  }
}

const followers = new Map<string, SentinelMasterFollower>();

/**
 * Follows the Sentinels' master with `redis` (a connection made on `topology`): see
 * SentinelMasterFollower. Connections of one topology share one Sentinel connection and one check a
 * second; it stops when the last of them has ended.
 */
export function followSentinelMaster(redis: Redis, topology: SentinelTopology): void {
  const key = JSON.stringify([topology.masterName, topology.sentinels]);
  let follower = followers.get(key);
  if (!follower) {
    follower = new SentinelMasterFollower(topology, () => followers.delete(key));
    followers.set(key, follower);
  }
  follower.follow(redis);
}
