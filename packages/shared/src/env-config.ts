import { type Static, type TObject, type TProperties, Type } from 'typebox';
import { Compile } from 'typebox/compile';

/** Thrown when an environment variable has an unusable value; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * A declared environment variable: its TypeBox type (with `default`) and a one-line doc for README;
 * `check` catches what a schema cannot say (returns what is wrong with a value, or undefined).
 */
export interface EnvVar<T extends TProperties[string] = TProperties[string]> {
  schema: T;
  doc: string;
  // biome-ignore lint/suspicious/noExplicitAny: each variable checks its own converted type
  check?: (value: any) => string | undefined;
}

/** Integer variable with bounds and a default. */
export const envInt = (def: number, doc: string, min = 0, max = Number.MAX_SAFE_INTEGER) => ({
  schema: Type.Integer({ default: def, minimum: min, maximum: max }),
  doc,
});
/** String variable with a default (`''` for "unset"). */
export const envString = (
  def: string,
  doc: string,
  {
    check,
    ...opts
  }: { minLength?: number; pattern?: string; check?: (value: string) => string | undefined } = {},
) => ({
  schema: Type.String({ default: def, ...opts }),
  doc,
  check,
});
/**
 * Comma-separated list, split at load time: items trimmed, empty ones dropped (so `''` is the
 * default). Each item must match `pattern` when given.
 */
export const envList = (
  def: readonly string[],
  doc: string,
  { minItems, pattern }: { minItems?: number; pattern?: string } = {},
) => ({
  schema: Type.Array(Type.String({ minLength: 1, ...(pattern ? { pattern } : {}) }), {
    default: [...def],
    ...(minItems ? { minItems } : {}),
  }),
  doc,
});
/** Boolean variable (`true`/`false`/`1`/`0`). */
export const envBool = (def: boolean, doc: string) => ({ schema: Type.Boolean({ default: def }), doc });
/** One of a fixed set of strings. */
export const envEnum = <const V extends string>(values: readonly V[], def: V, doc: string) => ({
  schema: Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: def },
  ),
  doc,
});

