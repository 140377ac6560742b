import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { askRedis } from './ask-redis.js';
import { freePort } from './free-port.js';
import { captureOutput } from './output-capture.js';
import { type RedisServerHandle, startRedisServer } from './redis-server.js';
import { cutReplicationLinks, onlineReplicaCount, REPLICATION_LOGIN_ARGS } from './replication-link.js';
import { waitFor } from './wait-for.js';

/** Options of a Sentinel-managed replication group on loopback. */
export interface SentinelGroupOptions {
  /** Replicas of the first master (default 2). */
  replicas?: number;
  /** Sentinels (default 3; quorum is a majority). */
  sentinels?: number;
  /** Name the Sentinels monitor (default `vodtest`). */
  masterName?: string;
  /**
   * `down-after-milliseconds`: how long an instance may be silent before it is down (default 3000).
   * At 1000 a loaded 2-core machine made Sentinel declare the just-promoted master down a second
   * after the switch (its first PING replies came late) and fail over again, demoting a healthy
   * master ten seconds later: a second failover the test did not ask for.
   */
  downAfterMs?: number;
  /** `failover-timeout` (default 3000). */
  failoverTimeoutMs?: number;
}

/** A master/replica group and its Sentinels, owned by one test. */
export interface SentinelGroup {
  masterName: string;
  /** Data nodes by port; the first master is `nodes[0]`. */
  nodes: RedisServerHandle[];
  sentinelPorts: number[];
  /** The environment that connects a process through the Sentinels. */
  env: { REDIS_SENTINELS: string; REDIS_SENTINEL_MASTER: string; REDIS_URL: string };
  /** The master the Sentinels name now. */
  masterPort(): Promise<number>;
  node(port: number): RedisServerHandle;
  /** Cuts the replication links of the master on `port`, so its later writes exist on it alone (see `cutReplicationLinks`). */
  cutReplication(port: number): Promise<void>;
  /** Waits until the Sentinels name a master other than `oldPort`; resolves with its port. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Waits until the master on `port` has `n` replicas online. */
  waitForReplicas(port: number, n: number, timeoutMs?: number): Promise<void>;
  /** Kills every process and removes the temp dirs. */
  stop(): Promise<void>;
  /** The tails of every node's and Sentinel's log, each under a header (a failed test's post-mortem). */
  logs(): string;
}

async function startSentinel(
  port: number,
  masterPort: number,
  opts: Required<Pick<SentinelGroupOptions, 'masterName' | 'downAfterMs' | 'failoverTimeoutMs'>>,
  quorum: number,
): Promise<{ process: ChildProcess; dir: string; log: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vod-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file as it learns the group, so each gets a writable one.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${opts.masterName} 127.0.0.1 ${masterPort} ${quorum}`,
      `sentinel down-after-milliseconds ${opts.masterName} ${opts.downAfterMs}`,
      `sentinel failover-timeout ${opts.masterName} ${opts.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${opts.masterName} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = captureOutput(child, 20_000);
  await waitFor(
    `sentinel on ${port}`,
    async () => {
      const c = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
      c.on('error', () => {});
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } finally {
        c.disconnect();
      }
    },
    10_000,
    50,
  );
  return { process: child, dir, log };
}

/**
 * Starts a master (AOF on), its replicas (`replicaof`, AOF on) and Sentinels (`redis-server <conf>
 * --sentinel`) on free loopback ports with temp dirs, and waits until every Sentinel knows every
 * replica and the other Sentinels (so a failover can happen from the first second of the test).
 */
