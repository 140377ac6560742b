import {
  DECISIONS,
  NOTIFICATIONS_QUEUE,
  notificationJobIdOf,
  type OutcomeRecord,
  outcomeToFields,
  readSourceState,
  readStoredJobData,
  sourceKeyOf,
} from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeRecord } from '../../../test/helpers/outcome-record.js';
import { type AttemptSource, OutcomeStore, type RecordResult } from './outcome-store.js';

/** Names the record path uses for fields, keys and modes: a sender may send any of them as a value. */
const NAMES = [
  'requestId',
  'jobId',
  'spaceName',
  'sourceUrl',
  'callbackArgs',
  'vid',
  'code',
  'class',
  'decision',
  'attempt',
  'eventTime',
  'processedAt',
  'reason',
  'origin',
  'outcomeId',
  'sourceKey',
  'reconciled',
  'reconcile',
  'mapping',
  'mapping-strict',
  'given',
  'none',
];
/** Text that means something to Lua, cjson, Redis or a format string. */
const SIGNIFICANT = [
  '',
  '%s',
  '%d%s%%',
  '\0',
  'a\0b',
  ']]',
  '[[',
  ']=]',
  'cjson',
  'cjson.null',
  'null',
  'nil',
  'true',
  '-1',
  '0',
  '1e999',
  'NaN',
  '"',
  '\\',
  '\\u0000',
  '{"attempt":"1"}',
  '[]',
  '{}',
  '*',
  '$',
  'KEYS[1]',
  'ARGV[1]',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '😀',
  'é',
  '\u2028',
  '\r\n',
];

const tricky = fc.constantFrom(...NAMES, ...SIGNIFICANT);
/** Any string a sender could put in a field: tricky ones, arbitrary code points (lone surrogates too), long ones. */
const anyString = (maxLong: number) =>
  fc.oneof(
    { weight: 4, arbitrary: tricky },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(tricky, fc.string({ unit: 'binary', minLength: 1, maxLength: 8 })), fc.nat(maxLong))
        .map(([s, n]) => (s || 'x').repeat(Math.ceil(n / Math.max(1, s.length)))),
    },
  );

/** An outcome record whose every field a sender controls is any string (fields in the record's own order). */
const outcomeArb = (maxLong: number): fc.Arbitrary<OutcomeRecord> => {
  const str = anyString(maxLong);
  return fc
    .record({
      requestId: str,
      jobId: str,
      spaceName: str,
      sourceUrl: str,
      callbackArgs: str,
      vid: str,
      code: str,
      cls: fc.constantFrom('success', 'permanent', 'retryable', 'unknown', 'invalid', 'unsupported'),
      decision: fc.constantFrom(...DECISIONS),
      attempt: fc.integer({ min: 1, max: 100 }),
      eventTime: str,
      processedAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      reason: fc.option(str, { nil: undefined }),
      origin: fc.option(fc.oneof(str, fc.constant('reconcile')), { nil: undefined }),
    })
    .map(({ cls, reason, origin, ...r }) => {
      const o: OutcomeRecord = {
        requestId: r.requestId,
        jobId: r.jobId,
        spaceName: r.spaceName,
        sourceUrl: r.sourceUrl,
        callbackArgs: r.callbackArgs,
        vid: r.vid,
        code: r.code,
        class: cls as OutcomeRecord['class'],
        decision: r.decision,
        attempt: r.attempt,
        eventTime: r.eventTime,
        processedAt: r.processedAt,
      };
      if (reason !== undefined) o.reason = reason;
      if (origin !== undefined) o.origin = origin;
      return o;
    });
};

const batchArb = (min: number, max: number, maxLong: number) =>
  fc.uniqueArray(
    fc.record({
      outcome: outcomeArb(maxLong),
      mode: fc.constantFrom<AttemptSource>('given', 'mapping', 'mapping-strict'),
    }),
    { minLength: min, maxLength: max, selector: (i) => i.outcome.requestId },
  );

/** What Redis stores of a JS string: its UTF-8 form, where a lone surrogate becomes U+FFFD. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

type Item = { outcome: OutcomeRecord; mode: AttemptSource };

/** What each item of a batch should come to, recorded in order (the JobId mappings written by earlier ones count). */
function expectedOf(batch: Item[]): { result: RecordResult; fields?: string[]; sourceKey: string }[] {
  const mapping = new Map<string, { attempt: number; reconciled: boolean }>();
  return batch.map(({ outcome, mode }) => {
    const sourceKey = outcome.spaceName && outcome.sourceUrl ? sourceKeyOf(outcome) : '';
    const known = mapping.get(outcome.jobId);
    if (mode === 'mapping-strict' && known?.reconciled) {
      return { result: { written: false, why: 'superseded_by_reconciliation' }, sourceKey };
    }
    const attempt = mode === 'given' ? outcome.attempt : (known?.attempt ?? 1);
    if (sourceKey && outcome.jobId !== '') {
      mapping.set(outcome.jobId, { attempt, reconciled: outcome.origin === 'reconcile' });
    }
    const fields = outcomeToFields({ ...outcome, attempt }).map(wellFormed);
    return { result: { written: true, attempt }, fields, sourceKey };
  });
}

