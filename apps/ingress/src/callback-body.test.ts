import { describe, expect, it } from 'vitest';
import { acceptCallbackBody, exceedsDepth } from './callback-body.js';
import { HttpError } from './errors.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof HttpError ? err.code : 'not-http-error';
  }
  return 'accepted';
};

describe('exceedsDepth', () => {
  it('counts brackets outside strings only', () => {
    expect(exceedsDepth('{"a":[[1]]}', 3)).toBe(false);
    expect(exceedsDepth('{"a":[[1]]}', 2)).toBe(true);
    expect(exceedsDepth('{"a":"[[[[[[[[[[{{{{"}', 2)).toBe(false);
    expect(exceedsDepth('{"a":"\\"[[[[[[[["}', 2)).toBe(false);
  });
});

describe('acceptCallbackBody', () => {
  it.each([
    ['{"RequestId":"r1"}', 'accepted'],
    ['', 'empty_body'],
    ['{"RequestId":"r1",}', 'invalid_json'],
    ['"just a string"', 'not_an_object'],
    ['null', 'not_an_object'],
    ['[{"RequestId":"r1"}]', 'not_an_object'],
    ['{"RequestId":""}', 'invalid_request_id'],
    ['{"RequestId":"a\\u0007b"}', 'invalid_request_id'],
    [`{"RequestId":"${'x'.repeat(129)}"}`, 'invalid_request_id'],
  ])('%j → %s', (body, expected) => {
    expect(codeOf(() => acceptCallbackBody(Buffer.from(body), 32))).toBe(expected);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(codeOf(() => acceptCallbackBody(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 32))).toBe(
      'invalid_encoding',
    );
  });

  it('returns the RequestId, the text exactly as received and the parsed body', () => {
    const text = '{ "RequestId" : "r-1", "Extra": [1, 2] }';
    expect(acceptCallbackBody(Buffer.from(text), 32)).toEqual({
      requestId: 'r-1',
      text,
      event: { RequestId: 'r-1', Extra: [1, 2] },
    });
  });
});

describe('acceptCallbackBody depth limit (bracket pre-count, then exact scan)', () => {
  const nested = (depth: number) => `${'['.repeat(depth - 1)}1${']'.repeat(depth - 1)}`;
  it.each([
    // The object plus d-1 arrays is depth d; the limit is 8.
    [`{"RequestId":"r","a":${nested(8)}}`, 'accepted'],
    [`{"RequestId":"r","a":${nested(9)}}`, 'too_deep'],
    // Many brackets, little depth: over the pre-count, so the exact scan decides.
    [`{"RequestId":"r","a":"${'[{'.repeat(20)}","b":[[1],[2],[3],[4],[5]]}`, 'accepted'],
    [`{"RequestId":"r","a":[${'[1],'.repeat(20)}[2]]}`, 'accepted'],
  ])('%s → %s', (body, expected) => {
    expect(codeOf(() => acceptCallbackBody(Buffer.from(body), 8))).toBe(expected);
  });
});
