import { isUsableRequestId } from '@vod-callbacks/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptCallbackBody } from './callback-body.js';
import { HttpError } from './errors.js';

/** Runs the body check; a refusal must be a 400 HttpError, an acceptance a usable RequestId. */
function check(raw: Buffer): void {
  try {
    const accepted = acceptCallbackBody(raw, 32);
    expect(isUsableRequestId(accepted.requestId)).toBe(true);
    expect(accepted.text).toBe(raw.toString('utf8'));
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).statusCode).toBe(400);
  }
}

describe('ingress body check on arbitrary input (fast-check)', () => {
  it('arbitrary bytes: accepted or a clean 400, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => check(Buffer.from(bytes))),
      { numRuns: 3000 },
    );
  });

  it('arbitrary JSON (with and without a RequestId): accepted or a clean 400', () => {
    const withId = fc.record({ RequestId: fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()) });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 40 }), withId, fc.anything()), (value) => {
        const text = JSON.stringify(value);
        if (text === undefined) return;
        check(Buffer.from(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid bodies: accepted or a clean 400', () => {
    const base = JSON.stringify({
      RequestId: 'r-1',
      EventType: 'FileUploadByUrlComplete',
      Data: { Code: 'Success' },
    });
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const b = Buffer.from(base);
        b[at] = byte;
        check(b);
      }),
      { numRuns: 3000 },
    );
  });
});
