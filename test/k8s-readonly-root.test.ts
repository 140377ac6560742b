import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  appMain,
  type CapturedProcess,
  deletePrefix,
  freePort,
  REPO_ROOT,
  spawnCaptured,
  testRedisUrl,
  uniquePrefix,
  untilPrinted,
  waitFor,
} from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { postCallback, uploadEvent } from './support/pipeline.js';

const run = promisify(execFile);

// deploy/k8s runs both apps with readOnlyRootFilesystem and no writable volume. Here the built ingress
// and worker run in a private mount namespace (unshare, as root) where every mount is remounted
// read-only, and callbacks go through them: a success, a retryable failure (a delayed re-upload job)
// and an unknown code (a dead letter). Anything that wrote a file would fail or log EROFS.

/** Remounts every mount read-only, proves it by failing to write, then runs the command. */
const READ_ONLY = `
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do mount -o remount,bind,ro "$m" 2>/dev/null; done
for d in /tmp "$PWD" "$HOME"; do
  if touch "$d/.vod-rw-probe" 2>/dev/null; then rm -f "$d/.vod-rw-probe"; echo "read-only sandbox: $d is writable" >&2; exit 97; fi
done
exec "$@"`;

/** Runs `args` in the read-only sandbox; resolves once it printed `ready` (at once without one). */
async function startReadOnly(
  args: string[],
  env: Record<string, string>,
  ready?: RegExp,
): Promise<CapturedProcess> {
  const proc = spawnCaptured(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', READ_ONLY, 'sh', ...args],
    { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env } },
  );
  if (ready) await untilPrinted(proc, `${args.join(' ')} (read-only)`, ready, 20_000);
  return proc;
}

describe('the apps on a read-only root filesystem (deploy/k8s readOnlyRootFilesystem)', () => {
  const prefix = uniquePrefix('ro');
  const redis = new Redis(testRedisUrl());
  const procs: CapturedProcess[] = [];

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('the sandbox really is read-only (a write fails with EROFS)', async () => {
    const probe = await startReadOnly(
      [
        process.execPath,
        '-e',
        "require('fs').writeFileSync(require('path').join(require('os').tmpdir(), 'vod-ro-probe-' + process.pid), '1')",
      ],
      {},
    );
    await probe.exited;
    expect(probe.child.exitCode, probe.output()).toBe(1);
    expect(probe.output()).toMatch(/EROFS/);
  });

  it('ingress and worker take, process, re-upload-schedule and dead-letter callbacks without writing a file', async () => {
    const ingressPort = await freePort();
    const workerPort = await freePort();
    const common = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix };
    procs.push(
      await startReadOnly(
        [process.execPath, appMain('ingress')],
        { ...common, INGRESS_HOST: '127.0.0.1', INGRESS_PORT: String(ingressPort), CALLBACK_AUTH: 'none' },
        /ingress listening on/,
      ),
      await startReadOnly(
        [process.execPath, appMain('worker')],
        { ...common, WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: String(workerPort) },
        /worker consuming vod-events/,
      ),
    );
    const url = `http://127.0.0.1:${ingressPort}`;
    const sent = [
      uploadEvent('Success'),
      uploadEvent('InternalError.UrlUploadError'),
      uploadEvent('SomeCodeNobodyKnows.Ever'),
    ];
    for (const event of sent) expect(await postCallback(url, event)).toBe(200);
    await waitFor('three outcomes', async () => (await redis.xlen(`${prefix}:outcomes`)) === 3, 20_000, 100);
    const { stdout } = await run(process.execPath, [appMain('cli'), 'queues', '--json'], {
      env: { ...process.env, ...common },
    });
    const queues = JSON.parse(stdout) as Record<string, Record<string, number>>;
    expect(queues['vod-reuploads']?.delayed).toBe(1);
    expect(queues['vod-dead-letters']?.waiting).toBe(1);
    expect((await fetch(`http://127.0.0.1:${workerPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    for (const p of procs) expect(p.output()).not.toMatch(/EROFS|read-only file system/i);
  });
});
