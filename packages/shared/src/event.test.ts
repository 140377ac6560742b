import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventAgeSeconds, isUsableRequestId, validateEvent } from './event.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8'));

describe('event schema', () => {
  it('accepts both corrected seed samples as they are', () => {
    for (const name of ['seed-success.json', 'seed-failure.json']) {
      const result = validateEvent(fixture(name));
      expect(result.ok, `${name}: ${JSON.stringify(result)}`).toBe(true);
    }
  });

  it('keeps the failure sample’s extra SourceInfo.FileType and tolerates its missing fields', () => {
    const result = validateEvent(fixture('seed-failure.json'));
    expect(result.ok && result.event.Data.SourceInfo?.FileType).toBe('');
    expect(result.ok && result.event.Data.SourceInfo?.Md5).toBeUndefined();
  });

  it('accepts unknown top-level and Data fields (VOD adds fields over time)', () => {
    const e = fixture('seed-success.json');
    e.NewTopLevel = { x: 1 };
    e.Data.NewField = 'x';
    expect(validateEvent(e).ok).toBe(true);
  });

  it('needs only RequestId, EventType, Code, JobId, SourceUrl and SpaceName', () => {
    const minimal = {
      RequestId: 'r1',
      EventType: 'FileUploadByUrlComplete',
      Data: { Code: 'Success', JobId: 'j', SourceUrl: 'http://a/b.mp4', SpaceName: 's' },
    };
    expect(validateEvent(minimal).ok).toBe(true);
    for (const path of [
      'RequestId',
      'EventType',
      'Data.Code',
      'Data.JobId',
      'Data.SourceUrl',
      'Data.SpaceName',
    ]) {
      const copy = structuredClone(minimal) as Record<string, unknown>;
      const [a, b] = path.split('.') as [string, string | undefined];
      if (b) delete (copy[a] as Record<string, unknown>)[b];
      else delete copy[a];
      const result = validateEvent(copy);
      expect(result.ok, `without ${path}`).toBe(false);
      expect(!result.ok && result.errors.join(' ')).toMatch(/./);
    }
  });

  it.each([
    ['null', null],
    ['an array', [1, 2]],
    ['a string', 'FileUploadByUrlComplete'],
    ['a number', 42],
    ['Data as a string', { RequestId: 'r', EventType: 'x', Data: 'oops' }],
    [
      'Code a number',
      { RequestId: 'r', EventType: 'x', Data: { Code: 0, JobId: 'j', SourceUrl: 'u', SpaceName: 's' } },
    ],
    [
      'JobId null',
      { RequestId: 'r', EventType: 'x', Data: { Code: 'c', JobId: null, SourceUrl: 'u', SpaceName: 's' } },
    ],
    [
      'SourceUrl an object',
      { RequestId: 'r', EventType: 'x', Data: { Code: 'c', JobId: 'j', SourceUrl: {}, SpaceName: 's' } },
    ],
    [
      'SpaceName an array',
      { RequestId: 'r', EventType: 'x', Data: { Code: 'c', JobId: 'j', SourceUrl: 'u', SpaceName: [] } },
    ],
    [
      'EventType a number',
      { RequestId: 'r', EventType: 1, Data: { Code: 'c', JobId: 'j', SourceUrl: 'u', SpaceName: 's' } },
    ],
    [
      'Code empty',
      { RequestId: 'r', EventType: 'x', Data: { Code: '', JobId: 'j', SourceUrl: 'u', SpaceName: 's' } },
    ],
    [
      'RequestId with a newline',
      { RequestId: 'a\nb', EventType: 'x', Data: { Code: 'c', JobId: 'j', SourceUrl: 'u', SpaceName: 's' } },
    ],
    [
      'RequestId of 129 chars',
      {
        RequestId: 'r'.repeat(129),
        EventType: 'x',
        Data: { Code: 'c', JobId: 'j', SourceUrl: 'u', SpaceName: 's' },
      },
    ],
  ])('rejects %s', (_label, value) => {
    expect(validateEvent(value).ok).toBe(false);
  });

  // VOD's Go backend serialises nil slices and structs as null, and nothing promises the types of
  // fields processing does not need: such a callback is still a success (or a failure) to record.
  const success = () => fixture('seed-success.json');
  const failure = () => fixture('seed-failure.json');
  it.each([
    [
      'OptionInfo.Templates null',
      () => ({ ...success(), Data: { ...success().Data, OptionInfo: { Templates: null } } }),
    ],
    ['OptionInfo null', () => ({ ...success(), Data: { ...success().Data, OptionInfo: null } })],
    [
      'OptionInfo.Templates a string',
      () => ({ ...success(), Data: { ...success().Data, OptionInfo: { Templates: 'x' } } }),
    ],
    ['SourceInfo null', () => ({ ...success(), Data: { ...success().Data, SourceInfo: null } })],
    [
      'SourceInfo.Width "544"',
      () => ({
        ...success(),
        Data: { ...success().Data, SourceInfo: { ...success().Data.SourceInfo, Width: '544' } },
      }),
    ],
    [
      'SourceInfo.Md5 a number',
      () => ({ ...success(), Data: { ...success().Data, SourceInfo: { Md5: 12 } } }),
    ],
    ['Vid null on a failure', () => ({ ...failure(), Data: { ...failure().Data, Vid: null } })],
    ['Message null', () => ({ ...failure(), Data: { ...failure().Data, Message: null } })],
    ['CallbackArgs a number', () => ({ ...failure(), Data: { ...failure().Data, CallbackArgs: 7 } })],
    ['PosterUri null', () => ({ ...success(), Data: { ...success().Data, PosterUri: null } })],
    ['EventTime a number', () => ({ ...success(), EventTime: 1714988973 })],
    ['Version a number', () => ({ ...success(), Version: 1 })],
  ])(
    'accepts an optional field that is null or mistyped (%s) and keeps the event as received',
    (_label, make) => {
      const value = make();
      const result = validateEvent(structuredClone(value));
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect(result.ok && result.event).toEqual(value);
    },
  );

  it('judges RequestIds: printable, 1–128 chars', () => {
    expect(isUsableRequestId('202405060***0CF1866')).toBe(true);
    expect(isUsableRequestId('x'.repeat(128))).toBe(true);
    expect(isUsableRequestId('x'.repeat(129))).toBe(false);
    expect(isUsableRequestId('')).toBe(false);
    expect(isUsableRequestId(12345)).toBe(false);
    expect(isUsableRequestId('a\u0000b')).toBe(false);
    expect(isUsableRequestId('a\u007fb')).toBe(false);
    // Lone surrogates have no UTF-8 form (Redis would store U+FFFD and merge distinct ids); pairs are fine.
    expect(isUsableRequestId('a\ud800b')).toBe(false);
    expect(isUsableRequestId('a\udc00b')).toBe(false);
    expect(isUsableRequestId('回调-🎬')).toBe(true);
  });

  it('measures event age from EventTime', () => {
    expect(eventAgeSeconds('2024-05-06T09:49:33Z', Date.parse('2024-05-06T09:49:43Z'))).toBe(10);
    expect(eventAgeSeconds('not a time', 0)).toBeUndefined();
    expect(eventAgeSeconds(undefined, 0)).toBeUndefined();
  });
});
