// The load of the end-to-end benches (e2e, cluster): a fixed number of realistic callbacks sent by
// autocannon as fast as the server answers. 90/5/5 Success/retryable/permanent, every 20th request
// a redelivery of an earlier one. Each RequestId has its own SourceUrl and CallbackArgs (see
// `callbackBody`), so upload sources — and with EVENT_SHARDS, shards — spread evenly.
import autocannon from 'autocannon';
import { callbackBodyTemplate, mixedKind } from './callback-body.mjs';

const templates = {
  success: callbackBodyTemplate('success'),
  retryable: callbackBodyTemplate('retryable'),
  permanent: callbackBodyTemplate('permanent'),
};

/**
 * Sends `events` callbacks to `url` over `connections` connections, RequestIds `<tag><n in base 36>`.
 * Returns the VOD simulator's report shape (sent, duplicates, distinct, statuses, latencyMs) and
 * `uncounted`: requests still in flight when autocannon stopped (answered and stored, not counted).
 */
export async function callbackLoad(url, { events, tag, connections = 50 }) {
  let n = 0;
  let duplicates = 0;
  const r = await autocannon({
    url,
    connections,
    // A fixed amount of work: the pair that turns it into outcomes sooner is faster.
    amount: events,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        setupRequest(req) {
          const i = n++;
          if (i % 20 === 19) {
            duplicates++;
            req.body = templates[mixedKind(i - 10)](`${tag}${(i - 10).toString(36)}`);
          } else req.body = templates[mixedKind(i)](`${tag}${i.toString(36)}`);
          return req;
        },
      },
    ],
  });
  return {
    sent: n,
    duplicates,
    distinct: n - duplicates,
    statuses: { 200: r['2xx'] },
    // Every status answered, with its count (a 503 is an event not stored: VOD would send it again).
    byStatus: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    uncounted: n - r.requests.total,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
  };
}
