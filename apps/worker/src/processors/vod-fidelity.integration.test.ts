import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  REUPLOADS_QUEUE,
  type ReuploadJobData,
  sourceKeyOf,
  type UploadSource,
} from '@vod-callbacks/shared';
import { ReuploadDefaults, type VodApi } from '@vod-callbacks/vod-client';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type InProcessSimulator,
  startSimulatorInProcess,
} from '../../../../test/helpers/simulator-in-process.js';
import { type WorkerFixture, workerFixture } from '../../../../test/helpers/worker-fixture.js';
import { UploadBatcher } from '../upload-batcher.js';
import { processEvent } from './event-processor.js';
import { processReupload, type ReuploadProcessorDeps } from './reupload-processor.js';

// What the re-upload sends, checked against a simulator as strict as VOD's documentation: real
// Redis and BullMQ, the official SDK over HTTP.
describe('re-uploads VOD accepts (strict simulator)', () => {
  let vod: InProcessSimulator;
  let fx: WorkerFixture;
  let deps: ReuploadProcessorDeps;

  beforeAll(async () => {
    vod = await startSimulatorInProcess('fid');
  });
  afterAll(async () => {
    await vod.close();
  });
  beforeEach(() => {
    fx = workerFixture('fid');
    deps = fx.reuploadDeps(vod.api);
  });
  afterEach(async () => {
    await fx.close();
  });

  /** A retryable failure callback as VOD sends it: its own FileName (no suffix), Md5 and Format. */
  const failedCallback = (requestId: string, jobId: string, sourceUrl: string, callbackArgs: string) => ({
    RequestId: requestId,
    Version: '1.0',
    EventType: 'FileUploadByUrlComplete',
    Data: {
      Code: 'InternalError.UrlUploadError',
      Message: 'upload error',
      JobId: jobId,
      SourceUrl: sourceUrl,
      CallbackArgs: callbackArgs,
      Vid: '',
      SpaceName: 'space-fid',
      SourceInfo: {
        FileName: 'e4c13e5505874e4b1e74c8616',
        Md5: 'd41d8cd98f00b204e9800998ecf8427e',
        Format: 'mp4',
      },
      OptionInfo: { TemplateId: '', Templates: [{ TemplateIds: ['tpl-1'], TemplateType: 'transcode' }] },
    },
  });

  /** Processes a callback and returns the re-upload job it scheduled. */
  const reuploadAfter = async (event: unknown) => {
    const result = await processEvent(
      { id: `e-${Math.random()}`, data: { body: JSON.stringify(event), receivedAt: 0 } },
      fx.eventDeps({ maxAttempts: 5 }),
    );
    expect(result.decision).toBe('reupload_scheduled');
    const queue = new Queue<ReuploadJobData>(REUPLOADS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
    const [job] = await queue.getJobs(['delayed']);
    await queue.close();
    if (!job) throw new Error('no re-upload job');
    return { id: job.id, data: job.data };
  };

  it('an upload it did not start: SourceUrl, CallbackArgs, Templates and the URL’s extension, none of VOD’s fields', async () => {
    const url = 'https://media.example.com/videos/clip.MP4?vodsim=ok~drop&sig=x.y';
    const job = await reuploadAfter(failedCallback('fid-1', 'vod-job-1', url, '{"itemId":"9"}'));
    expect(job.data.source).toEqual({
      spaceName: 'space-fid',
      sourceUrl: url,
      callbackArgs: '{"itemId":"9"}',
      fileExtension: '.MP4',
      templates: [{ TemplateIds: ['tpl-1'], TemplateType: 'transcode' }],
    });
    const result = await processReupload(job, deps);
    if (result.result !== 'accepted') throw new Error(`VOD refused the re-upload: ${JSON.stringify(result)}`);
    const task = vod.simulator.tasks.get(result.jobId);
    expect(task).toMatchObject({ callbackArgs: '{"itemId":"9"}', templates: job.data.source.templates });
    expect(task?.md5).toBeUndefined();
    expect(task?.fileName).toBeUndefined();
  });

  it('no FileExtension when the URL path has none or an invalid one', async () => {
    for (const [i, url] of [
      'https://m.example/stream?vodsim=ok~drop',
      'https://m.example/a.toolongext',
    ].entries()) {
      const job = await reuploadAfter(failedCallback(`fid-x${i}`, `vod-x${i}`, url, ''));
      expect(job.data.source.fileExtension).toBeUndefined();
      await new Queue(REUPLOADS_QUEUE, { connection: fx.redis, prefix: fx.prefix }).obliterate({
        force: true,
      });
    }
  });

  it('an upload it started: the same URLSet it sent, not what the failure callback says', async () => {
    const sent: UploadSource = {
      spaceName: 'space-fid',
      sourceUrl: 'https://media.example.com/b.mp4?vodsim=ok~drop',
      callbackArgs: 'item-b',
      md5: '0123456789abcdef0123456789abcdef',
      fileName: 'library/b.mp4',
      fileExtension: '.mp4',
      templates: [{ TemplateIds: ['tpl-own'], TemplateType: 'transcode' }],
    };
    await fx.uploads.track(
      'job-started',
      { sourceKey: sourceKeyOf(sent), attempt: 2, source: sent },
      Date.now(),
    );
    const job = await reuploadAfter(
      failedCallback('fid-2', 'job-started', sent.sourceUrl, sent.callbackArgs),
    );
    expect(job.data).toMatchObject({ source: sent, attempt: 3 });
    const result = await processReupload(job, deps);
    if (result.result !== 'accepted') throw new Error(`VOD refused the re-upload: ${JSON.stringify(result)}`);
    expect(vod.simulator.tasks.get(result.jobId)).toMatchObject({ md5: sent.md5, fileName: sent.fileName });
    expect(await fx.uploads.get(result.jobId)).toMatchObject({ attempt: 3, source: sent });
  });

  it('20 long signed URLs with 512-byte CallbackArgs: every one accepted, in calls whose request line VOD’s gateway takes', async () => {
    const before = { ...vod.simulator.stats.uploadBatchSizes };
    const jobs = Array.from({ length: 20 }, (_, n) => {
      const head = `{"item":${n},"title":"${'é'.repeat(100)}","pad":"`;
      const source: UploadSource = {
        spaceName: 'space-long',
        sourceUrl: `https://cdn.example.com/v/${n}.mp4?vodsim=ok~drop&X-Tos-Signature=${'s'.repeat(900)}`,
        callbackArgs: `${head}${'x'.repeat(512 - Buffer.byteLength(head) - 2)}"}`,
      };
      expect(Buffer.byteLength(source.callbackArgs)).toBe(512);
      return {
        id: `ru-long-${n}`,
        data: {
          source,
          attempt: 2,
          triggeredBy: `req-${n}`,
          code: 'InternalError.UrlUploadError',
          scheduledAt: 0,
        },
      };
    });
    const results = await Promise.all(jobs.map((j) => processReupload(j, deps)));
    expect(results.map((r) => r.result)).toEqual(Array(20).fill('accepted'));
    for (const [n, r] of results.entries()) {
      if (r.result !== 'accepted') continue;
      expect(vod.simulator.tasks.get(r.jobId)?.sourceUrl).toBe(jobs[n]!.data.source.sourceUrl);
    }
    const calls = Object.entries(vod.simulator.stats.uploadBatchSizes).reduce(
      (t, [size, count]) => t + (count - (before[size] ?? 0)),
      0,
    );
    expect(calls).toBeGreaterThan(1);
    expect(vod.simulator.stats.errors.RequestLineTooLong ?? 0).toBe(0);
  });

  it('an answer that cannot be paired dead-letters the re-upload with the JobIds, and does not call again', async () => {
    let calls = 0;
    const unpairable: VodApi = {
      async uploadMediaByUrl(_space, sets) {
        calls++;
        return sets.map((s, i) => ({ JobId: `vod-job-${i}`, SourceUrl: `${s.SourceUrl}&normalised=1` }));
      },
      async queryUploadTaskInfo() {
        throw new Error('not used');
      },
    };
    const job = {
      id: 'ru-unpaired',
      data: {
        source: { spaceName: 's', sourceUrl: 'https://m.example/u.mp4?a=1', callbackArgs: 'item-u' },
        attempt: 2,
        triggeredBy: 'req-u',
        code: 'InternalError.UrlUploadError',
        scheduledAt: 0,
      },
      attemptsMade: 0,
      opts: { attempts: 8 },
    };
    const result = await processReupload(job, {
      ...deps,
      batcher: new UploadBatcher(unpairable, { waitMs: 0 }),
    });
    expect(result).toEqual({ result: 'rejected', code: 'UnpairedResponse' });
    expect(calls).toBe(1);
    const dlq = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
    const [letter] = await dlq.getJobs(['waiting']);
    expect(letter?.data).toMatchObject({ reason: 'reupload_rejected' });
    expect(letter?.data.detail).toContain('vod-job-0');
    await dlq.close();
  });

  it('re-upload defaults of the space fill what the callback does not carry (header secret from the environment)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fid-defaults-'));
    const file = join(dir, 'defaults.json');
    writeFileSync(
      file,
      JSON.stringify({
        '*': { StorageClass: 1 },
        'space-fid': {
          Title: 'Re-uploaded by vod-callbacks',
          ClassificationId: 7,
          Templates: [{ TemplateIds: ['tpl-default'], TemplateType: 'transcode' }],
          CustomURLHeaders: {
            Referer: 'https://origin.example/',
            'X-Origin-Token': { env: 'FID_ORIGIN_TOKEN' },
          },
        },
      }),
    );
    const defaults = ReuploadDefaults.load(file, { FID_ORIGIN_TOKEN: 'tok-123' });
    const withDefaults = { ...deps, batcher: new UploadBatcher(vod.api, { waitMs: 5, defaults }) };
    const url = 'https://media.example.com/needs-header.mp4?vodsim=ok~drop';
    const job = await reuploadAfter(failedCallback('fid-def', 'vod-def', url, 'item-def'));
    const result = await processReupload(job, withDefaults);
    if (result.result !== 'accepted') throw new Error(`VOD refused the re-upload: ${JSON.stringify(result)}`);
    expect(vod.simulator.tasks.get(result.jobId)?.urlSet).toEqual({
      SourceUrl: url,
      CallbackArgs: 'item-def',
      FileExtension: '.mp4',
      // The callback's Templates win over the default's.
      Templates: [{ TemplateIds: ['tpl-1'], TemplateType: 'transcode' }],
      StorageClass: 1,
      Title: 'Re-uploaded by vod-callbacks',
      ClassificationId: 7,
      CustomURLHeaders: { Referer: 'https://origin.example/', 'X-Origin-Token': 'tok-123' },
    });
    // Applied at send time, never stored: the JobId mapping holds the source only.
    expect(JSON.stringify(await fx.uploads.get(result.jobId))).not.toContain('tok-123');
  });
});
