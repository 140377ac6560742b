import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  COMMON_ENV,
  ConfigError,
  envBool,
  envEnum,
  envInt,
  envList,
  envString,
  exitOnConfigError,
  loadConfig,
  redisUrlProblem,
} from './env-config.js';
import { RetryPolicyError } from './retry-policy.js';

const SPEC = {
  ...COMMON_ENV,
  PORT: envInt(3000, 'port', 0, 65535),
  FLAG: envBool(false, 'flag'),
  MODE: envEnum(['a', 'b'], 'a', 'mode'),
  SOME_SECRET_KEY: envString('', 'secret', { pattern: '^[a-z]*$' }),
};

describe('loadConfig', () => {
  it('applies defaults and returns a frozen object', () => {
    const c = loadConfig(SPEC, {});
    expect(c).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'vod',
      PORT: 3000,
      FLAG: false,
      MODE: 'a',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('converts strings to numbers and booleans', () => {
    const c = loadConfig(SPEC, { PORT: '8080', FLAG: 'true', MODE: 'b' });
    expect(c.PORT).toBe(8080);
    expect(c.FLAG).toBe(true);
    expect(c.MODE).toBe('b');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT="eighty" is not a number/],
    [{ PORT: '70000' }, /PORT=70000 is invalid/],
    [{ FLAG: 'maybe' }, /FLAG="maybe" must be true or false/],
    [{ MODE: 'c' }, /MODE="c" is invalid: use one of a, b \(mode\)/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL="http:\/\/x" is invalid/],
    [{ REDIS_URL: 'redis://' }, /REDIS_URL="redis:\/\/" is invalid: no host/],
    [{ REDIS_URL: 'redis://127.0.0.1:99999' }, /REDIS_URL=.* is invalid: not a URL/],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379/x' },
      /REDIS_URL=.* is invalid: the path must be a database number/,
    ],
    [{ QUEUE_PREFIX: '' }, /QUEUE_PREFIX/],
  ])('names the variable of a bad value: %j', (env, message) => {
    expect(() => loadConfig(SPEC, env)).toThrow(ConfigError);
    expect(() => loadConfig(SPEC, env)).toThrow(message);
  });

  it('does not echo secret values', () => {
    expect(() => loadConfig(SPEC, { SOME_SECRET_KEY: 'HUNTER2' })).toThrow(/SOME_SECRET_KEY=\(hidden\)/);
    expect(() => loadConfig(SPEC, { SOME_SECRET_KEY: 'HUNTER2' })).not.toThrow(/HUNTER2/);
  });
});

describe('REDIS_URL', () => {
  it.each([
    'redis://127.0.0.1:6379',
    'redis://redis',
    'rediss://:secret@redis.example.com:6380/2',
    'redis://user:pw@[::1]:6379/0',
  ])('accepts %s', (url) => {
    expect(redisUrlProblem(url)).toBeUndefined();
  });

  it('does not echo the password of a refused URL', () => {
    expect(() => loadConfig(SPEC, { REDIS_URL: 'redis://:hunter2@h:6379/x' })).not.toThrow(/hunter2/);
  });
});

describe('exitOnConfigError', () => {
  afterEach(() => vi.restoreAllMocks());

  it('stops with 78 on a ConfigError and a RetryPolicyError (matched by class), rethrows anything else', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(() =>
      exitOnConfigError(new RetryPolicyError('RETRY_POLICY_FILE x: must be a JSON object')),
    ).toThrow('exit 78');
    expect(stderr).toHaveBeenCalledWith('configuration error: RETRY_POLICY_FILE x: must be a JSON object\n');
    expect(() => exitOnConfigError(new ConfigError('REDIS_URL=…'))).toThrow('exit 78');
    // An error merely named like one is not a configuration problem.
    const impostor = Object.assign(new Error('boom'), { name: 'RetryPolicyError' });
    expect(() => exitOnConfigError(impostor)).toThrow('boom');
    expect(exit).toHaveBeenCalledTimes(2);
  });
});

describe('list variables', () => {
  const spec = {
    TYPES: envList(['A'], 'types', { minItems: 1 }),
    IPS: envList([], 'ips', { pattern: '^[0-9.]+$' }),
  };

  it('are split at load time: trimmed, empty items dropped, unset or empty = the default', () => {
    expect(loadConfig(spec, { TYPES: ' A , B,,', IPS: '10.0.0.1,10.0.0.2' })).toEqual({
      TYPES: ['A', 'B'],
      IPS: ['10.0.0.1', '10.0.0.2'],
    });
    expect(loadConfig(spec, { TYPES: '', IPS: '' })).toEqual({ TYPES: ['A'], IPS: [] });
  });

  it('refuse a list with too few items or a bad item, naming the variable', () => {
    expect(() => loadConfig(spec, { TYPES: ' , ' })).toThrow(/^TYPES=\[\] is invalid/);
    expect(() => loadConfig(spec, { IPS: '10.0.0.1,host' })).toThrow(/^IPS=\["10.0.0.1","host"\] is invalid/);
  });
});
