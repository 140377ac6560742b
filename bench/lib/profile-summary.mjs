// Summarises a V8 .cpuprofile: self time by function and by package, to see where the CPU goes.
// With a count of work items (jobs, requests) it also prints µs per item, so two profiles of
// different lengths compare (e.g. the no-op and our worker from `bench/worker.mjs --cpuProf=1`).
//   node bench/lib/profile-summary.mjs <file.cpuprofile> [top=25] [items]
import { readFileSync } from 'node:fs';

const [file, topArg, itemsArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const items = itemsArg ? Number(itemsArg) : undefined;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fnTotals = new Map();
const pkgTotals = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const where = cf.url.replace(/^file:\/\//, '').replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '');
  const key = `${cf.functionName || '(anon)'} ${where.split('/').slice(-2).join('/')}:${cf.lineNumber}`;
  fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
  const pkg = cf.url.includes('node_modules')
    ? (/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(cf.url)?.[1] ?? 'dep')
    : cf.url.startsWith('node:')
      ? cf.url
      : cf.url
        ? 'app'
        : cf.functionName || '(native)';
  pkgTotals.set(pkg, (pkgTotals.get(pkg) ?? 0) + us);
}
const show = (title, m) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(
      `${((v / total) * 100).toFixed(1).padStart(5)}%${items ? `${(v / items).toFixed(1).padStart(7)} µs` : ''}  ${k}\n`,
    );
};
show('self time by function', fnTotals);
show('self time by package', pkgTotals);
