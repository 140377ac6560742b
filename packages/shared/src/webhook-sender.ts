import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { reuploadDelayMs } from './backoff.js';
import { guardedLookup, hostOf, isPrivateAddress, WebhookTargetError } from './webhook-target.js';

/** What one delivery attempt came to: delivered (2xx), worth retrying, or refused for good. */
export type DeliveryVerdict = 'delivered' | 'retry' | 'rejected';

/** One delivery attempt, as kept in logs and dead letters. */
export interface DeliveryAttempt {
  verdict: DeliveryVerdict;
  /** HTTP status, when an answer came. */
  status?: number;
  /** From a Retry-After header, when the answer had a usable one. */
  retryAfterMs?: number;
  /** The start of the answer's body (at most EXCERPT_CHARS), or the network error. */
  excerpt: string;
  durationMs: number;
}

/** Most characters of a receiver's answer kept (logs, dead letters): enough to see what it said. */
export const EXCERPT_CHARS = 256;
/** Most bytes of an answer read before the connection is dropped. */
const MAX_READ_BYTES = 64 * 1024;
/** The longest Retry-After honoured. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * The verdict for an HTTP status: 2xx delivered; 408, 429 and 5xx retried (the receiver is busy or
 * broken for now); anything else (other 4xx, and 3xx, since redirects are not followed) rejected.
 */
export function verdictOfStatus(status: number): DeliveryVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

/** Retry-After as milliseconds (delay-seconds or an HTTP date), capped; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * Delay before retry `retry` (1 = the first retry) of a delivery: exponential from `baseMs`, capped
 * at `capMs`, with jitter (50–100 % of it) so deliveries that failed together do not come back
 * together; never shorter than the receiver's Retry-After.
 */
export function webhookRetryDelayMs(
  retry: number,
  baseMs: number,
  capMs: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const delay = reuploadDelayMs(retry, baseMs, random, capMs);
  return retryAfterMs === undefined ? delay : Math.max(delay, retryAfterMs);
}

/** Options of `postWebhook`. */
export interface PostWebhookOptions {
  /** Whole-request budget: connect, send, answer. */
  timeoutMs: number;
  /** OUTCOME_WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
}

// Keep-alive: a backlog of deliveries to one destination reuses its connections.
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });

/**
 * POSTs one signed webhook and never throws: every failure is a verdict. Redirects are not
 * followed (a 3xx is rejected), the answer is read up to 64 KiB and only its start kept, and the
 * address connected to is checked against private ranges at send time (see guardedLookup).
 */
export function postWebhook(
  url: URL,
  body: string,
  headers: Record<string, string>,
  options: PostWebhookOptions,
): Promise<DeliveryAttempt> {
  // An address literal never goes through lookup: check it here.
  const host = hostOf(url);
  if (isIP(host) && !options.allowPrivate && isPrivateAddress(host)) {
    return Promise.resolve({
      verdict: 'rejected',
      excerpt: `${host} is a private address (OUTCOME_WEBHOOK_ALLOW_PRIVATE is not set)`,
      durationMs: 0,
    });
  }
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (attempt: Omit<DeliveryAttempt, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...attempt, durationMs: elapsed() });
    };
    const failed = (err: Error) =>
      finish({
        // A refused address stays refused; network errors and timeouts may pass.
        verdict: err instanceof WebhookTargetError ? 'rejected' : 'retry',
        excerpt: `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`.slice(0, EXCERPT_CHARS),
      });

    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      agent: https ? httpsAgent : httpAgent,
      lookup: guardedLookup(options.allowPrivate) as never,
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'vod-callbacks-webhooks/1',
        ...headers,
      },
    });
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      req.destroy(err);
      failed(err);
    }, options.timeoutMs);
    req.on('error', failed);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let read = 0;
      const done = () => {
        const excerpt = Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_CHARS);
        const retryAfter = res.headers['retry-after'];
        finish({
          verdict: verdictOfStatus(status),
          status,
          retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
          excerpt,
        });
      };
      res.on('data', (chunk: Buffer) => {
        if (read < EXCERPT_CHARS * 4) chunks.push(chunk);
        read += chunk.length;
        if (read > MAX_READ_BYTES) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.end(body);
  });
}
