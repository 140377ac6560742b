import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeClassifier, codeLabel, loadRetryPolicy, validateEvent } from '@vod-callbacks/shared';
import { describe, expect, it } from 'vitest';
import { reconcileJobIds } from './reconcile.js';
import { RECONCILED_FAILURE_CODE, taskInfoToEvent, taskStateClass } from './task-event.js';
import type { UploadTaskInfo, VodApi } from './vod-api.js';

const known = {
  spaceName: 'space-1',
  sourceUrl: 'https://a.example/v.mp4',
  callbackArgs: '{"itemId":"42"}',
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  templates: [{ TemplateIds: ['t1'], TemplateType: 'transcode' }],
};
const NOW = Date.UTC(2026, 10, 30, 3, 0, 0);

describe('taskInfoToEvent', () => {
  it('turns a success into a valid Success callback with its Vid and the customer’s CallbackArgs', () => {
    const info: UploadTaskInfo = {
      JobId: 'job-1',
      State: 'success',
      Vid: 'v0dabc',
      SpaceName: 'space-1',
      SourceUrl: 'https://a.example/v.mp4',
      SourceInfo: { Width: 1920, Height: 1080, Format: 'mp4', Md5: 'other', Extra: 'x' },
    };
    const event = taskInfoToEvent(info, known, NOW)!;
    expect(validateEvent(event).ok).toBe(true);
    expect(event).toMatchObject({
      RequestId: 'reconcile:job-1',
      EventType: 'FileUploadByUrlComplete',
      EventTime: '2026-11-30T03:00:00Z',
      Data: {
        Code: 'Success',
        JobId: 'job-1',
        Vid: 'v0dabc',
        CallbackArgs: '{"itemId":"42"}',
        // VOD's SourceInfo as answered: a re-upload re-sends the stored source, not this.
        SourceInfo: { Width: 1920, Height: 1080, Format: 'mp4', Md5: 'other' },
        OptionInfo: { Templates: known.templates },
      },
    });
  });

  it('takes CallbackArgs from QueryUploadTaskInfo for an upload this system did not start', () => {
    const info: UploadTaskInfo = {
      JobId: 'elsewhere-1',
      State: 'success',
      Vid: 'v0dx',
      SpaceName: 'space-9',
      SourceUrl: 'https://a.example/e.mp4',
      CallbackArgs: '{"itemId":"e-1"}',
    };
    expect(taskInfoToEvent(info, undefined, NOW)?.Data.CallbackArgs).toBe('{"itemId":"e-1"}');
    // Started here: what it sent (and stored) is the one its source is keyed by.
    expect(taskInfoToEvent({ ...info, CallbackArgs: '' }, known, NOW)?.Data.CallbackArgs).toBe(
      known.callbackArgs,
    );
    expect(taskInfoToEvent({ ...info, CallbackArgs: undefined }, undefined, NOW)?.Data.CallbackArgs).toBe('');
  });

  it('turns failed (old spelling too) into the reconciled code Reconciled.TaskFailed without a Vid', () => {
    for (const State of ['failed', 'fail']) {
      const event = taskInfoToEvent({ JobId: 'j', State, Vid: 'v' }, known, NOW)!;
      expect(event.Data).toMatchObject({ Code: 'Reconciled.TaskFailed', Vid: '', SpaceName: 'space-1' });
    }
    expect(RECONCILED_FAILURE_CODE).toBe('Reconciled.TaskFailed');
  });

  it('the reconciled code is in the policy: retryable by default, its own metric label, configurable', () => {
    const classifier = new CodeClassifier();
    expect(classifier.classify(RECONCILED_FAILURE_CODE)).toBe('retryable');
    expect(codeLabel(RECONCILED_FAILURE_CODE, (c) => classifier.catalogueLabel(c))).toBe(
      'Reconciled.TaskFailed',
    );
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify({ exact: { 'Reconciled.TaskFailed': 'permanent' } }));
    expect(new CodeClassifier(loadRetryPolicy(file)).classify(RECONCILED_FAILURE_CODE)).toBe('permanent');
  });

  it('gives nothing while the task runs, or when neither side knows the source', () => {
    for (const s of ['initial', 'init', 'processing', 'process', undefined])
      expect(taskStateClass(s)).toBe('running');
    expect(taskInfoToEvent({ JobId: 'j', State: 'processing' }, known, NOW)).toBeUndefined();
    expect(taskInfoToEvent({ JobId: 'j', State: 'success' }, undefined, NOW)).toBeUndefined();
  });
});

describe('reconcileJobIds', () => {
  it('queries 20 per call and sorts JobIds into emitted, running, not found and errors', async () => {
    const calls: string[][] = [];
    const api: VodApi = {
      uploadMediaByUrl: async () => [],
      async queryUploadTaskInfo(ids) {
        calls.push(ids);
        if (ids.includes('boom')) throw new Error('socket hang up');
        return {
          infos: ids
            .filter((id) => !id.startsWith('gone'))
            .map((id) => ({
              JobId: id,
              State: id.startsWith('run') ? 'processing' : 'success',
              Vid: `v-${id}`,
              SpaceName: 's',
              SourceUrl: `https://a.example/${id}`,
            })),
          notFound: ids.filter((id) => id === 'gone-listed'),
        };
      },
    };
    const ids = [
      ...Array.from({ length: 17 }, (_, i) => `ok-${i}`),
      'run-1',
      'gone-listed',
      'gone-silent',
      'boom',
    ];
    const emitted: string[] = [];
    const report = await reconcileJobIds([...ids, 'ok-0'], {
      api,
      knownSource: async () => undefined,
      emit: async (e) => {
        emitted.push(e.RequestId);
      },
      now: () => NOW,
    });
    expect(calls.map((c) => c.length)).toEqual([20, 1]);
    expect(report.emitted).toHaveLength(17);
    expect(emitted[0]).toBe('reconcile:ok-0');
    expect(report.running).toEqual(['run-1']);
    expect(report.notFound.sort()).toEqual(['gone-listed', 'gone-silent']);
    expect(report.errors).toEqual([{ jobIds: ['boom'], code: 'Error', message: 'socket hang up' }]);
  });
});
