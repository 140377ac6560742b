import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_MS, reuploadDelayMs } from './backoff.js';

describe('reuploadDelayMs', () => {
  it('doubles per re-upload, with equal jitter between half and all of it', () => {
    expect(reuploadDelayMs(1, 1000, () => 0)).toBe(500);
    expect(reuploadDelayMs(1, 1000, () => 1)).toBe(1000);
    expect(reuploadDelayMs(2, 1000, () => 1)).toBe(2000);
    expect(reuploadDelayMs(3, 1000, () => 0.5)).toBe(3000);
  });

  it('is capped', () => {
    expect(reuploadDelayMs(50, 1000, () => 1)).toBe(MAX_BACKOFF_MS);
  });

  it('property: within [exp/2, exp] and non-decreasing in the attempt for a fixed random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, base, r) => {
          const exp = Math.min(MAX_BACKOFF_MS, base * 2 ** (n - 1));
          const d = reuploadDelayMs(n, base, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.floor(exp / 2));
          expect(d).toBeLessThanOrEqual(Math.ceil(exp));
          expect(reuploadDelayMs(n + 1, base, () => r)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });
});
