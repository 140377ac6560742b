import type { RedisClient } from './redis.js';

// The latest state of a source (`<prefix>:source:<hash>`) is one JSON string of string values: the
// source key, the fields of its latest outcome record and `outcomeId` (the record's id in the
// outcomes stream), written by the worker's record script. One SET instead of rewriting a hash
// (DEL + HSET + EXPIRE): less Redis time and memory per event (README, Benchmarks).

/** Reads a source's state; `{}` when none is kept. */
export async function readSourceState(redis: RedisClient, key: string): Promise<Record<string, string>> {
  const raw = await redis.get(key);
  return raw ? (JSON.parse(raw) as Record<string, string>) : {};
}
