import { envEnum, envString } from '@vod-callbacks/shared';
import type { VodApiOptions } from './vod-api.js';

/** The VOD OpenAPI settings, shared by the worker's and vodctl's config specs. */
export const VOD_API_ENV = {
  VOLC_ACCESSKEY: envString(
    '',
    'Volcengine AccessKeyId for the VOD OpenAPI; unset = re-uploads are dead-lettered (no_credentials).',
  ),
  VOLC_SECRETKEY: envString('', 'Volcengine SecretAccessKey (never logged).'),
  VOD_REGION: envString('cn-north-1', 'Region the OpenAPI requests are signed for.', { minLength: 1 }),
  VOD_API_HOST: envString(
    'vod.volcengineapi.com',
    'OpenAPI host, optionally host:port (the simulator: 127.0.0.1:<SIM_PORT>).',
    {
      minLength: 1,
    },
  ),
  VOD_API_PROTOCOL: envEnum(['https:', 'http:'], 'https:', 'OpenAPI protocol (`http:` for the simulator).'),
} as const;

/** The VOD_API_ENV part of a loaded config. */
export interface VodApiConfig {
  readonly VOLC_ACCESSKEY: string;
  readonly VOLC_SECRETKEY: string;
  readonly VOD_REGION: string;
  readonly VOD_API_HOST: string;
  readonly VOD_API_PROTOCOL: string;
}

/** Client options from config, or undefined when credentials are not set. */
export function vodApiOptionsOf(config: VodApiConfig): VodApiOptions | undefined {
  if (!config.VOLC_ACCESSKEY || !config.VOLC_SECRETKEY) return undefined;
  return {
    accessKeyId: config.VOLC_ACCESSKEY,
    secretKey: config.VOLC_SECRETKEY,
    region: config.VOD_REGION,
    host: config.VOD_API_HOST,
    protocol: config.VOD_API_PROTOCOL,
  };
}
