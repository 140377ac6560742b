import type { Redis } from 'ioredis';

/**
 * The latest state of a source (`<prefix>:source:<hash>`): one JSON string of string values, the
 * source key and the fields of its latest outcome record. This builds all but two: the record
 * script adds `outcomeId` (the record's id in the outcomes stream) and `attempt` (which it may read
 * from the JobId mapping). One SET instead of rewriting a hash (DEL + HSET + EXPIRE): less Redis
 * time and memory per event (README, Benchmarks).
 */
export function sourceStateJson(sourceKey: string, fields: readonly string[]): string {
  const state: Record<string, string> = { sourceKey };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'attempt') state[fields[i]!] = fields[i + 1]!;
  }
  return JSON.stringify(state);
}

/** Reads a source's state; `{}` when none is kept. */
export async function readSourceState(redis: Redis, key: string): Promise<Record<string, string>> {
  const raw = await redis.get(key);
  return raw ? (JSON.parse(raw) as Record<string, string>) : {};
}
