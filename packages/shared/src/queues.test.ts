import { describe, expect, it } from 'vitest';
import { eventJobId, sourceKeyOf } from './queues.js';

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
