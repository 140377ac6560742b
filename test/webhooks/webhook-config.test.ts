import { ConfigError } from '@vod-callbacks/shared';
import { newWebhookSecret, startApp, startWebhookReceiver, testRedisUrl } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../apps/cli/src/dispatcher.js';
import { COMMANDS } from '../../apps/cli/src/main.js';
import { loadIngressConfig } from '../../apps/ingress/src/config.js';
import { loadWorkerConfig } from '../../apps/worker/src/config.js';

// Settings of outcome webhooks and the status API that must stop a process at start (exit 78, the
// variable named, the secret not shown), and `vodctl webhooks test` against a real receiver.

async function exitOf(app: 'worker' | 'ingress', env: Record<string, string>) {
  const proc = await startApp(
    app,
    { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: 'cfg-hooks', ...env },
    undefined,
  );
  const { code } = await proc.exited;
  return { code, out: proc.output() };
}

describe('outcome webhook and status API settings', () => {
  it('a worker refuses at start a destination resolving to a private address (exit 78)', async () => {
    const secret = newWebhookSecret();
    const { code, out } = await exitOf('worker', {
      OUTCOME_WEBHOOK_URL: 'http://localhost:9/hooks',
      OUTCOME_WEBHOOK_SECRET: secret,
    });
    expect(code, out).toBe(78);
    expect(out).toMatch(
      /OUTCOME_WEBHOOK_URL host localhost resolves to .*OUTCOME_WEBHOOK_ALLOW_PRIVATE=true/,
    );
    expect(out).not.toContain(secret.slice(6));
  });

  it('a bad secret, an unknown decision, a bad scheme or a short token stop the process, the secret not shown', () => {
    const secret = newWebhookSecret();
    const worker = (env: Record<string, string>) => () =>
      loadWorkerConfig({
        OUTCOME_WEBHOOK_URL: 'https://hooks.example.com/x',
        OUTCOME_WEBHOOK_SECRET: secret,
        ...env,
      });
    expect(worker({})).not.toThrow();
    expect(worker({ OUTCOME_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toThrow(
      /OUTCOME_WEBHOOK_SECRET=\(hidden\) is invalid/,
    );
    expect(worker({ OUTCOME_WEBHOOK_SECRET: '' })).toThrow(ConfigError);
    expect(worker({ OUTCOME_WEBHOOK_EVENTS: 'succeeded,done' })).toThrow(
      /OUTCOME_WEBHOOK_EVENTS is invalid: "done" is not a decision/,
    );
    expect(worker({ OUTCOME_WEBHOOK_URL: 'ftp://hooks.example.com/x' })).toThrow(/http or https/);
    expect(worker({ OUTCOME_WEBHOOK_BACKOFF_MS: '0' })).toThrow(/OUTCOME_WEBHOOK_BACKOFF_MS/);
    expect(() => loadIngressConfig({ CALLBACK_AUTH: 'none', STATUS_API_TOKEN: 'short' })).toThrow(
      /STATUS_API_TOKEN=\(hidden\) is invalid/,
    );
    try {
      worker({ OUTCOME_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })();
    } catch (err) {
      expect((err as Error).message).not.toContain('c2hvcnQ');
    }
  });

  it('vodctl webhooks test sends a signed test event and reports the answer', async () => {
    const receiver = await startWebhookReceiver();
    const run = async (env: Record<string, string>) => {
      const out: string[] = [];
      const code = await runCli(['webhooks', 'test'], COMMANDS, {
        env: { REDIS_URL: testRedisUrl(), OUTCOME_WEBHOOK_URL: receiver.url, ...env },
        io: { out: (l) => out.push(l), err: (l) => out.push(l) },
      });
      return { code, out: out.join('\n') };
    };
    try {
      const ok = await run({
        OUTCOME_WEBHOOK_SECRET: receiver.secret,
        OUTCOME_WEBHOOK_ALLOW_PRIVATE: 'true',
      });
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toMatch(/HTTP 200/);
      expect(receiver.received.map((w) => w.payload.type)).toEqual(['vod.webhook.test']);

      // Signed with another secret: the receiver refuses it, and vodctl says the worker would dead-letter that.
      const wrong = await run({
        OUTCOME_WEBHOOK_SECRET: newWebhookSecret(),
        OUTCOME_WEBHOOK_ALLOW_PRIVATE: 'true',
      });
      expect(wrong.code).toBe(1);
      expect(wrong.out).toMatch(/HTTP 401[\s\S]*webhook_rejected/);
      expect(receiver.unverified).toHaveLength(1);

      const refused = await run({ OUTCOME_WEBHOOK_SECRET: receiver.secret });
      expect(refused.code).toBe(78);
      expect(refused.out).toMatch(/OUTCOME_WEBHOOK_ALLOW_PRIVATE/);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});
