import { EventEmitter } from 'node:events';
import type { Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { closeWhenIdle, trackJobsInFlight } from './worker-close.js';

const job = (id: string) => ({ id });

describe('closeWhenIdle', () => {
  it('resolves closed when BullMQ’s close does', async () => {
    const worker = { close: () => new Promise<void>((r) => setTimeout(r, 20)) };
    expect(await closeWhenIdle(worker, new Set(), 1000, 5)).toBe('closed');
  });

  it('waits for a close that hangs only while jobs are in flight, then the grace', async () => {
    const inFlight = new Set(['job-1']);
    const started = Date.now();
    setTimeout(() => inFlight.delete('job-1'), 100);
    const result = await closeWhenIdle({ close: () => new Promise<void>(() => {}) }, inFlight, 50, 5);
    expect(result).toBe('abandoned');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('a job in flight holds the close however long the grace', async () => {
    const inFlight = new Set(['job-1']);
    let settled = false;
    void closeWhenIdle({ close: () => new Promise<void>(() => {}) }, inFlight, 10, 5).then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    inFlight.clear();
    await new Promise((r) => setTimeout(r, 60));
    expect(settled).toBe(true);
  });
});

describe('trackJobsInFlight', () => {
  it('follows a worker’s active, completed and failed events', () => {
    const worker = new EventEmitter() as unknown as Worker;
    const running = trackJobsInFlight(worker);
    const emit = (event: string, ...args: unknown[]) =>
      (worker as unknown as EventEmitter).emit(event, ...args);
    emit('active', job('a'));
    emit('active', job('b'));
    expect([...running]).toEqual(['a', 'b']);
    emit('completed', job('a'));
    emit('failed', job('b'), new Error('boom'));
    // A stalled job failed without being active here, and a failure without a job.
    emit('failed', job('c'), new Error('stalled'));
    emit('failed', undefined, new Error('no job'));
    expect(running.size).toBe(0);
  });
});
