import { freePort, startApp, startRedisServer } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

// Fault 6: an evicting Redis could delete queued callbacks; the ingress must notice at start.
describe('fault: evicting Redis (maxmemory-policy allkeys-lru)', () => {
  it('is refused at start: exit code 78 and a message naming the policy', async () => {
    const redis = await startRedisServer({ maxmemoryPolicy: 'allkeys-lru' });
    try {
      const ingress = await startApp(
        'ingress',
        { REDIS_URL: redis.url, INGRESS_PORT: String(await freePort()), CALLBACK_AUTH: 'none' },
        undefined,
      );
      const exit = await ingress.exited;
      expect(exit.code).toBe(78);
      expect(ingress.output()).toMatch(/maxmemory-policy is allkeys-lru/);
      expect(ingress.output()).toMatch(/noeviction/);
      expect(ingress.output()).not.toMatch(/ingress listening/);
    } finally {
      await redis.stop();
    }
  });

  it('turned on later, it is noticed at the next reconnect: the ingress shuts down through its steps, exit 78', async () => {
    const redis = await startRedisServer();
    const admin = new Redis(redis.url);
    try {
      const ingress = await startApp(
        'ingress',
        {
          REDIS_URL: redis.url,
          INGRESS_PORT: String(await freePort()),
          INGRESS_HOST: '127.0.0.1',
          CALLBACK_AUTH: 'none',
        },
        /ingress listening/,
        [],
        60_000, // a loaded machine can take longer than the default to load the app
      );
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes'); // the ingress reconnects
      const exit = await ingress.exited;
      expect(exit.code).toBe(78);
      expect(ingress.output()).toMatch(/maxmemory-policy is allkeys-lru/);
      expect(ingress.output()).toMatch(/"reason":"redis evicts queued jobs".*shutting down/);
      expect(ingress.output()).toMatch(/shutdown complete/);
    } finally {
      admin.disconnect();
      await redis.stop();
    }
  });

  it('with EVICTION_POLICY_CHECK=warn it starts, with a loud warning', async () => {
    const redis = await startRedisServer({ maxmemoryPolicy: 'allkeys-lru' });
    const port = await freePort();
    const ingress = await startApp(
      'ingress',
      {
        REDIS_URL: redis.url,
        INGRESS_PORT: String(port),
        INGRESS_HOST: '127.0.0.1',
        EVICTION_POLICY_CHECK: 'warn',
        CALLBACK_AUTH: 'none',
      },
      /ingress listening/,
    );
    try {
      const warning = ingress
        .output()
        .split('\n')
        .find((l) => l.includes('maxmemory-policy is allkeys-lru'));
      expect(warning).toBeDefined();
      expect(JSON.parse(warning!)).toMatchObject({ level: 40, policy: 'allkeys-lru' });
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      await ingress.kill('SIGTERM');
      await redis.stop();
    }
  });
});
