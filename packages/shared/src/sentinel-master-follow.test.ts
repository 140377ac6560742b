import { describe, expect, it } from 'vitest';
import { parseSentinelMaster, runIdOf } from './sentinel-master-follow.js';

describe('reading what the Sentinels and the servers say', () => {
  it('parses a SENTINEL MASTER reply into run id, address and flags', () => {
    const reply = ['name', 'vod', 'ip', '10.0.0.7', 'port', '6380', 'runid', 'ab12', 'flags', 'master'];
    expect(parseSentinelMaster(reply)).toEqual({ runId: 'ab12', address: '10.0.0.7:6380', flags: 'master' });
  });

  it('gives an empty run id until the Sentinel has read the master, and nothing for a reply without an address', () => {
    expect(
      parseSentinelMaster(['name', 'vod', 'ip', '10.0.0.7', 'port', '6380', 'runid', '', 'flags', 'master']),
    ).toMatchObject({ runId: '' });
    expect(parseSentinelMaster(['name', 'vod'])).toBeUndefined();
    expect(parseSentinelMaster('ERR No such master with that name')).toBeUndefined();
  });

  it('reads run_id from INFO server', () => {
    const info = '# Server\r\nredis_version:7.0.15\r\nrun_id:0f3c9e1a2b\r\ntcp_port:6379\r\n';
    expect(runIdOf(info)).toBe('0f3c9e1a2b');
    expect(runIdOf('# Server\r\nredis_version:7.0.15\r\n')).toBeUndefined();
  });
});
