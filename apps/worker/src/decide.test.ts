import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from './decide.js';

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
