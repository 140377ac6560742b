import { freePort, testRedisUrl, waitFor } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis } from './redis.js';
import { logRedisStateChanges } from './redis-state-log.js';

function capture() {
  const lines: { level: number; msg: string; redis?: string; err?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const warnings = () => lines.filter((l) => l.level === 40).map((l) => l.msg);
  return { lines, logger, warnings };
}

describe('redis connection state log', () => {
  const opened: Redis[] = [];
  afterEach(() => {
    for (const r of opened.splice(0)) r.disconnect();
  });

  it('warns once when the connection drops and once when it is back', async () => {
    const { logger, warnings } = capture();
    const redis = createRedis(testRedisUrl(), 'worker', 'state-test');
    const admin = new Redis(testRedisUrl());
    opened.push(redis, admin);
    logRedisStateChanges(redis, logger, 'worker');
    await waitFor('connected', () => redis.status === 'ready');
    expect(warnings()).toEqual([]);
    const id = await redis.client('ID');
    await admin.client('KILL', 'ID', String(id));
    await waitFor('back', () => warnings().length === 2, 10_000);
    expect(warnings()).toEqual(['redis connection down; reconnecting', 'redis connection back']);
  });

  it('warns once however many reconnects fail while Redis is away; the errors stay at debug', async () => {
    const { lines, logger, warnings } = capture();
    const redis = createRedis(`redis://127.0.0.1:${await freePort()}`, 'worker', 'state-test');
    opened.push(redis);
    logRedisStateChanges(redis, logger, 'worker');
    await waitFor('several failed attempts', () => lines.filter((l) => l.level === 20).length >= 4, 10_000);
    expect(warnings()).toEqual(['redis connection down; reconnecting']);
    expect(lines.find((l) => l.level === 40)).toMatchObject({
      redis: 'worker',
      err: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it('logs nothing at warn when the process closes the connection itself', async () => {
    const { logger, warnings } = capture();
    const redis = createRedis(testRedisUrl(), 'worker', 'state-test');
    logRedisStateChanges(redis, logger, 'worker');
    await waitFor('connected', () => redis.status === 'ready');
    await redis.quit();
    await waitFor('closed', () => redis.status === 'end');
    expect(warnings()).toEqual([]);
  });
});
