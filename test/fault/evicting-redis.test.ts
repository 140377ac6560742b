import { freePort, startApp, startRedisServer } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';

// Fault 6: an evicting Redis could delete queued callbacks; the ingress must notice at start.
describe('fault: evicting Redis (maxmemory-policy allkeys-lru)', () => {
  it('is refused at start: exit code 78 and a message naming the policy', async () => {
    const redis = await startRedisServer({ maxmemoryPolicy: 'allkeys-lru' });
    try {
      const ingress = await startApp(
        'ingress',
        { REDIS_URL: redis.url, INGRESS_PORT: String(await freePort()) },
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
