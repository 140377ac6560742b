import { describe, expect, it } from 'vitest';
import { ownerOfSlot, parseClusterNodes, servingMasters } from './cluster-topology.js';

// CLUSTER NODES after a failover: 30003 was killed, 30006 took its slots, 30009 follows 30006; 30001
// is moving slot 100 to 30002, and 30002 serves a single extra slot.
const AFTER_FAILOVER = [
  'a1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 [100->-b2]',
  'b2 127.0.0.1:30002@40002 master - 0 1700000000000 2 connected 5461-10922 [100-<-a1] 16000',
  'c3 127.0.0.1:30003@40003 master,fail - 1700000000000 1700000000000 3 disconnected',
  'd4 127.0.0.1:30004@40004,node-4 slave a1 0 1700000000000 1 connected',
  'e5 127.0.0.1:30005@40005 slave b2 0 1700000000000 2 connected',
  'f6 127.0.0.1:30006@40006 master - 0 1700000000000 7 connected 10923-15999 16001-16383',
  'g7 127.0.0.1:30007@40007 slave a1 0 1700000000000 1 connected',
  'h8 127.0.0.1:30008@40008 slave,fail? b2 0 1700000000000 2 connected',
  'i9 127.0.0.1:30009@40009 slave f6 0 1700000000000 7 connected',
  '',
].join('\n');

describe('parseClusterNodes', () => {
  const entries = parseClusterNodes(AFTER_FAILOVER);

  it('reads port, role, master and failure flags of every line', () => {
    expect(entries).toHaveLength(9);
    expect(entries.find((e) => e.port === 30004)).toMatchObject({
      role: 'replica',
      masterId: 'a1',
      failing: false,
    });
    expect(entries.find((e) => e.port === 30003)).toMatchObject({ role: 'master', failing: true, slots: [] });
    expect(entries.find((e) => e.port === 30008)?.failing).toBe(true);
  });

  it('reads slot ranges and single slots, leaving migration markers out', () => {
    expect(entries.find((e) => e.port === 30001)?.slots).toEqual([[0, 5460]]);
    expect(entries.find((e) => e.port === 30002)?.slots).toEqual([
      [5461, 10922],
      [16000, 16000],
    ]);
  });

  it('rejects a line it cannot read a port from', () => {
    expect(() => parseClusterNodes('a1 garbage myself,master - 0 0 1 connected 0-5460')).toThrow(
      /without a port/,
    );
  });
});

describe('servingMasters / ownerOfSlot', () => {
  const entries = parseClusterNodes(AFTER_FAILOVER);

  it('lists masters with slots in slot order, with their replicas that are not failing', () => {
    expect(servingMasters(entries)).toEqual([
      { port: 30001, slots: [[0, 5460]], replicas: [30004, 30007] },
      {
        port: 30002,
        slots: [
          [5461, 10922],
          [16000, 16000],
        ],
        replicas: [30005],
      },
      {
        port: 30006,
        slots: [
          [10923, 15999],
          [16001, 16383],
        ],
        replicas: [30009],
      },
    ]);
  });

  it('names the owner of a slot at range edges, and none for an unserved slot', () => {
    expect(ownerOfSlot(entries, 0)).toBe(30001);
    expect(ownerOfSlot(entries, 5461)).toBe(30002);
    expect(ownerOfSlot(entries, 16000)).toBe(30002);
    expect(ownerOfSlot(entries, 16383)).toBe(30006);
    expect(ownerOfSlot(parseClusterNodes(AFTER_FAILOVER.replace(' 16001-16383', '')), 16383)).toBeUndefined();
  });
});
