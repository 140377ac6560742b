import {
  checkCallbackSignature,
  collapsedCodeOf,
  type IngressMetrics,
  type ReceiveResult,
  ReplicationTimeoutError,
  SIGNATURE_HEADER,
  type SignatureSettings,
  TIMESTAMP_HEADER,
} from '@vod-callbacks/shared';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { acceptCallbackBody } from '../callback-body.js';
import { HttpError } from '../errors.js';
import { EnqueueUnavailableError, type EventEnqueuer } from '../event-enqueuer.js';
import type { AddResult } from '../event-job-writer.js';

declare module 'fastify' {
  interface FastifyReply {
    /** `received_total` result when the status alone does not tell it (a 503 for want of replicas). */
    receiveResult: ReceiveResult | null;
  }
}

/** Path VOD posts callbacks to. */
export const CALLBACK_PATH = '/callbacks/vod';

export interface CallbackRouteOptions {
  enqueuer: EventEnqueuer;
  metrics: IngressMetrics;
  bodyLimit: number;
  maxDepth: number;
  /** Present when callbacks must be signed. */
  signature?: SignatureSettings;
}

/** `received_total{result}` for an HTTP status of the callback route. */
export function receiveResultOf(status: number): ReceiveResult {
  switch (status) {
    case 200:
      return 'accepted';
    case 401:
      return 'unauthorized';
    case 413:
      return 'too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'error' : 'invalid';
  }
}

const isIdentity = (encoding: string) =>
  encoding.split(',').every((token) => ['', 'identity'].includes(token.trim().toLowerCase()));

/**
 * POST /callbacks/vod: authenticate, check, store, and only then answer 200. The body is kept as
 * raw bytes (signature over the exact bytes; the job stores the text as received).
 */
export const callbackRoute: FastifyPluginAsync<CallbackRouteOptions> = async (
  app: FastifyInstance,
  opts: CallbackRouteOptions,
) => {
  const { enqueuer, metrics, maxDepth, signature } = opts;
  // Only JSON is ours: every other content type (text/plain included) gets 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: opts.bodyLimit },
    (_req, body, done) => done(null, body),
  );

  // VOD sends JSON uncompressed; a compressed body would fail as "not UTF-8" (400, which VOD retries
  // in vain), so any Content-Encoding but identity is refused before the body is read.
  app.addHook('onRequest', (request, _reply, done) => {
    const encoding = request.headers['content-encoding'];
    done(
      encoding === undefined || isIdentity(encoding)
        ? undefined
        : new HttpError('unsupported_content_encoding'),
    );
  });

  app.decorateReply('receiveResult', null);
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (_request, reply, done) => {
    metrics.ackSeconds.observe(reply.elapsedTime / 1000);
    metrics.received.inc({ result: reply.receiveResult ?? receiveResultOf(reply.statusCode) });
    done();
  });

  app.post(CALLBACK_PATH, async (request, reply) => {
    const raw = request.body as Buffer | undefined;
    if (!raw) throw new HttpError('empty_body');
    if (signature) {
      const check = checkCallbackSignature(
        signature,
        request.headers[TIMESTAMP_HEADER],
        request.headers[SIGNATURE_HEADER],
        raw,
      );
      if (!check.ok) throw new HttpError(check.problem);
      metrics.signatureKey.inc({ key: check.key });
    }
    // The parsed form only picks the shard: nothing after the await refers to it, so it is garbage
    // before Redis answers (held across the await, it measurably raised the ingress's CPU per ack).
    const { requestId, text, event } = acceptCallbackBody(raw, maxDepth);
    const shard = enqueuer.shardOf(event);
    const code = collapsedCodeOf(event);
    let stored: AddResult;
    try {
      stored = await enqueuer.enqueue(requestId, text, Date.now(), shard);
    } catch (err) {
      if (err instanceof EnqueueUnavailableError) {
        request.log.warn({ requestId, err: err.message }, 'event not stored; answering 503');
        throw new HttpError('unavailable');
      }
      if (err instanceof ReplicationTimeoutError) {
        request.log.warn({ requestId, err: err.message }, 'event not on enough replicas; answering 503');
        reply.receiveResult = 'replication_timeout';
        throw new HttpError('replication_timeout');
      }
      throw err;
    }
    // A redelivery of a job BullMQ still holds: stored once already, so no worker sees this copy.
    // Tallied for the workers to count (class duplicate); the callback is acknowledged either way.
    if (stored === 'duplicate')
      await enqueuer
        .tallyDuplicate(shard, code)
        .catch((err: Error) =>
          request.log.warn({ requestId, err: err.message }, 'redelivery not tallied for the duplicate count'),
        );
    return reply.type('application/json').send(`{"ok":true,"requestId":${JSON.stringify(requestId)}}`);
  });
};
