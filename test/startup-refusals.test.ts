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

describe('safe by default: no unsigned callbacks, no re-uploads into spaces nobody named', () => {
  it('the ingress refuses to start without CALLBACK_PRIVATE_KEY unless CALLBACK_AUTH=none', async () => {
    const { code, output } = await exitOf('ingress', { INGRESS_HOST: '127.0.0.1', INGRESS_PORT: '0' });
    expect(code).toBe(78);
    expect(output).toMatch(/configuration error: CALLBACK_PRIVATE_KEY is not set/);
    expect(output).toMatch(/CALLBACK_AUTH=none/);
    expect(output).not.toMatch(/ingress listening/);
  });

  it('the ingress refuses CALLBACK_AUTH=none together with a key (which one is meant?)', async () => {
    const { code, output } = await exitOf('ingress', {
      CALLBACK_AUTH: 'none',
      CALLBACK_PRIVATE_KEY: 'refusalKey01',
      CALLBACK_PUBLIC_URL: 'https://callbacks.example.com/callbacks/vod',
    });
    expect(code).toBe(78);
    expect(output).toMatch(/CALLBACK_AUTH=none/);
  });

  it('the worker refuses re-upload credentials without REUPLOAD_SPACES', async () => {
    const { code, output } = await exitOf('worker', {
      VOLC_ACCESSKEY: 'AKLTrefuse',
      VOLC_SECRETKEY: 'refuse-secret',
    });
    expect(code).toBe(78);
    expect(output).toMatch(/configuration error: REUPLOAD_SPACES/);
    expect(output).not.toContain('refuse-secret');
  });
});