/** The values an `envEnum` takes (its union of literals); undefined for any other schema. */
function literalsOf(schema: unknown): string[] | undefined {
  const branches = (schema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf;
  const values = branches?.map((b) => b.const);
  return values?.every((v): v is string => typeof v === 'string') ? values : undefined;
}

type Schemas<S extends Record<string, EnvVar>> = { [K in keyof S]: S[K]['schema'] };
/** The typed, frozen config object produced from a spec. */
export type ConfigOf<S extends Record<string, EnvVar>> = Readonly<Static<TObject<Schemas<S>>>>;

function convert(name: string, raw: string, schema: EnvVar['schema']): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') {
    const trimmed = raw.trim();
    if (!/^-?\d+(\.\d+)?$/.test(trimmed))
      throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a number`);
    return Number(trimmed);
  }
  if (type === 'array') {
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no', ''].includes(v)) return false;
    throw new ConfigError(`${name}=${JSON.stringify(raw)} must be true or false`);
  }
  return raw;
}

const SECRET = /KEY|SECRET|PASSWORD|TOKEN/;

/**
 * Parses `env` against a spec once: converts strings, applies defaults, validates with TypeBox and
 * returns a frozen object. Throws ConfigError naming the first bad variable and what it expects.
 */
export function loadConfig<S extends Record<string, EnvVar>>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const properties = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v.schema])) as Schemas<S>;
  const validator = Compile(Type.Object(properties));
  const values: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(spec)) {
    const raw = env[name];
    values[name] =
      raw === undefined || (raw === '' && (v.schema as { type?: string }).type !== 'string')
        ? (v.schema as { default?: unknown }).default
        : convert(name, raw, v.schema);
  }
  const shown = (name: string) =>
    SECRET.test(name)
      ? '(hidden)'
      : JSON.stringify(values[name]).replace(/\/\/[^/@\s]*@/, '//(credentials hidden)@');
  if (!validator.Check(values)) {
    const err = validator.Errors(values)[0];
    // The variable, also for an error inside it (a list's item: `/NAME/1`).
    const name = err?.instancePath.split('/')[1] ?? '?';
    const allowed = literalsOf(spec[name]?.schema);
    const why = allowed ? `use one of ${allowed.join(', ')}` : (err?.message ?? 'unexpected value');
    throw new ConfigError(`${name}=${shown(name)} is invalid: ${why} (${spec[name]?.doc ?? ''})`);
  }
  for (const [name, v] of Object.entries(spec)) {
    const problem = v.check?.(values[name]);
    if (problem) throw new ConfigError(`${name}=${shown(name)} is invalid: ${problem}`);
  }
  return Object.freeze(values) as ConfigOf<S>;
}

/** Common variables every process reads. */
export const COMMON_ENV = {
  REDIS_URL: envString(
    'redis://127.0.0.1:6379',
    'Redis to use: `redis[s]://[[user]:password@]host[:port][/db]`.',
    { check: redisUrlProblem },
  ),
  REDIS_SENTINELS: envString(
    '',
    'Comma-separated Sentinel host:port list; when set, connect to the master they name (REDIS_URL then gives only user, password, TLS and db).',
  ),
  REDIS_SENTINEL_MASTER: envString('', 'Master name the Sentinels monitor (required with REDIS_SENTINELS).'),
  REDIS_SENTINEL_PASSWORD: envString('', 'Password of the Sentinels themselves, when they require one.'),
  REDIS_CLUSTER_NODES: envString(
    '',
    'Comma-separated host:port list of Redis Cluster nodes (any few; the client learns the rest); when set, connect to the cluster (REDIS_URL then gives only user, password and TLS).',
  ),
  QUEUE_PREFIX: envString(
    'vod',
    'BullMQ key prefix of every queue and key. On Redis Cluster with EVENT_SHARDS=1 it must hold a hash tag, e.g. `{vod}`; with more shards each gets `{<QUEUE_PREFIX>-<i>}`.',
    {
      minLength: 1,
    },
  ),
  EVENT_SHARDS: envInt(
    1,
    'Independent shards of queues and per-source state (each in one Redis Cluster slot); events are routed by their upload source. Every process of a deployment must use the same value (checked at start).',
    1,
    64,
  ),
  LOG_LEVEL: envEnum(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    'info',
    'pino log level.',
  ),
} as const;

/** Retention of BullMQ's events streams, read by the long-running processes that add jobs. */
export const QUEUE_RETENTION_ENV = {
  QUEUE_EVENTS_MAX_LEN: envInt(
    10000,
    "Approximate cap of BullMQ's events stream per queue.",
    100,
    10_000_000,
  ),
} as const;

/**
 * What is wrong with a Redis URL, or undefined. ioredis reads `redis://` as 127.0.0.1:6379 and an
 * unparseable URL as a crash, so an empty host, a bad port or db are refused here instead.
 */
export function redisUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL (expected redis[s]://host[:port][/db]; is the port within 1-65535?)';
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return 'the scheme must be redis:// or rediss://';
  if (!u.hostname) return 'no host (redis://host[:port][/db])';
  if (u.port === '0') return 'port 0';
  if (!/^\/?(\d{1,5})?$/.test(u.pathname)) return `the path must be a database number, not "${u.pathname}"`;
  return undefined;
}

/** Replica acknowledgement of writes, read by the processes whose writes must survive a failover. */
export const REPLICATION_ENV = {
  REDIS_MIN_REPLICAS: envInt(
    0,
    'Replicas that must acknowledge (Redis WAIT) an event before the ingress answers 200 and an outcome before the worker completes its job; /readyz is 503 while fewer are connected.',
    0,
    16,
  ),
} as const;

/** Runs `fn`; on ConfigError prints the message and exits 78 (EX_CONFIG), so a bad deploy fails loudly. */
export function configOrExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    exitOnConfigError(err);
  }
}

/** Prints a ConfigError (a RetryPolicyError is one) as one line and exits 78; rethrows anything else. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${(err as Error).message}\n`);
    process.exit(78);
  }
  throw err;
}
