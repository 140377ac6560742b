import {
  type ConfigError,
  closeAll,
  createRedis,
  describeTopology,
  openQueue,
  type QueueName,
  type RedisClient,
  RedisKeys,
  type RedisTopology,
  refuseMissingDatabase,
  type ShardLayout,
} from '@vod-callbacks/shared';
import type { Queue } from 'bullmq';
import type { CliConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

/** Where a command writes. Tests pass their own to read what was printed. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** What every command gets: config, one Redis connection, every shard's queues and keys on it, output. */
export interface CliContext extends CliIo {
  config: CliConfig;
  redis: RedisClient;
  /** The event shards of this configuration (EVENT_SHARDS over QUEUE_PREFIX). */
  layout: ShardLayout;
  /** The project's own keys in one shard. */
  keysOf(shard: number): RedisKeys;
  /** A BullMQ queue of one shard on the shared connection (created once, closed by the dispatcher). */
  queue<T = unknown>(name: QueueName, shard: number): Queue<T>;
  /**
   * A BullMQ queue under any prefix, e.g. a shard of another layout than this configuration's
   * (`shards set` checks the recorded one); created once, closed by the dispatcher.
   */
  queueAt<T = unknown>(name: QueueName, prefix: string): Queue<T>;
  now(): number;
}

/**
 * Connects once (role `command`: no reconnect): an operator tool should say "Redis unreachable" at
 * once rather than hang while ioredis reconnects forever.
 */
export async function connectRedis(topology: RedisTopology): Promise<RedisClient> {
  const redis = createRedis(topology, 'command', 'vodctl');
  redis.on('error', () => {
    // Reported through the failing command instead.
  });
  let refused: ConfigError | undefined;
  refuseMissingDatabase(redis, (err) => {
    refused = err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new CliError(
      EXIT.redisUnreachable,
      `cannot reach Redis at ${describeTopology(topology)}: ${(err as Error).message}`,
    );
  }
  if (refused) {
    redis.disconnect();
    throw new CliError(EXIT.config, `configuration error: ${refused.message}`);
  }
  return redis;
}

/** Builds the context and returns it with the function that releases everything it opened. */
export function createContext(
  config: CliConfig & { layout: ShardLayout },
  redis: RedisClient,
  io: CliIo,
  now: () => number = Date.now,
): { ctx: CliContext; close: () => Promise<void> } {
  const { layout } = config;
  // Keyed by prefix and name: the identity of a BullMQ queue.
  const queues = new Map<string, Queue>();
  const prefixOf = (shard: number): string => {
    const prefix = layout.prefixes[shard];
    if (prefix === undefined) throw new Error(`no shard ${shard}: EVENT_SHARDS=${layout.count}`);
    return prefix;
  };
  const queueAt = <T>(name: QueueName, prefix: string): Queue<T> => {
    const id = `${prefix}\u0000${name}`;
    let q = queues.get(id);
    if (!q) {
      q = openQueue(name, { connection: redis, prefix });
      queues.set(id, q);
    }
    return q as unknown as Queue<T>;
  };
  const ctx: CliContext = {
    ...io,
    config,
    redis,
    layout,
    keysOf: (shard) => new RedisKeys(prefixOf(shard)),
    queue: (name, shard) => queueAt(name, prefixOf(shard)),
    queueAt,
    now,
  };
  // Runs after the command's answer: a queue that fails to close is reported, not the command.
  const close = async () => {
    try {
      await closeAll(
        Object.fromEntries(
          [...queues.values()].map((q) => [`${q.name} queue (${q.opts.prefix})`, () => q.close()]),
        ),
      );
    } catch (err) {
      io.err(`vodctl: ${(err as Error).message}`);
    } finally {
      redis.disconnect();
    }
  };
  return { ctx, close };
}
