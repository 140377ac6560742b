import { Cluster } from 'ioredis';

/**
 * A test's own client of a Redis Cluster reached through `nodes` (`REDIS_CLUSTER_NODES`,
 * `host:port,…`), for reading what the apps wrote. It follows a failover (slots that moved are
 * asked again), so a verdict can be read once a replica has been promoted.
 */
export function clusterClient(nodes: string): Cluster {
  const client = new Cluster(
    nodes.split(',').map((address) => {
      const [host, port] = address.split(':');
      return { host: host!, port: Number(port) };
    }),
    {
      redisOptions: { connectTimeout: 10_000, maxRetriesPerRequest: 3 },
      slotsRefreshTimeout: 5000,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
    },
  );
  // A killed node's errors: the commands that need it are retried on the promoted one.
  client.on('error', () => {});
  return client;
}
