import { createServer, type Server } from 'node:net';
import { deletePrefix, freePort, startApp, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type App = 'ingress' | 'worker' | 'cli';

// Settings README promises are refused: each stops the built process with exit 78 and one line naming
// the variable (no stack trace), before it serves or writes anything.
describe('bad settings stop the real processes with exit 78', () => {
  let busy: Server;
  let busyPort: number;
  let redis: Redis;
  const prefixes: string[] = [];
  const redisDb = (db: string) => {
    const u = new URL(testRedisUrl());
    u.pathname = `/${db}`;
    return u.toString();
  };

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(redis, p);
    redis.disconnect();
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  });

  async function run(app: App, env: Record<string, string>) {
    const prefix = uniquePrefix(`refuse-${app}`);
    prefixes.push(prefix);
    const base: Record<string, string> = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      EVICTION_POLICY_CHECK: 'warn',
      CALLBACK_PRIVATE_KEY: 'refusalKey01',
      CALLBACK_PUBLIC_URL: 'https://callbacks.example.com/callbacks/vod',
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: String(await freePort()),
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(await freePort()),
    };
    const proc = await startApp(app, { ...base, ...env }, undefined, app === 'cli' ? ['queues'] : []);
    const exited = await Promise.race([
      proc.exited,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
    ]);
    if (!exited) await proc.kill('SIGKILL');
    return { code: exited?.code ?? 'still running after 15 s', output: proc.output(), prefix };
  }

  const cases: [App, string, () => Record<string, string>, RegExp][] = [
    // Redis Cluster and event shards: what cannot work is refused before anything connects.
    [
      'worker',
      'REDIS_CLUSTER_NODES with a QUEUE_PREFIX without hash tag and one shard',
      () => ({ REDIS_CLUSTER_NODES: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' }),
      /QUEUE_PREFIX=.* has no hash tag.*set QUEUE_PREFIX=\{/,
    ],
    [
      'ingress',
      'REDIS_CLUSTER_NODES with REDIS_SENTINELS',
      () => ({
        REDIS_CLUSTER_NODES: '127.0.0.1:1',
        REDIS_SENTINELS: '127.0.0.1:2',
        REDIS_SENTINEL_MASTER: 'm',
      }),
      /REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set/,
    ],
    [
      'cli',
      'REDIS_CLUSTER_NODES with REDIS_URL naming database 3',
      () => ({ REDIS_CLUSTER_NODES: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1/3' }),
      /REDIS_URL selects database 3.*only database 0/,
    ],
    [
      'worker',
      'WORKER_SHARDS naming a shard EVENT_SHARDS does not have',
      () => ({ EVENT_SHARDS: '2', WORKER_SHARDS: '0,2' }),
      /WORKER_SHARDS names shard 2, but EVENT_SHARDS=2/,
    ],
    ['worker', 'ACCEPTED_EVENT_TYPES: " "', () => ({ ACCEPTED_EVENT_TYPES: ' ' }), /ACCEPTED_EVENT_TYPES/],
    // VOD signs the URL as configured in its console: one that is not an http(s) URL can never match.
    [
      'ingress',
      'CALLBACK_PUBLIC_URL: notaurl',
      () => ({ CALLBACK_PUBLIC_URL: 'notaurl' }),
      /CALLBACK_PUBLIC_URL="notaurl" is invalid: give the whole http\(s\) URL/,
    ],
    [
      'ingress',
      'CALLBACK_PUBLIC_URL: ftp://callbacks.example.com/vod',
      () => ({ CALLBACK_PUBLIC_URL: 'ftp://callbacks.example.com/vod' }),
      /CALLBACK_PUBLIC_URL="ftp:\/\/callbacks\.example\.com\/vod" is invalid/,
    ],
    [
      'worker',
      'REUPLOAD_DEFAULTS_FILE: a file that does not exist',
      () => ({ REUPLOAD_DEFAULTS_FILE: '/nonexistent/reupload-defaults.json' }),
      /REUPLOAD_DEFAULTS_FILE \/nonexistent\/reupload-defaults.json: cannot read JSON/,
    ],
    ['worker', 'ACCEPTED_EVENT_TYPES: ,', () => ({ ACCEPTED_EVENT_TYPES: ',' }), /ACCEPTED_EVENT_TYPES/],
    [
      'ingress',
      'INGRESS_HOST: no-such-host.invalid',
      () => ({ INGRESS_HOST: 'no-such-host.invalid' }),
      /INGRESS_HOST/,
    ],
    [
      'worker',
      'WORKER_METRICS_HOST: no-such-host.invalid',
      () => ({ WORKER_METRICS_HOST: 'no-such-host.invalid' }),
      /WORKER_METRICS_HOST/,
    ],
    ['ingress', 'INGRESS_PORT: <a port in use>', () => ({ INGRESS_PORT: String(busyPort) }), /INGRESS_PORT/],
    [
      'worker',
      'WORKER_METRICS_PORT: <a port in use>',
      () => ({ WORKER_METRICS_PORT: String(busyPort) }),
      /WORKER_METRICS_PORT/,
    ],
    [
      'ingress',
      'REDIS_URL: redis://127.0.0.1:99999',
      () => ({ REDIS_URL: 'redis://127.0.0.1:99999' }),
      /REDIS_URL/,
    ],
    [
      'worker',
      'REDIS_URL: redis://127.0.0.1:99999',
      () => ({ REDIS_URL: 'redis://127.0.0.1:99999' }),
      /REDIS_URL/,
    ],
    [
      'cli',
      'REDIS_URL: redis://127.0.0.1:99999',
      () => ({ REDIS_URL: 'redis://127.0.0.1:99999' }),
      /REDIS_URL/,
    ],
    ['ingress', 'REDIS_URL: redis://', () => ({ REDIS_URL: 'redis://' }), /REDIS_URL/],
    ['worker', 'REDIS_URL: redis://', () => ({ REDIS_URL: 'redis://' }), /REDIS_URL/],
    ['cli', 'REDIS_URL: redis://', () => ({ REDIS_URL: 'redis://' }), /REDIS_URL/],
    ['ingress', 'REDIS_URL: <test redis>/99', () => ({ REDIS_URL: redisDb('99') }), /REDIS_URL.*database 99/],
    ['worker', 'REDIS_URL: <test redis>/99', () => ({ REDIS_URL: redisDb('99') }), /REDIS_URL.*database 99/],
    ['cli', 'REDIS_URL: <test redis>/99', () => ({ REDIS_URL: redisDb('99') }), /REDIS_URL.*database 99/],
  ];

  it.each(cases)('%s with %s', async (app, label, env, message) => {
    const { code, output, prefix } = await run(app, env());
    expect({ code, output }).toMatchObject({ code: 78 });
    const line = output.split('\n').find((l) => message.test(l));
    expect(line, output).toMatch(/configuration error/);
    expect(output).not.toMatch(/^\s+at /m);
    // Nothing landed in db 0 instead (a missing database used to mean db 0).
    if (label.endsWith('/99')) expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });
});
