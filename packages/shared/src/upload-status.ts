import { sourceKeyOf, stableHash } from './queues.js';
import type { RedisClient } from './redis.js';
import { parseUploadJobRecord, RedisKeys } from './redis-keys.js';
import { type ShardLayout, shardOfSource } from './shards.js';
import { readSourceState } from './source-state.js';

/** How an upload is looked up: by a VOD JobId, by its SourceUrl alone, or by its whole source. */
export type UploadLookup =
  | { jobId: string }
  | { sourceUrl: string }
  | { spaceName: string; sourceUrl: string; callbackArgs?: string };

/**
 * The latest recorded state of an upload's source (`vodctl status` and `GET /v1/uploads…`): the
 * fields of its latest outcome record, `outcomeId` and `sourceKey`, and `callbackPendingSince` while
 * a re-upload this system started still waits for its callback. Undefined when nothing is known.
 */
export async function lookupUploadStatus(
  redis: RedisClient,
  keys: RedisKeys,
  lookup: UploadLookup,
): Promise<Record<string, string> | undefined> {
  const sourceKey = await sourceKeyFor(redis, keys, lookup);
  if (!sourceKey) return undefined;
  const state = await readSourceState(redis, keys.sourceState(sourceKey));
  if (Object.keys(state).length === 0) return undefined;
  // The source key of a whole-source lookup without CallbackArgs came from the latest upload of that
  // URL: it answers only when that upload was in the space asked about.
  if ('spaceName' in lookup && state.spaceName !== lookup.spaceName) return undefined;
  // A JobId this system started (a re-upload) may still wait for its callback.
  const pendingJobId = 'jobId' in lookup ? lookup.jobId : state.jobId;
  const pendingSince = pendingJobId ? await redis.zscore(keys.pendingUploads, pendingJobId) : null;
  const result: Record<string, string> = { ...state };
  if (pendingSince !== null) result.callbackPendingSince = new Date(Number(pendingSince)).toISOString();
  return result;
}

async function sourceKeyFor(
  redis: RedisClient,
  keys: RedisKeys,
  lookup: UploadLookup,
): Promise<string | undefined> {
  if ('jobId' in lookup) {
    return parseUploadJobRecord(await redis.get(keys.uploadJob(lookup.jobId)))?.sourceKey;
  }
  if ('spaceName' in lookup && lookup.callbackArgs !== undefined) {
    return sourceKeyOf({
      spaceName: lookup.spaceName,
      sourceUrl: lookup.sourceUrl,
      callbackArgs: lookup.callbackArgs,
    });
  }
  return (await redis.get(keys.sourceByUrl(stableHash(lookup.sourceUrl)))) ?? undefined;
}

/**
 * An upload's state as JSON (`GET /v1/uploads…` and `vodctl status --json`): the stored strings,
 * with `attempt` as a number.
 */
export function uploadStatusBody(state: Record<string, string>): Record<string, string | number> {
  const body: Record<string, string | number> = { ...state };
  if (state.attempt !== undefined) body.attempt = Number(state.attempt);
  return body;
}

/**
 * `lookupUploadStatus` over event shards: a whole source (with CallbackArgs) lives in one known
 * shard; a JobId or a bare SourceUrl is looked up in every shard, and the latest outcome (by its
 * stream id's time) answers, as one Redis would have kept only the latest.
 */
export async function lookupUploadStatusInShards(
  redis: RedisClient,
  layout: ShardLayout,
  lookup: UploadLookup,
): Promise<Record<string, string> | undefined> {
  if ('spaceName' in lookup && lookup.callbackArgs !== undefined) {
    const shard = shardOfSource(lookup.spaceName, lookup.sourceUrl, lookup.callbackArgs, layout.count);
    return lookupUploadStatus(redis, new RedisKeys(layout.prefixes[shard]!), lookup);
  }
  const found = await Promise.all(
    layout.prefixes.map((prefix) => lookupUploadStatus(redis, new RedisKeys(prefix), lookup)),
  );
  let latest: Record<string, string> | undefined;
  for (const state of found)
    if (state && (!latest || outcomeTime(state) > outcomeTime(latest))) latest = state;
  return latest;
}

/** Epoch ms of a source state's outcome (the time part of its stream id), 0 when unknown. */
function outcomeTime(state: Record<string, string>): number {
  return Number(state.outcomeId?.split('-')[0]) || 0;
}
