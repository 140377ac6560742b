import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import { afterAll, describe, expect, it } from 'vitest';

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');

// The README's two commands install what they need (scripts/ensure-deps.sh); these runs use a PATH that
// holds only bash, a fake `id` (a user who is not root) and the tools named, so nothing is installed.
describe('what npm run demo / npm test need besides Node.js', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function ensureDeps(purpose: 'demo' | 'test', present: string[], env: Record<string, string> = {}) {
    const bin = mkdtempSync(join(tmpdir(), 'ensure-deps-'));
    dirs.push(bin);
    symlinkSync('/bin/bash', join(bin, 'bash'));
    writeFileSync(join(bin, 'id'), '#!/bin/bash\necho 1000\n');
    for (const name of present) writeFileSync(join(bin, name), '#!/bin/bash\n');
    for (const name of ['id', ...present]) chmodSync(join(bin, name), 0o755);
    const script = `${read('scripts/ensure-deps.sh')}\nensure_deps ${purpose}\n`;
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        join(bin, 'bash'),
        ['--norc', '--noprofile', '-c', script],
        { env: { PATH: bin, ...env } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
  }

  it('npm test stops with one line naming the missing packages and how to get them', async () => {
    const r = await ensureDeps('test', ['chromium', 'kubectl']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^missing: redis-server prometheus\/promtool; .*apt-get install -y redis-server prometheus/,
    );
  });

  it('npm test asks for kubectl, which apt cannot provide', async () => {
    const r = await ensureDeps('test', ['redis-server', 'prometheus', 'promtool', 'chromium']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^missing: kubectl >= 1\.27 .*https:\/\/kubernetes\.io/);
  });

  it('npm test goes on when everything is there', async () => {
    const r = await ensureDeps('test', ['redis-server', 'prometheus', 'promtool', 'chromium', 'kubectl']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });

  it('npm run demo needs redis-server, unless REDIS_URL names a Redis', async () => {
    const without = await ensureDeps('demo', []);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^missing: redis-server; .*apt-get install -y redis-server.*REDIS_URL/);
    const withUrl = await ensureDeps('demo', [], { REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(withUrl).toMatchObject({ code: 0, stderr: '' });
  });

  it('.ci/run is the README test command and nothing else', () => {
    const commands = read('.ci/run')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    expect(commands).toEqual(['set -euo pipefail', 'cd "$(dirname "$0")/.."', 'exec npm test']);
    expect(read('scripts/test.sh')).toMatch(/^ensure_deps test$/m);
    expect(read('scripts/demo.sh')).toMatch(/^ensure_deps demo$/m);
  });

  it('README says what the two commands install', () => {
    const quickStart = read('README.md').split('## Quick start')[1]?.split('\n## ')[0] ?? '';
    for (const word of ['redis-server', 'prometheus', 'promtool', 'chromium', 'kubectl', 'apt-get'])
      expect(quickStart).toContain(word);
    expect(quickStart).not.toContain('nothing else is required');
  });
});
