import type { UploadSource } from '@vod-callbacks/shared';
import { type UploadedUrl, type UrlSet, type VodApi, VodApiError } from '@vod-callbacks/vod-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchJobIds, UploadBatcher } from './upload-batcher.js';

/** A VodApi that records calls and answers with a function of them. */
function fakeApi(answer: (space: string, sets: UrlSet[]) => UploadedUrl[] | VodApiError) {
  const calls: { space: string; urls: string[] }[] = [];
  const api: VodApi = {
    async uploadMediaByUrl(space, sets) {
      calls.push({ space, urls: sets.map((s) => s.SourceUrl) });
      const a = answer(space, sets);
      if (a instanceof VodApiError) throw a;
      return a;
    },
    async queryUploadTaskInfo() {
      throw new Error('not used');
    },
  };
  return { api, calls };
}
const echo = (space: string, sets: UrlSet[]) =>
  sets.map((s, i) => ({ JobId: `job-${space}-${s.SourceUrl}-${i}`, SourceUrl: s.SourceUrl }));
const src = (spaceName: string, n: number, extra: Partial<UploadSource> = {}): UploadSource => ({
  spaceName,
  sourceUrl: `https://a.example/${n}.mp4`,
  callbackArgs: `item-${n}`,
  ...extra,
});

describe('UploadBatcher', () => {
  it('shares calls per space, at most 20 URLs each, and gives every URL its own JobId', async () => {
    const { api, calls } = fakeApi(echo);
    const batcher = new UploadBatcher(api, { waitMs: 20 });
    const results = await Promise.all([
      ...Array.from({ length: 25 }, (_, i) => batcher.submit(src('space-a', i))),
      ...Array.from({ length: 3 }, (_, i) => batcher.submit(src('space-b', i))),
    ]);
    expect(calls.map((c) => [c.space, c.urls.length]).sort()).toEqual([
      ['space-a', 20],
      ['space-a', 5],
      ['space-b', 3],
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    const ids = results.map((r) => (r.ok ? r.jobId : ''));
    expect(new Set(ids).size).toBe(28);
    expect(ids[21]).toContain('https://a.example/21.mp4');
  });

  it('passes the original CallbackArgs, Md5, FileName, FileExtension and Templates', async () => {
    const seen: UrlSet[] = [];
    const { api } = fakeApi((_, sets) => {
      seen.push(...sets);
      return echo('', sets);
    });
    const templates = [{ TemplateIds: ['t1'], TemplateType: 'transcode' }];
    await new UploadBatcher(api, { waitMs: 0 }).submit(
      src('s', 1, { md5: 'abc', fileName: 'a/b.mp4', fileExtension: '.mp4', templates }),
    );
    expect(seen).toEqual([
      {
        SourceUrl: 'https://a.example/1.mp4',
        CallbackArgs: 'item-1',
        Md5: 'abc',
        FileName: 'a/b.mp4',
        FileExtension: '.mp4',
        Templates: templates,
      },
    ]);
  });

  it('gives a credential error to every URL of the call, without retrying one by one', async () => {
    const { api, calls } = fakeApi(() => new VodApiError('SignatureDoesNotMatch', 'bad', 'UploadMediaByUrl'));
    const batcher = new UploadBatcher(api, { waitMs: 10 });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(src('s', n))));
    expect(calls).toHaveLength(1);
    expect(results.map((r) => (r.ok ? 'ok' : `${r.error.code}/${r.error.kind}`))).toEqual(
      Array(3).fill('SignatureDoesNotMatch/rejected'),
    );
  });

  it('splits a batch refused for a parameter error, so only the bad URL is rejected', async () => {
    const { api, calls } = fakeApi((_, sets) =>
      sets.some((s) => s.SourceUrl.includes('/2.mp4'))
        ? new VodApiError('InvalidParameter', 'bad URLSets', 'UploadMediaByUrl')
        : echo('', sets),
    );
    const batcher = new UploadBatcher(api, { waitMs: 10 });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(src('s', n))));
    expect(calls.map((c) => c.urls.length)).toEqual([3, 1, 1, 1]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
  });

  it('reports a retryable failure (throttling) to every URL of the call', async () => {
    const { api } = fakeApi(() => new VodApiError('FlowLimitExceeded', 'slow down', 'UploadMediaByUrl'));
    const r = await new UploadBatcher(api, { waitMs: 0 }).submit(src('s', 1));
    expect(r.ok ? 'ok' : r.error.kind).toBe('retryable');
  });
});

describe('matchJobIds', () => {
  it('matches by SourceUrl, in order among equal URLs, and leaves unanswered ones without a JobId', () => {
    const items = [src('s', 1), src('s', 2), src('s', 1, { callbackArgs: 'other' }), src('s', 3)].map(
      (source) => ({
        source,
      }),
    );
    const data = [
      { JobId: 'j2', SourceUrl: 'https://a.example/2.mp4' },
      { JobId: 'j1a', SourceUrl: 'https://a.example/1.mp4' },
      { JobId: 'j1b', SourceUrl: 'https://a.example/1.mp4' },
    ];
    expect(matchJobIds(items, data).map(([, id]) => id)).toEqual(['j1a', 'j2', 'j1b', undefined]);
  });
});

describe('UploadBatcher (property)', () => {
  it('for any mix of spaces and URLs: calls are single-space, ≤ 20 URLs, and every URL gets the JobId VOD gave it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ space: fc.constantFrom('a', 'b', 'c'), n: fc.integer({ min: 0, max: 5 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (subs) => {
          let next = 0;
          const issued = new Map<string, string>(); // JobId → space|url
          const { api, calls } = fakeApi((space, sets) =>
            sets.map((s) => {
              const JobId = `j${next++}`;
              issued.set(JobId, `${space}|${s.SourceUrl}`);
              return { JobId, SourceUrl: s.SourceUrl };
            }),
          );
          const batcher = new UploadBatcher(api, { waitMs: 1 });
          const results = await Promise.all(subs.map((x) => batcher.submit(src(x.space, x.n))));
          expect(calls.every((c) => c.urls.length >= 1 && c.urls.length <= 20)).toBe(true);
          expect(calls.reduce((t, c) => t + c.urls.length, 0)).toBe(subs.length);
          const ids = results.map((r, i) => {
            if (!r.ok) throw new Error('unexpected failure');
            expect(issued.get(r.jobId)).toBe(`${subs[i]!.space}|https://a.example/${subs[i]!.n}.mp4`);
            return r.jobId;
          });
          expect(new Set(ids).size).toBe(ids.length);
        },
      ),
      { numRuns: 100 },
    );
  });
});
