import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, type RedisServerHandle, startRedisServer } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm run demo` against a Redis that is already running (here a private one, so every key can be
// counted): it says so when it starts, and leaves nothing behind.
describe('the demo on an existing Redis', () => {
  let server: RedisServerHandle;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('announces the Redis it uses and deletes every key it wrote', async () => {
    await redis.set('someone-else:key', 'kept');
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) =>
        execFile(
          process.execPath,
          [join(REPO_ROOT, 'scripts', 'demo.mjs')],
          { env: { ...process.env, REDIS_URL: server.url }, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
          (err, out, errOut) =>
            resolve({ code: err ? Number(err.code ?? -1) : 0, stdout: out, stderr: errOut }),
        ),
    );
    // The message carries the demo's stderr: a failed run says why (toMatchObject hid it).
    expect(code, `demo exited ${code}; stderr:\n${stderr}`).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(
      /^Using the Redis already running at redis:\/\/127\.0\.0\.1:\d+\/? \(REDIS_URL\): every key this demo writes starts with "demo-[0-9a-f]+:" and is deleted at the end\.$/,
    );
    expect(stdout).toMatch(/Deleted the demo's \d+ keys under "demo-[0-9a-f]+:"; none remain\./);
    // Every key the demo wrote is gone, whatever its name; the one it did not write is still there.
    expect(await redis.keys('*')).toEqual(['someone-else:key']);
  }, 180_000);
});
