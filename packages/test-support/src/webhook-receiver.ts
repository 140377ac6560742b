import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { freePort } from './free-port.js';

/** A webhook the receiver accepted as genuine (its signature verified). */
export interface ReceivedWebhook {
  id: string;
  /** `webhook-timestamp` (seconds). */
  timestamp: number;
  /** The verified payload. */
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  body: string;
  /** The status the receiver answered. */
  status: number;
  receivedAt: number;
}

/** What the receiver answers to a verified webhook; `hang` never answers (a timeout). */
export type WebhookAnswer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A real HTTP receiver on 127.0.0.1 that verifies every request with the `standardwebhooks` verifier. */
export interface WebhookReceiver {
  url: string;
  secret: string;
  /** Every request whose signature verified, in arrival order (whatever was answered). */
  received: ReceivedWebhook[];
  /** Requests that failed verification (answered 401), with the verifier's message. */
  unverified: { headers: Record<string, string>; body: string; error: string }[];
  /** Decides the answer to each verified webhook (default 200). */
  answer: (webhook: ReceivedWebhook) => WebhookAnswer;
  /** The verified webhooks answered 2xx, by webhook-id: the receiver's view of what was delivered. */
  delivered(): Map<string, ReceivedWebhook[]>;
  /** Stops listening and drops open connections (deliveries then fail with a network error). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh `whsec_…` secret. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts a receiver on a free port of 127.0.0.1. */
export async function startWebhookReceiver(secret: string = newWebhookSecret()): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  // Below the ephemeral range, so the port is still free when the receiver comes back `up()`.
  let port = await freePort();
  let server: Server;
  const receiver: WebhookReceiver = {
    url: '',
    secret,
    received: [],
    unverified: [],
    answer: () => ({ status: 200 }),
    delivered() {
      const byId = new Map<string, ReceivedWebhook[]>();
      for (const w of receiver.received) {
        if (w.status < 200 || w.status > 299) continue;
        byId.set(w.id, [...(byId.get(w.id) ?? []), w]);
      }
      return byId;
    },
    down: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    up: () => listen(),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const handle = async (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const body = await readBody(req);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    );
    let payload: ReceivedWebhook['payload'];
    try {
      payload = verifier.verify(body, headers) as ReceivedWebhook['payload'];
    } catch (err) {
      receiver.unverified.push({ headers, body, error: (err as Error).message });
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad signature"}');
      return;
    }
    const webhook: ReceivedWebhook = {
      id: headers['webhook-id']!,
      timestamp: Number(headers['webhook-timestamp']),
      payload,
      body,
      status: 0,
      receivedAt: Date.now(),
    };
    const answer = receiver.answer(webhook);
    if (answer === 'hang') {
      webhook.status = -1;
      receiver.received.push(webhook);
      return;
    }
    webhook.status = answer.status;
    receiver.received.push(webhook);
    res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((req, res) => void handle(req, res));
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        receiver.url = `http://127.0.0.1:${port}/hooks/vod`;
        resolve();
      });
    });
  await listen();
  return receiver;
}
