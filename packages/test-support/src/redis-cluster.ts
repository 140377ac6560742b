import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { askRedis } from './ask-redis.js';
import { type ClusterMaster, ownerOfSlot, parseClusterNodes, servingMasters } from './cluster-topology.js';
import { freePort } from './free-port.js';
import { type RedisServerHandle, startRedisServer } from './redis-server.js';
import { cutReplicationLinks, onlineReplicaCount, REPLICATION_LOGIN_ARGS } from './replication-link.js';
import { waitFor } from './wait-for.js';

export type { ClusterMaster } from './cluster-topology.js';

/** Options of a Redis Cluster on loopback. */
export interface RedisClusterOptions {
  /** Masters; the 16384 slots are split evenly between them (default 3, the least Redis accepts). */
  masters?: number;
  /** Replicas of each master (default 2). */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a node may be silent before it is suspected (default 1000). */
  nodeTimeoutMs?: number;
  /** AOF on every node, `appendfsync everysec` (default true). */
  appendonly?: boolean;
}

/** A Redis Cluster owned by one test. */
export interface RedisCluster {
  /** Every node, by port. */
  nodes: ReadonlyMap<number, RedisServerHandle>;
  /** The environment that connects a process to the cluster (every master at start; REDIS_URL names the first). */
  env: { REDIS_CLUSTER_NODES: string; REDIS_URL: string };
  /** Masters that serve slots now, in slot order, as a live node sees them. */
  masters(): Promise<ClusterMaster[]>;
  /** Port of the master serving `slot` now. */
  masterOfSlot(slot: number): Promise<number>;
  /** Port of the master serving `key`'s slot now (`CLUSTER KEYSLOT`). */
  masterOfKey(key: string): Promise<number>;
  node(port: number): RedisServerHandle;
  /** Cuts the replication links of the master on `port`, so its later writes exist on it alone (see `cutReplicationLinks`). */
  cutReplication(masterPort: number): Promise<void>;
  /**
   * Waits until every live node reports `cluster_state:ok` and names one other node as the server of
   * every slot `oldMasterPort` served; resolves with that node's port (the promoted replica).
   */
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<number>;
  /** Waits until the master on `port` has `n` replicas online. */
  waitForReplicas(port: number, n: number, timeoutMs?: number): Promise<void>;
  /** CPU seconds the node on `port` has used (`used_cpu_sys` + `used_cpu_user`), for benchmarks. */
  redisCpuSeconds(port: number): Promise<number>;
  /** Kills every node and removes their temp dirs; safe to call twice. */
  stop(): Promise<void>;
}

function isRunning(node: RedisServerHandle): boolean {
  return node.process.exitCode === null && node.process.signalCode === null;
}

