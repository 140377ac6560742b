import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CODE_CLASSES,
  CodeClassifier,
  DEFAULT_RETRY_POLICY,
  loadRetryPolicy,
  RetryPolicyError,
} from './retry-policy.js';

const classifier = new CodeClassifier();

describe('default retry policy (SPEC.md)', () => {
  it.each([
    ['Success', '', 'success'],
    ['InvalidParameter.InvalidParam', 'url must start with http', 'permanent'],
    ['CheckError.Md5MissMatch', '', 'permanent'],
    ['UploadFailed.UrlUploadFailed', '', 'retryable'],
    ['InternalError.UrlUploadError', '', 'retryable'],
    ['OperationDenied.DenyOverwriteUpload', '', 'permanent'],
    ['Reconciled.TaskFailed', '', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', '404 Not Found', 'permanent'],
    ['DownloadFailed.UrlDownloadFail', '403 Forbidden', 'permanent'],
    ['DownloadFailed.UrlDownloadFail', '410 Gone', 'permanent'],
    ['DownloadFailed.UrlDownloadFail', '500 Internal Server Error', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', '503 Service Unavailable', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', '408 Request Timeout', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', '429 Too Many Requests', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', 'read tcp: i/o timeout', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', 'connection reset by peer', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', 'dial tcp: connection refused', 'retryable'],
    ['DownloadFailed.UrlDownloadFail', 'resource not found', 'permanent'],
    ['DownloadFailed.UrlDownloadFail', '', 'retryable'],
  ])('%s / %j → %s', (code, message, expected) => {
    expect(classifier.classify(code, message)).toBe(expected);
  });

  it('reads a Message that is not a string as empty instead of throwing (fast-check found `false`)', () => {
    for (const message of [false, 404, null, { text: '404 Not Found' }, ['503']]) {
      expect(classifier.classify('DownloadFailed.UrlDownloadFail', message)).toBe('retryable');
    }
  });

  it('classifies sub-codes VOD may add by their prefix class', () => {
    expect(classifier.classify('InternalError.NewDependencyFault')).toBe('retryable');
    expect(classifier.classify('UploadFailed.Whatever')).toBe('retryable');
    expect(classifier.classify('InvalidParameter.Other')).toBe('permanent');
  });

  it('calls unknown codes and mixed-case spellings unknown', () => {
    expect(classifier.classify('Mystery.Code')).toBe('unknown');
    expect(classifier.classify('success')).toBe('unknown');
    expect(classifier.classify('')).toBe('unknown');
    expect(classifier.isKnownCode('Mystery.Code')).toBe(false);
    expect(classifier.isKnownCode('InternalError.UrlUploadError')).toBe(true);
  });

  it('property: every code gets exactly one of the four classes, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (code, message) => {
        expect(CODE_CLASSES).toContain(classifier.classify(code, message));
      }),
    );
  });

  it('property: an exact entry wins over any prefix, whatever the policy', () => {
    const cls = fc.constantFrom(...CODE_CLASSES);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        cls,
        cls,
        (prefix, rest, exact, viaPrefix) => {
          const code = prefix + rest;
          const c = new CodeClassifier({
            exact: { [code]: exact },
            prefixes: { [prefix]: viaPrefix },
            messageRules: {},
          });
          expect(c.classify(code)).toBe(exact);
        },
      ),
    );
  });

  it('property: the longest matching prefix wins', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 5 }),
        fc.string({ minLength: 1, maxLength: 5 }),
        fc.string(),
        (a, b, tail) => {
          const c = new CodeClassifier({
            exact: {},
            prefixes: { [a]: 'permanent', [a + b]: 'retryable' },
            messageRules: {},
          });
          expect(c.classify(a + b + tail)).toBe('retryable');
        },
      ),
    );
  });

  it('property: any stated 4xx other than 408/429 in a DownloadFailed message is permanent, any 5xx retryable', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 400, max: 599 }),
        fc.constantFrom('', ' Not Found', ' error'),
        (status, text) => {
          const cls = classifier.classify('DownloadFailed.UrlDownloadFail', `${status}${text}`);
          const expected = status >= 500 || status === 408 || status === 429 ? 'retryable' : 'permanent';
          expect(cls).toBe(expected);
        },
      ),
    );
  });
});

