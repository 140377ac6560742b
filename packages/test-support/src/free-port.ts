import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports handed out below the kernel's ephemeral range: a server a test stops and starts again on
 * its port (a restarted Redis, a webhook receiver that was down) cannot find it taken by the local
 * end of some outgoing connection meanwhile, which an ephemeral port can be (seen in CI:
 * EADDRINUSE when the receiver came back).
 */
const RANGE = (() => {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
  } catch {
    // Not Linux: keep the usual lower bound.
  }
  const high = Math.min(ephemeralLow, 32768);
  return { low: Math.min(20000, high - 2000), high };
})();

/** Whether `port` (0: any) can be listened on at 127.0.0.1 now; resolves the port that was bound. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(bound));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral range when one is free there. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await tryListen(RANGE.low + Math.floor(Math.random() * (RANGE.high - RANGE.low)));
    if (port) return port;
  }
  const any = await tryListen(0);
  if (!any) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}
