import { QueueKeys as BullmqQueueKeys } from 'bullmq';
import { describe, expect, it } from 'vitest';
import {
  assertBullmqLayout,
  BULLMQ_LAYOUT_VERSION,
  BullmqLayoutError,
  installedBullmqVersion,
  queueKeys,
} from './bullmq-job-layout.js';

describe('bullmq job layout pin', () => {
  it('matches the installed bullmq', () => {
    expect(installedBullmqVersion()).toBe(BULLMQ_LAYOUT_VERSION);
    expect(() => assertBullmqLayout()).not.toThrow();
  });

  it('refuses another bullmq version', () => {
    expect(() => assertBullmqLayout('6.8.0')).toThrow(BullmqLayoutError);
  });

  it('names every queue key as the installed bullmq does (its own key builder)', () => {
    for (const prefix of ['vod', '{vod-2}']) {
      const ours = queueKeys(prefix, 'vod-events');
      const theirs = new BullmqQueueKeys(prefix).getKeys('vod-events');
      const { base, ...named } = ours;
      expect(base).toBe(theirs['']);
      for (const [key, value] of Object.entries(named)) expect(value, key).toBe(theirs[key]);
    }
  });
});
