import { createHash, timingSafeEqual } from 'node:crypto';
import {
  lookupUploadStatusInShards,
  type RedisClient,
  type ShardLayout,
  type UploadLookup,
  uploadStatusBody,
} from '@vod-callbacks/shared';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';
import { STATUS_OPENAPI } from '../status-openapi.js';

export interface StatusApiOptions {
  redis: RedisClient;
  /** The event shards (QUEUE_PREFIX and EVENT_SHARDS) whose state is looked up. */
  layout: ShardLayout;
  /** STATUS_API_TOKEN: the bearer token every request must carry. */
  token: string;
}

/** Routes of the status API. */
export const STATUS_API_PATHS = {
  upload: '/v1/uploads/:jobId',
  uploads: '/v1/uploads',
  openapi: '/v1/openapi.json',
};

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The status API: the latest state of an upload by JobId or by source, the same data `vodctl
 * status` shows, and its OpenAPI description. Every route needs `Authorization: Bearer <token>`;
 * the token is compared in constant time (digests of equal length, so neither the content nor the
 * length of a wrong token shows in the timing).
 */
export const statusApi: FastifyPluginAsync<StatusApiOptions> = async (app, opts) => {
  if (opts.token.length === 0) throw new Error('statusApi needs a token');
  const expected = digest(opts.token);

  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const header = request.headers.authorization ?? '';
    const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
    if (!timingSafeEqual(digest(given), expected) || given.length === 0) {
      reply.header('www-authenticate', 'Bearer realm="vod-callbacks status"');
      throw new HttpError('unauthorized');
    }
  });

  const answer = async (lookup: UploadLookup) => {
    let state: Record<string, string> | undefined;
    try {
      state = await lookupUploadStatusInShards(opts.redis, opts.layout, lookup);
    } catch (err) {
      // Redis down or too slow: a lookup to retry later, not an internal error.
      app.log.warn({ err: (err as Error).message }, 'status lookup failed');
      throw new HttpError('unavailable');
    }
    if (!state) throw new HttpError('upload_not_found');
    return uploadStatusBody(state);
  };

  app.get<{ Params: { jobId: string } }>(STATUS_API_PATHS.upload, async (request) =>
    answer({ jobId: request.params.jobId }),
  );

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
    STATUS_API_PATHS.uploads,
    async (request) => {
      const { spaceName, sourceUrl, callbackArgs } = request.query;
      if (typeof spaceName !== 'string' || !spaceName || typeof sourceUrl !== 'string' || !sourceUrl) {
        throw new HttpError('invalid_query');
      }
      if (callbackArgs !== undefined && typeof callbackArgs !== 'string')
        throw new HttpError('invalid_query');
      return answer({ spaceName, sourceUrl, callbackArgs });
    },
  );

  app.get(STATUS_API_PATHS.openapi, async () => STATUS_OPENAPI);
};
