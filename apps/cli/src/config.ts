import {
  COMMON_ENV,
  type ConfigOf,
  EVENT_JOB_ENV,
  loadConfig,
  OUTCOME_WEBHOOK_ENV,
  REUPLOAD_JOB_ENV,
  type RedisTopology,
  redisTopologyOf,
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

/** Reads and validates the CLI configuration once, with the Redis topology it names. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig & { topology: RedisTopology } {
  const config = loadConfig(CLI_ENV, env);
  return Object.freeze({ ...config, topology: redisTopologyOf(config) });
}
