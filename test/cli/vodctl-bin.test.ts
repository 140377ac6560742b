import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outcomeFromFields, stableHash } from '@vod-callbacks/shared';
import {
  type AppProcess,
  appMain,
  deletePrefix,
  freePort,
  startApp,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackBody } from '../fault/fault-harness.js';

const BIN = appMain('cli');

function vodctl(args: string[], env: Record<string, string>, bin = BIN) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

// The operator's flow through the built `vodctl` against built ingress + worker processes: an event
// with a code the policy does not know is dead-lettered, the policy is taught the code, the dead
// letter is replayed once, and the source's status shows the result.
describe('vodctl (built binary) with a running pipeline', () => {
  const prefix = uniquePrefix('bin');
  const dir = mkdtempSync(join(tmpdir(), 'vodctl-'));
  const env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix };
  let redis: Redis;
  let ingress: AppProcess;
  let worker: AppProcess;
  let url: string;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    const port = await freePort();
    worker = await startApp('worker', { ...env, WORKER_METRICS_PORT: '0' }, /worker consuming/);
    ingress = await startApp(
      'ingress',
      {
        ...env,
        INGRESS_PORT: String(port),
        INGRESS_HOST: '127.0.0.1',
        EVICTION_POLICY_CHECK: 'warn',
        CALLBACK_AUTH: 'none',
      },
      /ingress listening/,
    );
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await Promise.all([ingress?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
    await deletePrefix(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dead letter → list → teach the policy → replay once → status', async () => {
    const body = JSON.parse(callbackBody('bin-1'));
    body.Data.Code = 'Throttling.QuotaExceeded';
    const res = await fetch(`${url}/callbacks/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const id = `dl-${stableHash('bin-1')}`;
    await waitFor('the dead letter', async () => (await vodctl(['dlq', 'show', id], env)).code === 0);

    const listed = await vodctl(['dlq', 'list', '--reason', 'unknown_code', '--json'], env);
    expect(listed.code).toBe(0);
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([id]);

    // Teach the worker the new code (a policy file, no code change) and restart it.
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ prefixes: { 'Throttling.': 'permanent' } }));
    expect((await worker.kill('SIGTERM')).code).toBe(143);
    worker = await startApp(
      'worker',
      { ...env, WORKER_METRICS_PORT: '0', RETRY_POLICY_FILE: policy },
      /worker consuming/,
    );

    const dry = await vodctl(['dlq', 'replay', '--all', '--dry-run'], env);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain(`would replay ${id}`);
    const replay = await vodctl(['dlq', 'replay', id], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`replayed ${id} (unknown_code) → vod-events job rp-${id}`);
    expect((await vodctl(['dlq', 'replay', id], env)).code).toBe(1);

    const outcomes = await waitFor('the replay outcome', async () => {
      const rows = (await redis.xrange(`${prefix}:outcomes`, '-', '+')).map(([, f]) => outcomeFromFields(f));
      return rows.length >= 2 ? rows : undefined;
    });
    expect(outcomes.map((o) => [o.decision, o.origin ?? ''])).toEqual([
      ['dead_lettered', ''],
      ['failed_permanent', 'replay'],
    ]);

    const status = await vodctl(['status', body.Data.JobId, '--json'], env);
    expect(status.code).toBe(0);
    // The status API's shape: attempt a number.
    expect(JSON.parse(status.stdout)).toMatchObject({
      decision: 'failed_permanent',
      origin: 'replay',
      attempt: 1,
    });
    const queues = await vodctl(['queues', '--json'], env);
    expect(JSON.parse(queues.stdout)['vod-dead-letters'].waiting).toBe(0);
  });

  it('a reader that closes the pipe early (vodctl … | head) neither crashes it nor changes its exit code', async () => {
    for (let i = 0; i < 5; i++) {
      const child = spawn(process.execPath, [BIN, 'queues'], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Gone before the command writes its table (it first reads Redis): its write fails with EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += String(d);
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    }
  });

  it('exit codes of the binary: usage 2, unreachable Redis 3, config 78; runs through a bin symlink', async () => {
    expect((await vodctl(['dlq', 'purge'], env)).code).toBe(2);
    const down = await vodctl(['queues'], { ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot reach Redis/);
    expect((await vodctl(['queues'], { ...env, QUEUE_PREFIX: '', REDIS_URL: 'nope' })).code).toBe(78);
    const link = join(dir, 'vodctl');
    symlinkSync(BIN, link);
    const help = await vodctl(['--help'], env, link);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: vodctl <command>/);
  });
});
