import { describe, expect, it } from 'vitest';
import { originRules } from './origin-rules.js';

describe('originRules', () => {
  it.each([
    // origin,     without lookup, attempt from,     yields to reconciled, yields to callback, marks reconciled
    [undefined, true, 'mapping-strict', true, false, false],
    ['replay', true, 'mapping', false, false, false],
    ['reconcile', false, 'mapping', false, true, true],
  ] as const)('origin %s', (origin, withoutLookup, attemptFrom, toReconciled, toCallback, marks) => {
    expect(originRules(origin)).toEqual({
      finalCodesWithoutLookup: withoutLookup,
      attemptFrom,
      yieldsToReconciled: toReconciled,
      yieldsToCallback: toCallback,
      marksReconciled: marks,
    });
  });

  it('an origin it does not know is treated as VOD’s own callback', () => {
    expect(originRules('something-new')).toEqual(originRules(undefined));
  });
});
