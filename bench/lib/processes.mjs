// The benchmarks' processes: a private redis-server, the built apps as node children, and the
// paths they run from. Plain ESM so `npm run bench` needs only a build.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = join(BENCH_DIR, '..');

/** test-support is consumed from its build, like the apps: run `pnpm build` first. */
export async function testSupport() {
  try {
    return await import(join(REPO_ROOT, 'packages/test-support/dist/index.js'));
  } catch (err) {
    throw new Error(`build first (npm exec pnpm@10.34.9 -- run build): ${err.message}`);
  }
}

/**
 * Runs `fn(ts, redisServer, redis)` against a redis-server of its own (free port, temp dir), so the
 * shared Redis is never touched and its CPU can be read from /proc; stops it afterwards.
 */
export async function withBenchRedis(fn) {
  const ts = await testSupport();
  const redisServer = await ts.startRedisServer();
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  try {
    return await fn(ts, redisServer, redis);
  } finally {
    redis.disconnect();
    await redisServer.stop();
  }
}

/** A node child process; resolves once `ready()` (polled) is true. */
export async function startNode(script, { args = [], env = {}, ready, timeoutMs = 20_000, nodeArgs = [] }) {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d) => {
    out = (out + String(d)).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const handle = {
    child,
    pid: child.pid,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  if (!ready) return handle;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited ${child.exitCode} before ready:\n${out}`);
    if (
      await Promise.resolve()
        .then(() => ready(out))
        .catch(() => false)
    )
      return handle;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} not ready within ${timeoutMs} ms:\n${out}`);
    }
    await sleep(50);
  }
}

/** True once something answers HTTP at `url`. */
export async function answersHttp(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return true;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
