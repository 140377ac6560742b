import { COMMON_ENV, type ConfigOf, loadConfig } from '@vod-callbacks/shared';

/** Variables `vodctl` reads: the same Redis and prefix as the ingress and the worker. */
export const CLI_ENV = { ...COMMON_ENV } as const;

export type CliConfig = ConfigOf<typeof CLI_ENV>;

/** Reads and validates the CLI configuration once. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  return loadConfig(CLI_ENV, env);
}
