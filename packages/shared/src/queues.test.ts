import { describe, expect, it } from 'vitest';
import { validateEvent } from './event.js';
import {
  embeddedEventText,
  eventJobDataJson,
  eventJobId,
  sourceKeyOf,
  stableHash,
  uploadSourceOf,
} from './queues.js';

describe('eventJobId', () => {
  it('is deterministic and never integer-like or contains ":"', () => {
    for (const id of ['12345', 'reconcile:abc', 'a:b:c', '202405060***0CF1866', '0']) {
      const jobId = eventJobId(id);
      expect(jobId).toBe(eventJobId(id));
      expect(jobId).not.toContain(':');
      expect(Number.isInteger(Number(jobId))).toBe(false);
    }
  });

  it('keeps readable ids readable and separates the hashed family', () => {
    expect(eventJobId('abc')).toBe('evt-abc');
    expect(eventJobId('a:b')).toMatch(/^evth-[0-9a-f]{40}$/);
    expect(eventJobId('a:b')).not.toBe(eventJobId('a:c'));
  });
});

describe('sourceKeyOf', () => {
  it('depends on space, URL and CallbackArgs, unambiguously', () => {
    const a = sourceKeyOf({ spaceName: 's', sourceUrl: 'u', callbackArgs: 'x' });
    expect(a).toBe(sourceKeyOf({ spaceName: 's', sourceUrl: 'u', callbackArgs: 'x' }));
    expect(a).not.toBe(sourceKeyOf({ spaceName: 's', sourceUrl: 'u', callbackArgs: 'y' }));
    expect(sourceKeyOf({ spaceName: 'ab', sourceUrl: 'c', callbackArgs: '' })).not.toBe(
      sourceKeyOf({ spaceName: 'a', sourceUrl: 'bc', callbackArgs: '' }),
    );
  });
});

describe('stableHash', () => {
  it('keeps the digests Redis keys were written with (SHA-256 of each part + NUL, 32 hex chars)', () => {
    expect(stableHash('ecqc-live', 'http://xxx.mp4', 'item id')).toBe('e03cc8a0f307f96e41a933ceb31eb7b3');
    expect(stableHash('http://xxx.mp4')).toBe('4d4842dc5edc0bf29fe8832d334c15c7');
    expect(stableHash('a\ud800', 'é')).toBe('6226a5e65cf9c3c3c31b13565bd33a81');
  });
});

describe('event job data with the callback embedded', () => {
  it('is the JSON of { event, receivedAt }, and gives back the exact text embedded', () => {
    const texts = [
      '{"RequestId":"a","Data":{"Code":"Success"}}',
      ' {\n  "RequestId" : "sp\\u00e9ce",\n  "x": 1.50 } ',
      '{"RequestId":"tricky","CallbackArgs":",\\"receivedAt\\":1}","n":[1,{"receivedAt":2}]}',
    ];
    for (const text of texts) {
      const data = eventJobDataJson(text, 1717000000000);
      expect(JSON.parse(data)).toEqual({ event: JSON.parse(text), receivedAt: 1717000000000 });
      expect(embeddedEventText(data)).toBe(text);
    }
    expect(embeddedEventText(JSON.stringify({ body: '{}', receivedAt: 1 }))).toBeUndefined();
  });
});

describe('uploadSourceOf reads optional fields defensively', () => {
  const received = (data: Record<string, unknown>) => {
    const r = validateEvent({
      RequestId: 'r',
      EventType: 'FileUploadByUrlComplete',
      Data: {
        Code: 'InternalError.UrlUploadError',
        JobId: 'j',
        SourceUrl: 'https://a.test/v.mp4',
        SpaceName: 's',
        ...data,
      },
    });
    if (!r.ok) throw new Error(r.errors.join('; '));
    return r.event;
  };

  it.each([
    ['Templates null', { OptionInfo: { Templates: null } }],
    ['OptionInfo null', { OptionInfo: null }],
    ['Templates a string', { OptionInfo: { Templates: 'x' } }],
    ['TemplateId a number', { OptionInfo: { TemplateId: 5 } }],
    ['CallbackArgs null', { CallbackArgs: null }],
    ['SourceInfo null', { SourceInfo: null }],
  ])('%s: the source without it', (_label, data) => {
    expect(uploadSourceOf(received(data))).toEqual({
      spaceName: 's',
      sourceUrl: 'https://a.test/v.mp4',
      callbackArgs: '',
      fileExtension: '.mp4',
    });
  });

  it('keeps well-formed Templates and drops malformed entries', () => {
    const source = uploadSourceOf(
      received({
        OptionInfo: {
          Templates: [{ TemplateIds: ['t1'], TemplateType: 'transcode' }, null, { TemplateIds: 'x' }],
        },
      }),
    );
    expect(source.templates).toEqual([{ TemplateIds: ['t1'], TemplateType: 'transcode' }]);
  });
});
