/** One line of `CLUSTER NODES`, as far as the test helpers need it. */
export interface ClusterNodeEntry {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** Marked failed or suspected (`fail`, `fail?`), or not a full member yet (`handshake`, `noaddr`). */
  failing: boolean;
  /** Id of the master a replica follows; undefined for a master. */
  masterId: string | undefined;
  /** Slot ranges owned, inclusive; migrating and importing markers are left out. */
  slots: [number, number][];
}

/** A master that serves slots, as the cluster handle reports it. */
export interface ClusterMaster {
  port: number;
  /** Inclusive slot ranges, ascending. */
  slots: [number, number][];
  /** Ports of its replicas that are not marked failing. */
  replicas: number[];
}

const NOT_A_MEMBER = new Set(['fail', 'fail?', 'handshake', 'noaddr']);

/** Parses the text of `CLUSTER NODES` (`<id> <ip:port@cport[,host]> <flags> <master> … <slot>…`). */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  const entries: ClusterNodeEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const [id, address, flagList, master] = fields as [string, string, string, string];
    const port = Number(/:(\d+)@/.exec(address)?.[1]);
    if (!Number.isInteger(port)) throw new Error(`CLUSTER NODES line without a port: ${line}`);
    const flags = flagList.split(',');
    const slots: [number, number][] = [];
    // `[slot->-id]` and `[slot-<-id]` mark a slot moving; it is still served by its current owner's range.
    for (const s of fields.slice(8).filter((f) => !f.startsWith('['))) {
      const [from, to = from] = s.split('-').map(Number) as [number, number?];
      slots.push([from, to]);
    }
    entries.push({
      id,
      port,
      role: flags.includes('master') ? 'master' : 'replica',
      failing: flags.some((f) => NOT_A_MEMBER.has(f)),
      masterId: master === '-' ? undefined : master,
      slots: slots.sort((a, b) => a[0] - b[0]),
    });
  }
  return entries;
}

/** Masters that serve at least one slot, with their replicas, in slot order. */
export function servingMasters(entries: readonly ClusterNodeEntry[]): ClusterMaster[] {
  return entries
    .filter((e) => e.role === 'master' && e.slots.length > 0)
    .map((m) => ({
      port: m.port,
      slots: m.slots,
      replicas: entries
        .filter((r) => r.masterId === m.id && !r.failing)
        .map((r) => r.port)
        .sort((a, b) => a - b),
    }))
    .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
}

/** Port of the master serving `slot`, or undefined when no master claims it. */
export function ownerOfSlot(entries: readonly ClusterNodeEntry[], slot: number): number | undefined {
  return entries.find((e) => e.role === 'master' && e.slots.some(([from, to]) => slot >= from && slot <= to))
    ?.port;
}
