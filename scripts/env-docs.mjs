// Renders each app's environment variables (from its config spec) into README between markers.
// `node scripts/env-docs.mjs --check` fails when README is out of date (run by the tests).
import { readFileSync, writeFileSync } from 'node:fs';

const apps = {
  ingress: ['../apps/ingress/dist/config.js', 'INGRESS_ENV'],
  worker: ['../apps/worker/dist/config.js', 'WORKER_ENV'],
  'vod-simulator': ['../apps/vod-simulator/dist/config.js', 'SIMULATOR_ENV'],
};

export async function renderEnvTables() {
  const out = {};
  for (const [app, [path, name]] of Object.entries(apps)) {
    let mod;
    try {
      mod = await import(new URL(path, import.meta.url));
    } catch {
      continue; // app not built (or not present yet)
    }
    const spec = mod[name];
    const rows = Object.entries(spec).map(([key, { schema, doc }]) => {
      const def =
        schema.default === '' || (Array.isArray(schema.default) && schema.default.length === 0)
          ? '(unset)'
          : Array.isArray(schema.default) // a list variable: shown as it is written
            ? `\`${schema.default.join(',')}\``
            : `\`${JSON.stringify(schema.default).replace(/^"|"$/g, '')}\``;
      // An integer's accepted range, so a refused value (exit 78) is never a surprise.
      const range =
        schema.type === 'integer' && (schema.minimum !== undefined || schema.maximum !== undefined)
          ? ` Accepted: ${schema.minimum ?? '…'}–${schema.maximum ?? '…'}.`
          : '';
      return `| \`${key}\` | ${def} | ${doc.replace(/\|/g, '\\|')}${range} |`;
    });
    out[app] = ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
  }
  return out;
}

export async function updateReadme(readme) {
  const tables = await renderEnvTables();
  let text = readme;
  for (const [app, table] of Object.entries(tables)) {
    const re = new RegExp(`(<!-- env:${app} -->)[\\s\\S]*?(<!-- /env:${app} -->)`);
    text = text.replace(re, `$1\n${table}\n$2`);
  }
  return text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = new URL('../README.md', import.meta.url);
  const before = readFileSync(file, 'utf8');
  const after = await updateReadme(before);
  if (process.argv.includes('--check')) {
    if (before !== after) {
      console.error('README env tables are out of date: run node scripts/env-docs.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(file, after);
  }
}
