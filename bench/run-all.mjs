// `npm run bench` (scripts/bench.sh installs and builds first): every benchmark, one after another,
// each in its own process with its own redis-server. Needs redis-server on PATH.
// Not part of the test suite. About 28 minutes with the default 10-minute memory soak.
//
//   node bench/run-all.mjs [--only=ingress,worker,e2e,scaling,cluster,memory] [--soak-seconds=600]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from './lib/processes.mjs';
import { flags } from './lib/results.mjs';

const opts = flags({ only: 'ingress,worker,e2e,scaling,cluster,memory', soakSeconds: 600 });
const failed = [];
for (const name of opts.only.split(',')) {
  const args = name === 'memory' ? [`--soak-seconds=${opts.soakSeconds}`] : [];
  process.stdout.write(`\n=== bench/${name}.mjs ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(BENCH_DIR, `${name}.mjs`), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(name);
}
if (failed.length > 0) {
  process.stderr.write(`\nfailed: ${failed.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write('\nall benchmarks done; results in bench/results/latest-*.json\n');
