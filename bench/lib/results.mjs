// A benchmark's command line, figures and output: flags, medians and percentiles, the printed
// table and the result files under bench/results/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './processes.mjs';

export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** Command-line flags `--name=value` with defaults; numbers stay numbers. */
export function flags(defaults) {
  const out = { ...defaults };
  for (const a of process.argv.slice(2)) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const key = m[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const v = m[2] ?? 'true';
    out[key] = typeof defaults[key] === 'number' ? Number(v) : v;
  }
  return out;
}

export function median(values) {
  const v = [...values].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

/** Prints rows as an aligned text table. */
export function printTable(title, rows) {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v) => (typeof v === 'number' ? fmt(v) : String(v ?? ''));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => vals.map((v, i) => v.padStart(widths[i])).join('  ');
  process.stdout.write(`\n${title}\n${line(cols)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
}

function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Writes `bench/results/<name>-<time>.json` and `bench/results/latest-<name>.json` (the committed one). */
export function writeResult(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const body = `${JSON.stringify({ benchmark: name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2)}\n`;
  writeFileSync(join(RESULTS_DIR, `${name}-${stamp}.json`), body);
  writeFileSync(join(RESULTS_DIR, `latest-${name}.json`), body);
  process.stdout.write(`\nresults: bench/results/latest-${name}.json\n`);
}

function machine() {
  const cpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/gm) ?? [];
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return { node: process.version, cpus: cpus.length, cpu: cpus[0]?.split(':')[1]?.trim(), loadavg: load };
}

/**
 * One row per value of `groupKey` (in first-seen order): that value, the median of each of
 * `medianKeys` over its runs, and what `more(runs, value)` adds.
 */
export function summarizeBy(runs, groupKey, medianKeys, more = () => ({})) {
  return [...new Set(runs.map((r) => r[groupKey]))].map((group) => {
    const rs = runs.filter((r) => r[groupKey] === group);
    const medians = Object.fromEntries(medianKeys.map((k) => [k, median(rs.map((r) => r[k]))]));
    return { [groupKey]: group, ...medians, ...more(rs, group) };
  });
}
