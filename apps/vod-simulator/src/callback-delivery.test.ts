import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyCallbackSignature } from '@vod-callbacks/shared';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CallbackSender } from './callback-sender.js';
import { runLoad } from './load-generator.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

/** A local receiver answering with `statuses` in turn (the last repeating). */
async function receiver(statuses: number[]): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      res.writeHead(statuses[Math.min(got.length, statuses.length) - 1]!).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/vod`, got, server };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('CallbackSender', () => {
  const sender = (url: string, delays: number[]) =>
    new CallbackSender({
      callbackUrl: url,
      signUrl: url,
      privateKey: 'key12345',
      redeliveryDelaysMs: delays,
      timeoutMs: 1000,
      logger: pino({ level: 'silent' }),
    });

  it('signs each delivery like VOD and redelivers the same bytes after non-200 answers', async () => {
    const r = await receiver([500, 503, 200]);
    servers.push(r.server);
    const s = sender(r.url, [50, 100, 300]);
    const body = JSON.stringify({ RequestId: 'r1', Data: { Code: 'Success' } });
    s.send('r1', body);
    await until(() => s.stats.delivered === 1);
    expect(r.got.map((g) => g.body.toString())).toEqual([body, body, body]);
    for (const g of r.got) {
      const settings = { callbackUrl: r.url, privateKey: 'key12345', maxAgeSeconds: 300 };
      expect(
        verifyCallbackSignature(settings, g.headers['x-vod-timestamp'], g.headers['x-vod-signature'], g.body),
      ).toBeUndefined();
    }
    expect(r.got[1]!.at - r.got[0]!.at).toBeGreaterThanOrEqual(45);
    expect(r.got[2]!.at - r.got[1]!.at).toBeGreaterThanOrEqual(95);
    expect(s.stats).toMatchObject({
      callbacks: 1,
      deliveries: 3,
      delivered: 1,
      failedDeliveries: 2,
      givenUp: 0,
    });
    s.close();
  });

  it('gives up after the last redelivery, as VOD does', async () => {
    const r = await receiver([500]);
    servers.push(r.server);
    const s = sender(r.url, [10, 20, 30]);
    s.send('r2', '{}');
    await until(() => s.stats.givenUp === 1);
    expect(r.got).toHaveLength(4);
    expect(s.stats).toMatchObject({ deliveries: 4, delivered: 0, givenUp: 1 });
    s.close();
  });
});

describe('runLoad', () => {
  it('sends the bounded count with duplicates and reports answers and latencies', async () => {
    const r = await receiver([200]);
    servers.push(r.server);
    const report = await runLoad({
      targetUrl: r.url,
      count: 60,
      ratePerSecond: 600,
      duplicateRatio: 0.2,
      maxDurationMs: 10_000,
    });
    expect(report).toMatchObject({ sent: 60, statuses: { '200': 60 }, timedOut: false });
    const ids = r.got.map((g) => JSON.parse(g.body.toString()).RequestId as string);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(report.distinct);
    expect(report.duplicates).toBeGreaterThan(0);
    expect(report.latencyMs.max).toBeGreaterThan(0);
  });

  it('stops at maxDurationMs and refuses non-local targets', async () => {
    const r = await receiver([200]);
    servers.push(r.server);
    const report = await runLoad({ targetUrl: r.url, count: 1000, ratePerSecond: 20, maxDurationMs: 300 });
    expect(report.timedOut).toBe(true);
    expect(report.sent).toBeLessThan(20);
    await expect(runLoad({ targetUrl: 'http://example.com/x', count: 1, ratePerSecond: 1 })).rejects.toThrow(
      /127\.0\.0\.1/,
    );
  });
});