// The real record path (OutcomeStore.record → the batched script) against real Redis: whatever a
// sender puts in a field, every event of a batch gets exactly its own record.
describe('outcome store: every event of a batch gets exactly one well-formed record (fast-check, real Redis)', () => {
  let base: string;
  let redis: Redis;
  let run = 0;
  const sizes = new Map<number, number>();

  beforeAll(() => {
    base = uniquePrefix('rec');
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await deletePrefix(redis, base);
    redis.disconnect();
    console.info(`record property: ${run} batches, sizes ${JSON.stringify(Object.fromEntries(sizes))}`);
  });

  const check = async (batch: Item[]) => {
    run++;
    sizes.set(batch.length, (sizes.get(batch.length) ?? 0) + 1);
    const prefix = `${base}:r${run}`;
    const store = new OutcomeStore(redis, {
      prefix,
      dedupeTtlSeconds: 600,
      outcomesMaxLen: 100_000,
      sourceStateTtlSeconds: 600,
      // Webhooks on for every decision: each record also writes its notification job.
      notifications: { decisions: new Set(DECISIONS), attempts: 3 },
    });
    const expected = expectedOf(batch);
    // Added in one turn: they go out in one script call (more than 128 are split).
    const results = await Promise.all(
      batch.map(({ outcome, mode }) => store.record(outcome.requestId, outcome, mode)),
    );
    expect(results).toEqual(expected.map((e) => e.result));

    const stream = await redis.xrange(`${prefix}:outcomes`, '-', '+');
    const written = expected.filter((e) => e.fields);
    expect(stream.map(([, f]) => f)).toEqual(written.map((e) => e.fields));

    // The latest state per source is the last record written for it.
    const last = new Map<string, { id: string; fields: string[] }>();
    written.forEach((e, i) => {
      if (e.sourceKey) last.set(e.sourceKey, { id: stream[i]![0], fields: e.fields! });
    });
    for (const [sourceKey, { id, fields }] of last) {
      const state = await readSourceState(redis, `${prefix}:source:${sourceKey}`);
      const want: Record<string, string> = { sourceKey, outcomeId: id };
      for (let i = 0; i < fields.length; i += 2) want[fields[i]!] = fields[i + 1]!;
      expect(state).toEqual(want);
    }
    // Each written record has its own notification job, carrying that record.
    for (let i = 0; i < batch.length; i++) {
      const e = expected[i]!;
      const stored = await readStoredJobData(
        redis,
        prefix,
        NOTIFICATIONS_QUEUE,
        notificationJobIdOf(batch[i]!.outcome.requestId),
      );
      if (!e.fields) {
        expect(stored).toBeNull();
        continue;
      }
      const { attempt: _a, ...sent } = batch[i]!.outcome;
      expect(JSON.parse(stored!).outcome).toEqual({
        ...sent,
        outcomeId: stream[written.indexOf(e)]![0],
        attempt: (e.result as { attempt: number }).attempt,
      });
    }
    // Each event is marked processed under its own key, pointing at its own record.
    for (let i = 0; i < batch.length; i++) {
      const marker = await redis.get(`${prefix}:processed:${batch[i]!.outcome.requestId}`);
      if (expected[i]!.fields) expect(marker).toBe(stream[written.indexOf(expected[i]!)]![0]);
      else expect(marker).toBeNull();
    }
  };

  it('small batches (1–12 events), 300 cases', async () => {
    await fc.assert(fc.asyncProperty(batchArb(1, 12, 20_000), check), { numRuns: 300 });
  }, 300_000);

  it('batches over the script-call cap (129–200 events, split in two calls), 8 cases', async () => {
    await fc.assert(fc.asyncProperty(batchArb(129, 200, 2_000), check), { numRuns: 8 });
  }, 300_000);

  it('a record the script refuses fails alone: the others of its call are written', async () => {
    const prefix = `${base}:refused`;
    const store = new OutcomeStore(redis, {
      prefix,
      dedupeTtlSeconds: 600,
      outcomesMaxLen: 1000,
      sourceStateTtlSeconds: 600,
    });
    const ok = (requestId: string, attempt = 1) => outcomeRecord(requestId, { attempt });
    const settled = await Promise.allSettled([
      store.record('a', ok('a')),
      store.record('b', ok('b', Number.NaN)),
      store.record('c', ok('c', 0)),
      store.record('d', ok('d')),
    ]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/refused.*attempt/);
    const stream = await redis.xrange(`${prefix}:outcomes`, '-', '+');
    expect(stream.map(([, f]) => f[1])).toEqual(['a', 'd']);
    expect(await redis.exists(`${prefix}:processed:b`, `${prefix}:processed:c`)).toBe(0);
  });

  it('a sender value equal to a field name, next to ordinary events in the same call', async () => {
    const plain = (requestId: string) => outcomeRecord(requestId, { callbackArgs: 'args', vid: '' });
    await check([
      { outcome: plain('before'), mode: 'mapping' },
      { outcome: { ...plain('attempt'), callbackArgs: 'attempt', vid: 'attempt' }, mode: 'mapping' },
      { outcome: { ...plain('after'), jobId: 'attempt' }, mode: 'mapping-strict' },
    ]);
  });
});
