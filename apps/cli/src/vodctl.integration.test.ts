import { readFileSync } from 'node:fs';
import {
  clusterSlotOf,
  DEAD_LETTER_JOB_NAME,
  DEAD_LETTERS_QUEUE,
  DEFAULT_RETRY_POLICY,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  NOTIFICATIONS_QUEUE,
  RedisKeys,
  shardCountKey,
  shardCountProblem,
  shardOfSource,
  stableHash,
} from '@vod-callbacks/shared';
import {
  deletePrefix,
  freePort,
  type RedisCluster,
  startRedisCluster,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../test/helpers/processor-harness.js';
import { startSimulatorInProcess } from '../../../test/helpers/simulator-in-process.js';
import { runCli } from './dispatcher.js';
import { EXIT } from './exit-codes.js';
import { COMMANDS } from './main.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8'));

describe('vodctl against real Redis and BullMQ', () => {
  let h: ProcessorHarness;
  let out: string[];
  let err: string[];

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('cli'));
    out = [];
    err = [];
  });
  afterEach(() => h.close());

  const vodctl = (args: string[], env: Record<string, string> = {}, now?: () => number) =>
    runCli(args, COMMANDS, {
      env: { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: h.prefix, ...env },
      io: { out: (l) => out.push(l), err: (l) => err.push(l) },
      now,
    });

  /** Stores an event as the ingress does and processes it with the real processor. */
  const deliver = async (event: unknown) => h.processStored(await h.storeAsIngress(JSON.stringify(event)));

  const unknownCodeEvent = (requestId: string) => {
    const e = fixture('seed-failure.json');
    e.RequestId = requestId;
    e.Data.Code = 'Throttling.NewSubCode';
    return e;
  };

  it('queues: counts per state of every queue', async () => {
    await h.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-a' });
    await h.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-b', delay: 60_000 });
    expect(await vodctl(['queues', '--json'])).toBe(EXIT.ok);
    const counts = JSON.parse(out[0]!);
    expect(counts['vod-events']).toMatchObject({ waiting: 1, delayed: 1, active: 0, failed: 0 });
    expect(counts['vod-dead-letters']).toMatchObject({ waiting: 0 });
    out = [];
    expect(await vodctl(['queues'])).toBe(EXIT.ok);
    expect(out.join('\n')).toMatch(/^QUEUE\s+WAITING\s+ACTIVE\s+DELAYED/);
    expect(out.join('\n')).toMatch(/vod-events\s+1\s+0\s+1/);
  });

  it('dlq list: filters by reason, limits, prints JSON lines; rejects a bad reason or limit', async () => {
    await deliver(unknownCodeEvent('dl-1'));
    await deliver(unknownCodeEvent('dl-2'));
    await deliver({ RequestId: 'dl-invalid', EventType: 'FileUploadByUrlComplete', Data: { Code: 7 } });
    expect(await vodctl(['dlq', 'list', '--json'])).toBe(EXIT.ok);
    const all = out.map((l) => JSON.parse(l));
    expect(all.map((d) => [d.requestId, d.reason])).toEqual([
      ['dl-1', 'unknown_code'],
      ['dl-2', 'unknown_code'],
      ['dl-invalid', 'invalid_payload'],
    ]);
    expect(all[0].id).toBe(`dl-${stableHash('dl-1')}`);

    out = [];
    expect(await vodctl(['dlq', 'list', '--reason', 'invalid_payload', '--json'])).toBe(EXIT.ok);
    expect(out.map((l) => JSON.parse(l).requestId)).toEqual(['dl-invalid']);

    out = [];
    expect(await vodctl(['dlq', 'list', '--limit', '1'])).toBe(EXIT.ok);
    const lines = out.join('\n').split('\n');
    expect(lines[0]).toMatch(/^ID\s+REASON\s+DEAD-LETTERED\s+REQUEST ID\s+DETAIL/);
    expect(lines[1]).toMatch(/^dl-[0-9a-f]{32}\s+unknown_code\s+\d{4}-.*dl-1\s+Code "Throttling.NewSubCode"/);
    expect(lines).toHaveLength(3);
    expect(out.at(-1)).toBe('(1 of 3 shown; use --limit)');

    expect(await vodctl(['dlq', 'list', '--reason', 'nope'])).toBe(EXIT.usage);
    expect(err.at(-1)).toMatch(/--reason must be one of invalid_payload/);
    expect(await vodctl(['dlq', 'list', '--limit', '0'])).toBe(EXIT.usage);
    expect(await vodctl(['dlq', 'list', '--frobnicate'])).toBe(EXIT.usage);
  });

  it('dlq show: the dead letter with its original event; unknown id → exit 1', async () => {
    await deliver(unknownCodeEvent('show-me'));
    const id = `dl-${stableHash('show-me')}`;
    expect(await vodctl(['dlq', 'show', id])).toBe(EXIT.ok);
    const shown = JSON.parse(out.join('\n'));
    expect(shown).toMatchObject({
      id,
      reason: 'unknown_code',
      requestId: 'show-me',
      replay: { possible: true, queue: 'vod-events', jobId: `rp-${id}` },
      event: { RequestId: 'show-me', Data: { Code: 'Throttling.NewSubCode' } },
    });
    expect(await vodctl(['dlq', 'show', 'dl-nope'])).toBe(EXIT.failed);
    expect(err.at(-1)).toMatch(/no dead letter "dl-nope"/);
    expect(await vodctl(['dlq', 'show'])).toBe(EXIT.usage);
  });

  it('dlq replay: runs the original event once more, once — even when replayed twice or after a crash', async () => {
    await deliver(unknownCodeEvent('replay-me'));
    const id = `dl-${stableHash('replay-me')}`;
    expect((await h.outcomes()).map((o) => o.decision)).toEqual(['dead_lettered']);

    // Dry run changes nothing.
    expect(await vodctl(['dlq', 'replay', id, '--dry-run'])).toBe(EXIT.ok);
    expect(out[0]).toBe(`would replay ${id} (unknown_code) → vod-events job rp-${id}`);
    expect(await h.deadLetters.getJob(id)).toBeDefined();
    expect(await h.events.getJob(`rp-${id}`)).toBeUndefined();

    // The operator teaches the policy the new code, then replays.
    h.deps.classifier = new (
      h.deps.classifier.constructor as typeof import('@vod-callbacks/shared').CodeClassifier
    )({
      ...DEFAULT_RETRY_POLICY,
      prefixes: { ...DEFAULT_RETRY_POLICY.prefixes, 'Throttling.': 'retryable' },
    });
    const deadLetter = (await h.deadLetters.getJob(id))!.data as DeadLetterJobData;
    expect(await vodctl(['dlq', 'replay', id])).toBe(EXIT.ok);
    expect(await h.deadLetters.getJob(id)).toBeUndefined();
    const replayJob = await h.events.getJob(`rp-${id}`);
    expect(replayJob?.data).toMatchObject({ origin: 'replay', replayOf: id, body: deadLetter.body });
    expect(await h.processStored(`rp-${id}`)).toMatchObject({ decision: 'reupload_scheduled' });

    // Replaying again: the dead letter is gone → not found, nothing added.
    expect(await vodctl(['dlq', 'replay', id])).toBe(EXIT.failed);

    // A crash between "add replay job" and "remove dead letter" leaves the dead letter behind; and the
    // replay job may already be removed from BullMQ (removeOnComplete). Replaying it once more re-adds
    // the job, and the processor's replay dedupe key makes it a duplicate: still one replay outcome.
    await h.deadLetters.add(DEAD_LETTER_JOB_NAME, deadLetter, { jobId: id });
    await h.events.remove(`rp-${id}`);
    expect(await vodctl(['dlq', 'replay', '--all'])).toBe(EXIT.ok);
    expect(await h.processStored(`rp-${id}`)).toMatchObject({ decision: 'duplicate' });

    const outcomes = await h.outcomes();
    expect(outcomes.map((o) => [o.requestId, o.decision, o.origin ?? ''])).toEqual([
      ['replay-me', 'dead_lettered', ''],
      ['replay-me', 'reupload_scheduled', 'replay'],
    ]);
  });

  /** Stores a re-upload's dead letter (as the worker writes one without credentials); returns the re-upload. */
  const reuploadDeadLetter = async (id: string, requestId: string) => {
    const reupload = {
      source: { spaceName: 'space', sourceUrl: `https://example.invalid/${id}.mp4`, callbackArgs: 'item-7' },
      attempt: 2,
      triggeredBy: requestId,
      code: 'InternalError.UrlUploadError',
      scheduledAt: 1,
    };
    await h.deadLetters.add(
      DEAD_LETTER_JOB_NAME,
      { reason: 'no_credentials', detail: 'no keys', requestId, reupload, deadLetteredAt: Date.now() },
      { jobId: id },
    );
    return reupload;
  };

  it('dlq replay of a re-upload dead letter puts the re-upload back into vod-reuploads once', async () => {
    const reupload = await reuploadDeadLetter('dl-reupload-7', 'req-7');
    // One without anything to replay is reported and skipped (exit 1).
    await h.deadLetters.add(
      DEAD_LETTER_JOB_NAME,
      { reason: 'processing_error', detail: 'lost', deadLetteredAt: Date.now() },
      { jobId: 'dl-empty' },
    );
    expect(await vodctl(['dlq', 'replay', '--all'])).toBe(EXIT.failed);
    expect(err.join('\n')).toMatch(
      /skipped dl-empty: it carries neither an event body, a re-upload nor a notification to repeat$/m,
    );
    expect(out.at(-1)).toBe('replayed 1, skipped 1');
    const job = await h.reuploads.getJob('rp-dl-reupload-7');
    expect(job?.data).toMatchObject({ ...reupload, scheduledAt: expect.any(Number) });
    expect(job?.data.scheduledAt).toBeGreaterThan(1);
    expect(await h.deadLetters.getJob('dl-reupload-7')).toBeUndefined();
    expect(await h.deadLetters.getJob('dl-empty')).toBeDefined();
  });

  it('dlq replay gives the jobs it adds the configured attempts and retention, like the ingress and worker', async () => {
    await deliver(unknownCodeEvent('replay-opts'));
    await reuploadDeadLetter('dl-reupload-o', 'req-o');
    const env = {
      EVENT_JOB_ATTEMPTS: '3',
      EVENT_JOB_KEEP_COMPLETED: '9',
      REUPLOAD_API_ATTEMPTS: '4',
      REUPLOAD_API_BACKOFF_MS: '500',
    };
    expect(await vodctl(['dlq', 'replay', '--all'], env)).toBe(EXIT.ok);
    const event = await h.events.getJob(`rp-dl-${stableHash('replay-opts')}`);
    expect(event?.opts).toMatchObject({ attempts: 3, removeOnComplete: { count: 9 } });
    const job = await h.reuploads.getJob('rp-dl-reupload-o');
    expect(job?.opts).toMatchObject({ attempts: 4, backoff: { type: 'exponential', delay: 500 } });
  });

  it('reconcile takes the VOD API settings from its configuration (the environment it was given)', async () => {
    const env = {
      VOLC_ACCESSKEY: 'AKLTcli',
      VOLC_SECRETKEY: 'cli-secret',
      VOD_API_HOST: `127.0.0.1:${await freePort()}`, // nothing listens: the lookup fails, the keys were read
      VOD_API_PROTOCOL: 'http:',
    };
    expect(await vodctl(['reconcile', '--job-ids', 'job-cli-1'], env)).toBe(EXIT.failed);
    expect(out.join('\n')).toMatch(/^job-cli-1 {2}error {2}NetworkError: /m);
    expect(await vodctl(['reconcile', '--job-ids', 'job-cli-1'], { VOD_API_PROTOCOL: 'gopher:' })).toBe(
      EXIT.config,
    );
    expect(err.at(-1)).toMatch(/VOD_API_PROTOCOL/);
  });

  it('dlq replay --reason: only that reason; a selector is required and exclusive', async () => {
    await deliver(unknownCodeEvent('r-1'));
    await deliver({ RequestId: 'r-2', EventType: 'SomethingElse', Data: {} });
    expect(await vodctl(['dlq', 'replay', '--reason', 'unknown_code'])).toBe(EXIT.ok);
    expect(out.at(-1)).toBe('replayed 1, skipped 0');
    expect(
      (await h.deadLetters.getJobs(['waiting'])).map((j) => (j.data as DeadLetterJobData).requestId),
    ).toEqual(['r-2']);
    expect(await vodctl(['dlq', 'replay'])).toBe(EXIT.usage);
    expect(await vodctl(['dlq', 'replay', 'x', '--all'])).toBe(EXIT.usage);
    expect(await vodctl(['dlq', 'replay', '--reason', 'bogus'])).toBe(EXIT.usage);
  });

  it('dlq purge --older-than: removes only old dead letters; the age is required', async () => {
    await deliver(unknownCodeEvent('old-1'));
    await deliver(unknownCodeEvent('old-2'));
    const inEightDays = () => Date.now() + 8 * 86_400_000;
    expect(await vodctl(['dlq', 'purge', '--older-than', '7d'])).toBe(EXIT.ok);
    expect(out.at(-1)).toMatch(/^purged 0 dead letters older than/);
    expect(await vodctl(['dlq', 'purge', '--older-than', '7d', '--dry-run'], {}, inEightDays)).toBe(EXIT.ok);
    expect(out.at(-1)).toMatch(/^would purge 2 dead letters/);
    expect(await h.deadLetters.count()).toBe(2);
    expect(await vodctl(['dlq', 'purge', '--older-than', '7d'], {}, inEightDays)).toBe(EXIT.ok);
    expect(out.at(-1)).toMatch(/^purged 2 dead letters/);
    expect(await h.deadLetters.count()).toBe(0);

    expect(await vodctl(['dlq', 'purge'])).toBe(EXIT.usage);
    expect(err.at(-1)).toMatch(/--older-than is required/);
    expect(await vodctl(['dlq', 'purge', '--older-than', 'seven days'])).toBe(EXIT.usage);
  });

  it('status: latest state of a source by JobId or SourceUrl; unknown → exit 1', async () => {
    const ok = fixture('seed-success.json');
    await deliver(ok);
    expect(await vodctl(['status', ok.Data.JobId, '--json'])).toBe(EXIT.ok);
    expect(JSON.parse(out[0]!)).toMatchObject({
      requestId: ok.RequestId,
      decision: 'succeeded',
      vid: ok.Data.Vid,
      sourceUrl: ok.Data.SourceUrl,
    });
    out = [];
    expect(await vodctl(['status', ok.Data.SourceUrl])).toBe(EXIT.ok);
    expect(out.join('\n')).toMatch(/decision\s+succeeded/);
    expect(out.join('\n')).toContain(ok.Data.Vid);

    expect(await vodctl(['status', 'no-such-job'])).toBe(EXIT.failed);
    expect(err.at(-1)).toMatch(/nothing recorded for JobId or SourceUrl "no-such-job"/);
    expect(await vodctl(['status', 'https://example.invalid/none.mp4'])).toBe(EXIT.failed);
    expect(await vodctl(['status'])).toBe(EXIT.usage);
  });

  // Sender-controlled fields must not reach the terminal raw: an ESC could draw a fake line, retitle the
  // terminal or hide text.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('status escapes control characters of event data, and finds a SourceUrl without a scheme', async () => {
    const e = fixture('seed-success.json');
    e.RequestId = 'ctl-1';
    e.Data.SourceUrl = 'cdn.example.com/v.mp4';
    e.Data.CallbackArgs =
      'x\r\u001b[2K\u001b[32mdecision  succeeded\u001b[0m\u001b]0;owned\u0007\u009b31m\u202eevil';
    await deliver(e);
    expect(await vodctl(['status', e.Data.JobId])).toBe(EXIT.ok);
    const text = out.join('\n');
    expect(text).toMatch(/decision\s+succeeded/);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text.split('\n').filter((l) => /^decision\b/.test(l))).toHaveLength(1);
    expect(text).toContain('callbackArgs  x\\r\\u001b[2K\\u001b[32mdecision');
    out = [];
    // Found by the SourceUrl exactly as VOD reported it, scheme or not.
    expect(await vodctl(['status', 'cdn.example.com/v.mp4', '--json'])).toBe(EXIT.ok);
    expect(out.join('\n')).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(out[0]!).callbackArgs).toBe(e.Data.CallbackArgs);
  });

  it('dlq list/show and queues print no raw control characters; CJK request ids keep the columns aligned', async () => {
    for (const id of ['\u4e2d\u6587\u8bf7\u6c42-1', 'ascii-req-1', 'esc\u001b[31m-\u009b1']) {
      const ev = unknownCodeEvent(id);
      ev.Data.Message = 'bad\u001b]0;title\u0007\nfake line';
      await deliver(ev);
    }
    expect(await vodctl(['dlq', 'list'])).toBe(EXIT.ok);
    const lines = out.join('\n').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).not.toMatch(RAW_CONTROL);
    // Each column starts at the same terminal column on every line (a CJK character takes two).
    const cols = (t: string) => [...t].reduce((n, c) => n + (/[\u4e00-\u9fff]/.test(c) ? 2 : 1), 0);
    const startOf = (line: string, re: RegExp) => cols(line.slice(0, line.search(re)));
    for (const column of [/DEAD-LETTERED|\d{4}-\d\d-\d\dT/, /DETAIL|Code "|\/RequestId/])
      expect(new Set(lines.map((l) => startOf(l, column))).size, lines.join('\n')).toBe(1);

    const id = lines[1]!.split(/\s+/)[0]!;
    out = [];
    expect(await vodctl(['dlq', 'show', id])).toBe(EXIT.ok);
    expect(out.join('\n')).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(out.join('\n')).event).toBeTruthy();
  });

  it('exit codes: unknown command 2, bad environment 78, unreachable Redis 3 (fast)', async () => {
    expect(await vodctl(['frob'])).toBe(EXIT.usage);
    expect(err.at(-1)).toMatch(/unknown command "frob"/);
    expect(await vodctl([])).toBe(EXIT.usage);
    expect(await vodctl(['queues'], { REDIS_URL: 'http://nope' })).toBe(EXIT.config);
    expect(err.at(-1)).toMatch(/REDIS_URL/);
    const port = await freePort();
    const started = Date.now();
    expect(await vodctl(['queues'], { REDIS_URL: `redis://127.0.0.1:${port}` })).toBe(EXIT.redisUnreachable);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.at(-1)).toMatch(new RegExp(`cannot reach Redis at standalone redis://127.0.0.1:${port}`));
  });
});

