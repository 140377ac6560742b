import { SIGNATURE_HEADER, signCallback, TIMESTAMP_HEADER } from '@vod-callbacks/shared';
import type { Logger } from 'pino';

/** How the simulator delivers callbacks. */
export interface CallbackSenderOptions {
  /** Where callbacks are POSTed; empty = callbacks are not sent. */
  callbackUrl: string;
  /** The callback URL as configured in VOD, which the signature covers (defaults to callbackUrl). */
  signUrl: string;
  /** PrivateKey of the space; empty = callbacks are not signed. */
  privateKey: string;
  /** Waits before each redelivery after a non-200 answer; VOD's are 5 s, 10 s, 30 s. */
  redeliveryDelaysMs: readonly number[];
  /** Per-delivery timeout. */
  timeoutMs: number;
  logger: Logger;
}

/** Delivery counters, exposed on GET /sim/stats. */
export interface DeliveryStats {
  /** Callbacks handed to the sender. */
  callbacks: number;
  /** POSTs made, first deliveries and redeliveries. */
  deliveries: number;
  /** Callbacks answered 200 (at some delivery). */
  delivered: number;
  /** Deliveries answered with something else, or not answered. */
  failedDeliveries: number;
  /** Callbacks dropped after the last redelivery failed, as VOD drops them. */
  givenUp: number;
}

/** POSTs callbacks like VOD: signed when a key is set, redelivered on non-200, then dropped. */
export class CallbackSender {
  readonly stats: DeliveryStats = {
    callbacks: 0,
    deliveries: 0,
    delivered: 0,
    failedDeliveries: 0,
    givenUp: 0,
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: CallbackSenderOptions) {}

  /** Delivers `body` (the exact bytes are signed and sent on every delivery). */
  send(requestId: string, body: string): void {
    if (!this.options.callbackUrl || this.closed) return;
    this.stats.callbacks++;
    void this.deliver(requestId, Buffer.from(body), 0);
  }

  private async deliver(requestId: string, body: Buffer, delivery: number): Promise<void> {
    if (this.closed) return;
    this.stats.deliveries++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.privateKey) {
      const ts = String(Math.floor(Date.now() / 1000));
      headers[TIMESTAMP_HEADER] = ts;
      headers[SIGNATURE_HEADER] = signCallback(this.options.signUrl, ts, this.options.privateKey, body);
    }
    let status = 0;
    try {
      const res = await fetch(this.options.callbackUrl, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      status = 0;
    }
    if (status === 200) {
      this.stats.delivered++;
      return;
    }
    this.stats.failedDeliveries++;
    const wait = this.options.redeliveryDelaysMs[delivery];
    if (wait === undefined) {
      this.stats.givenUp++;
      this.options.logger.warn(
        { requestId, deliveries: delivery + 1, status },
        'callback dropped after the last redelivery',
      );
      return;
    }
    this.options.logger.debug(
      { requestId, status, retryInMs: wait },
      'callback delivery failed; will redeliver',
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliver(requestId, body, delivery + 1);
    }, wait);
    this.timers.add(timer);
  }

  /** Stops all pending redeliveries. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
