import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkCallbackSignature, signCallback, verifyCallbackSignature } from './callback-signature.js';

const settings = {
  callbackUrl: 'https://example.com/callbacks/vod',
  privateKey: 'abcd1234',
  maxAgeSeconds: 300,
};
const body = Buffer.from('{"RequestId":"r1"}');

describe('VOD callback signature', () => {
  it('is md5_hex(url|ts|key|base64(body)) as SPEC.md says', () => {
    const expected = createHash('md5')
      .update(`https://example.com/callbacks/vod|1700000000|abcd1234|${body.toString('base64')}`)
      .digest('hex');
    expect(signCallback(settings.callbackUrl, '1700000000', 'abcd1234', body)).toBe(expected);
  });

  // Digests computed outside this code base (Python's hashlib on the same formula), so a change that
  // alters signing and verifying alike still fails here. The second body is not ASCII: base64 is of
  // the raw UTF-8 bytes.
  it.each([
    ['{"RequestId":"r1"}', 'c26f4fc03304bce3cc7ff5f5ef869d7e'],
    ['{"RequestId":"r-café"}', 'bc0d3f46a717f83cc31f3b32d354b8fa'],
  ])('verifies the fixed vector for %s', (text, digest) => {
    const raw = Buffer.from(text, 'utf8');
    expect(signCallback(settings.callbackUrl, '1700000000', 'abcd1234', raw)).toBe(digest);
    expect(verifyCallbackSignature(settings, '1700000000', digest, raw, 1_700_000_000)).toBeUndefined();
  });

  it('accepts a good signature (either hex case) and refuses everything else', () => {
    const now = 1_700_000_000;
    const sig = signCallback(settings.callbackUrl, String(now), settings.privateKey, body);
    expect(verifyCallbackSignature(settings, String(now), sig, body, now)).toBeUndefined();
    expect(verifyCallbackSignature(settings, String(now), sig.toUpperCase(), body, now)).toBeUndefined();
    expect(verifyCallbackSignature(settings, undefined, sig, body, now)).toBe('signature_missing');
    expect(verifyCallbackSignature(settings, String(now), undefined, body, now)).toBe('signature_missing');
    expect(verifyCallbackSignature(settings, String(now), sig, Buffer.from('{"RequestId":"r2"}'), now)).toBe(
      'signature_mismatch',
    );
    expect(verifyCallbackSignature(settings, String(now), 'zz', body, now)).toBe('signature_mismatch');
    expect(
      verifyCallbackSignature(
        settings,
        String(now - 301),
        signCallback(settings.callbackUrl, String(now - 301), settings.privateKey, body),
        body,
        now,
      ),
    ).toBe('signature_stale');
    expect(
      verifyCallbackSignature(
        settings,
        String(now + 301),
        signCallback(settings.callbackUrl, String(now + 301), settings.privateKey, body),
        body,
        now,
      ),
    ).toBe('signature_stale');
    const wrongKey = signCallback(settings.callbackUrl, String(now), 'otherkey1', body);
    expect(verifyCallbackSignature(settings, String(now), wrongKey, body, now)).toBe('signature_mismatch');
  });
});

describe('checkCallbackSignature with a previous key (rotation)', () => {
  const body = Buffer.from('{"RequestId":"rot"}');
  const url = 'https://cb.example.com/vod';
  const now = 1_700_000_000;
  const sig = (key: string) => signCallback(url, String(now), key, body);
  const rotating = {
    callbackUrl: url,
    privateKey: 'NewKey001',
    previousPrivateKey: 'OldKey001',
    maxAgeSeconds: 300,
  };

  it('names the key that matched; the current one is tried first', () => {
    expect(checkCallbackSignature(rotating, String(now), sig('NewKey001'), body, now)).toEqual({
      ok: true,
      key: 'current',
    });
    expect(checkCallbackSignature(rotating, String(now), sig('OldKey001'), body, now)).toEqual({
      ok: true,
      key: 'previous',
    });
    expect(checkCallbackSignature(rotating, String(now), sig('Other0001'), body, now)).toEqual({
      ok: false,
      problem: 'signature_mismatch',
    });
  });

  it('without a previous key the old key is refused; staleness is checked before any key', () => {
    const { previousPrivateKey: _, ...single } = rotating;
    expect(verifyCallbackSignature(single, String(now), sig('OldKey001'), body, now)).toBe(
      'signature_mismatch',
    );
    expect(verifyCallbackSignature(rotating, String(now - 301), sig('OldKey001'), body, now)).toBe(
      'signature_stale',
    );
  });
});