// Three event shards, each written by a processor harness of its own under the shard's prefix, as
// the ingress and one worker runtime per shard would: every command must see all three.
describe('vodctl with EVENT_SHARDS=3', () => {
  const SHARDS = 3;
  let base: string;
  let shards: ProcessorHarness[];
  let out: string[];
  let err: string[];

  beforeEach(() => {
    base = uniquePrefix('cli3');
    shards = Array.from({ length: SHARDS }, (_, i) =>
      createProcessorHarness(testRedisUrl(), `{${base}-${i}}`),
    );
    out = [];
    err = [];
  });
  afterEach(async () => {
    await deletePrefix(shards[0]!.redis, base); // the recorded count and single-shard queues
    await Promise.all(shards.map((h) => h.close()));
  });

  const vodctl = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, COMMANDS, {
      env: { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: base, EVENT_SHARDS: String(SHARDS), ...env },
      io: { out: (l) => out.push(l), err: (l) => err.push(l) },
    });

  /** `event` with the CallbackArgs changed until its source falls in `shard` (where the ingress routes it). */
  const inShard = <E extends { Data: { SpaceName: string; SourceUrl: string; CallbackArgs?: string } }>(
    event: E,
    shard: number,
  ): E => {
    for (let i = 0; ; i++) {
      const args = `item-${i}`;
      if (shardOfSource(event.Data.SpaceName, event.Data.SourceUrl, args, SHARDS) === shard) {
        event.Data.CallbackArgs = args;
        return event;
      }
    }
  };
  /** Stores `event` in `shard` as the ingress does and processes it; the job is then gone, as after a worker. */
  const deliverIn = async (shard: number, event: unknown) => {
    const h = shards[shard]!;
    const jobId = await h.storeAsIngress(JSON.stringify(event));
    const result = await h.processStored(jobId);
    await h.events.remove(jobId);
    return result;
  };
  const unknownCodeEvent = (requestId: string, shard: number) => {
    const e = fixture('seed-failure.json');
    e.RequestId = requestId;
    e.Data.Code = 'Throttling.NewSubCode';
    e.Data.SourceUrl = `https://example.invalid/${requestId}.mp4`;
    return inShard(e, shard);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('queues: counts summed over the shards, and each shard on its own', async () => {
    await shards[0]!.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-a' });
    await shards[2]!.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-b' });
    await shards[2]!.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-c' });
    await shards[1]!.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-d', delay: 60_000 });
    expect(await vodctl(['queues', '--json'])).toBe(EXIT.ok);
    const counts = JSON.parse(out[0]!);
    expect(counts['vod-events']).toMatchObject({ waiting: 3, delayed: 1, active: 0 });
    expect(counts['vod-dead-letters']).toMatchObject({ waiting: 0 });
    expect(counts.shards).toHaveLength(3);
    expect(counts.shards.map((s: { prefix: string }) => s.prefix)).toEqual(
      [0, 1, 2].map((i) => `{${base}-${i}}`),
    );
    expect(
      counts.shards.map(
        (s: { queues: Record<string, { waiting: number }> }) => s.queues['vod-events']!.waiting,
      ),
    ).toEqual([1, 0, 2]);
    expect(counts.shards[1].queues['vod-events'].delayed).toBe(1);

    out = [];
    expect(await vodctl(['queues'])).toBe(EXIT.ok);
    const text = out.join('\n');
    expect(text).toMatch(/^QUEUE\s+SHARD\s+WAITING\s+ACTIVE\s+DELAYED/);
    expect(text).toMatch(/^vod-events\s+all\s+3\s+0\s+1\s/m);
    expect(text).toMatch(/^vod-events\s+2\s+2\s+0\s+0\s/m);
    expect(text).toMatch(/^vod-events\s+1\s+0\s+0\s+1\s/m);
    expect(text.split('\n')).toHaveLength(1 + 4 * (1 + SHARDS));
  });

  it('dlq list/show/replay: every shard, oldest first, ids that say their shard; a replay goes back into its shard', async () => {
    for (const [req, shard] of [
      ['dl-s2', 2],
      ['dl-s0', 0],
      ['dl-s1', 1],
    ] as const) {
      await deliverIn(shard, unknownCodeEvent(req, shard));
      await sleep(5); // distinct dead-letter times
    }
    const idOf = (req: string) => `dl-${stableHash(req)}`;
    expect(await vodctl(['dlq', 'list', '--json'])).toBe(EXIT.ok);
    expect(out.map((l) => JSON.parse(l)).map((d) => [d.id, d.requestId])).toEqual([
      [`2/${idOf('dl-s2')}`, 'dl-s2'],
      [`0/${idOf('dl-s0')}`, 'dl-s0'],
      [`1/${idOf('dl-s1')}`, 'dl-s1'],
    ]);
    out = [];
    expect(await vodctl(['dlq', 'list'])).toBe(EXIT.ok);
    expect(out.join('\n').split('\n')[1]).toMatch(new RegExp(`^2/${idOf('dl-s2')}\\s+unknown_code`));

    // show: by the qualified id, by the bare id (found in the one shard holding it); the wrong shard
    // or a shard that does not exist are not found / a usage error.
    const ref = `2/${idOf('dl-s2')}`;
    for (const given of [ref, idOf('dl-s2')]) {
      out = [];
      expect(await vodctl(['dlq', 'show', given])).toBe(EXIT.ok);
      expect(JSON.parse(out.join('\n'))).toMatchObject({
        id: ref,
        requestId: 'dl-s2',
        replay: { possible: true, queue: 'vod-events', shard: 2, jobId: `2/rp-${idOf('dl-s2')}` },
      });
    }
    expect(await vodctl(['dlq', 'show', `0/${idOf('dl-s2')}`])).toBe(EXIT.failed);
    expect(await vodctl(['dlq', 'show', `3/${idOf('dl-s2')}`])).toBe(EXIT.usage);
    expect(err.at(-1)).toMatch(/names shard 3, but EVENT_SHARDS=3/);

    // replay one: the event goes into shard 2's vod-events, nowhere else, and its dead letter goes.
    out = [];
    expect(await vodctl(['dlq', 'replay', ref])).toBe(EXIT.ok);
    expect(out[0]).toBe(`replayed ${ref} (unknown_code) → vod-events job 2/rp-${idOf('dl-s2')}`);
    expect(await shards[2]!.events.getJob(`rp-${idOf('dl-s2')}`)).toBeDefined();
    for (const other of [0, 1])
      expect(await shards[other]!.events.getJob(`rp-${idOf('dl-s2')}`)).toBeUndefined();
    expect(await shards[2]!.deadLetters.getJob(idOf('dl-s2'))).toBeUndefined();
    expect(await shards[2]!.processStored(`rp-${idOf('dl-s2')}`)).toMatchObject({
      decision: 'dead_lettered',
    });

    // replay --all: each of the others back into its own shard.
    out = [];
    expect(await vodctl(['dlq', 'replay', '--reason', 'unknown_code', '--dry-run'])).toBe(EXIT.ok);
    expect(out).toContain(
      `would replay 0/${idOf('dl-s0')} (unknown_code) → vod-events job 0/rp-${idOf('dl-s0')}`,
    );
    expect(out).toContain(
      `would replay 1/${idOf('dl-s1')} (unknown_code) → vod-events job 1/rp-${idOf('dl-s1')}`,
    );
    out = [];
    expect(await vodctl(['dlq', 'replay', '--all'])).toBe(EXIT.ok);
    // The two, and the replay's own dead letter (the policy still does not know the code), in shard 2.
    expect(out.at(-1)).toBe('replayed 3, skipped 0');
    expect(await shards[0]!.events.getJob(`rp-${idOf('dl-s0')}`)).toBeDefined();
    expect(await shards[1]!.events.getJob(`rp-${idOf('dl-s1')}`)).toBeDefined();
    expect(await shards[0]!.events.getJob(`rp-${idOf('dl-s1')}`)).toBeUndefined();
    for (const h of shards) expect(await h.deadLetters.count()).toBe(0);
  });

  it('dlq purge and webhooks list/show/replay work in every shard', async () => {
    await deliverIn(0, unknownCodeEvent('purge-0', 0));
    await deliverIn(2, unknownCodeEvent('purge-2', 2));
    const inEightDays = Date.now() + 8 * 86_400_000;
    expect(
      await runCli(['dlq', 'purge', '--older-than', '7d'], COMMANDS, {
        env: { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: base, EVENT_SHARDS: '3' },
        io: { out: (l) => out.push(l), err: (l) => err.push(l) },
        now: () => inEightDays,
      }),
    ).toBe(EXIT.ok);
    expect(out.at(-1)).toMatch(/^purged 2 dead letters/);
    for (const h of shards) expect(await h.deadLetters.count()).toBe(0);

    // An outcome webhook that was never delivered, dead-lettered in shard 1.
    const ok = inShard(fixture('seed-success.json'), 1);
    await deliverIn(1, ok);
    const [outcome] = await shards[1]!.outcomes();
    const [[outcomeId]] = (await shards[1]!.redis.xrange(`{${base}-1}:outcomes`, '-', '+')) as [
      string,
      string[],
    ][];
    const notification = { webhookId: 'msg_shard1', outcome: { ...outcome!, outcomeId: outcomeId! } };
    await shards[1]!.deadLetters.add(
      DEAD_LETTER_JOB_NAME,
      {
        reason: 'webhook_exhausted',
        detail: 'HTTP 503',
        notification,
        deadLetteredAt: Date.now(),
      } as DeadLetterJobData,
      { jobId: 'dl-webhook-1' },
    );
    out = [];
    expect(await vodctl(['webhooks', 'list', '--json'])).toBe(EXIT.ok);
    expect(out.map((l) => JSON.parse(l).id)).toEqual(['1/dl-webhook-1']);
    out = [];
    expect(await vodctl(['webhooks', 'show', '1/dl-webhook-1'])).toBe(EXIT.ok);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ id: '1/dl-webhook-1', webhookId: 'msg_shard1' });
    out = [];
    expect(await vodctl(['webhooks', 'replay', '1/dl-webhook-1'])).toBe(EXIT.ok);
    expect(out[0]).toBe(
      'replayed 1/dl-webhook-1 (webhook_exhausted, msg_shard1) → vod-notifications job 1/rp-dl-webhook-1',
    );
    const notifications = (shard: number) =>
      new Queue(NOTIFICATIONS_QUEUE, { connection: shards[shard]!.redis, prefix: `{${base}-${shard}}` });
    const q1 = notifications(1);
    const q0 = notifications(0);
    try {
      expect((await q1.getJob('rp-dl-webhook-1'))?.data).toEqual(notification);
      expect(await q0.getJob('rp-dl-webhook-1')).toBeUndefined();
    } finally {
      await Promise.all([q1.close(), q0.close()]);
    }
    expect(
      await shards[1]!.redis.zscore(new RedisKeys(`{${base}-1}`).pendingNotifications, 'rp-dl-webhook-1'),
    ).not.toBeNull();
    expect(await shards[1]!.deadLetters.getJob('dl-webhook-1')).toBeUndefined();
  });

  it('status: finds a source recorded in shard 2 by JobId and by SourceUrl', async () => {
    const ok = inShard(fixture('seed-success.json'), 2);
    ok.Data.SourceUrl = `https://example.invalid/${base}.mp4`;
    inShard(ok, 2);
    await deliverIn(2, ok);
    for (const arg of [ok.Data.JobId, ok.Data.SourceUrl]) {
      out = [];
      expect(await vodctl(['status', arg, '--json'])).toBe(EXIT.ok);
      expect(JSON.parse(out[0]!)).toMatchObject({
        requestId: ok.RequestId,
        decision: 'succeeded',
        vid: ok.Data.Vid,
      });
    }
    // The same Redis read as one shard finds nothing: the record is only in shard 2's keys.
    expect(await vodctl(['status', ok.Data.JobId], { EVENT_SHARDS: '1' })).toBe(EXIT.failed);
  });

  it('reconcile: the synthetic event goes to the shard holding the JobId, else to the shard of the source VOD reports', async () => {
    const vod = await startSimulatorInProcess('cli3');
    try {
      const space = 'space-r';
      // Sources whose shards are known: `theirs` (started elsewhere) in shard 1; `ours` hashes to
      // shard 0, but its record is in shard 2, which is where the event must go.
      const theirs = inShard(
        { Data: { SpaceName: space, SourceUrl: 'https://m.example/theirs.mp4' } },
        1,
      ).Data;
      const ours = inShard({ Data: { SpaceName: space, SourceUrl: 'https://m.example/ours.mp4' } }, 0).Data;
      const [a, b] = await vod.api.uploadMediaByUrl(space, [
        { SourceUrl: theirs.SourceUrl, CallbackArgs: theirs.CallbackArgs },
        { SourceUrl: ours.SourceUrl, CallbackArgs: ours.CallbackArgs },
      ]);
      const source = { spaceName: space, sourceUrl: ours.SourceUrl, callbackArgs: ours.CallbackArgs! };
      await shards[2]!.redis.set(
        new RedisKeys(`{${base}-2}`).uploadJob(b!.JobId),
        JSON.stringify({ sourceKey: 'k-ours', attempt: 2, startedAt: Date.now(), source }),
      );
      const env = {
        VOLC_ACCESSKEY: vod.credentials.accessKeyId,
        VOLC_SECRETKEY: vod.credentials.secretKey,
        VOD_API_HOST: vod.host,
        VOD_API_PROTOCOL: 'http:',
      };
      await waitFor('both tasks finished', async () => {
        out = [];
        await vodctl(['reconcile', '--job-ids', `${a!.JobId},${b!.JobId}`, '--json'], env);
        return JSON.parse(out[0] ?? '{}').emitted?.length === 2;
      });
      const jobsIn = async (shard: number) =>
        (await shards[shard]!.events.getJobs(['waiting'])).map((j) => JSON.parse(j.data.body).Data.JobId);
      expect(await jobsIn(1)).toEqual([a!.JobId]);
      expect(await jobsIn(2)).toEqual([b!.JobId]);
      expect(await jobsIn(0)).toEqual([]);
    } finally {
      await vod.close();
    }
  });

  it('shards: the count of this configuration, the recorded one, and per shard its prefix, unfinished jobs and dead letters', async () => {
    await shards[1]!.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-1', delay: 60_000 });
    await deliverIn(2, unknownCodeEvent('dl-shards', 2));
    await shards[0]!.redis.zadd(new RedisKeys(`{${base}-0}`).pendingUploads, Date.now(), 'job-reuploaded');
    expect(await vodctl(['shards', '--json'])).toBe(EXIT.ok);
    expect(JSON.parse(out[0]!)).toEqual({
      eventShards: 3,
      recorded: null,
      recordedKey: `${base}:event-shards`,
      shards: [0, 1, 2].map((i) => ({
        shard: i,
        prefix: `{${base}-${i}}`,
        unfinishedJobs: i === 1 ? 1 : 0,
        deadLetters: i === 2 ? 1 : 0,
        awaitingCallback: i === 0 ? 1 : 0,
      })),
    });
    await shards[0]!.redis.set(shardCountKey(base), '2');
    out = [];
    expect(await vodctl(['shards'])).toBe(EXIT.ok);
    const text = out.join('\n');
    expect(text).toContain('EVENT_SHARDS of this configuration: 3');
    expect(text).toContain(`recorded in Redis (${base}:event-shards): 2`);
    expect(text).toMatch(/they differ: an ingress or a worker with this configuration refuses to start/);
    expect(text).toMatch(/^SHARD\s+PREFIX\s+UNFINISHED JOBS\s+DEAD LETTERS\s+AWAITING CALLBACK$/m);
    expect(text).toMatch(new RegExp(`^0\\s+\\{${base}-0\\}\\s+0\\s+0\\s+1$`, 'm'));
    expect(text).toMatch(new RegExp(`^1\\s+\\{${base}-1\\}\\s+1\\s+0\\s+0$`, 'm'));
    expect(text).toMatch(new RegExp(`^2\\s+\\{${base}-2\\}\\s+0\\s+1\\s+0$`, 'm'));
  });

  it('shards set: refused (exit 4) while a job of the recorded layout is unfinished, recorded once it is gone', async () => {
    const key = shardCountKey(base);
    await shards[0]!.redis.set(key, '3');
    await shards[1]!.events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-waiting' });
    await deliverIn(2, unknownCodeEvent('dl-stays', 2));

    expect(await vodctl(['shards', 'set', '2'])).toBe(EXIT.refused);
    expect(err.at(-1)).toContain(
      `3 → 2 refused: jobs of the recorded layout (EVENT_SHARDS=3) are not finished: shard 1 ({${base}-1}) vod-events: 1 waiting.`,
    );
    expect(await shards[0]!.redis.get(key)).toBe('3');

    await shards[1]!.events.remove('evt-waiting');
    out = [];
    expect(await vodctl(['shards', 'set', '2', '--dry-run'])).toBe(EXIT.ok);
    expect(out[0]).toBe('would record EVENT_SHARDS=2 (now 3): every queue is drained');
    expect(await shards[0]!.redis.get(key)).toBe('3');

    out = [];
    expect(await vodctl(['shards', 'set', '2'])).toBe(EXIT.ok);
    expect(await shards[0]!.redis.get(key)).toBe('2');
    expect(out[0]).toBe(
      'recorded EVENT_SHARDS=2 (was 3): start the ingresses and workers with EVENT_SHARDS=2',
    );
    // The dead letter may stay; it is in a shard the new layout does not have, and the output says so.
    expect(out[1]).toMatch(
      new RegExp(`^1 dead letters stay under \\{${base}-2\\}, which EVENT_SHARDS=2 does not have`),
    );
    // What the ingress and the worker check at start now agrees with 2, not 3.
    expect(await shardCountProblem(shards[0]!.redis, base, 2)).toBeUndefined();
    expect(await shardCountProblem(shards[0]!.redis, base, 3)).toMatch(
      /EVENT_SHARDS=3, but this Redis holds/,
    );

    out = [];
    expect(await vodctl(['shards', 'set', '2'])).toBe(EXIT.ok);
    expect(out[0]).toMatch(/^EVENT_SHARDS=2 is already recorded/);

    // A delayed job (a retry waiting for its backoff) counts as unfinished too.
    await shards[0]!.events.add(
      'callback',
      { body: '{}', receivedAt: 1 },
      { jobId: 'evt-later', delay: 60_000 },
    );
    expect(await vodctl(['shards', 'set', '3'])).toBe(EXIT.refused);
    expect(err.at(-1)).toContain(`shard 0 ({${base}-0}) vod-events: 1 delayed`);

    // A re-upload awaiting its callback counts too: after the change its callback is routed by the
    // new count, while the old shard's reconciler would still ask VOD and record it a second time.
    await (await shards[0]!.events.getJob('evt-later'))!.remove();
    await shards[0]!.redis.zadd(`{${base}-1}:pending-uploads`, Date.now(), 'job-awaited');
    expect(await vodctl(['shards', 'set', '3'])).toBe(EXIT.refused);
    expect(err.at(-1)).toContain(`shard 1 ({${base}-1}): 1 re-upload(s) awaiting their callback`);
    await shards[0]!.redis.zrem(`{${base}-1}:pending-uploads`, 'job-awaited');
    expect(await vodctl(['shards', 'set', '3', '--dry-run'])).toBe(EXIT.ok);

    // Every other command refuses a count other than the recorded one (2 now): it would read shards
    // no process uses (`queues` would print zeros) — exit 78, like the ingress and the worker.
    expect(await vodctl(['queues'])).toBe(EXIT.config);
    expect(err.at(-1)).toMatch(/EVENT_SHARDS=3, but this Redis records "2" for QUEUE_PREFIX/);
    expect(await vodctl(['queues'], { EVENT_SHARDS: '2' })).toBe(EXIT.ok);

    expect(await vodctl(['shards', 'set', '0'])).toBe(EXIT.usage);
    expect(await vodctl(['shards', 'set', '65'])).toBe(EXIT.usage);
    expect(await vodctl(['shards', 'set'])).toBe(EXIT.usage);
  });

  it('shards set with nothing recorded checks the single-shard layout (QUEUE_PREFIX itself)', async () => {
    const single = new Queue(EVENTS_QUEUE, { connection: shards[0]!.redis, prefix: base });
    try {
      await single.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-old' });
      expect(await vodctl(['shards', 'set', '3'])).toBe(EXIT.refused);
      expect(err.at(-1)).toContain(
        `1 → 3 refused: jobs of the recorded layout (EVENT_SHARDS=1) are not finished: shard 0 (${base}) vod-events: 1 waiting.`,
      );
      expect(await shards[0]!.redis.get(shardCountKey(base))).toBeNull();
      await single.remove('evt-old');
      expect(await vodctl(['shards', 'set', '3'])).toBe(EXIT.ok);
      expect(await shards[0]!.redis.get(shardCountKey(base))).toBe('3');
    } finally {
      await single.close();
    }
  });

  it('on Redis Cluster, a single shard whose QUEUE_PREFIX has no hash tag is refused (78) before connecting', async () => {
    const cluster = { REDIS_CLUSTER_NODES: `127.0.0.1:${await freePort()}` };
    expect(await vodctl(['queues'], { ...cluster, EVENT_SHARDS: '1' })).toBe(EXIT.config);
    expect(err.at(-1)).toMatch(/QUEUE_PREFIX=".*" has no hash tag/);
    // With shards (each its own hash tag) the prefix is fine: it gets as far as the connection.
    expect(await vodctl(['queues'], cluster)).toBe(EXIT.redisUnreachable);
    expect(await vodctl(['queues'], { ...cluster, EVENT_SHARDS: '1', QUEUE_PREFIX: `{${base}}` })).toBe(
      EXIT.redisUnreachable,
    );
  });
});

