import { randomBytes } from 'node:crypto';
import {
  SIGNATURE_HEADER,
  signCallback,
  TIMESTAMP_HEADER,
  UPLOAD_BY_URL_COMPLETE,
} from '@vod-callbacks/shared';
import { failureSourceInfo, successSourceInfo, vodRequestId } from './media-info.js';

/** Options of a callback load run. Every run is bounded in count and time, and local only. */
export interface LoadOptions {
  /** Where to POST, e.g. `http://127.0.0.1:3000/callbacks/vod`; must be a loopback address. */
  targetUrl: string;
  /** Callbacks to send (duplicates included), 1–1,000,000. */
  count: number;
  /** Callbacks started per second (the pace is kept by a ticker, not by waiting for answers). */
  ratePerSecond: number;
  /** Most requests in flight at once (default 50). */
  concurrency?: number;
  /** Share of sends that repeat an earlier RequestId (VOD redeliveries), 0–1 (default 0.05). */
  duplicateRatio?: number;
  /** Hard stop: the run ends after this long even if not all were sent (default 60 s, max 600 s). */
  maxDurationMs?: number;
  /** Sign callbacks with this PrivateKey (empty = unsigned). */
  privateKey?: string;
  /** The URL the signature covers (default targetUrl). */
  signUrl?: string;
  /** Code mix as weights (default: mostly Success, some of each failure class). */
  codeMix?: Record<string, number>;
  /** SpaceName of the generated events (default `load-space`). */
  spaceName?: string;
}

/** What a load run did. */
export interface LoadReport {
  sent: number;
  duplicates: number;
  /** Answers by HTTP status (0 = no answer). */
  statuses: Record<string, number>;
  durationMs: number;
  /** Acknowledgement latency percentiles in ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** True when maxDurationMs cut the run short. */
  timedOut: boolean;
  /** Distinct RequestIds sent. */
  distinct: number;
}

/** The default mix: what a large pull mostly looks like, with every class represented. */
export const DEFAULT_CODE_MIX: Record<string, number> = {
  Success: 80,
  'InternalError.UrlUploadError': 5,
  'UploadFailed.UrlUploadFailed': 3,
  'DownloadFailed.UrlDownloadFail:404 Not Found': 5,
  'DownloadFailed.UrlDownloadFail:503 Service Unavailable': 3,
  'CheckError.Md5MissMatch': 2,
  'InvalidParameter.InvalidParam': 2,
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function pick(mix: Record<string, number>): string {
  const entries = Object.entries(mix).filter(([, w]) => w > 0);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = Math.random() * total;
  for (const [k, w] of entries) {
    r -= w;
    if (r <= 0) return k;
  }
  return entries[entries.length - 1]![0];
}

/** A realistic callback body for load runs (1–2 KB). */
export function loadEvent(
  index: number,
  codeSpec: string,
  spaceName: string,
): { requestId: string; body: string } {
  const [code, message] = codeSpec.includes(':') ? codeSpec.split(/:(.*)/s) : [codeSpec, undefined];
  const ok = code === 'Success';
  const sourceUrl = `https://media.example.com/load/${index}/${randomBytes(6).toString('hex')}.mp4`;
  const requestId = vodRequestId(Date.now());
  const body = JSON.stringify({
    RequestId: requestId,
    Version: '1.0',
    EventType: UPLOAD_BY_URL_COMPLETE,
    EventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Data: {
      Code: code,
      Message: message ?? (ok ? 'file upload success' : 'simulated failure'),
      JobId: randomBytes(16).toString('hex'),
      SourceUrl: sourceUrl,
      CallbackArgs: JSON.stringify({ itemId: `item-${index}`, batch: 'load' }),
      Vid: ok ? `v0d${randomBytes(15).toString('hex').slice(0, 29)}` : '',
      SpaceName: spaceName,
      SourceInfo: ok ? successSourceInfo(sourceUrl) : failureSourceInfo(sourceUrl),
      OptionInfo: {
        TemplateId: '',
        Templates: [{ TemplateIds: ['tpl-transcode-default'], TemplateType: 'transcode' }],
      },
    },
  });
  return { requestId, body };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Sends `count` callbacks to a local receiver at `ratePerSecond`, with a code mix and some
 * duplicates, and reports answers and latencies. Refuses non-loopback targets.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const target = new URL(options.targetUrl);
  if (!LOOPBACK.has(target.hostname))
    throw new Error(`load target must be 127.0.0.1/localhost, got ${target.hostname}`);
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 1_000_000) {
    throw new RangeError('count must be an integer from 1 to 1,000,000');
  }
  if (!(options.ratePerSecond > 0) || options.ratePerSecond > 100_000)
    throw new RangeError('ratePerSecond must be in (0, 100000]');
  const maxDurationMs = Math.min(options.maxDurationMs ?? 60_000, 600_000);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 50, 1000));
  const duplicateRatio = Math.max(0, Math.min(options.duplicateRatio ?? 0.05, 1));
  const mix = options.codeMix ?? DEFAULT_CODE_MIX;
  const spaceName = options.spaceName ?? 'load-space';
  const signUrl = options.signUrl ?? options.targetUrl;

  const sentBodies: string[] = [];
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let sent = 0;
  let duplicates = 0;
  let inFlight = 0;
  const started = Date.now();
  const deadline = started + maxDurationMs;

  const post = async (body: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.privateKey) {
      const ts = String(Math.floor(Date.now() / 1000));
      headers[TIMESTAMP_HEADER] = ts;
      headers[SIGNATURE_HEADER] = signCallback(signUrl, ts, options.privateKey, Buffer.from(body));
    }
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await fetch(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    latencies.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
  };

  const pending = new Set<Promise<void>>();
  while (sent < options.count && Date.now() < deadline) {
    const due = Math.floor(((Date.now() - started) / 1000) * options.ratePerSecond) + 1;
    if (sent >= due || inFlight >= concurrency) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, 1000 / options.ratePerSecond))));
      continue;
    }
    let body: string;
    if (sentBodies.length > 0 && Math.random() < duplicateRatio) {
      body = sentBodies[Math.floor(Math.random() * sentBodies.length)]!;
      duplicates++;
    } else {
      body = loadEvent(sent, pick(mix), spaceName).body;
      // Keep a bounded sample to draw duplicates from.
      if (sentBodies.length < 10_000) sentBodies.push(body);
      else sentBodies[Math.floor(Math.random() * sentBodies.length)] = body;
    }
    sent++;
    inFlight++;
    const p = post(body).finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    sent,
    duplicates,
    statuses,
    durationMs: Date.now() - started,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? 0),
    },
    timedOut: sent < options.count,
    distinct: sent - duplicates,
  };
}
