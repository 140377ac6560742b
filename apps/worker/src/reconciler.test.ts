import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Reconciler, type ReconcilerOptions } from './reconciler.js';

describe('reconciler tick', () => {
  it('logs a Redis error taking the interval lock instead of hiding it, and runs no pass', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    let passes = 0;
    const reconciler = new Reconciler({
      redis: {
        set: () => Promise.reject(new Error('READONLY You can’t write against a read only replica.')),
      },
      uploads: {
        keys: { prefix: 'vod' },
        duePending: async () => {
          passes++;
          return [];
        },
      },
      logger,
      intervalSeconds: 30,
    } as unknown as ReconcilerOptions);
    expect(await reconciler.tick()).toBeUndefined();
    expect(passes).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'reconcile lock not taken (Redis error); the next interval tries again',
        err: expect.objectContaining({ message: expect.stringContaining('READONLY') }),
      }),
    );
  });
});
