import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUsableRequestId, validateEvent } from './event.js';
import { codeLabel } from './metrics.js';
import { CODE_CLASSES, CodeClassifier } from './retry-policy.js';

const classifier = new CodeClassifier();
const codes = fc.oneof(
  fc.constantFrom(
    'Success',
    'DownloadFailed.UrlDownloadFail',
    'InternalError.UrlUploadError',
    'InternalError.',
    'success',
    '',
    'InternalError.x',
  ),
  fc.string(),
  fc.string({ unit: 'binary' }),
);
const anyJson = fc.jsonValue({ maxDepth: 4 });

/** Objects shaped like a callback, with every field sometimes missing, sometimes of the wrong type. */
const eventLike = fc.record(
  {
    RequestId: fc.oneof(fc.string({ unit: 'binary', maxLength: 140 }), anyJson),
    Version: fc.oneof(fc.constant('1.0'), anyJson),
    EventType: fc.oneof(fc.constant('FileUploadByUrlComplete'), fc.string(), anyJson),
    EventTime: fc.oneof(fc.constant('2024-05-06T09:49:33Z'), fc.string(), anyJson),
    Data: fc.oneof(
      anyJson,
      fc.record(
        {
          Code: fc.oneof(codes, anyJson),
          Message: fc.oneof(fc.string(), anyJson),
          JobId: fc.oneof(fc.string(), anyJson),
          SourceUrl: fc.oneof(fc.webUrl(), anyJson),
          CallbackArgs: fc.oneof(fc.string(), anyJson),
          Vid: fc.oneof(fc.string(), anyJson),
          SpaceName: fc.oneof(fc.string(), anyJson),
          SourceInfo: fc.oneof(fc.dictionary(fc.string(), anyJson), anyJson),
          PosterUri: fc.oneof(fc.string(), anyJson),
          OptionInfo: fc.oneof(fc.dictionary(fc.string(), anyJson), anyJson),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

// Whatever arrives, validation + classification answer with a value; nothing may throw.
describe('schema and classifier on arbitrary input (fast-check)', () => {
  it('validateEvent never throws on arbitrary values and says why it refuses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), anyJson, eventLike), (value) => {
        const r = validateEvent(value);
        if (r.ok) {
          expect(isUsableRequestId(r.event.RequestId)).toBe(true);
          expect(typeof r.event.Data.Code).toBe('string');
        } else {
          expect(r.errors.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('an accepted event always classifies into a known class and a bounded metric label', () => {
    fc.assert(
      fc.property(eventLike, (value) => {
        const r = validateEvent(JSON.parse(JSON.stringify(value)));
        if (!r.ok) return;
        const cls = classifier.classify(r.event.Data.Code, r.event.Data.Message ?? '');
        expect(CODE_CLASSES).toContain(cls);
        const label = codeLabel(r.event.Data.Code, (c) => classifier.catalogueLabel(c));
        const prefixes = Object.keys(classifier.policy.prefixes).map((p) => `${p}*`);
        const named = [
          ...Object.keys(classifier.policy.exact),
          ...Object.keys(classifier.policy.messageRules),
        ];
        expect(['other', ...prefixes, ...named]).toContain(label);
      }),
      { numRuns: 2000 },
    );
  });

  it('classify never throws on arbitrary code and message strings', () => {
    fc.assert(
      fc.property(codes, fc.string({ unit: 'binary' }), (code, message) => {
        expect(CODE_CLASSES).toContain(classifier.classify(code, message));
      }),
      { numRuns: 2000 },
    );
  });
});
