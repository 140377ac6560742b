import {
  COMMON_ENV,
  ConfigError,
  type ConfigOf,
  clusterPrefixProblem,
  EVENT_JOB_ENV,
  loadConfig,
  OUTCOME_WEBHOOK_ENV,
  REUPLOAD_JOB_ENV,
  type RedisTopology,
  redisTopologyOf,
  type ShardLayout,
  shardLayoutOf,
} from '@vod-callbacks/shared';
import { VOD_API_ENV } from '@vod-callbacks/vod-client';

/**
 * Variables `vodctl` reads: the same Redis and prefix as the ingress and the worker, and the job
 * settings of the jobs it adds (replays, reconciled events), so they match the ones the others add;
 * the worker's outcome webhook settings for `webhooks replay` (attempts) and `webhooks test`; the
 * VOD OpenAPI settings for `reconcile`.
 */
export const CLI_ENV = {
  ...COMMON_ENV,
  ...EVENT_JOB_ENV,
  ...REUPLOAD_JOB_ENV,
  ...OUTCOME_WEBHOOK_ENV,
  ...VOD_API_ENV,
} as const;

export type CliConfig = ConfigOf<typeof CLI_ENV>;

/** The configuration with what derives from it: the Redis topology and the event shard layout. */
export type LoadedCliConfig = CliConfig & { topology: RedisTopology; layout: ShardLayout };

/**
 * Reads and validates the CLI configuration once. Refuses (ConfigError) what the ingress and the
 * worker refuse too: on Redis Cluster, a single shard whose QUEUE_PREFIX has no hash tag.
 */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): LoadedCliConfig {
  const config = loadConfig(CLI_ENV, env);
  const topology = redisTopologyOf(config);
  const layout = shardLayoutOf(config.QUEUE_PREFIX, config.EVENT_SHARDS);
  if (topology.kind === 'cluster') {
    const problem = clusterPrefixProblem(config.QUEUE_PREFIX, layout.count);
    if (problem) throw new ConfigError(problem);
  }
  return Object.freeze({ ...config, topology, layout });
}
