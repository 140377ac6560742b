// What a benchmark run costs: CPU and RSS of processes from /proc, Redis time per command.
import { readFileSync } from 'node:fs';

const TICK_US = 1e6 / 100; // CLK_TCK is 100 on Linux

/** User and system CPU of a process in µs, from /proc/<pid>/stat (10 ms resolution). */
export function procCpuSplit(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * TICK_US, sys: Number(fields[12]) * TICK_US };
}

/** User + system CPU of a process in µs. */
export function procCpuMicros(pid) {
  const { user, sys } = procCpuSplit(pid);
  return user + sys;
}

/** Resident set size of a process in bytes. */
export function procRssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** Samples CPU of several processes at once; `stop()` returns µs used per name since `start`. */
export function cpuMeter(pids) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procCpuSplit(pid)]));
  const t0 = process.hrtime.bigint();
  return {
    /** µs per name (user + system), and `<name>Sys` for the system part. */
    stop() {
      const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const used = {};
      for (const [k, pid] of Object.entries(pids)) {
        const now = procCpuSplit(pid);
        used[k] = now.user - start[k].user + now.sys - start[k].sys;
        used[`${k}Sys`] = now.sys - start[k].sys;
      }
      return { elapsedMs, ...used };
    },
  };
}

/** Redis time per command since the last CONFIG RESETSTAT, in µs per `per` (e.g. per job), top first. */
export async function commandStats(redis, per, top = 8) {
  const info = await redis.info('commandstats');
  const rows = [];
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    rows.push({ command: m[1], callsPer: Number(m[2]) / per, usPer: Number(m[3]) / per });
  }
  return rows.sort((a, b) => b.usPer - a.usPer).slice(0, top);
}
