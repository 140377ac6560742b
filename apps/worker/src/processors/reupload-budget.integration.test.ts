import { RedisKeys, sourceKeyOf } from '@vod-callbacks/shared';
import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';
import { budgetEntryOf } from '../reupload-budget.js';
import { processEvent } from './event-processor.js';

const SOURCE = { spaceName: 'space', sourceUrl: 'https://example.com/budget.mp4', callbackArgs: 'item-1' };

/** A retryable failure callback for SOURCE. */
const failure = (requestId: string, jobId: string) => ({
  RequestId: requestId,
  EventType: 'FileUploadByUrlComplete',
  Data: {
    Code: 'InternalError.UrlUploadError',
    Message: 'internal error',
    JobId: jobId,
    SourceUrl: SOURCE.sourceUrl,
    CallbackArgs: SOURCE.callbackArgs,
    SpaceName: SOURCE.spaceName,
  },
});

const asJob = (event: object, id: string) => ({
  id,
  data: { body: JSON.stringify(event), receivedAt: Date.now() },
});

describe('re-upload budget per source (real Redis and BullMQ)', () => {
  let h: ProcessorHarness;

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('budget'));
  });
  afterEach(async () => {
    await h.close();
  });

  /** Plays the re-upload processor: every re-upload job "uploads" (a new JobId) and that upload fails again. */
  async function runChains(firstCallbacks: { requestId: string; jobId: string }[]): Promise<number> {
    let seen = new Set<string>();
    let round = firstCallbacks.map((c) => failure(c.requestId, c.jobId));
    for (let i = 0; i < 10 && round.length > 0; i++) {
      await Promise.all(round.map((e) => processEvent(asJob(e, `evt-${e.RequestId}`), h.deps)));
      const jobs = (await h.reuploads.getJobs(['delayed', 'waiting'])).filter((j) => !seen.has(j.id!));
      seen = new Set([...seen, ...jobs.map((j) => j.id!)]);
      round = [];
      for (const j of jobs) {
        const newJobId = `vod-job-${j.id}`;
        await h.deps.uploads.track(
          newJobId,
          { sourceKey: sourceKeyOf(j.data.source), attempt: j.data.attempt },
          Date.now(),
        );
        round.push(failure(`cb-${newJobId}`, newJobId));
      }
    }
    return seen.size;
  }

  it('two callbacks with different RequestIds for one source make REUPLOAD_MAX_ATTEMPTS - 1 re-uploads in all, not per chain', async () => {
    expect(h.deps.maxAttempts).toBe(3);
    const reuploadsMade = await runChains([
      { requestId: 'rid-first', jobId: 'job-first' },
      { requestId: 'rid-second', jobId: 'job-second' },
    ]);
    expect(reuploadsMade).toBe(2);
    const decisions = (await h.outcomes()).map((o) => o.decision);
    expect(decisions.filter((d) => d === 'reupload_scheduled')).toHaveLength(2);
    expect(decisions.filter((d) => d === 'retries_exhausted')).toHaveLength(2);
  });

  it('one chain still gets its two re-uploads, with attempts 2 and 3', async () => {
    expect(await runChains([{ requestId: 'rid-one', jobId: 'job-one' }])).toBe(2);
    const attempts = (await h.reuploads.getJobs(['delayed', 'waiting'])).map((j) => j.data.attempt).sort();
    expect(attempts).toEqual([2, 3]);
  });

  it('the same failure under ten RequestIds at once takes the budget once per re-upload (atomic)', async () => {
    const events = Array.from({ length: 10 }, (_, i) => failure(`rid-burst-${i}`, `job-burst-${i}`));
    const results = await Promise.all(
      events.map((e) => processEvent(asJob(e, `evt-${e.RequestId}`), h.deps)),
    );
    expect(results.filter((r) => r.decision === 'reupload_scheduled')).toHaveLength(2);
    expect(results.filter((r) => r.decision === 'retries_exhausted')).toHaveLength(8);
    expect(await h.reuploads.getJobCountByTypes('delayed', 'waiting')).toBe(2);
  });
});

// Issue 10 item 7: DEDUPE_TTL_SECONDS below the re-upload job's retention. A late redelivery (the
// processed marker gone, the re-upload job id still known to BullMQ) must not be recorded as
// reupload_scheduled while nothing is scheduled.
describe('a redelivery after the processed marker expired (real Redis and BullMQ)', () => {
  let h: ProcessorHarness;

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('late'));
  });
  afterEach(async () => {
    await h.close();
  });

  const expire = (...keys: string[]) => h.redis.del(...keys);

  it('records no second reupload_scheduled when the re-upload it would schedule already exists', async () => {
    const event = failure('rid-late', 'job-late');
    expect((await processEvent(asJob(event, 'evt-1'), h.deps)).decision).toBe('reupload_scheduled');
    expect(await h.reuploads.getJobCountByTypes('delayed')).toBe(1);

    await expire(new RedisKeys(h.prefix).processed('rid-late'));
    const late = await processEvent(asJob(event, 'evt-2'), h.deps);

    const recorded = (await h.outcomes()).map((o) => o.decision);
    const jobs = await h.reuploads.getJobCountByTypes('delayed', 'waiting', 'active', 'completed');
    // What was recorded matches what happened: one re-upload scheduled, one outcome saying so.
    expect(recorded.filter((d) => d === 'reupload_scheduled')).toHaveLength(jobs);
    expect(late.decision).toBe('duplicate');
  });

  it('also when the source’s budget record expired with the marker', async () => {
    const event = failure('rid-later', 'job-later');
    await processEvent(asJob(event, 'evt-1'), h.deps);
    const keys = new RedisKeys(h.prefix);
    await expire(keys.processed('rid-later'), keys.reuploadBudget(sourceKeyOf(SOURCE)));
    const late = await processEvent(asJob(event, 'evt-2'), h.deps);
    expect(late.decision).toBe('duplicate');
    expect((await h.outcomes()).map((o) => o.decision)).toEqual(['reupload_scheduled']);
    expect(await h.reuploads.getJobCountByTypes('delayed')).toBe(1);
  });

  it('a crash between scheduling and recording still records reupload_scheduled once, on the retry', async () => {
    const event = failure('rid-crash', 'job-crash');
    await processEvent(asJob(event, 'evt-1'), h.deps);
    // The retry of a job whose worker died after the re-upload was added but before the record:
    // the marker and the outcome are missing, the re-upload job and the budget entry are not.
    const keys = new RedisKeys(h.prefix);
    await h.redis.del(keys.processed('rid-crash'), keys.outcomes);
    await h.redis.hset(keys.reuploadBudget(sourceKeyOf(SOURCE)), budgetEntryOf('rid-crash'), '2');
    const retried = await processEvent(asJob(event, 'evt-1'), h.deps);
    expect(retried.decision).toBe('reupload_scheduled');
    expect((await h.outcomes()).map((o) => o.decision)).toEqual(['reupload_scheduled']);
    expect(await h.reuploads.getJobCountByTypes('delayed')).toBe(1);
  });
});
