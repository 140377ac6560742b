import { describe, expect, it } from 'vitest';
import {
  assertBullmqLayout,
  BULLMQ_LAYOUT_VERSION,
  BullmqLayoutError,
  installedBullmqVersion,
} from './bullmq-job-layout.js';

describe('bullmq job layout pin', () => {
  it('matches the installed bullmq', () => {
    expect(installedBullmqVersion()).toBe(BULLMQ_LAYOUT_VERSION);
    expect(() => assertBullmqLayout()).not.toThrow();
  });

  it('refuses another bullmq version', () => {
    expect(() => assertBullmqLayout('6.8.0')).toThrow(BullmqLayoutError);
  });
});
