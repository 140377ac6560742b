import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterAll, describe, expect, it } from 'vitest';

// Settings that would make a process run unsafely or silently ignore what the operator wrote stop
// it at start: exit 78 (EX_CONFIG) and one line saying what to change. Run against the built apps.
const dir = mkdtempSync(join(tmpdir(), 'refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exitOf(app: 'ingress' | 'worker', env: Record<string, string>) {
  const proc = await startApp(
    app,
    { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix('refuse'), WORKER_METRICS_PORT: '0', ...env },
    undefined,
  );
  // A process that does not refuse runs on: give it the time a refusal takes, then stop it.
  const timer = setTimeout(() => void proc.kill('SIGKILL'), 15_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { code: exit.code, output: proc.output() };
}

describe('worker: RETRY_POLICY_FILE', () => {
  it.each([
    [
      'a misspelt top-level key',
      { exakt: { 'CheckError.Md5MissMatch': 'retryable' } },
      /unknown key "exakt"/,
    ],
    [
      'a pattern that does not compile',
      { messageRules: { X: { rules: [{ pattern: '(404', class: 'permanent' }], fallback: 'retryable' } } },
      /messageRules\.X pattern "\(404" is not a valid regex/,
    ],
  ])('with %s stops the worker: exit 78 naming the file and the problem', async (_label, body, problem) => {
    const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(body));
    const { code, output } = await exitOf('worker', { RETRY_POLICY_FILE: file });
    expect(code).toBe(78);
    expect(output).toContain(file);
    expect(output).toMatch(problem);
    expect(output).not.toMatch(/worker consuming/);
  });
});
