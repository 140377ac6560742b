import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnCaptured, waitFor } from '@vod-callbacks/test-support';
import { stringify } from 'yaml';
import { requireBinary } from './binaries.js';

/** A Prometheus server child process owned by a test. */
export interface PrometheusServer {
  url: string;
  /** Runs an instant or range query; throws on an HTTP or PromQL error. */
  query(expr: string, range?: { start: number; end: number; step: number }): Promise<PromResult[]>;
  /** Resolves once the one target of each job in `jobs` is up (scraped successfully); throws after 20 s. */
  untilUp(jobs: string[]): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** One series of a query answer: labels and its values (instant: one value). */
export interface PromResult {
  metric: Record<string, string>;
  values: number[];
}

/** Starts Debian's `prometheus` on a free port with `config` (written to a temp dir with its TSDB). */
export async function startPrometheus(config: object): Promise<PrometheusServer> {
  const bin = requireBinary('prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'vod-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const proc = spawnCaptured(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'prometheus to be ready',
      async () => {
        if (proc.child.exitCode !== null)
          throw new Error(`prometheus exited ${proc.child.exitCode}:\n${proc.output()}`);
        return (await fetch(`${url}/-/ready`)).status === 200;
      },
      20_000,
      100,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  const query: PrometheusServer['query'] = async (expr, range) => {
    const params = new URLSearchParams({ query: expr });
    let path = '/api/v1/query';
    if (range) {
      path = '/api/v1/query_range';
      params.set('start', String(range.start));
      params.set('end', String(range.end));
      params.set('step', String(range.step));
    }
    const res = await fetch(`${url}${path}?${params}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: {
        resultType: string;
        result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
      };
    };
    if (body.status !== 'success') throw new Error(`PromQL error: ${body.error} (${expr})`);
    return (body.data?.result ?? []).map((r) => ({
      metric: r.metric,
      values: (r.values ?? (r.value ? [r.value] : [])).map(([, v]) => Number(v)),
    }));
  };
  return {
    url,
    output: proc.output,
    stop,
    query,
    async untilUp(jobs) {
      const expr = `sum(up{job=~"${jobs.join('|')}"})`;
      await waitFor(
        `Prometheus to scrape ${jobs.join(' and ')}`,
        async () => (await query(expr))[0]?.values[0] === jobs.length,
        20_000,
        200,
      );
    },
  };
}
