import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const COALESCING = Symbol('coalescing');

/**
 * Makes every command `redis` sends in one event-loop turn leave in one socket write: the socket is
 * corked at the turn's first command and uncorked in `setImmediate`. ioredis otherwise writes each
 * command on its own, and on a busy box that `write` syscall (on loopback it also runs the
 * receiver's side) is the largest single cost of a command. Unlike `enableAutoPipelining` this
 * allocates nothing per batch; replies and errors are per command, as before. Applies to commands
 * BullMQ sends over the same connection too. Idempotent.
 */
export function coalesceWrites(redis: Redis): Redis {
  const target = redis as Redis & { [COALESCING]?: true; stream?: Socket };
  if (target[COALESCING]) return redis;
  target[COALESCING] = true;
  const send = redis.sendCommand.bind(redis);
  let corked: Socket | undefined;
  const uncork = () => {
    const stream = corked;
    corked = undefined;
    stream?.uncork();
  };
  redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    if (!corked && redis.status === 'ready' && target.stream) {
      corked = target.stream;
      corked.cork();
      setImmediate(uncork);
    }
    return send(...args);
  }) as Redis['sendCommand'];
  return redis;
}
