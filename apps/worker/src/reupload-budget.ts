import { queueKeys, REUPLOADS_QUEUE, type RedisClient, RedisKeys } from '@vod-callbacks/shared';
import { reuploadJobIdOf } from './job-writers.js';

// The re-upload budget of one source (SpaceName + SourceUrl + CallbackArgs, DESIGN step 5), in one
// hash: `uploads` is how many uploads of the source are known (the original counts as 1), and one
// entry per event that was granted a re-upload (`e:<dedupe key>`: the upload number granted, or `r`
// once its outcome was recorded; the record script writes that). A grant is atomic, so callbacks
// for one source under different RequestIds (the URL submitted twice, a failure sent twice) share
// the budget instead of starting a chain each; it is idempotent per event, so a job retried after a
// crash gets its own grant back and re-adds the same re-upload job id (a no-op).
// Replies: the upload number granted (≥ 2); 0 when the budget is spent; -1 when the event's outcome
// was recorded before (a redelivery after its processed marker expired: nothing to do); -2 when the
// event's re-upload job exists but its grant is gone (both expired but the job): also a redelivery.
// KEYS: the budget hash, the event's re-upload job hash. ARGV: the entry, the upload this event
// reports on, REUPLOAD_MAX_ATTEMPTS, the hash's TTL.
export const CLAIM_SCRIPT = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held == 'r' then return -1 end
if held then return tonumber(held) end
if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
local uploads = tonumber(redis.call('HGET', KEYS[1], 'uploads') or '1') or 1
local reported = tonumber(ARGV[2]) or 1
if reported > uploads then uploads = reported end
if uploads >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'uploads', uploads)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 0
end
uploads = uploads + 1
redis.call('HSET', KEYS[1], 'uploads', uploads, ARGV[1], uploads)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return uploads
`;

/** The budget hash entry of the event recorded under `dedupeKey`. */
export function budgetEntryOf(dedupeKey: string): string {
  return `e:${dedupeKey}`;
}

/** What a claim on a source's re-upload budget came to. */
export type BudgetClaim =
  /** Re-upload as upload number `upload` (the event's own grant when it had one already). */
  | { kind: 'granted'; upload: number }
  /** The source has had REUPLOAD_MAX_ATTEMPTS uploads: retries_exhausted. */
  | { kind: 'exhausted' }
  /** The event was handled before (its processed marker expired since): record nothing. */
  | { kind: 'handled_before' };

/** Settings of the budget. */
export interface ReuploadBudgetOptions {
  prefix: string;
  /** How long a source's budget is kept after its last change (SOURCE_STATE_TTL_SECONDS). */
  ttlSeconds: number;
}

/** The re-upload budget per source, shared by every callback and worker process. */
export class ReuploadBudget {
  private readonly keys: RedisKeys;
  private readonly reuploadJobBase: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: ReuploadBudgetOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    this.reuploadJobBase = queueKeys(options.prefix, REUPLOADS_QUEUE).base;
    if (!('vodClaimReupload' in redis)) {
      redis.defineCommand('vodClaimReupload', { numberOfKeys: 2, lua: CLAIM_SCRIPT });
    }
  }

  /**
   * Claims a re-upload of `sourceKey` for the event recorded under `dedupeKey`, which reports on
   * upload number `attempt` of the source (from the JobId mapping; 1 for the customer's own), with
   * `maxAttempts` uploads per source in all (REUPLOAD_MAX_ATTEMPTS, the original included).
   */
  async claim(
    dedupeKey: string,
    sourceKey: string,
    attempt: number,
    maxAttempts: number,
  ): Promise<BudgetClaim> {
    const command = (this.redis as unknown as { vodClaimReupload: (...a: string[]) => Promise<number> })
      .vodClaimReupload;
    const reply = await command.call(
      this.redis,
      this.keys.reuploadBudget(sourceKey),
      this.reuploadJobBase + reuploadJobIdOf(dedupeKey),
      budgetEntryOf(dedupeKey),
      String(attempt),
      String(maxAttempts),
      String(this.options.ttlSeconds),
    );
    if (reply > 0) return { kind: 'granted', upload: reply };
    return reply === 0 ? { kind: 'exhausted' } : { kind: 'handled_before' };
  }
}