describe('classification order: exact code, then the code’s Message rules, then the longest prefix', () => {
  it('an operator’s exact entry for a code with Message rules wins over the rules', () => {
    const c = new CodeClassifier({
      ...DEFAULT_RETRY_POLICY,
      exact: { ...DEFAULT_RETRY_POLICY.exact, 'DownloadFailed.UrlDownloadFail': 'permanent' },
    });
    expect(c.classify('DownloadFailed.UrlDownloadFail', 'dial tcp 10.4.0.44:443: i/o timeout')).toBe(
      'permanent',
    );
    expect(c.classify('DownloadFailed.UrlDownloadFail', '503 Service Unavailable')).toBe('permanent');
  });

  it('Message rules of a code win over its prefix class', () => {
    expect(classifier.classify('DownloadFailed.UrlDownloadFail', '404 Not Found')).toBe('permanent');
    expect(classifier.classify('DownloadFailed.OtherFail', '404 Not Found')).toBe('retryable');
  });

  it('a status rule matches only a stated status; x is any digit', () => {
    const c = new CodeClassifier({
      exact: {},
      prefixes: {},
      messageRules: {
        X: { rules: [{ status: ['41x', '503'], class: 'permanent' }], fallback: 'retryable' },
      },
    });
    expect(c.classify('X', 'status code 413')).toBe('permanent');
    expect(c.classify('X', 'HTTP/1.1 503 Service Unavailable')).toBe('permanent');
    expect(c.classify('X', 'status code 502')).toBe('retryable');
    expect(c.classify('X', 'upload of 413 bytes to 10.0.0.1:503')).toBe('retryable');
  });

  it('a pattern sees the Message without URLs, addresses, ports, byte counts and durations', () => {
    const c = new CodeClassifier({
      exact: {},
      prefixes: {},
      messageRules: {
        X: { rules: [{ pattern: '\\b404\\b', class: 'permanent' }], fallback: 'retryable' },
      },
    });
    expect(c.classify('X', 'got 404')).toBe('permanent');
    for (const m of [
      'size 404 bytes',
      'dial 10.4.0.44:404',
      'port 404',
      'after 404ms',
      'GET https://a/404 failed',
    ]) {
      expect(c.classify('X', m), m).toBe('retryable');
    }
  });
});

describe('loadRetryPolicy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'));
  const write = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  it('returns the defaults without a file', () => {
    expect(loadRetryPolicy()).toBe(DEFAULT_RETRY_POLICY);
  });

  it('overlays a file on the defaults: a code’s class changes without a code change', () => {
    const file = write(
      'p.json',
      JSON.stringify({ exact: { 'CheckError.Md5MissMatch': 'retryable', 'New.Code': 'permanent' } }),
    );
    const c = new CodeClassifier(loadRetryPolicy(file));
    expect(c.classify('CheckError.Md5MissMatch')).toBe('retryable');
    expect(c.classify('New.Code')).toBe('permanent');
    expect(c.classify('Success')).toBe('success');
  });

  it('can replace the defaults entirely', () => {
    const file = write('r.json', JSON.stringify({ replaceDefaults: true, exact: { Success: 'success' } }));
    const c = new CodeClassifier(loadRetryPolicy(file));
    expect(c.classify('InternalError.UrlUploadError')).toBe('unknown');
  });

  it.each([
    ['not JSON', '{', /cannot read JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['a bad class', JSON.stringify({ exact: { X: 'maybe' } }), /success\|retryable\|permanent\|unknown/],
    ['a misspelt top-level key', JSON.stringify({ exakt: { X: 'permanent' } }), /unknown key "exakt"/],
    [
      'a misspelt key in a rule',
      JSON.stringify({
        messageRules: { X: { rules: [{ patern: 'x', class: 'permanent' }], fallback: 'unknown' } },
      }),
      /messageRules/,
    ],
    [
      'a status rule that is not a status',
      JSON.stringify({
        messageRules: { X: { rules: [{ status: ['4'], class: 'permanent' }], fallback: 'unknown' } },
      }),
      /messageRules/,
    ],
    [
      'a bad regex',
      JSON.stringify({
        messageRules: { X: { rules: [{ pattern: '(', class: 'permanent' }], fallback: 'unknown' } },
      }),
      /not a valid regex/,
    ],
  ])('refuses %s, naming the file', (_label, body, message) => {
    const file = write('bad.json', body);
    expect(() => loadRetryPolicy(file)).toThrow(RetryPolicyError);
    expect(() => loadRetryPolicy(file)).toThrow(message);
    expect(() => loadRetryPolicy(file)).toThrow(/RETRY_POLICY_FILE/);
  });
});

describe('README', () => {
  it('its RETRY_POLICY_FILE example loads and means what the text says', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Retry policy'));
    const example = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'readme-policy-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, example ?? '');
    const c = new CodeClassifier(loadRetryPolicy(file));
    expect(c.classify('CheckError.Md5MissMatch')).toBe('retryable');
    expect(c.classify('Throttling.Api')).toBe('retryable');
    expect(c.classify('DownloadFailed.UrlDownloadFail', 'HTTP/1.1 404 Not Found')).toBe('permanent');
    expect(c.classify('DownloadFailed.UrlDownloadFail', 'origin busy, size 404 bytes')).toBe('retryable');
  });
});
