import {
  COMMON_ENV,
  ConfigError,
  type ConfigOf,
  EVENT_JOB_ENV,
  envBool,
  envEnum,
  envInt,
  envList,
  envString,
  loadConfig,
  QUEUE_RETENTION_ENV,
  REPLICATION_ENV,
} from '@vod-callbacks/shared';

/** Every variable the ingress reads, with its default and doc (README's table is built from these). */
export const INGRESS_ENV = {
  ...COMMON_ENV,
  ...QUEUE_RETENTION_ENV,
  ...EVENT_JOB_ENV,
  ...REPLICATION_ENV,
  INGRESS_HOST: envString('0.0.0.0', 'Address the HTTP server binds.'),
  INGRESS_PORT: envInt(3000, 'HTTP port of the ingress.', 0, 65535),
  CALLBACK_BODY_LIMIT: envInt(
    262144,
    'Largest accepted callback body in bytes (larger → 413).',
    1024,
    16 * 1024 * 1024,
  ),
  CALLBACK_MAX_DEPTH: envInt(32, 'Deepest JSON nesting accepted (deeper → 400).', 2, 1000),
  CALLBACK_AUTH: envEnum(
    ['signature', 'none'],
    'signature',
    'signature: require X-VOD-SIGNATURE (CALLBACK_PRIVATE_KEY must be set, else the ingress refuses to start); none: accept unsigned callbacks (logged as a warning at every start, vod_callback_auth_enabled 0).',
  ),
  CALLBACK_PRIVATE_KEY: envString(
    '',
    'VOD callback PrivateKey; X-VOD-SIGNATURE is required (→ 401). Required unless CALLBACK_AUTH=none.',
  ),
  CALLBACK_PRIVATE_KEY_PREVIOUS: envString(
    '',
    'The key before a rotation, accepted alongside CALLBACK_PRIVATE_KEY while VOD switches over (README: rotating the key).',
  ),
  CALLBACK_PUBLIC_URL: envString('', 'The callback URL exactly as configured in VOD (signed by VOD).'),
  CALLBACK_MAX_AGE_SECONDS: envInt(300, 'Oldest (or most future) X-VOD-TIMESTAMP accepted.', 1, 86400),
  ENQUEUE_TIMEOUT_MS: envInt(
    2000,
    'How long a callback may wait for Redis before the answer is 503.',
    50,
    60000,
  ),
  RETRY_AFTER_SECONDS: envInt(5, 'Retry-After sent with 503 answers.', 1, 3600),
  EVICTION_POLICY_CHECK: envEnum(
    ['refuse', 'warn', 'off'],
    'refuse',
    'What to do when Redis maxmemory-policy is not noeviction: refuse to start, warn, or skip the check.',
  ),
  STATUS_API_TOKEN: envString(
    '',
    'Bearer token of the status API (/v1/uploads…, /v1/openapi.json); unset = no status API. At least 16 characters.',
  ),
  ADMIN_USER: envString(
    '',
    'bull-board user; /admin/queues exists only when ADMIN_USER and ADMIN_PASSWORD are set.',
  ),
  ADMIN_PASSWORD: envString('', 'bull-board password (basic auth).'),
  ADMIN_READ_WRITE: envBool(false, 'Allow retry/remove actions in bull-board (read-only by default).'),
  SERVER_TIMEOUT_MS: envInt(
    10000,
    'Time allowed to receive a whole request (slow bodies → 408 and close).',
    1000,
    120000,
  ),
  RATE_LIMIT_PER_MINUTE: envInt(
    0,
    'Per-IP callback limit per minute (0 = off); see README for the trade-off.',
    0,
    10_000_000,
  ),
  RATE_LIMIT_ALLOW_LIST: envList(
    [],
    "Comma-separated client IPs never rate-limited (e.g. VOD's callback egress addresses).",
  ),
  TRUST_PROXY: envBool(
    false,
    'Take the client IP from X-Forwarded-For (set behind a load balancer, or the limit is per balancer).',
  ),
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: envInt(
    1000,
    'Answer callbacks 503 + Retry-After while the mean event-loop delay exceeds this (0 = off).',
    0,
    600000,
  ),
  LOAD_SHED_MAX_HEAP_BYTES: envInt(
    0,
    'Answer callbacks 503 + Retry-After while the V8 heap exceeds this many bytes (0 = off).',
    0,
    Number.MAX_SAFE_INTEGER,
  ),
  LOAD_SHED_MAX_RSS_BYTES: envInt(
    0,
    'Answer callbacks 503 + Retry-After while the resident set exceeds this many bytes (0 = off).',
    0,
    Number.MAX_SAFE_INTEGER,
  ),
} as const;

