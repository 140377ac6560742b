import {
  DEAD_LETTER_JOB_NAME,
  DEAD_LETTERS_QUEUE,
  EVENTS_QUEUE,
  NOTIFICATIONS_QUEUE,
  openShardQueues,
  QUEUE_NAMES,
  REUPLOADS_QUEUE,
  type ShardQueue,
  shardLayoutOf,
} from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialsMatch, registerAdminBoard } from './admin-board.js';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const GOOD = basic('ops', 'correct horse');

describe('admin board (bull-board behind basic auth, real BullMQ queues)', () => {
  let app: FastifyInstance | undefined;
  let shardQueues: ShardQueue[] = [];
  const queues = () => shardQueues.map((q) => q.queue);
  let redis: Redis | undefined;
  let prefix = '';

  async function build(readWrite: boolean, shardCount = 1) {
    prefix = uniquePrefix('admin');
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    shardQueues = openShardQueues(redis, shardLayoutOf(prefix, shardCount), QUEUE_NAMES);
    await queues()[2]!.add(
      DEAD_LETTER_JOB_NAME,
      { reason: 'unknown_code', detail: 'test', deadLetteredAt: Date.now() },
      { jobId: 'dl-test' },
    );
    app = Fastify();
    await registerAdminBoard(app, {
      user: 'ops',
      password: 'correct horse',
      readWrite,
      queues: shardQueues,
      shardCount,
    });
    await app.ready();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    await Promise.all(queues().map((q) => q.close()));
    if (redis) {
      await deletePrefix(redis, prefix);
      for (let i = 0; i < 3; i++) await deletePrefix(redis, `{${prefix}-${i}}`);
      await redis.quit();
    }
    app = undefined;
    redis = undefined;
    shardQueues = [];
  });

  it('answers 401 with WWW-Authenticate and the JSON error shape without or with wrong credentials', async () => {
    const a = await build(false);
    for (const headers of [{}, { authorization: basic('ops', 'wrong') }, { authorization: 'Bearer x' }]) {
      for (const url of [
        '/admin/queues',
        '/admin/queues/api/queues',
        '/admin/queues/static/favicon-32x32.png',
      ]) {
        const res = await a.inject({ url, headers });
        expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="vod-callbacks admin"/);
        expect(res.json()).toEqual({ error: 'unauthorized', message: 'Authentication required.' });
      }
    }
  });

  it('serves the board and lists all four queues with the dead letter when authenticated', async () => {
    const a = await build(false);
    const page = await a.inject({ url: '/admin/queues', headers: { authorization: GOOD } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<base href="/admin/queues/"');
    const api = await a.inject({
      url: `/admin/queues/api/queues?activeQueue=${DEAD_LETTERS_QUEUE}&status=latest&page=1`,
      headers: { authorization: GOOD },
    });
    const body = api.json() as {
      queues: { name: string; readOnlyMode: boolean; jobs: { id: string }[] }[];
    };
    expect(body.queues.map((q) => q.name).sort()).toEqual([
      DEAD_LETTERS_QUEUE,
      EVENTS_QUEUE,
      NOTIFICATIONS_QUEUE,
      REUPLOADS_QUEUE,
    ]);
    expect(body.queues.find((q) => q.name === DEAD_LETTERS_QUEUE)?.jobs.map((j) => j.id)).toEqual([
      'dl-test',
    ]);
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('with event shards, lists the queues of every shard, each named after its shard', async () => {
    const a = await build(false, 3);
    const api = await a.inject({ url: '/admin/queues/api/queues', headers: { authorization: GOOD } });
    const names = (api.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toHaveLength(12);
    expect(names).toContain(`shard-2/${EVENTS_QUEUE}`);
    expect(names).toContain(`shard-0/${DEAD_LETTERS_QUEUE}`);
  });

  it('is read-only by default: actions are refused and the queue is untouched', async () => {
    const a = await build(false);
    const res = await a.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${DEAD_LETTERS_QUEUE}/pause`,
      headers: { authorization: GOOD },
    });
    expect(res.statusCode).toBe(405);
    expect(await queues()[2]!.isPaused()).toBe(false);
  });

  it('allows actions with ADMIN_READ_WRITE', async () => {
    const a = await build(true);
    const res = await a.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${DEAD_LETTERS_QUEUE}/pause`,
      headers: { authorization: GOOD },
    });
    expect(res.statusCode).toBe(200);
    expect(await queues()[2]!.isPaused()).toBe(true);
  });

  it('compares credentials in constant time without short-circuiting on the user', () => {
    const expected = { user: 'ops', password: 'correct horse' };
    expect(credentialsMatch(expected, 'ops', 'correct horse')).toBe(true);
    expect(credentialsMatch(expected, 'ops', 'correct hors')).toBe(false);
    expect(credentialsMatch(expected, 'op', 'correct horse')).toBe(false);
    expect(credentialsMatch(expected, '', '')).toBe(false);
  });
});