export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const opts = {
    masterName: options.masterName ?? 'vodtest',
    downAfterMs: options.downAfterMs ?? 3000,
    failoverTimeoutMs: options.failoverTimeoutMs ?? 3000,
  };
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const nodes: RedisServerHandle[] = [];
  const sentinels: { process: ChildProcess; dir: string; log: () => string }[] = [];
  const sentinelPorts: number[] = [];
  const admins = new Map<number, Redis>();
  const stop = async () => {
    for (const a of admins.values()) a.disconnect();
    for (const s of sentinels) {
      if (s.process.exitCode === null && s.process.signalCode === null) {
        const exited = new Promise((r) => s.process.once('exit', r));
        s.process.kill('SIGKILL');
        await exited;
      }
      rmSync(s.dir, { recursive: true, force: true });
    }
    // SIGKILL also ends a node a test froze with SIGSTOP.
    for (const n of nodes) await n.stop();
  };
  try {
    const common = { appendOnly: true, appendFsync: 'everysec' as const };
    const master = await startRedisServer({ ...common, args: REPLICATION_LOGIN_ARGS });
    nodes.push(master);
    for (let i = 0; i < replicaCount; i++)
      nodes.push(
        await startRedisServer({
          ...common,
          args: [...REPLICATION_LOGIN_ARGS, '--replicaof', '127.0.0.1', String(master.port)],
        }),
      );
    for (const n of nodes) {
      const admin = new Redis(n.port, '127.0.0.1', { retryStrategy: () => null, maxRetriesPerRequest: 0 });
      admin.on('error', () => {});
      admins.set(n.port, admin);
    }
    const quorum = Math.floor(sentinelCount / 2) + 1;
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      sentinelPorts.push(port);
      sentinels.push(await startSentinel(port, master.port, opts, quorum));
    }
    const group: SentinelGroup = {
      masterName: opts.masterName,
      nodes,
      sentinelPorts,
      env: {
        REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
        REDIS_SENTINEL_MASTER: opts.masterName,
        // Host and port are not used with Sentinels; the URL is kept for its scheme (no password here).
        REDIS_URL: 'redis://127.0.0.1:1',
      },
      async masterPort() {
        for (const port of sentinelPorts) {
          const addr = await askRedis(port, (c) =>
            c.call('SENTINEL', 'get-master-addr-by-name', opts.masterName),
          ).catch(() => null);
          if (Array.isArray(addr)) return Number(addr[1]);
        }
        throw new Error('no Sentinel answered get-master-addr-by-name');
      },
      node(port) {
        const n = nodes.find((x) => x.port === port);
        if (!n) throw new Error(`no node on port ${port}`);
        return n;
      },
      async cutReplication(port) {
        // On a connection opened at start: a busy machine can take seconds to open one, and the
        // cut must happen when the test says.
        const admin = admins.get(port);
        if (!admin) throw new Error(`no node on port ${port}`);
        await cutReplicationLinks(admin);
      },
      async waitForFailover(oldPort, timeoutMs = 30_000) {
        return waitFor(
          'Sentinel to promote a replica',
          async () => {
            const port = await group.masterPort();
            if (port === oldPort) return undefined;
            const role = await askRedis(port, (c) => c.call('ROLE') as Promise<unknown[]>);
            return role[0] === 'master' ? port : undefined;
          },
          timeoutMs,
          100,
        );
      },
      async waitForReplicas(port, n, timeoutMs = 30_000) {
        await waitFor(
          `${n} replicas online on ${port}`,
          async () => {
            const info = await askRedis(port, (c) => c.info('replication'));
            return onlineReplicaCount(info) >= n;
          },
          timeoutMs,
          100,
        );
      },
      stop,
      logs: () =>
        [
          ...nodes.map((n) => `==== redis node ${n.port}\n${n.log()}`),
          ...sentinels.map((s, i) => `==== sentinel ${sentinelPorts[i]}\n${s.log()}`),
        ].join('\n'),
    };
    await group.waitForReplicas(master.port, replicaCount);
    for (const port of sentinelPorts)
      await waitFor(
        `sentinel ${port} to know the group`,
        async () =>
          askRedis(port, async (c) => {
            const replicas = (await c.call('SENTINEL', 'replicas', opts.masterName)) as unknown[];
            const peers = (await c.call('SENTINEL', 'sentinels', opts.masterName)) as unknown[];
            return replicas.length >= replicaCount && peers.length >= sentinelCount - 1;
          }),
        20_000,
        200,
      );
    return group;
  } catch (err) {
    await stop();
    throw err;
  }
}
