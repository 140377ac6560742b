import {
  type ConfigError,
  closeAll,
  createRedis,
  describeTopology,
  type QueueName,
  type RedisClient,
  RedisKeys,
  type RedisTopology,
  refuseMissingDatabase,
} from '@vod-callbacks/shared';
import { Queue } from 'bullmq';
import type { CliConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

/** Where a command writes. Tests pass their own to read what was printed. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** What every command gets: config, one Redis connection, queues on it, output. */
export interface CliContext extends CliIo {
  config: CliConfig;
  redis: RedisClient;
  keys: RedisKeys;
  /** A BullMQ queue on the shared connection (created once, closed by the dispatcher). */
  queue<T = unknown>(name: QueueName): Queue<T>;
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
  config: CliConfig,
  redis: RedisClient,
  io: CliIo,
  now: () => number = Date.now,
): { ctx: CliContext; close: () => Promise<void> } {
  const queues = new Map<QueueName, Queue>();
  const ctx: CliContext = {
    ...io,
    config,
    redis,
    keys: new RedisKeys(config.QUEUE_PREFIX),
    queue<T>(name: QueueName): Queue<T> {
      let q = queues.get(name);
      if (!q) {
        q = new Queue(name, { connection: redis, prefix: config.QUEUE_PREFIX });
        queues.set(name, q);
      }
      return q as unknown as Queue<T>;
    },
    now,
  };
  // Runs after the command's answer: a queue that fails to close is reported, not the command.
  const close = async () => {
    try {
      await closeAll(Object.fromEntries([...queues].map(([name, q]) => [`${name} queue`, () => q.close()])));
    } catch (err) {
      io.err(`vodctl: ${(err as Error).message}`);
    } finally {
      redis.disconnect();
    }
  };
  return { ctx, close };
}
