import { type ConfigOf, envEnum, envInt, envList, envString, loadConfig } from '@vod-callbacks/shared';

/** Every variable the simulator reads, with its default and doc (README's table is built from these). */
export const SIMULATOR_ENV = {
  LOG_LEVEL: envEnum(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    'info',
    'pino log level.',
  ),
  SIM_HOST: envString('127.0.0.1', 'Address the simulator binds (it is a test tool: keep it local).'),
  SIM_PORT: envInt(
    9500,
    'Port of the fake OpenAPI endpoint (`VOD_API_HOST=127.0.0.1:<port>`); 0 = any free port.',
    0,
    65535,
  ),
  SIM_ACCESS_KEY_ID: envString('AKLTsimulator', 'The only AccessKeyId accepted (set VOLC_ACCESSKEY to it).', {
    minLength: 1,
  }),
  SIM_SECRET_KEY: envString('simulator-secret-key', 'Its SecretKey (set VOLC_SECRETKEY to it).', {
    minLength: 1,
  }),
  SIM_REGION: envString('cn-north-1', 'Region the signature’s credential scope must name.', { minLength: 1 }),
  SIM_MAX_SKEW_SECONDS: envInt(900, 'Largest accepted distance between X-Date and the clock.', 1, 86400),
  SIM_MAX_REQUEST_LINE_BYTES: envInt(
    8192,
    'Longest request line answered; longer gets HTTP 414 like a gateway (nginx’s default buffer is 8 KB).',
    1024,
    16000,
  ),
  SIM_DENY_ACTIONS: envList(
    [],
    'Comma-separated Actions the key lacks permission for (answered 403 LackPolicy).',
    {
      pattern: '^[A-Za-z]+$',
    },
  ),
  SIM_QPS: envInt(
    500,
    'API requests per second answered before FlowLimitExceeded (VOD: 500 per account).',
    1,
    100000,
  ),
  SIM_CALLBACK_URL: envString(
    '',
    'Where callbacks are POSTed (the ingress’s /callbacks/vod); empty = no callbacks.',
  ),
  SIM_CALLBACK_SIGN_URL: envString(
    '',
    'The callback URL as configured in VOD, which signatures cover (default SIM_CALLBACK_URL).',
  ),
  SIM_CALLBACK_PRIVATE_KEY: envString(
    '',
    'Space PrivateKey; when set, callbacks carry X-VOD-TIMESTAMP/X-VOD-SIGNATURE.',
  ),
  SIM_REDELIVERY_DELAYS_MS: envList(
    ['5000', '10000', '30000'],
    'Waits before redelivering a callback answered non-200; then it is dropped.',
    { pattern: '^\\d+$' },
  ),
  SIM_CALLBACK_TIMEOUT_MS: envInt(5000, 'Timeout of one callback delivery.', 100, 120000),
  SIM_PROCESSING_MS: envInt(
    500,
    'Time from UploadMediaByUrl to the task finishing (and its callback).',
    0,
    3600000,
  ),
  SIM_SCENARIO_FILE: envString(
    '',
    'JSON file of SourceUrl → outcome script (see README); `vodsim` URL parameters work without it.',
  ),
  SIM_MAX_TASKS: envInt(
    100000,
    'Tasks remembered for QueryUploadTaskInfo (oldest forgotten first).',
    10,
    10000000,
  ),
} as const;

export type SimulatorConfig = ConfigOf<typeof SIMULATOR_ENV>;

/** Reads and validates the simulator configuration once. */
export function loadSimulatorConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  return loadConfig(SIMULATOR_ENV, env);
}

/** SIM_REDELIVERY_DELAYS_MS as numbers. */
export function redeliveryDelays(config: SimulatorConfig): number[] {
  return config.SIM_REDELIVERY_DELAYS_MS.map(Number);
}
