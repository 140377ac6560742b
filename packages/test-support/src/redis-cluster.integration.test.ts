import { existsSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';
import { waitFor } from './wait-for.js';

// A 3 × 2 cluster on loopback: keys land where the handle says, and a master whose replication was
// cut, then SIGKILLed, is replaced by one of its replicas without the write it took after the cut.

const started = Date.now();
/** Progress lines: where a slow run spent its time. */
const step = (what: string) =>
  process.stdout.write(`[redis-cluster +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}\n`);

/** GET on one node alone: a node that does not serve the key's slot answers MOVED, an error. */
async function getOn(port: number, key: string): Promise<string | null> {
  const c = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.get(key);
  } finally {
    c.disconnect();
  }
}

describe('startRedisCluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    step(`cluster up: ${cluster.env.REDIS_CLUSTER_NODES}`);
    client = new Cluster(
      cluster.env.REDIS_CLUSTER_NODES.split(',').map((a) => {
        const [host, port] = a.split(':');
        return { host: host!, port: Number(port) };
      }),
      { redisOptions: { connectTimeout: 10_000, commandTimeout: 5000 }, slotsRefreshTimeout: 5000 },
    );
    client.on('error', () => {});
  }, 90_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('starts 3 masters with 2 replicas each, covering every slot', async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    expect(masters.map((m) => m.replicas.length)).toEqual([2, 2, 2]);
    expect(cluster.nodes.size).toBe(9);
    expect(masters.flatMap((m) => m.slots).reduce((n, [from, to]) => n + to - from + 1, 0)).toBe(16384);
    expect(cluster.env.REDIS_URL).toBe(`redis://127.0.0.1:${masters[0]!.port}`);
    expect(await cluster.redisCpuSeconds(masters[0]!.port)).toBeGreaterThan(0);
  });

  it('places hash-tagged keys on the masters masterOfKey names', async () => {
    const holders = new Set<number>();
    for (const tag of ['a', 'b', 'c']) {
      const key = `{${tag}}:placed`;
      await client.set(key, tag);
      const port = await cluster.masterOfKey(key);
      expect(await getOn(port, key)).toBe(tag);
      holders.add(port);
    }
    expect(holders.size).toBeGreaterThanOrEqual(2);
  });

  it('promotes a replica of a cut, killed master, without the write taken after the cut', async () => {
    const victim = await cluster.masterOfKey('{a}:before-cut');
    const replicas = (await cluster.masters()).find((m) => m.port === victim)!.replicas;

    // Written on the victim and acknowledged by both replicas: it must survive the failover.
    const direct = new Redis(victim, '127.0.0.1', { maxRetriesPerRequest: 0 });
    try {
      await direct.set('{a}:before-cut', 'kept');
      expect(await direct.wait(2, 10_000)).toBe(2);
    } finally {
      direct.disconnect();
    }

    await cluster.cutReplication(victim);
    step(`replication of ${victim} cut`);
    await client.set('{a}:after-cut', 'lost');
    expect(await getOn(victim, '{a}:after-cut')).toBe('lost');

    await cluster.node(victim).kill('SIGKILL');
    step(`${victim} killed`);
    const promoted = await cluster.waitForFailover(victim, 45_000);
    step(`${promoted} promoted`);
    expect(replicas).toContain(promoted);
    expect(await cluster.masterOfKey('{a}:after-failover')).toBe(promoted);

    // The client learns the new owner on its own (MOVED or a slots refresh after the dead link).
    await waitFor(
      'the cluster client to write to the failed-over slot',
      async () => (await client.set('{a}:after-failover', 'ok')) === 'OK',
      30_000,
      200,
    );
    expect(await getOn(promoted, '{a}:after-failover')).toBe('ok');
    expect(await client.get('{a}:before-cut')).toBe('kept');
    expect(await client.get('{a}:after-cut')).toBeNull();
  }, 90_000);

  it('stop kills every node and removes its dir, and may be called twice', async () => {
    const dirs = [...cluster.nodes.values()].map((n) => n.dir);
    client.disconnect();
    await cluster.stop();
    await cluster.stop();
    expect(
      [...cluster.nodes.values()].every((n) => n.process.exitCode !== null || n.process.signalCode !== null),
    ).toBe(true);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });
});
