// Shared helpers of the benchmarks: private Redis, child processes, CPU and RSS from /proc, the
// realistic callback body, tables and result files. Plain ESM so `npm run bench` needs only a build.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = join(BENCH_DIR, '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

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

const TICK_US = 1e6 / 100; // CLK_TCK is 100 on Linux

/** User and system CPU of a process in µs, from /proc/<pid>/stat (10 ms resolution). */
export function procCpuSplit(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * TICK_US, sys: Number(fields[12]) * TICK_US };
}

/** User + system CPU of a process in µs. */
export function procCpuMicros(pid) {
  const { user, sys } = procCpuSplit(pid);
  return user + sys;
}

/** Resident set size of a process in bytes. */
export function procRssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** Samples CPU of several processes at once; `stop()` returns µs used per name since `start`. */
export function cpuMeter(pids) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procCpuSplit(pid)]));
  const t0 = process.hrtime.bigint();
  return {
    /** µs per name (user + system), and `<name>Sys` for the system part. */
    stop() {
      const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const used = {};
      for (const [k, pid] of Object.entries(pids)) {
        const now = procCpuSplit(pid);
        used[k] = now.user - start[k].user + now.sys - start[k].sys;
        used[`${k}Sys`] = now.sys - start[k].sys;
      }
      return { elapsedMs, ...used };
    },
  };
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

export function median(values) {
  const v = [...values].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

const CODES = {
  success: { Code: 'Success', Message: 'file upload success' },
  retryable: { Code: 'UploadFailed.UrlUploadFailed', Message: 'upload to storage failed' },
  permanent: { Code: 'CheckError.Md5MissMatch', Message: 'md5 mismatch' },
};

/** Result of event number `i` in the mix of the issue: ~90% Success, 5% retryable, 5% permanent. */
export function mixedKind(i) {
  const r = i % 20;
  if (r === 7) return 'retryable';
  if (r === 13) return 'permanent';
  return 'success';
}

/**
 * A realistic FileUploadByUrlComplete callback (≈1.2 KB), as VOD sends it (valid JSON, compact).
 * `callbackArgs` is the customer's pass-through; the end-to-end bench puts the send time there.
 */
export function callbackBody(requestId, kind = 'success', callbackArgs = '') {
  const c = CODES[kind];
  const ok = kind === 'success';
  const n = requestId.length;
  return JSON.stringify({
    RequestId: requestId,
    Version: '1.0',
    EventType: 'FileUploadByUrlComplete',
    EventTime: new Date().toISOString().slice(0, 19).concat('Z'),
    Data: {
      Code: c.Code,
      Message: c.Message,
      JobId: `eb7ad5d0d7b44fd3a4c1${requestId}`,
      SourceUrl: `https://media.example-customer.com/library/2024/05/raw/episode-${requestId}-master-1080p.mp4?token=ab12cd34ef56`,
      CallbackArgs:
        callbackArgs || `{"itemId":"item-${n}-${requestId}","tenant":"acme-video","batch":"2024-05-06"}`,
      Vid: ok ? `v02b18g10064cokm8ncmh1il${requestId.slice(-6)}` : '',
      SpaceName: 'acme-vod-prod',
      PosterUri: ok ? `tos-cn-i-0000/poster-${requestId}.jpg` : '',
      SourceInfo: {
        StoreUri: `tos-cn-v-0000/acme/2024/05/06/${requestId}.mp4`,
        Height: ok ? 1080 : 0,
        Width: ok ? 1920 : 0,
        Duration: ok ? 1423.872 : 0,
        Bitrate: ok ? 5234011 : 0,
        Md5: 'd41d8cd98f00b204e9800998ecf8427e',
        Format: 'mp4',
        Size: ok ? 931276544 : 0,
        HlsMediaSize: 0,
        FileName: `library/2024/05/raw/episode-${requestId}-master-1080p.mp4`,
      },
      OptionInfo: {
        TemplateId: '',
        Templates: [
          { TemplateIds: ['a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6'], TemplateType: 'transcode' },
          { TemplateIds: ['f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3'], TemplateType: 'imp' },
        ],
      },
    },
  });
}

/**
 * `callbackBody` as a template: returns `(requestId) => body` that only joins strings, so the load
 * generator (on the same 2 cores as the server) spends ~10× less CPU per request than rendering
 * the JSON each time. The Vid embeds the whole id instead of its last 6 characters.
 */
export function callbackBodyTemplate(kind = 'success') {
  const TOKEN = 'R3QU35T1D';
  const parts = callbackBody(TOKEN, kind).split(TOKEN);
  return (requestId) => parts.join(requestId);
}

/** Prints rows as an aligned text table. */
export function printTable(title, rows) {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v) => (typeof v === 'number' ? fmt(v) : String(v ?? ''));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => vals.map((v, i) => v.padStart(widths[i])).join('  ');
  process.stdout.write(`\n${title}\n${line(cols)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
}

function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Writes `bench/results/<name>-<time>.json` and `bench/results/latest-<name>.json` (the committed one). */
export function writeResult(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const body = `${JSON.stringify({ benchmark: name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2)}\n`;
  writeFileSync(join(RESULTS_DIR, `${name}-${stamp}.json`), body);
  writeFileSync(join(RESULTS_DIR, `latest-${name}.json`), body);
  process.stdout.write(`\nresults: bench/results/latest-${name}.json\n`);
}

function machine() {
  const cpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/gm) ?? [];
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return { node: process.version, cpus: cpus.length, cpu: cpus[0]?.split(':')[1]?.trim(), loadavg: load };
}

/** Command-line flags `--name=value` with defaults; numbers stay numbers. */
export function flags(defaults) {
  const out = { ...defaults };
  for (const a of process.argv.slice(2)) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const key = m[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const v = m[2] ?? 'true';
    out[key] = typeof defaults[key] === 'number' ? Number(v) : v;
  }
  return out;
}

/** Redis time per command since the last CONFIG RESETSTAT, in µs per `per` (e.g. per job), top first. */
export async function commandStats(redis, per, top = 8) {
  const info = await redis.info('commandstats');
  const rows = [];
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    rows.push({ command: m[1], callsPer: Number(m[2]) / per, usPer: Number(m[3]) / per });
  }
  return rows.sort((a, b) => b.usPer - a.usPer).slice(0, top);
}
