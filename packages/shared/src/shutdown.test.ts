import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { closeAll, installShutdown, type ShutdownStep } from './shutdown.js';

/** A shutdown owner on its own signal emitter, recording exits and log lines. */
function owner(steps: ShutdownStep[], timeoutMs?: number) {
  const signals = new EventEmitter();
  const exits: number[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const { shutdown } = installShutdown(logger, steps, { exit: (c) => exits.push(c), signals, timeoutMs });
  const settled = () => new Promise((r) => setTimeout(r, 20));
  return { signals, exits, lines, shutdown, settled };
}

describe('shutdown owner', () => {
  it('exits 128 + the signal number after a signal: 143 for SIGTERM, 130 for SIGINT', async () => {
    const term = owner([]);
    term.signals.emit('SIGTERM');
    await term.settled();
    expect(term.exits).toEqual([143]);
    const int = owner([]);
    int.signals.emit('SIGINT');
    await int.settled();
    expect(int.exits).toEqual([130]);
  });

  it('a second signal exits at once with that signal’s code; the steps run once', async () => {
    let runs = 0;
    const o = owner([{ name: 'slow', run: () => new Promise((r) => setTimeout(r, 50, runs++)) }]);
    o.signals.emit('SIGTERM');
    o.signals.emit('SIGINT');
    expect(o.exits).toEqual([130]);
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toBe(1);
  });

  it('names the step that hung when the shutdown times out, and exits 1', async () => {
    const o = owner(
      [
        { name: 'quick', run: () => undefined },
        { name: 'close stuck thing', run: () => new Promise(() => {}) },
      ],
      30,
    );
    o.signals.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 80));
    expect(o.exits).toEqual([1]);
    expect(o.lines.find((l) => l.msg === 'shutdown timed out; exiting')).toMatchObject({
      step: 'close stuck thing',
      timeoutMs: 30,
    });
  });

  it('exits with the code a cause of its own names, after running every step in order', async () => {
    const order: string[] = [];
    const o = owner([
      { name: 'a', run: () => order.push('a') },
      { name: 'b', run: () => order.push('b') },
    ]);
    await o.shutdown({ reason: 'redis evicts', exitCode: 78 });
    expect(order).toEqual(['a', 'b']);
    expect(o.exits).toEqual([78]);
  });

  it('logs a failed step, runs the next, and exits 1', async () => {
    let after = false;
    const o = owner([
      { name: 'close queues', run: () => Promise.reject(new Error('queue gone')) },
      { name: 'close redis', run: () => (after = true) },
    ]);
    o.signals.emit('SIGTERM');
    await o.settled();
    expect(after).toBe(true);
    expect(o.exits).toEqual([1]);
    expect(o.lines).toContainEqual(
      expect.objectContaining({ level: 50, step: 'close queues', msg: 'shutdown step failed' }),
    );
  });
});

describe('closeAll', () => {
  it('runs every close and rejects naming each one that failed', async () => {
    const closed: string[] = [];
    const result = closeAll({
      reuploads: async () => closed.push('reuploads'),
      deadLetters: async () => Promise.reject(new Error('connection is closed')),
      gauges: () => closed.push('gauges'),
      events: () => {
        throw new Error('boom');
      },
    });
    await expect(result).rejects.toThrow('failed to close deadLetters (connection is closed), events (boom)');
    await expect(result).rejects.toBeInstanceOf(AggregateError);
    expect(closed.sort()).toEqual(['gauges', 'reuploads']);
  });

  it('resolves when every close did', async () => {
    await expect(closeAll({ a: async () => 1, b: () => undefined })).resolves.toBeUndefined();
  });
});