// A real Redis Cluster (3 masters, no replicas): the shards' queues are reached through the cluster
// client, and `vodctl shards` names the master that serves each shard's slot.
describe('vodctl on Redis Cluster with EVENT_SHARDS=3', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let out: string[];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    client = new Cluster(
      cluster.env.REDIS_CLUSTER_NODES.split(',').map((a) => ({
        host: '127.0.0.1',
        port: Number(a.split(':')[1]),
      })),
    );
    client.on('error', () => {});
  }, 90_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('shards names the master of each shard; queues and shards set work through the cluster client', async () => {
    // A base prefix whose shards are not all on one master, so a wrong master cannot pass by luck.
    let base = uniquePrefix('clu');
    let ports: number[] = [];
    for (;;) {
      ports = await Promise.all([0, 1, 2].map((i) => cluster.masterOfKey(`{${base}-${i}}:x`)));
      if (new Set(ports).size > 1) break;
      base = uniquePrefix('clu');
    }
    const events = new Queue(EVENTS_QUEUE, { connection: client, prefix: `{${base}-2}` });
    try {
      await events.add('callback', { body: '{}', receivedAt: 1 }, { jobId: 'evt-c' });
      out = [];
      const vodctl = (args: string[]) =>
        runCli(args, COMMANDS, {
          env: { ...cluster.env, QUEUE_PREFIX: base, EVENT_SHARDS: '3' },
          io: { out: (l) => out.push(l), err: (l) => out.push(l) },
        });
      expect(await vodctl(['shards', '--json'])).toBe(EXIT.ok);
      const shown = JSON.parse(out[0]!);
      expect(
        shown.shards.map((s: { slot: number; master: string; unfinishedJobs: number }) => [
          s.slot,
          s.master,
          s.unfinishedJobs,
        ]),
      ).toEqual(
        [0, 1, 2].map((i) => [clusterSlotOf(`{${base}-${i}}`), `127.0.0.1:${ports[i]}`, i === 2 ? 1 : 0]),
      );
      out = [];
      expect(await vodctl(['shards'])).toBe(EXIT.ok);
      expect(out.join('\n')).toMatch(
        new RegExp(
          `^2\\s+\\{${base}-2\\}\\s+1\\s+0\\s+0\\s+${clusterSlotOf(`{${base}-2}`)}\\s+127\\.0\\.0\\.1:${ports[2]}$`,
          'm',
        ),
      );
      out = [];
      expect(await vodctl(['queues', '--json'])).toBe(EXIT.ok);
      expect(JSON.parse(out[0]!).shards[2].queues['vod-events'].waiting).toBe(1);
      // Nothing recorded: the single-shard prefix has no hash tag, so it cannot hold queues here; 3 is recorded.
      expect(await vodctl(['shards', 'set', '3']), out.join('\n')).toBe(EXIT.ok);
      expect(await client.get(shardCountKey(base))).toBe('3');
      expect(await vodctl(['shards', 'set', '4'])).toBe(EXIT.refused);
      expect(out.at(-1)).toContain(`shard 2 ({${base}-2}) vod-events: 1 waiting`);
      await events.remove('evt-c');

      // dlq and status read each shard through the cluster client, on whichever master holds it.
      const deadLetters = new Queue(DEAD_LETTERS_QUEUE, { connection: client, prefix: `{${base}-1}` });
      try {
        const dl: DeadLetterJobData = {
          reason: 'unknown_code',
          detail: 'on the cluster',
          requestId: 'clu-dl',
          body: '{}',
          deadLetteredAt: 1,
        };
        await deadLetters.add(DEAD_LETTER_JOB_NAME, dl, { jobId: 'dl-clu' });
      } finally {
        await deadLetters.close();
      }
      const keys = new RedisKeys(`{${base}-2}`);
      await client.set(keys.uploadJob('job-clu'), JSON.stringify({ sourceKey: 'src-clu', attempt: 1 }));
      await client.set(
        keys.sourceState('src-clu'),
        JSON.stringify({ sourceKey: 'src-clu', decision: 'succeeded', outcomeId: '1-0', jobId: 'job-clu' }),
      );
      out = [];
      expect(await vodctl(['dlq', 'list', '--json'])).toBe(EXIT.ok);
      expect(out.map((l) => [JSON.parse(l).id, JSON.parse(l).requestId])).toEqual([['1/dl-clu', 'clu-dl']]);
      out = [];
      expect(await vodctl(['dlq', 'show', '1/dl-clu'])).toBe(EXIT.ok);
      expect(out.join('\n')).toContain('on the cluster');
      out = [];
      expect(await vodctl(['status', 'job-clu', '--json'])).toBe(EXIT.ok);
      expect(JSON.parse(out[0]!)).toMatchObject({ decision: 'succeeded', sourceKey: 'src-clu' });

      expect(await vodctl(['shards', 'set', '4'])).toBe(EXIT.ok);
      expect(await client.get(shardCountKey(base))).toBe('4');
    } finally {
      await events.close();
    }
  });
});
