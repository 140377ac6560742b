import { readFileSync } from 'node:fs';
import { type AppProcess, freePort, startApp } from '@vod-callbacks/test-support';

const seed = JSON.parse(readFileSync(new URL('../fixtures/seed-success.json', import.meta.url), 'utf8'));

/** A distinct, valid callback body (the seed success sample with its own RequestId and JobId). */
export function callbackBody(requestId: string): string {
  return JSON.stringify({ ...seed, RequestId: requestId, Data: { ...seed.Data, JobId: `job-${requestId}` } });
}

/**
 * A distinct, valid callback body with an upload source of its own (SourceUrl named by the id):
 * with EVENT_SHARDS > 1 such callbacks spread over the shards, where `callbackBody`'s all share one.
 */
export function spreadCallbackBody(requestId: string): string {
  return JSON.stringify({
    ...seed,
    RequestId: requestId,
    Data: {
      ...seed.Data,
      JobId: `job-${requestId}`,
      SourceUrl: `https://media.example.test/${requestId}.mp4`,
    },
  });
}

/** A started ingress process and its base URL. */
export interface IngressProc {
  proc: AppProcess;
  url: string;
}

/**
 * How long an app may take to print its start-up line by default. A second or two when idle, but a
 * full-suite run (load ~30 on two cores) saw a worker print nothing at all in 15 s: only the wait grows.
 */
export const APP_START_TIMEOUT_MS = 60_000;

/** `timeoutMs`: how long it may take to print its start-up line (longer for slow set-ups). */
export async function startIngress(
  env: Record<string, string>,
  timeoutMs = APP_START_TIMEOUT_MS,
): Promise<IngressProc> {
  const port = await freePort();
  const proc = await startApp(
    'ingress',
    // Fault tests post unsigned callbacks: say so (the ingress refuses to start otherwise).
    { INGRESS_PORT: String(port), INGRESS_HOST: '127.0.0.1', CALLBACK_AUTH: 'none', ...env },
    /ingress listening/,
    [],
    timeoutMs,
  );
  return { proc, url: `http://127.0.0.1:${port}` };
}

export async function startWorker(
  env: Record<string, string>,
  timeoutMs = APP_START_TIMEOUT_MS,
): Promise<AppProcess> {
  return startApp('worker', { WORKER_METRICS_PORT: '0', ...env }, /worker consuming/, [], timeoutMs);
}

/** What one callback's delivery came to. */
export interface LoadStats {
  sent: number;
  acked: Set<string>;
  /** 503 answers (each checked for Retry-After). */
  unavailable: number;
  unavailableWithoutRetryAfter: number;
  /** Other statuses, by status. */
  other: Record<string, number>;
  /** Connection errors and timeouts (the ingress was unreachable). */
  errors: number;
  durationMs: number;
  /** Answers whose request was sent and answered in the same phase, by phase and status. */
  byPhase: Record<string, Record<string, number>>;
}

export interface LoadOptions {
  url: string;
  ids: readonly string[];
  /** Callbacks per second (steady). */
  ratePerSecond: number;
  /** Hard stop, whatever is left unsent. */
  maxDurationMs: number;
  /** Started once, when the stream has run `atMs`; the stream's answers wait for it to end. */
  fault?: StreamFault;
  maxInFlight?: number;
  /** Where the test is (e.g. 'up', 'down'), as its fault moves it on; answers are tallied per phase. */
  phase?: Phase;
  /** The body sent for an id (default `callbackBody`). */
  body?: (requestId: string) => string;
}

/** Where a fault test is: set by its fault as it goes, read by `sendStream` for each answer. */
export interface Phase {
  current: string;
}

/** One fault injected into a stream (a kill, a freeze, a failover) and when to start it. */
export interface StreamFault {
  atMs: number;
  run: () => Promise<unknown>;
}

/**
 * Sends each id once at a steady rate, as VOD would, bounded in count and time, and records every
 * answer. Only a 200 counts as acknowledged.
 */
export async function sendStream(opts: LoadOptions): Promise<LoadStats> {
  const stats: LoadStats = {
    sent: 0,
    acked: new Set(),
    unavailable: 0,
    unavailableWithoutRetryAfter: 0,
    other: {},
    errors: 0,
    durationMs: 0,
    byPhase: {},
  };
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = opts.maxInFlight ?? 256;
  let fault: Promise<unknown> | undefined;
  for (let i = 0; i < opts.ids.length; i++) {
    const due = started + (i * 1000) / opts.ratePerSecond;
    while (Date.now() < due) await new Promise((r) => setTimeout(r, Math.min(5, due - Date.now())));
    const elapsed = Date.now() - started;
    if (elapsed > opts.maxDurationMs) break;
    if (opts.fault && !fault && elapsed >= opts.fault.atMs) {
      fault = opts.fault.run();
      // Its failure is the test's, reported where the stream awaits it below.
      fault.catch(() => undefined);
    }
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const id = opts.ids[i]!;
    stats.sent++;
    const p = post(opts.url, id, opts.body ?? callbackBody, stats, opts.phase).finally(() =>
      inFlight.delete(p),
    );
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  stats.durationMs = Date.now() - started;
  if (opts.fault) {
    if (!fault)
      throw new Error(
        `the stream ended after ${stats.durationMs} ms, before its fault at ${opts.fault.atMs} ms: send more ids or start the fault earlier`,
      );
    await fault;
  }
  return stats;
}

async function post(
  url: string,
  id: string,
  body: (requestId: string) => string,
  stats: LoadStats,
  phase?: Phase,
): Promise<void> {
  const phaseAtSend = phase?.current;
  const tally = (status: string) => {
    if (phaseAtSend === undefined || phase?.current !== phaseAtSend) return;
    const p = stats.byPhase[phaseAtSend] ?? {};
    p[status] = (p[status] ?? 0) + 1;
    stats.byPhase[phaseAtSend] = p;
  };
  try {
    const res = await fetch(`${url}/callbacks/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(id),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    tally(String(res.status));
    if (res.status === 200) stats.acked.add(id);
    else if (res.status === 503) {
      stats.unavailable++;
      if (!res.headers.get('retry-after')) stats.unavailableWithoutRetryAfter++;
    } else stats.other[res.status] = (stats.other[res.status] ?? 0) + 1;
  } catch {
    tally('error');
    stats.errors++;
  }
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb * 1024;
}

/** `n` distinct RequestIds for one test. */
export const requestIds = (label: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${label}-${String(i).padStart(5, '0')}`);

/** `vod_events_processed_total{class="duplicate"}` of a worker, read from its metrics endpoint. */
export async function duplicateCount(output: string): Promise<number> {
  const url = /metrics on (http:\/\/[^ ]+\/metrics)/.exec(output)?.[1]?.replace('0.0.0.0', '127.0.0.1');
  if (!url) throw new Error(`no metrics URL in worker output:\n${output}`);
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const m of text.matchAll(/^vod_events_processed_total\{[^}]*class="duplicate"[^}]*\} (\d+)/gm))
    sum += Number(m[1]);
  return sum;
}
