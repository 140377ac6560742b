import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANY_REUPLOAD_SCOPE, decide, reuploadRefusal } from './decide.js';

describe('decide', () => {
  it('maps classes to decisions', () => {
    expect(decide('success', 1, 3)).toBe('succeeded');
    expect(decide('permanent', 1, 3)).toBe('failed_permanent');
  });

  it('re-uploads a retryable failure while the budget lasts (the original upload is attempt 1)', () => {
    expect(decide('retryable', 1, 3)).toBe('reupload_scheduled');
    expect(decide('retryable', 2, 3)).toBe('reupload_scheduled');
    expect(decide('retryable', 3, 3)).toBe('retries_exhausted');
    expect(decide('retryable', 1, 1)).toBe('retries_exhausted');
  });

  it('property: a source is uploaded at most maxAttempts times in all', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), (max) => {
        let attempt = 1;
        while (decide('retryable', attempt, max) === 'reupload_scheduled') attempt++;
        expect(attempt).toBe(max);
      }),
    );
  });
});

describe('reuploadRefusal', () => {
  const scope = {
    spaces: new Set(['ours', 'also-ours']),
    urlHosts: ['media.example.com', '*.cdn.example.com'],
  };
  const source = (spaceName: string, sourceUrl: string) => ({ spaceName, sourceUrl });

  it('allows a listed space and host, a subdomain of a *. entry', () => {
    expect(reuploadRefusal(scope, source('ours', 'https://media.example.com/a.mp4'))).toBeUndefined();
    expect(reuploadRefusal(scope, source('also-ours', 'https://v1.cdn.example.com/a.mp4'))).toBeUndefined();
    expect(reuploadRefusal(scope, source('ours', 'https://MEDIA.example.com:8443/a.mp4'))).toBeUndefined();
  });

  it.each([
    [
      'another space',
      source('theirs', 'https://media.example.com/a.mp4'),
      /SpaceName "theirs" is not in REUPLOAD_SPACES/,
    ],
    [
      'another host',
      source('ours', 'https://evil.example.net/a.mp4'),
      /host "evil.example.net" is not in REUPLOAD_URL_HOSTS/,
    ],
    ['the bare domain of a *. entry', source('ours', 'https://cdn.example.com/a.mp4'), /REUPLOAD_URL_HOSTS/],
    ['a look-alike suffix', source('ours', 'https://evilcdn.example.com/a.mp4'), /REUPLOAD_URL_HOSTS/],
    [
      'a userinfo trick',
      source('ours', 'https://media.example.com@evil.example.net/a.mp4'),
      /evil.example.net/,
    ],
    ['no URL at all', source('ours', 'cdn.example.com/v.mp4'), /not a URL/],
  ])('refuses %s', (_label, s, why) => {
    expect(reuploadRefusal(scope, s)).toMatch(why);
  });

  it('an empty list allows anything', () => {
    expect(reuploadRefusal(ANY_REUPLOAD_SCOPE, source('x', 'not a url'))).toBeUndefined();
  });

  it('a refused re-upload is a dead letter; a spent budget stays retries_exhausted', () => {
    expect(decide('retryable', 1, 3, false)).toBe('dead_lettered');
    expect(decide('retryable', 3, 3, false)).toBe('retries_exhausted');
    expect(decide('success', 1, 3, false)).toBe('succeeded');
  });
});
