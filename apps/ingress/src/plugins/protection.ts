import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors.js';

/** Rate limit and load shedding of the callback route (0 turns a limit off). */
export interface ProtectionOptions {
  /** Callbacks per client IP per minute; 0 = no limit. */
  ratePerMinute: number;
  /** Client IPs never limited. */
  allowList: readonly string[];
  /** Shed while the mean event-loop delay (ms) exceeds this; 0 = off. */
  maxEventLoopDelayMs: number;
  /** Shed while the V8 heap exceeds this (bytes); 0 = off. */
  maxHeapUsedBytes: number;
  /** Shed while RSS exceeds this (bytes); 0 = off. */
  maxRssBytes: number;
  /** Retry-After of shed requests (seconds). */
  retryAfterSeconds: number;
}

/** The 503 under-pressure throws; the app's error handler renders it (JSON + Retry-After). */
class OverloadedError extends HttpError {
  constructor() {
    super('overloaded');
  }
}

/**
 * Registers rate limiting and load shedding in `scope` (the callback route's context only: health,
 * readiness and metrics must keep answering under load). Both answer with the error registry's
 * JSON, and the route's onResponse hook counts them (`rate_limited`, `unavailable`).
 */
export async function registerProtection(scope: FastifyInstance, opts: ProtectionOptions): Promise<void> {
  if (opts.ratePerMinute > 0) {
    await scope.register(rateLimit, {
      max: opts.ratePerMinute,
      timeWindow: 60_000,
      allowList: [...opts.allowList],
      // In-process counters: a Redis-backed store would turn a Redis outage into 500s on this path.
      errorResponseBuilder: () => new HttpError('rate_limited'),
    });
  }
  if (opts.maxEventLoopDelayMs > 0 || opts.maxHeapUsedBytes > 0 || opts.maxRssBytes > 0) {
    await scope.register(underPressure, {
      maxEventLoopDelay: opts.maxEventLoopDelayMs,
      maxHeapUsedBytes: opts.maxHeapUsedBytes,
      maxRssBytes: opts.maxRssBytes,
      retryAfter: opts.retryAfterSeconds,
      customError: OverloadedError,
    });
  }
}