export type IngressConfig = ConfigOf<typeof INGRESS_ENV>;

/** Reads and validates the ingress configuration once. */
/** An absolute http(s) URL with a host (what VOD can call back). */
function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export function loadIngressConfig(env: NodeJS.ProcessEnv = process.env): IngressConfig {
  const config = loadConfig(INGRESS_ENV, env);
  if (config.CALLBACK_PRIVATE_KEY && !config.CALLBACK_PUBLIC_URL) {
    throw new ConfigError(
      'CALLBACK_PUBLIC_URL must be set when CALLBACK_PRIVATE_KEY is: VOD signs the callback URL as configured in VOD',
    );
  }
  if (config.CALLBACK_PUBLIC_URL && !isHttpUrl(config.CALLBACK_PUBLIC_URL)) {
    throw new ConfigError(
      `CALLBACK_PUBLIC_URL=${JSON.stringify(config.CALLBACK_PUBLIC_URL)} is invalid: give the whole http(s) URL configured in VOD's callback settings (e.g. https://callbacks.example.com/callbacks/vod); VOD signs it as written there`,
    );
  }
  if (config.CALLBACK_PRIVATE_KEY && !/^[A-Za-z0-9]{8,20}$/.test(config.CALLBACK_PRIVATE_KEY)) {
    throw new ConfigError(
      'CALLBACK_PRIVATE_KEY=(hidden) is invalid: VOD private keys are 8–20 letters or digits',
    );
  }
  if (config.CALLBACK_PRIVATE_KEY_PREVIOUS) {
    if (!config.CALLBACK_PRIVATE_KEY) {
      throw new ConfigError(
        'CALLBACK_PRIVATE_KEY_PREVIOUS is set without CALLBACK_PRIVATE_KEY: set the new key there and the old one here',
      );
    }
    if (!/^[A-Za-z0-9]{8,20}$/.test(config.CALLBACK_PRIVATE_KEY_PREVIOUS)) {
      throw new ConfigError(
        'CALLBACK_PRIVATE_KEY_PREVIOUS=(hidden) is invalid: VOD private keys are 8–20 letters or digits',
      );
    }
    if (config.CALLBACK_PRIVATE_KEY_PREVIOUS === config.CALLBACK_PRIVATE_KEY) {
      throw new ConfigError(
        'CALLBACK_PRIVATE_KEY_PREVIOUS=(hidden) is invalid: it equals CALLBACK_PRIVATE_KEY',
      );
    }
  }
  // Without a signature check anyone who can reach the ingress can post a "retryable failure" and
  // make the worker pull any URL into the customer's account: unsigned must be a deliberate choice.
  if (config.CALLBACK_AUTH === 'signature' && !config.CALLBACK_PRIVATE_KEY) {
    throw new ConfigError(
      "CALLBACK_PRIVATE_KEY is not set: callbacks could not be verified. Set CALLBACK_PRIVATE_KEY and CALLBACK_PUBLIC_URL to the key and URL configured in VOD's callback settings, or set CALLBACK_AUTH=none to accept unsigned callbacks (only behind something else that authenticates them)",
    );
  }
  if (config.CALLBACK_AUTH === 'none' && config.CALLBACK_PRIVATE_KEY) {
    throw new ConfigError(
      'CALLBACK_AUTH=none but CALLBACK_PRIVATE_KEY is set: unset CALLBACK_AUTH to check signatures, or unset the key to accept unsigned callbacks',
    );
  }
  if (config.STATUS_API_TOKEN && config.STATUS_API_TOKEN.length < 16) {
    throw new ConfigError(
      'STATUS_API_TOKEN=(hidden) is invalid: use at least 16 characters (a random token)',
    );
  }
  if (Boolean(config.ADMIN_USER) !== Boolean(config.ADMIN_PASSWORD)) {
    throw new ConfigError(
      'ADMIN_USER and ADMIN_PASSWORD must be set together (or neither, to disable /admin/queues)',
    );
  }
  return config;
}
