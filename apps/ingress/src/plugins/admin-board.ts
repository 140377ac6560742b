import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import fastifyBasicAuth from '@fastify/basic-auth';
import type { ShardQueue } from '@vod-callbacks/shared';
import type { FastifyInstance } from 'fastify';
import { HTTP_ERRORS } from '../errors.js';

/** Where bull-board is mounted (DESIGN.md). */
export const ADMIN_BOARD_PATH = '/admin/queues';

/** Settings of the queue dashboard. */
export interface AdminBoardOptions {
  /** Basic-auth user (ADMIN_USER); the board is not mounted without both credentials. */
  user: string;
  /** Basic-auth password (ADMIN_PASSWORD). */
  password: string;
  /** ADMIN_READ_WRITE: allow retry/remove/promote actions. Off = bull-board's read-only mode. */
  readWrite: boolean;
  /** Queues shown on the board: every queue of the pipeline, in every shard. */
  queues: readonly ShardQueue[];
  /** EVENT_SHARDS: with more than one, each queue's name on the board starts with its shard. */
  shardCount: number;
  /** Mount path; ADMIN_BOARD_PATH by default. */
  basePath?: string;
}

// Hashing both sides first gives equal-length buffers, so timingSafeEqual never throws and the
// comparison time says nothing about the secret's length or how much of a guess matched.
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time check of a presented user/password pair. */
export function credentialsMatch(
  expected: { user: string; password: string },
  user: string,
  password: string,
) {
  const userOk = timingSafeEqual(digest(expected.user), digest(user));
  const passwordOk = timingSafeEqual(digest(expected.password), digest(password));
  // Both compared every time (no short circuit) so a right user with a wrong password costs the same.
  return userOk && passwordOk;
}

/**
 * Mounts bull-board at `/admin/queues` behind basic auth, in its own encapsulated scope so the auth
 * hook guards every board route (page, static assets, JSON API) and nothing else. Unauthenticated
 * requests get 401 with WWW-Authenticate and the ingress's JSON error shape. Read-only unless
 * `readWrite`: bull-board then hides the actions and its API refuses them.
 */
export async function registerAdminBoard(app: FastifyInstance, opts: AdminBoardOptions): Promise<void> {
  const basePath = opts.basePath ?? ADMIN_BOARD_PATH;
  const expected = { user: opts.user, password: opts.password };
  await app.register(async (scope) => {
    await scope.register(fastifyBasicAuth, {
      authenticate: { realm: 'vod-callbacks admin' },
      async validate(user, password) {
        if (!credentialsMatch(expected, user, password)) throw new Error('bad credentials');
      },
    });
    scope.addHook('onRequest', (request, reply, done) => {
      scope.basicAuth(request, reply, (err?: Error) => {
        if (!err) return done();
        // basicAuth has set WWW-Authenticate already; answer here (not via the error handler, which
        // inside bull-board's scope would render its own 500-style body).
        request.log.info({ path: request.url.split('?')[0] }, 'admin board: authentication failed');
        reply
          .code(401)
          .type('application/json')
          .send({ error: 'unauthorized', message: HTTP_ERRORS.unauthorized.message });
      });
    });

    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(basePath);
    createBullBoard({
      queues: opts.queues.map(
        ({ shard, queue }) =>
          new BullMQAdapter(queue, {
            readOnlyMode: !opts.readWrite,
            ...(opts.shardCount > 1 && { prefix: `shard-${shard}/` }),
          }),
      ),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'vod-callbacks' } },
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: basePath });
  });
}
