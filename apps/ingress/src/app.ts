import type { Socket } from 'node:net';
import {
  type IngressMetrics,
  type RedisClient,
  type ReplicaMonitor,
  shardLayoutOf,
} from '@vod-callbacks/shared';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IngressConfig } from './config.js';
import {
  fromClientError,
  fromFastifyError,
  HTTP_ERRORS,
  HttpError,
  type HttpErrorCode,
  rawErrorResponse,
} from './errors.js';
import type { EventEnqueuer } from './event-enqueuer.js';
import { CALLBACK_PATH, callbackRoute } from './plugins/callback-route.js';
import { healthRoutes, READYZ_PING_TIMEOUT_MS } from './plugins/health-routes.js';
import { metricsRoute } from './plugins/metrics-route.js';
import { registerProtection } from './plugins/protection.js';
import { statusApi } from './plugins/status-api.js';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
/** Longest path segment a route parameter takes (a JobId in the status API); longer is 414. */
const MAX_PARAM_LENGTH = 1024;

/** What the ingress app needs; `main.ts` builds the real ones, tests their own. */
export interface IngressDeps {
  config: IngressConfig;
  enqueuer: EventEnqueuer;
  /** Connection for /readyz (the producer's). */
  redis: RedisClient;
  registry: Registry;
  metrics: IngressMetrics;
  /** With REDIS_MIN_REPLICAS > 0: the replica count /readyz checks. */
  replicas?: ReplicaMonitor;
  logger?: Logger;
  /** Extra plugins (the admin board) registered after the core routes. */
  extraPlugins?: ((app: FastifyInstance) => Promise<void>)[];
}

/** The built app and the switch that turns /readyz to 503 at the start of shutdown. */
export interface IngressApp {
  app: FastifyInstance;
  stopAccepting(): void;
}

/** Builds the Fastify app (not listening). */
export async function buildIngressApp(deps: IngressDeps): Promise<IngressApp> {
  const { config } = deps;
  deps.metrics.authEnabled.set(config.CALLBACK_AUTH === 'signature' ? 1 : 0);
  let accepting = true;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    // Per-request info logs cost more CPU than the enqueue itself; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.CALLBACK_BODY_LIMIT,
    // Slow-body (slowloris) protection: a request must arrive whole within this time.
    requestTimeout: config.SERVER_TIMEOUT_MS,
    http: {
      // Node enforces requestTimeout only when it sweeps connections (every 30 s by default), so a
      // trickling client could hold a socket for 40 s with a 10 s limit; sweep often enough to
      // cut it close to the limit. Headers get the same budget as the whole request.
      connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(config.SERVER_TIMEOUT_MS / 4))),
      headersTimeout: config.SERVER_TIMEOUT_MS,
      // Node would answer a request without Host with a bare 400 no handler sees; served like any
      // other instead (nothing here depends on the Host).
      requireHostHeader: false,
    },
    return503OnClosing: true,
    trustProxy: config.TRUST_PROXY,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A URL that does not decode, or a path parameter over MAX_PARAM_LENGTH: found before routing.
    frameworkErrors(err, _request, reply) {
      const code: HttpErrorCode = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'url_too_long' : 'bad_request';
      const { status, message } = HTTP_ERRORS[code];
      void (reply as FastifyReply).code(status).type('application/json').send({ error: code, message });
    },
    // Requests Node's parser refuses (a 20 KB header, `Content-Length: abc`, Transfer-Encoding with
    // Content-Length, a request not received in time) never reach a route: answer them in our format.
    clientErrorHandler(err: Error & { code?: string }, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      deps.logger?.debug({ err: err.message, code: err.code }, 'malformed request refused');
      if (socket.writable) socket.write(rawErrorResponse(fromClientError(err)));
      socket.destroy();
    },
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
    const code = err instanceof HttpError ? err.code : fromFastifyError(err);
    const { status } = HTTP_ERRORS[code];
    if (code === 'internal') request.log.error({ err }, 'unhandled error');
    if (status === 503) reply.header('retry-after', String(config.RETRY_AFTER_SECONDS));
    const message = err instanceof HttpError ? err.message : HTTP_ERRORS[code].message;
    return reply.code(status).type('application/json').send({ error: code, message });
  });
  // CONNECT never reaches Fastify: Node hands the socket to 'connect' listeners, or drops it unanswered.
  app.server.on('connect', (_request, socket: Socket) => {
    socket.end(rawErrorResponse('method_not_allowed'));
  });
  // A path we serve with another method is 405 with Allow (VOD and probes get told what is there);
  // any other path is 404. Decided in onRequest, before a body is read or parsed: a miss with a
  // body (empty, not JSON, over the limit) is still a miss.
  const missOf = (request: FastifyRequest, reply: FastifyReply): HttpError => {
    const url = request.url.split('?')[0] ?? '/';
    const allowed = HTTP_METHODS.filter((method) => app.hasRoute({ method, url }));
    if (allowed.length === 0) return new HttpError('not_found');
    reply.header('allow', allowed.join(', '));
    return new HttpError('method_not_allowed');
  };
  app.addHook('onRequest', (request, reply, done) =>
    done(request.is404 ? missOf(request, reply) : undefined),
  );
  app.setNotFoundHandler(async (request, reply) => {
    throw missOf(request, reply);
  });

  // The callback route gets its own context so rate limiting and load shedding apply to it alone.
  await app.register(async (scope) => {
    await registerProtection(scope, {
      ratePerMinute: config.RATE_LIMIT_PER_MINUTE,
      allowList: config.RATE_LIMIT_ALLOW_LIST,
      maxEventLoopDelayMs: config.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: config.LOAD_SHED_MAX_HEAP_BYTES,
      maxRssBytes: config.LOAD_SHED_MAX_RSS_BYTES,
      retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    });
    await scope.register(callbackRoute, {
      enqueuer: deps.enqueuer,
      metrics: deps.metrics,
      bodyLimit: config.CALLBACK_BODY_LIMIT,
      maxDepth: config.CALLBACK_MAX_DEPTH,
      signature: config.CALLBACK_PRIVATE_KEY
        ? {
            privateKey: config.CALLBACK_PRIVATE_KEY,
            ...(config.CALLBACK_PRIVATE_KEY_PREVIOUS
              ? { previousPrivateKey: config.CALLBACK_PRIVATE_KEY_PREVIOUS }
              : {}),
            callbackUrl: config.CALLBACK_PUBLIC_URL,
            maxAgeSeconds: config.CALLBACK_MAX_AGE_SECONDS,
          }
        : undefined,
    });
  });
  await app.register(healthRoutes, {
    redis: deps.redis,
    pingTimeoutMs: READYZ_PING_TIMEOUT_MS,
    isAccepting: () => accepting,
    replicas: deps.replicas,
  });
  await app.register(metricsRoute, { registry: deps.registry });
  if (config.STATUS_API_TOKEN) {
    await app.register(statusApi, {
      redis: deps.redis,
      layout: shardLayoutOf(config.QUEUE_PREFIX, config.EVENT_SHARDS),
      token: config.STATUS_API_TOKEN,
    });
  }
  for (const plugin of deps.extraPlugins ?? []) await plugin(app);

  return {
    app,
    stopAccepting() {
      accepting = false;
    },
  };
}

export { CALLBACK_PATH };
