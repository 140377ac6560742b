import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { onlineReplicas, ReplicaAcknowledger, ReplicationTimeoutError } from './replication.js';

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

describe('ReplicaAcknowledger', () => {
  /** A connection whose WAITs are answered only when the test says (or never). */
  function fakeConnection() {
    const waits: Array<(acked: number) => void> = [];
    const redis = { wait: () => new Promise<number>((resolve) => waits.push(resolve)) } as unknown as Redis;
    return { redis, waits };
  }

  it('a WAIT that never answers does not hold later callers: each round ends at its own deadline', async () => {
    const { redis, waits } = fakeConnection();
    let short = 0;
    const acknowledger = new ReplicaAcknowledger(redis, 1, () => short++);
    await expect(acknowledger.confirm(20)).rejects.toBeInstanceOf(ReplicationTimeoutError);
    // The first WAIT is still unanswered; a second caller gets a WAIT of its own and its answer.
    const second = acknowledger.confirm(1000);
    await new Promise((r) => setTimeout(r, 5));
    expect(waits).toHaveLength(2);
    waits[1]!(1);
    await expect(second).resolves.toBeUndefined();
    // The first WAIT's late answer changes nothing.
    waits[0]!(0);
    expect(short).toBe(1);
  });

  it('callers asking while a WAIT runs share the next one', async () => {
    const { redis, waits } = fakeConnection();
    const acknowledger = new ReplicaAcknowledger(redis, 2);
    const first = acknowledger.confirm(1000);
    const queued = [acknowledger.confirm(1000), acknowledger.confirm(1000)];
    expect(waits).toHaveLength(1);
    waits[0]!(2);
    await first;
    await new Promise((r) => setTimeout(r, 0));
    expect(waits).toHaveLength(2);
    waits[1]!(1);
    for (const p of queued) await expect(p).rejects.toMatchObject({ acknowledged: 1, required: 2 });
  });
});
