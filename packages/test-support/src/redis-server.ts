import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { captureOutput } from './output-capture.js';

/** Options of a private redis-server child process. */
export interface RedisServerOptions {
  /** Enable AOF with `appendfsync always` (fault tests: nothing acknowledged may be lost). */
  appendOnly?: boolean;
  /** `maxmemory-policy` (default noeviction, as production must use). */
  maxmemoryPolicy?: string;
  /** Data directory; a fresh temp dir by default. Reuse it to restart on the same data. */
  dir?: string;
  port?: number;
  /** `appendfsync` with `appendOnly` (default `always`). */
  appendFsync?: 'always' | 'everysec';
  /** More `--name value…` arguments (replication, ACL users). */
  args?: readonly string[];
}

/** A redis-server child process owned by a test. */
export interface RedisServerHandle {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Kills the server (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new server on the same port and data dir. */
  restart(): Promise<RedisServerHandle>;
  /** Stops the server and removes the data dir when it was a temp dir. */
  stop(): Promise<void>;
  /** The tail of the server's log (for a failed test's post-mortem). */
  log(): string;
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') {
        client.disconnect();
        return;
      }
    } catch {
      // not up yet
    }
    client.disconnect();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `redis-server at ${url} did not answer within ${timeoutMs} ms (is redis-server installed?)`,
  );
}

/** Starts `redis-server` (from PATH) on a free port. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const ownDir = !options.dir;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'vod-redis-'));
  const port = options.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--maxmemory-policy',
    options.maxmemoryPolicy ?? 'noeviction',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
  ];
  if (options.appendOnly) args.push('--appendfsync', options.appendFsync ?? 'always');
  args.push(...(options.args ?? []));
  if (options.maxmemoryPolicy && options.maxmemoryPolicy !== 'noeviction') args.push('--maxmemory', '256mb');
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Redis logs to stdout: shown for a start that fails (a port taken, a bad argument).
  const log = captureOutput(child, 20_000);
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPing(url, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${log().slice(-4000)}`);
  }
  const handle: RedisServerHandle = {
    url,
    port,
    dir,
    process: child,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    restart() {
      return startRedisServer({ ...options, dir, port });
    },
    async stop() {
      await handle.kill('SIGKILL');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    log,
  };
  return handle;
}
