// Fills vod-events the way the ingress does (its own writer: same job shape and options).
import { join } from 'node:path';
import { callbackBody, mixedKind } from './callback-body.mjs';
import { REPO_ROOT } from './processes.mjs';

const PREFIX = 'vod';

/**
 * Fills vod-events with `n` events through the ingress's own writer (same job shape and options).
 * `form`: 'embedded' stores the callback the way the ingress does (data.event); 'body' the way
 * builds before it did (data.body, a JSON string), for an A/B against such a build.
 */
export async function fillEvents(redis, n, tag, callbackArgs = () => '', form = 'embedded') {
  const { EventJobWriter } = await import(join(REPO_ROOT, 'apps/ingress/dist/event-job-writer.js'));
  const { eventJobId, eventJobDataJson, eventJobOptions, DEFAULT_JOB_SETTINGS } = await import(
    join(REPO_ROOT, 'packages/shared/dist/index.js')
  );
  const writer = new EventJobWriter(redis, PREFIX, {
    jobOptions: eventJobOptions(DEFAULT_JOB_SETTINGS),
    eventsMaxLen: 10_000,
  });
  const dataOf = (body, now) =>
    form === 'body' ? JSON.stringify({ body, receivedAt: now }) : eventJobDataJson(body, now);
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const requestId = `${tag}${j.toString(36)}`;
      const body = callbackBody(requestId, mixedKind(j), callbackArgs(j));
      const now = Date.now();
      batch.push(writer.add(eventJobId(requestId), dataOf(body, now), now));
    }
    await Promise.all(batch);
  }
}
