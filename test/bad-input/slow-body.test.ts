import { connect } from 'node:net';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../helpers/ingress-harness.js';
import { valid } from './corpus.js';

interface SlowResult {
  /** What the server sent before closing (may be empty). */
  response: string;
  /** ms from connect until the server closed the connection. */
  closedAfterMs: number;
  /** Bytes we managed to send. */
  sent: number;
}

/** Sends `head` then `body` one byte every `intervalMs`, until the server closes or `giveUpMs`. */
function trickle(port: number, head: string, body: string, intervalMs: number, giveUpMs: number) {
  return new Promise<SlowResult>((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`server still holding a slow request after ${giveUpMs} ms (sent ${sent} bytes)`));
    }, giveUpMs);
    socket.on('data', (d) => {
      response += String(d);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(giveUp);
      clearInterval(timer);
      resolve({ response, closedAfterMs: Date.now() - started, sent });
    });
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
      }, intervalMs);
    });
  });
}

// Slowloris: a client that sends a request slowly must not hold a connection (or the server) for long.
describe('slow requests against a listening ingress (SERVER_TIMEOUT_MS=1500)', () => {
  const prefix = uniquePrefix('slow');
  let h: IngressHarness;
  let port: number;

  beforeAll(async () => {
    h = await createIngressHarness({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      SERVER_TIMEOUT_MS: '1500',
    });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await deletePrefix(h.redis, prefix);
    await h.close();
  });

  const body = JSON.stringify(valid('slow-body'));
  const head = (len: number) =>
    `POST /callbacks/vod HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;

  it('a body trickled one byte at a time is cut off with 408, and nothing is stored', async () => {
    const r = await trickle(port, head(body.length), body, 100, 10_000);
    expect(r.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(1400);
    expect(r.closedAfterMs).toBeLessThan(5000);
    expect(r.sent).toBeLessThan(body.length);
    expect(await h.enqueuer.queues[0]!.getJob('evt-slow-body')).toBeUndefined();
  });

  it('headers trickled one byte at a time are cut off too', async () => {
    const fullHead = head(body.length);
    const r = await trickle(port, '', fullHead, 100, 10_000);
    expect(r.closedAfterMs).toBeLessThan(5000);
    expect(r.sent).toBeLessThan(fullHead.length);
  });

  it('while 20 slow clients hang on, a normal callback is still answered at once', async () => {
    const slow = Array.from({ length: 20 }, () => trickle(port, head(body.length), body, 200, 10_000));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/callbacks/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(valid('fast-one')),
    });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    const results = await Promise.all(slow);
    for (const r of results) expect(r.response).toMatch(/^HTTP\/1\.1 408 /);
  });
});
