import { describe, expect, it } from 'vitest';
import { parseUploadJobRecord, RedisKeys } from './redis-keys.js';

describe('upload-job record', () => {
  it('lives under the prefix, one key per JobId', () => {
    expect(new RedisKeys('{vod}').uploadJob('job-1')).toBe('{vod}:upload-job:job-1');
  });

  it('keeps a JobId of up to 128 characters in the key; a longer one (a sender’s) is hashed, distinctly', () => {
    const keys = new RedisKeys('{vod}');
    expect(keys.uploadJob('j'.repeat(128))).toBe(`{vod}:upload-job:${'j'.repeat(128)}`);
    const long = keys.uploadJob('j'.repeat(200_000));
    expect(long).toMatch(/^\{vod\}:upload-job:#[0-9a-f]{32}$/);
    expect(keys.uploadJob(`${'j'.repeat(200_000)}x`)).not.toBe(long);
    expect(keys.uploadJob('j'.repeat(200_000))).toBe(long);
  });

  it('parses what the worker stores, with or without the re-upload fields', () => {
    const source = { spaceName: 's', sourceUrl: 'https://a.example/x.mp4', callbackArgs: 'c' };
    expect(
      parseUploadJobRecord(`{"sourceKey":"k","attempt":2,"startedAt":5,"source":${JSON.stringify(source)}}`),
    ).toEqual({
      sourceKey: 'k',
      attempt: 2,
      startedAt: 5,
      source,
    });
    expect(parseUploadJobRecord('{"sourceKey":"k","attempt":1,"reconciled":true}')).toEqual({
      sourceKey: 'k',
      attempt: 1,
      reconciled: true,
    });
  });

  it('is undefined for a missing, unreadable or incomplete record', () => {
    for (const raw of [
      null,
      undefined,
      '',
      'not json',
      'null',
      '7',
      '{"attempt":2}',
      '{"sourceKey":"","attempt":2}',
      '{"sourceKey":"k"}',
      '{"sourceKey":"k","attempt":"2"}',
    ]) {
      expect(parseUploadJobRecord(raw), String(raw)).toBeUndefined();
    }
  });
});
