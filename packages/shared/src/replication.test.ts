import { describe, expect, it } from 'vitest';
import { onlineReplicas } from './replication.js';

describe('onlineReplicas', () => {
  it('counts the replicas online and acknowledging (lag within MAX_REPLICA_LAG_SECONDS)', () => {
    const info = [
      '# Replication',
      'role:master',
      'connected_slaves:4',
      'slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0',
      'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0',
      'slave2:ip=127.0.0.1,port=7003,state=online,offset=42,lag=1',
      'slave3:ip=127.0.0.1,port=7004,state=online,offset=40,lag=9',
      'master_replid:abc',
    ].join('\r\n');
    expect(onlineReplicas(info)).toBe(2);
    expect(onlineReplicas('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')).toBe(0);
  });
});
