import { describe, expect, it } from 'vitest';
import {
  COMMON_ENV,
  ConfigError,
  envBool,
  envEnum,
  envInt,
  envString,
  loadConfig,
  redisUrlProblem,
} from './env-config.js';
import { NOT_IMPLEMENTED_ENV } from './not-implemented-env.js';

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
    [{ MODE: 'c' }, /MODE="c" is invalid/],
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

describe('variables of the contract this build does not implement', () => {
  // Generated from the table, so the test keeps up as features land and their lines leave it.
  const names = NOT_IMPLEMENTED_ENV.map((e) => e.name.replace(/\*$/, 'X'));
  it.each(names)('refuses %s when set, saying it is not implemented', (name) => {
    expect(() => loadConfig(SPEC, { [name]: 'x' })).toThrow(ConfigError);
    expect(() => loadConfig(SPEC, { [name]: 'x' })).toThrow(
      new RegExp(`^${name} is set, but .* is not implemented in this build yet`),
    );
    expect(() => loadConfig(SPEC, { [name]: '' })).not.toThrow();
  });

  it.skipIf(names.length === 0)('accepts one a spec declares (implemented, whatever the table says)', () => {
    const name = names[0] ?? '';
    const spec = { ...SPEC, [name]: envInt(1, 'a declared variable', 1, 64) };
    expect(loadConfig(spec, { [name]: '2' })[name]).toBe(2);
  });

  it('lists each name once', () => {
    expect(new Set(names).size).toBe(names.length);
  });
});
