// Where a pipeline's Redis time goes, script by script (diagnostics for bench/e2e.mjs --trace).
// INFO commandstats lumps every script into `evalsha`; these two tools split it:
// - `monitorTrace`: MONITOR of a run — every top-level command, and for each script call the
//   commands it ran inside (Redis 7 prints a script's own commands right after the script's line).
//   Exact counts; MONITOR slows Redis (and its formatting runs inside the scripts' time), so it
//   is for counting, not timing.
// - `slowlogSample`: SLOWLOG with a 0 µs threshold, read every `everyMs`: a sample of commands
//   with their durations, as Redis measures them for commandstats (logging happens after the
//   measured part; Redis 7.0 also logs the commands scripts run, told apart here). Durations are
//   wall time: on a loaded machine they include time Redis was not scheduled, so use the shares.
// A script is named by its body (`scriptName`); the body is seen once per process start, when
// ioredis's EVALSHA gets NOSCRIPT and falls back to EVAL — so SCRIPT FLUSH before starting them.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const sha1 = (text) => createHash('sha1').update(text).digest('hex');

/** sha1 of each of BullMQ's scripts → its name (`moveToFinished`, …), as ioredis loads them. */
export async function bullmqScriptNames() {
  // The CommonJS build: the ESM one imports its script files without extensions.
  const scripts = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/index.js');
  const names = new Map();
  for (const s of Object.values(scripts)) {
    if (s && typeof s.content === 'string') names.set(sha1(s.content), `bullmq ${s.name}`);
  }
  return names;
}

// Our scripts, by a line only they contain (apps/ingress/src/event-job-writer.ts,
// apps/worker/src/outcome-store.ts, apps/worker/src/reupload-budget.ts).
const OWN_SCRIPTS = [
  ['vodAddJob(KEYS[5 + j]', 'ours vodAddEventJobs (ingress, one per turn)'],
  ["local FIELDS = {'requestId'", 'ours vodRecordOutcomes (worker, one per turn)'],
  ["if held == 'r' then return -1 end", 'ours vodClaimReupload (worker, retryable codes)'],
];

/** A readable name of the script with this body. */
export function scriptName(body, bullmqNames) {
  const known = bullmqNames.get(sha1(body));
  if (known) return known;
  for (const [marker, name] of OWN_SCRIPTS) if (body.includes(marker)) return name;
  const line = body.split('\n').find((l) => l.trim() && !l.trim().startsWith('--[[')) ?? '';
  return `script ${sha1(body).slice(0, 8)} (${line.trim().slice(0, 40)})`;
}

/**
 * An argument as MONITOR prints it (quoted with C escapes: `\n`, `\"`, `\xHH`…; ioredis strips
 * the quotes but keeps the escapes), back to its bytes as a latin1 string, then UTF-8 text.
 */
export function unescapeMonitorArg(text) {
  const simple = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '\\': '\\', '"': '"' };
  const raw = text.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, c) =>
    c.length === 3 ? String.fromCharCode(Number.parseInt(c.slice(1), 16)) : (simple[c] ?? c),
  );
  return Buffer.from(raw, 'latin1').toString('utf8');
}

/**
 * Starts MONITOR on a connection of its own (`connect()` gives a fresh ioredis client). `stop()`
 * returns, per top-level command or script: calls and, for scripts, the commands run inside per call;
 * and `shaNames`, sha → script name for every script whose body was seen.
 */
export async function monitorTrace(connect, bullmqNames) {
  const client = connect();
  const monitor = await client.monitor();
  const shaNames = new Map();
  // By command, or `evalsha <sha>` (named at the end: a script's body shows up after its first
  // EVALSHA, which got NOSCRIPT).
  const byKey = new Map();
  let current;
  const keyOf = (cmd, args) => {
    if (cmd === 'eval') {
      const body = unescapeMonitorArg(String(args[0]));
      shaNames.set(sha1(body), scriptName(body, bullmqNames));
      return `evalsha ${sha1(body)}`;
    }
    if (cmd === 'evalsha') return `evalsha ${String(args[0])}`;
    return cmd;
  };
  monitor.on('monitor', (_time, args, source) => {
    const cmd = String(args[0]).toLowerCase();
    if (source === 'lua') {
      if (!current) return;
      current.inner.set(cmd, (current.inner.get(cmd) ?? 0) + 1);
      return;
    }
    const key = keyOf(cmd, args.slice(1));
    let entry = byKey.get(key);
    if (!entry) {
      entry = { calls: 0, inner: new Map() };
      byKey.set(key, entry);
    }
    entry.calls++;
    current = entry;
  });
  return {
    shaNames,
    async stop() {
      monitor.disconnect();
      client.disconnect();
      const byLabel = new Map();
      for (const [key, entry] of byKey) {
        const sha = key.startsWith('evalsha ') ? key.slice(8) : undefined;
        byLabel.set(sha ? (shaNames.get(sha) ?? `script ${sha.slice(0, 8)}`) : key, entry);
      }
      return { byLabel, shaNames };
    },
  };
}

/**
 * Samples SLOWLOG (threshold 0) every `everyMs` while running; `stop()` restores the settings and
 * returns `{ sampled, logged, coverage, byLabel: Map(label → { calls, usec }) }` (scripts named through
 * `shaNames`). Each read takes the newest `perRead` entries not read before.
 */
export async function slowlogSample(redis, shaNames, { everyMs = 250, perRead = 256 } = {}) {
  const [, threshold] = await redis.config('GET', 'slowlog-log-slower-than');
  const [, maxLen] = await redis.config('GET', 'slowlog-max-len');
  await redis.config('SET', 'slowlog-max-len', String(perRead));
  await redis.slowlog('RESET');
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  const byLabel = new Map();
  let lastId = -1;
  let firstId = Number.POSITIVE_INFINITY;
  let sampled = 0;
  const read = async () => {
    const entries = await redis.slowlog('GET', perRead);
    for (const [id, , usec, args, client] of entries) {
      if (id <= lastId) continue;
      firstId = Math.min(firstId, id);
      sampled++;
      const cmd = String(args[0]).toLowerCase();
      if (cmd === 'slowlog' || cmd === 'config' || cmd === 'info') continue;
      // Redis 7.0 logs the commands a script runs too, from a client without an address.
      const label =
        client === '?:0'
          ? `(inside scripts) ${cmd}`
          : cmd === 'evalsha'
            ? (shaNames.get(String(args[1])) ?? `script ${String(args[1]).slice(0, 8)}`)
            : cmd === 'eval'
              ? 'eval (script load)'
              : cmd;
      const e = byLabel.get(label) ?? { calls: 0, usec: 0 };
      e.calls++;
      e.usec += Number(usec);
      byLabel.set(label, e);
    }
    if (entries.length > 0) lastId = Math.max(lastId, ...entries.map((e) => e[0]));
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      await read();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await redis.config('SET', 'slowlog-log-slower-than', threshold);
      await redis.config('SET', 'slowlog-max-len', maxLen);
      await redis.slowlog('RESET');
      // Every top-level command got an entry (ids count them); scripts' own commands get none.
      const logged = sampled === 0 ? 0 : lastId - firstId + 1;
      return { sampled, logged, coverage: logged > 0 ? sampled / logged : 0, byLabel };
    },
  };
}
