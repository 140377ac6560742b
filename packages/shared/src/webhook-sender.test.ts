import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  EXCERPT_CHARS,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  postWebhook,
  verdictOfStatus,
  webhookRetryDelayMs,
} from './webhook-sender.js';

describe('verdictOfStatus', () => {
  it('2xx delivered; 408, 429, 5xx retried; other 4xx and redirects rejected', () => {
    for (const s of [200, 201, 204, 299]) expect(verdictOfStatus(s), String(s)).toBe('delivered');
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(verdictOfStatus(s), String(s)).toBe('retry');
    for (const s of [301, 302, 307, 400, 401, 403, 404, 410, 413, 422]) {
      expect(verdictOfStatus(s), String(s)).toBe('rejected');
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, caps them, ignores garbage', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('99999999')).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('webhookRetryDelayMs', () => {
  it('doubles from the base, caps, jitters within 50–100 %, and honours Retry-After', () => {
    expect(webhookRetryDelayMs(1, 1000, 60_000, undefined, () => 1)).toBe(1000);
    expect(webhookRetryDelayMs(1, 1000, 60_000, undefined, () => 0)).toBe(500);
    expect(webhookRetryDelayMs(4, 1000, 60_000, undefined, () => 1)).toBe(8000);
    expect(webhookRetryDelayMs(30, 1000, 60_000, undefined, () => 1)).toBe(60_000);
    expect(webhookRetryDelayMs(1, 1000, 60_000, 5000, () => 1)).toBe(5000);
    expect(webhookRetryDelayMs(8, 1000, 60_000, 5000, () => 1)).toBe(60_000);
  });
});

describe('postWebhook', () => {
  async function serve(handler: Parameters<typeof createServer>[1]) {
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    return { url, close: () => new Promise((r) => server.close(r)) };
  }
  const opts = { timeoutMs: 500, allowPrivate: true };

  it('does not follow a redirect, keeps only the start of the answer, reads Retry-After', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/hook') res.writeHead(302, { location: '/elsewhere' }).end('moved');
      else res.writeHead(200).end();
    });
    try {
      const moved = await postWebhook(s.url, '{}', {}, opts);
      expect(moved).toMatchObject({ verdict: 'rejected', status: 302, excerpt: 'moved' });
    } finally {
      await s.close();
    }
    const big = await serve((_req, res) =>
      res.writeHead(503, { 'retry-after': '7' }).end('x'.repeat(10_000)),
    );
    try {
      const busy = await postWebhook(big.url, '{}', {}, opts);
      expect(busy).toMatchObject({ verdict: 'retry', status: 503, retryAfterMs: 7000 });
      expect(busy.excerpt.length).toBe(EXCERPT_CHARS);
    } finally {
      await big.close();
    }
  });

  it('times out a receiver that does not answer, and a refused connection is retried', async () => {
    const s = await serve(() => {});
    const slow = await postWebhook(s.url, '{}', {}, { ...opts, timeoutMs: 200 });
    expect(slow.verdict).toBe('retry');
    expect(slow.excerpt).toContain('ETIMEDOUT');
    expect(slow.durationMs).toBeGreaterThanOrEqual(190);
    await s.close();
    const refused = await postWebhook(s.url, '{}', {}, opts);
    expect(refused).toMatchObject({ verdict: 'retry' });
    expect(refused.excerpt).toContain('ECONNREFUSED');
  });

  it('refuses a private address at send time unless allowed, by literal and by name', async () => {
    let hits = 0;
    const s = await serve((_req, res) => {
      hits++;
      res.writeHead(200).end();
    });
    try {
      const literal = await postWebhook(s.url, '{}', {}, { ...opts, allowPrivate: false });
      expect(literal.verdict).toBe('rejected');
      const named = new URL(s.url);
      named.hostname = 'localhost';
      const byName = await postWebhook(named, '{}', {}, { ...opts, allowPrivate: false });
      expect(byName.verdict).toBe('rejected');
      expect(byName.excerpt).toContain('private address');
      expect(hits).toBe(0);
      expect((await postWebhook(named, '{}', {}, opts)).verdict).toBe('delivered');
      expect(hits).toBe(1);
    } finally {
      await s.close();
    }
  });
});
