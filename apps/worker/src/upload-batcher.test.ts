import type { UploadSource } from '@vod-callbacks/shared';
import {
  MAX_UPLOAD_REQUEST_LINE_BYTES,
  type UploadedUrl,
  type UrlSet,
  uploadRequestLineBytes,
  type VodApi,
  VodApiError,
} from '@vod-callbacks/vod-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairJobIds, UploadBatcher } from './upload-batcher.js';

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

/** CallbackArgs of exactly 512 bytes (VOD's limit), JSON with non-ASCII text as customers send. */
export function args512(n: number): string {
  const head = `{"item":${n},"title":"${'é'.repeat(100)}","pad":"`;
  return `${head}${'x'.repeat(512 - Buffer.byteLength(head) - 2)}"}`;
}

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

  it('splits a space’s 20 long URLs into calls whose request line fits the limit, in order', async () => {
    const lines: number[] = [];
    const { api, calls } = fakeApi((space, sets) => {
      lines.push(uploadRequestLineBytes(space, sets));
      return echo(space, sets);
    });
    const batcher = new UploadBatcher(api, { waitMs: 10 });
    const long = (n: number) =>
      src('space-long', n, {
        sourceUrl: `https://cdn.example.com/v/${n}.mp4?X-Tos-Signature=${'s'.repeat(900)}&n=${n}`,
        callbackArgs: args512(n),
      });
    const sources = Array.from({ length: 20 }, (_, i) => long(i));
    for (const s of sources) expect(Buffer.byteLength(s.callbackArgs)).toBe(512);
    const results = await Promise.all(sources.map((s) => batcher.submit(s)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls.length).toBeGreaterThan(1);
    expect(Math.max(...lines)).toBeLessThanOrEqual(MAX_UPLOAD_REQUEST_LINE_BYTES);
    expect(calls.flatMap((c) => c.urls)).toEqual(sources.map((s) => s.sourceUrl));
    for (const [i, r] of results.entries()) expect(r.ok && r.jobId).toContain(`/${i}.mp4?`);
  });

  it('refuses a URLSet too long for a request line on its own, without calling', async () => {
    const { api, calls } = fakeApi(echo);
    const r = await new UploadBatcher(api, { waitMs: 0 }).submit(
      src('s', 1, { sourceUrl: `https://a.example/x.mp4?sig=${'x'.repeat(9000)}` }),
    );
    expect(r.ok ? 'ok' : `${r.error.code}/${r.error.kind}`).toBe('RequestTooLarge/rejected');
    expect(calls).toHaveLength(0);
  });

  it('an answer it cannot pair is rejected for the unpaired URLs (never retried: VOD took them)', async () => {
    const { api, calls } = fakeApi((_, sets) =>
      [{ JobId: 'only-one', SourceUrl: 'https://elsewhere/x' }].concat(
        sets.slice(2).map(() => ({ JobId: '', SourceUrl: '' })),
      ),
    );
    const batcher = new UploadBatcher(api, { waitMs: 10 });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(src('s', n))));
    expect(calls).toHaveLength(1);
    for (const r of results) {
      expect(r.ok ? 'ok' : `${r.error.code}/${r.error.kind}`).toBe('UnpairedResponse/rejected');
      if (!r.ok) expect(r.error.message).toContain('only-one');
    }
  });

  it('reports a retryable failure (throttling) to every URL of the call', async () => {
    const { api } = fakeApi(() => new VodApiError('FlowLimitExceeded', 'slow down', 'UploadMediaByUrl'));
    const r = await new UploadBatcher(api, { waitMs: 0 }).submit(src('s', 1));
    expect(r.ok ? 'ok' : r.error.kind).toBe('retryable');
  });
});

describe('pairJobIds', () => {
  const d = (JobId: string, SourceUrl = '') => ({ JobId, SourceUrl });
  it('pairs by position; the echoed SourceUrl (empty passes) is only a check', () => {
    expect(pairJobIds(['u1', 'u2', 'u1'], [d('a', 'u1'), d('b', ''), d('c', 'u1')])).toEqual(['a', 'b', 'c']);
  });
  it('pairs by URL when the echoes are the URLs sent in another order', () => {
    expect(pairJobIds(['u1', 'u2', 'u1'], [d('b', 'u2'), d('a', 'u1'), d('c', 'u1')])).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
  it('leaves a URL whose entry fails the check, or an entry without a JobId, unpaired', () => {
    expect(pairJobIds(['u1', 'u2'], [d('a', 'u1'), d('b', 'other')])).toEqual(['a', undefined]);
    expect(pairJobIds(['u1', 'u2'], [d('a', 'u1'), d('', 'u2')])).toEqual(['a', undefined]);
  });
  it('of an answer of another length pairs only URLs sent once and echoed once', () => {
    expect(pairJobIds(['u1', 'u2', 'u2'], [d('a', 'u1'), d('b', 'u2')])).toEqual(['a', undefined, undefined]);
    expect(pairJobIds(['u1', 'u2'], [d('a'), d('b'), d('c')])).toEqual([undefined, undefined]);
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
