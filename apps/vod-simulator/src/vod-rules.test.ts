import { vodOpenapi } from '@volcengine/openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InProcessSimulator,
  startSimulatorInProcess,
} from '../../../test/helpers/simulator-in-process.js';

type Answer = { ResponseMetadata?: { Error?: { Code?: string } }; Result?: { Data?: unknown } };

// The simulator refuses what VOD refuses (UploadMediaByUrl's documented limits, the gateway's
// request-line limit and error codes), driven through the official SDK without our client's
// own checks in between.
describe('simulator refuses what VOD refuses', () => {
  let vod: InProcessSimulator;
  beforeAll(async () => {
    vod = await startSimulatorInProcess('rules');
  });
  afterAll(async () => {
    await vod.close();
  });

  const sdk = (accessKeyId = vod.credentials.accessKeyId) => {
    const s = new vodOpenapi.VodService({ host: vod.host, protocol: 'http:', region: 'cn-north-1' });
    s.setAccessKeyId(accessKeyId);
    s.setSecretKey(vod.credentials.secretKey);
    return s;
  };
  const upload = async (sets: Record<string, unknown>[], accessKeyId?: string) =>
    (await sdk(accessKeyId).UploadMediaByUrl({
      SpaceName: 's',
      URLSets: sets,
    } as never)) as unknown as Answer;
  const code = (a: Answer) => a.ResponseMetadata?.Error?.Code ?? 'ok';
  const url = 'https://media.example.com/v.mp4';

  it.each([
    [
      'a FileName without a suffix',
      { SourceUrl: url, FileName: 'e4c13e5505874e4b1e74c8616' },
      'InvalidParameter',
    ],
    ['a FileName with one', { SourceUrl: url, FileName: 'dir/movie.mp4' }, 'ok'],
    ['a FileExtension without the dot', { SourceUrl: url, FileExtension: 'mp4' }, 'InvalidParameter'],
    ['a FileExtension over 8 characters', { SourceUrl: url, FileExtension: '.abcdefgh' }, 'InvalidParameter'],
    ['a FileExtension of 8', { SourceUrl: url, FileExtension: '.abcdefg' }, 'ok'],
    ['CallbackArgs over 512 bytes', { SourceUrl: url, CallbackArgs: 'é'.repeat(257) }, 'InvalidParameter'],
    ['CallbackArgs of 512 bytes', { SourceUrl: url, CallbackArgs: 'x'.repeat(512) }, 'ok'],
    ['no SourceUrl', { CallbackArgs: 'x' }, 'InvalidParameter'],
  ])('%s → %s', async (_what, set, expected) => {
    expect(code(await upload([set]))).toBe(expected);
  });

  it('more than 20 URLs → InvalidParameter', async () => {
    const sets = Array.from({ length: 21 }, (_, i) => ({ SourceUrl: `https://m.example/${i}.mp4` }));
    expect(code(await upload(sets))).toBe('InvalidParameter');
    expect(code(await upload(sets.slice(0, 20)))).toBe('ok');
  });

  it('a request line over 8 KB → the gateway’s 414 (not an OpenAPI answer)', async () => {
    const long = `https://m.example/v.mp4?sig=${'a'.repeat(8200)}`;
    const answer = (await upload([{ SourceUrl: long }])) as unknown;
    expect(typeof answer === 'string' ? answer : JSON.stringify(answer)).toContain('414');
    const res = await fetch(
      `http://${vod.host}/?Action=QueryUploadTaskInfo&Version=2020-08-01&x=${'b'.repeat(8200)}`,
    );
    expect(res.status).toBe(414);
  });

  it('an unknown Action or Version → InvalidActionOrVersion; an unknown key → InvalidClientTokenId', async () => {
    const s = sdk();
    const nope = (await s.createAPI('DeleteEverything')({})) as unknown as Answer;
    expect(code(nope)).toBe('InvalidActionOrVersion');
    const oldVersion = (await s.createAPI('QueryUploadTaskInfo', { Version: '2018-01-01' })({
      JobIds: 'x',
    })) as unknown as Answer;
    expect(code(oldVersion)).toBe('InvalidActionOrVersion');
    expect(code(await upload([{ SourceUrl: url }], 'AKLTstranger'))).toBe('InvalidClientTokenId');
  });

  it('an Action the key lacks permission for → LackPolicy (SIM_DENY_ACTIONS)', async () => {
    vod.simulator.denyActions(['UploadMediaByUrl']);
    try {
      expect(code(await upload([{ SourceUrl: url }]))).toBe('LackPolicy');
    } finally {
      vod.simulator.denyActions([]);
    }
    expect(code(await upload([{ SourceUrl: url }]))).toBe('ok');
  });

  it('QueryUploadTaskInfo answers each URL’s CallbackArgs', async () => {
    const a = await upload([{ SourceUrl: url, CallbackArgs: '{"itemId":"7"}' }]);
    const [{ JobId }] = (a.Result as { Data: [{ JobId: string }] }).Data;
    await new Promise((r) => setTimeout(r, 40));
    const q = (await sdk().QueryUploadTaskInfo({ JobIds: JobId })) as unknown as {
      Result: { Data: { MediaInfoList: { CallbackArgs?: string; State?: string }[] } };
    };
    expect(q.Result.Data.MediaInfoList[0]).toMatchObject({
      CallbackArgs: '{"itemId":"7"}',
      State: 'success',
    });
  });
});
