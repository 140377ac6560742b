import type { RedisClient } from './redis.js';
import { RedisKeys } from './redis-keys.js';

// A redelivered callback whose event job BullMQ still holds collapses onto it at the ingress: no
// second job is stored, so no worker sees it. DESIGN counts duplicates in the worker
// (`vod_events_processed_total{class="duplicate"}`), so the ingress tallies each collapse in the
// shard (a hash of Data.Code → count) and the workers of that shard claim the tally (read and
// delete in one script: each collapse is counted by one worker, once) and count it.

/** Distinct codes a tally keeps before further ones are tallied under '' (counted as `other`). */
const MAX_CODES = 256;
/** Longer codes are tallied under '' too: a code is a label candidate, not a place for a sender's bulk. */
const MAX_CODE_LENGTH = 128;

/** KEYS: the tally; ARGV: code, most distinct codes kept. */
export const COLLAPSED_TALLY_SCRIPT = `
local field = ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  field = ''
end
return redis.call('HINCRBY', KEYS[1], field, 1)
`;

/** KEYS: the tally. Returns it (flat: code, count, …) and deletes it. */
export const COLLAPSED_CLAIM_SCRIPT = `
local tally = redis.call('HGETALL', KEYS[1])
if #tally > 0 then redis.call('DEL', KEYS[1]) end
return tally
`;

type Commands = {
  vodTallyCollapsed(key: string, code: string, maxCodes: string): Promise<number>;
  vodClaimCollapsed(key: string): Promise<string[]>;
};

function commandsOf(redis: RedisClient): Commands {
  if (!('vodTallyCollapsed' in redis)) {
    redis.defineCommand('vodTallyCollapsed', { numberOfKeys: 1, lua: COLLAPSED_TALLY_SCRIPT });
    redis.defineCommand('vodClaimCollapsed', { numberOfKeys: 1, lua: COLLAPSED_CLAIM_SCRIPT });
  }
  return redis as unknown as Commands;
}

/** The code a collapsed redelivery is tallied under: its `Data.Code`, or '' when it has none usable. */
export function collapsedCodeOf(event: unknown): string {
  const code = (event as { Data?: { Code?: unknown } } | null)?.Data?.Code;
  return typeof code === 'string' && code.length <= MAX_CODE_LENGTH ? code : '';
}

/** The ingress's side: one more redelivery of code `code` collapsed in the shard under `prefix`. */
export async function tallyCollapsedDuplicate(
  redis: RedisClient,
  prefix: string,
  code: string,
): Promise<void> {
  await commandsOf(redis).vodTallyCollapsed(
    new RedisKeys(prefix).collapsedDuplicates,
    code,
    String(MAX_CODES),
  );
}

/** The worker's side: takes the shard's tally (code → count), leaving none behind for another worker. */
export async function claimCollapsedDuplicates(
  redis: RedisClient,
  prefix: string,
): Promise<Map<string, number>> {
  const flat = await commandsOf(redis).vodClaimCollapsed(new RedisKeys(prefix).collapsedDuplicates);
  const tally = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) tally.set(flat[i]!, Number(flat[i + 1]));
  return tally;
}
