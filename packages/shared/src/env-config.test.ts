import { describe, expect, it } from 'vitest';
import { COMMON_ENV, ConfigError, envBool, envEnum, envInt, envString, loadConfig } from './env-config.js';

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
