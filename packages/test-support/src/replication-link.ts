import type { Redis } from 'ioredis';

const REPL_USER = 'repl';
const REPL_PASSWORD = 'repl-secret';

/**
 * `redis-server` arguments that give a node the ACL user replicas log in with, and make it log in
 * with that user when it is a replica. Every node gets them, so any of them can be promoted and the
 * others follow it; only `cutReplicationLinks` ever disables the user.
 */
export const REPLICATION_LOGIN_ARGS: readonly string[] = [
  '--user',
  REPL_USER,
  'on',
  `>${REPL_PASSWORD}`,
  '~*',
  '&*',
  '+@all',
  '--masteruser',
  REPL_USER,
  '--masterauth',
  REPL_PASSWORD,
];

/**
 * Cuts the replication links of the master `admin` is connected to, so that its later writes exist
 * on it alone: the replicas' login is disabled on it (`ACL SETUSER repl off`), then their
 * connections are killed. A replica reconnects within a second, and a partial resync would hand it
 * every write made meanwhile; refused at login, it stays behind, as a replica across a broken
 * network would.
 */
export async function cutReplicationLinks(admin: Redis): Promise<void> {
  await admin.call('ACL', 'SETUSER', REPL_USER, 'off');
  await admin.call('CLIENT', 'KILL', 'TYPE', 'replica');
}

/** How many replicas a master's `INFO replication` lists as online. */
export function onlineReplicaCount(replicationInfo: string): number {
  return [...replicationInfo.matchAll(/^slave\d+:.*state=online/gm)].length;
}
