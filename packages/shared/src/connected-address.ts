import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/** `host:port` of the server a connection is talking to now (the current master), if connected. */
export function connectedAddress(redis: RedisClient): string | undefined {
  if (redis instanceof Cluster) return undefined;
  const stream = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (redis.status !== 'ready' || !stream?.remoteAddress) return undefined;
  return `${stream.remoteAddress}:${stream.remotePort}`;
}
