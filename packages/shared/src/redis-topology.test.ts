import { describe, expect, it } from 'vitest';
import { ConfigError } from './env-config.js';
import { describeTopology, parseHostPorts, redisTopologyOf } from './redis-topology.js';

const settings = (over: Partial<Record<string, string>> = {}) => ({
  REDIS_URL: 'redis://:secret@127.0.0.1:6379/2',
  REDIS_SENTINELS: '',
  REDIS_SENTINEL_MASTER: '',
  REDIS_SENTINEL_PASSWORD: '',
  REDIS_CLUSTER_NODES: '',
  ...over,
});

describe('redisTopologyOf', () => {
  it('is standalone without Sentinels', () => {
    const t = redisTopologyOf(settings());
    expect(t).toEqual({ kind: 'standalone', url: 'redis://:secret@127.0.0.1:6379/2' });
    expect(describeTopology(t)).toBe('standalone redis://:***@127.0.0.1:6379/2');
  });

  it('is sentinel with a list and a master name; the URL stays for the data nodes', () => {
    const t = redisTopologyOf(
      settings({
        REDIS_SENTINELS: 'a.example:26379, 10.0.0.2:26380,[::1]:26381',
        REDIS_SENTINEL_MASTER: 'vod',
        REDIS_SENTINEL_PASSWORD: 'sp',
      }),
    );
    expect(t).toEqual({
      kind: 'sentinel',
      url: 'redis://:secret@127.0.0.1:6379/2',
      masterName: 'vod',
      sentinelPassword: 'sp',
      sentinels: [
        { host: 'a.example', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
    });
    expect(describeTopology(t)).toBe('sentinel master "vod" via a.example:26379,10.0.0.2:26380,::1:26381');
    expect(describeTopology(t)).not.toContain('sp');
  });

  it('refuses an incomplete or malformed Sentinel setting, naming the variable', () => {
    expect(() => redisTopologyOf(settings({ REDIS_SENTINELS: 'h:1' }))).toThrow(/REDIS_SENTINEL_MASTER/);
    expect(() => redisTopologyOf(settings({ REDIS_SENTINEL_MASTER: 'vod' }))).toThrow(/REDIS_SENTINELS/);
    for (const bad of ['host', 'host:', 'host:0', 'host:70000', 'a b:1'])
      expect(() => parseHostPorts('REDIS_SENTINELS', bad), bad).toThrow(ConfigError);
  });

  it('is cluster with REDIS_CLUSTER_NODES; refuses Sentinels beside it and a database other than 0', () => {
    const t = redisTopologyOf(
      settings({ REDIS_URL: 'rediss://u:pw@ignored:1', REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001' }),
    );
    expect(t).toEqual({
      kind: 'cluster',
      url: 'rediss://u:pw@ignored:1',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
    });
    expect(describeTopology(t)).toBe('cluster via 10.0.0.1:7000,10.0.0.2:7001');
    expect(() =>
      redisTopologyOf(
        settings({ REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 'b:2', REDIS_SENTINEL_MASTER: 'm' }),
      ),
    ).toThrow(/REDIS_CLUSTER_NODES and REDIS_SENTINELS/);
    expect(() => redisTopologyOf(settings({ REDIS_CLUSTER_NODES: 'a:1' }))).toThrow(
      /database 2.*only database 0/,
    );
    expect(() => redisTopologyOf(settings({ REDIS_CLUSTER_NODES: 'a' }))).toThrow(
      /REDIS_CLUSTER_NODES entry "a"/,
    );
  });
});