function createCluster(ports: number[], replicasPerMaster: number): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`)];
  args.push('--cluster-replicas', String(replicasPerMaster), '--cluster-yes');
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `redis-cli --cluster create failed (is redis-cli 7 on PATH?): ${err.message}\n${stdout}\n${stderr}`,
          ),
        );
      else resolve();
    });
  });
}

/**
 * Starts masters × (1 + replicasPerMaster) `redis-server --cluster-enabled yes` nodes on free
 * loopback ports, each in its own temp dir, joins them with `redis-cli --cluster create`, and waits
 * until every node reports `cluster_state:ok`, knows every other node, and every master has its
 * replicas online.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 2;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const total = masterCount * (1 + replicasPerMaster);
  const nodes = new Map<number, RedisServerHandle>();
  const admins = new Map<number, Redis>();
  // The slots each master was last seen serving: once it is dead and its replica promoted, no live
  // node says which slots were its own.
  const lastSlots = new Map<number, [number, number][]>();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const admin of admins.values()) admin.disconnect();
      // SIGKILL also ends a node a test froze with SIGSTOP.
      for (const node of nodes.values()) await node.stop().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw new AggregateError(errors, 'stopping the Redis Cluster failed');
    })();
    return stopping;
  };

  const node = (port: number) => {
    const n = nodes.get(port);
    if (!n) throw new Error(`no cluster node on port ${port} (nodes: ${[...nodes.keys()].join(', ')})`);
    return n;
  };
  const livePorts = () => [...nodes.values()].filter(isRunning).map((n) => n.port);

  /** `CLUSTER NODES` from the first live node that answers. */
  const topology = async () => {
    let last: unknown;
    for (const port of livePorts()) {
      try {
        const entries = parseClusterNodes(
          await askRedis(port, (c) => c.call('CLUSTER', 'NODES') as Promise<string>),
        );
        for (const m of servingMasters(entries)) lastSlots.set(m.port, m.slots);
        return entries;
      } catch (err) {
        last = err;
      }
    }
    throw new Error(
      `no cluster node answered CLUSTER NODES (last error: ${(last as Error | undefined)?.message})`,
    );
  };

  try {
    // Every node may become a master or a replica; validity factor 0 lets a replica whose link was
    // cut long ago still be promoted (otherwise a cut followed by a kill leaves the slots unserved).
    const clusterArgs = [
      ...REPLICATION_LOGIN_ARGS,
      '--cluster-enabled',
      'yes',
      // Relative to --dir, so each node keeps its own.
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(nodeTimeoutMs),
      '--cluster-replica-validity-factor',
      '0',
    ];
    const appendOnly = options.appendonly ?? true;
    for (let i = 0; i < total; i++) {
      // The cluster bus port is chosen too: by default it is the port + 10 000, which may be taken
      // (or, above 55 535, does not exist).
      const busPort = await freePort();
      const n = await startRedisServer({
        appendOnly,
        appendFsync: 'everysec',
        args: [...clusterArgs, '--cluster-port', String(busPort)],
      });
      nodes.set(n.port, n);
    }
    await createCluster([...nodes.keys()], replicasPerMaster);
    for (const port of nodes.keys()) {
      const admin = new Redis(port, '127.0.0.1', { retryStrategy: () => null, maxRetriesPerRequest: 0 });
      admin.on('error', () => {});
      admins.set(port, admin);
    }

    const cluster: RedisCluster = {
      nodes,
      // Filled in once the masters are known, below.
      env: { REDIS_CLUSTER_NODES: '', REDIS_URL: '' },
      async masters() {
        return servingMasters(await topology());
      },
      async masterOfSlot(slot) {
        const port = ownerOfSlot(await topology(), slot);
        if (port === undefined) throw new Error(`no master serves slot ${slot} (is the cluster down?)`);
        return port;
      },
      async masterOfKey(key) {
        const [port] = livePorts();
        if (port === undefined) throw new Error('no cluster node is running');
        const slot = await askRedis(port, (c) => c.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
        return cluster.masterOfSlot(slot);
      },
      node,
      async cutReplication(masterPort) {
        node(masterPort);
        // On a connection opened at start: a busy machine can take seconds to open one, and the
        // cut must happen when the test says.
        const admin = admins.get(masterPort);
        if (!admin) throw new Error(`no admin connection to ${masterPort}`);
        // Remember its slots now: waitForFailover must know them once it is gone.
        await topology();
        await cutReplicationLinks(admin);
      },
      async waitForFailover(oldMasterPort, timeoutMs = 30_000) {
        // Refreshes lastSlots when the old master still serves them in some live node's view.
        const refreshError = await topology().then(
          () => undefined,
          (err: Error) => err,
        );
        const slots = lastSlots.get(oldMasterPort);
        if (!slots)
          throw new Error(
            `node ${oldMasterPort} was never seen serving slots: pass the port of a master` +
              (refreshError ? ` (reading CLUSTER NODES failed: ${refreshError.message})` : ''),
          );
        return waitFor(
          `the slots of ${oldMasterPort} to be served by a promoted replica and cluster_state:ok on every live node`,
          async () => {
            const owners = new Set<number | undefined>();
            for (const port of livePorts()) {
              if (port === oldMasterPort) continue;
              const [info, text] = await askRedis(port, (c) =>
                Promise.all([
                  c.call('CLUSTER', 'INFO') as Promise<string>,
                  c.call('CLUSTER', 'NODES') as Promise<string>,
                ]),
              );
              if (!/^cluster_state:ok\r?$/m.test(info)) return undefined;
              const entries = parseClusterNodes(text);
              for (const [from, to] of slots)
                owners.add(ownerOfSlot(entries, from)).add(ownerOfSlot(entries, to));
            }
            const [owner] = owners;
            if (owners.size !== 1 || owner === undefined || owner === oldMasterPort) return undefined;
            return owner;
          },
          timeoutMs,
          100,
        );
      },
      async waitForReplicas(port, n, timeoutMs = 30_000) {
        await waitFor(
          `${n} replicas online on ${port}`,
          async () => onlineReplicaCount(await askRedis(port, (c) => c.info('replication'))) >= n,
          timeoutMs,
          100,
        );
      },
      async redisCpuSeconds(port) {
        const info = await askRedis(port, (c) => c.info('cpu'));
        const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
        const seconds = field('used_cpu_sys') + field('used_cpu_user');
        if (Number.isNaN(seconds)) throw new Error(`INFO cpu of ${port} has no used_cpu_sys/used_cpu_user`);
        return seconds;
      },
      stop,
    };

    await waitFor(
      `cluster_state:ok and ${total} known nodes on every node`,
      async () => {
        for (const port of nodes.keys()) {
          const info = await askRedis(port, (c) => c.call('CLUSTER', 'INFO') as Promise<string>);
          if (!/^cluster_state:ok\r?$/m.test(info)) return false;
          if (!new RegExp(`^cluster_known_nodes:${total}\\r?$`, 'm').test(info)) return false;
        }
        return true;
      },
      30_000,
      100,
    );
    const masters = await waitFor(
      `${masterCount} masters with ${replicasPerMaster} replicas each`,
      async () => {
        const ms = await cluster.masters();
        return ms.length === masterCount && ms.every((m) => m.replicas.length === replicasPerMaster) && ms;
      },
      30_000,
      100,
    );
    for (const m of masters) await cluster.waitForReplicas(m.port, replicasPerMaster);
    cluster.env.REDIS_CLUSTER_NODES = masters.map((m) => `127.0.0.1:${m.port}`).join(',');
    cluster.env.REDIS_URL = `redis://127.0.0.1:${masters[0]!.port}`;
    return cluster;
  } catch (err) {
    try {
      await stop();
    } catch (stopErr) {
      throw new AggregateError(
        [err, stopErr],
        `${(err as Error).message} (and stopping the nodes failed too)`,
      );
    }
    throw err;
  }
}
