import { randomBytes } from 'node:crypto';
import {
  checkWebhookTarget,
  isWebhookSecret,
  parseWebhookUrl,
  postWebhook,
  signWebhook,
} from '@vod-callbacks/shared';
import { type Command, takesNoArgument } from '../command.js';
import { CliError, EXIT } from '../exit-codes.js';

/**
 * `vodctl webhooks test [--url URL]` — sends one signed `vod.webhook.test` event to
 * OUTCOME_WEBHOOK_URL (or --url) with OUTCOME_WEBHOOK_SECRET, the way the worker sends outcomes, and
 * prints the answer: a check of the receiver's verification before real outcomes flow.
 */
export const webhooksTestCommand: Command = {
  path: ['webhooks', 'test'],
  usage: '[--url URL]',
  summary: 'Send a signed test webhook (vod.webhook.test) to OUTCOME_WEBHOOK_URL and print the answer.',
  options: { url: { type: 'string' } },
  validate: takesNoArgument,
  async run(ctx, { values }) {
    const raw = typeof values.url === 'string' ? values.url : ctx.config.OUTCOME_WEBHOOK_URL;
    if (!raw) throw new CliError(EXIT.config, 'set OUTCOME_WEBHOOK_URL (or pass --url)');
    if (!isWebhookSecret(ctx.config.OUTCOME_WEBHOOK_SECRET)) {
      throw new CliError(EXIT.config, 'OUTCOME_WEBHOOK_SECRET must be whsec_ + base64 of at least 24 bytes');
    }
    let url: URL;
    try {
      url = parseWebhookUrl(raw);
      await checkWebhookTarget(url, ctx.config.OUTCOME_WEBHOOK_ALLOW_PRIVATE);
    } catch (err) {
      throw new CliError(EXIT.config, (err as Error).message);
    }
    const now = new Date(ctx.now());
    const webhookId = `msg_test_${randomBytes(8).toString('hex')}`;
    const body = JSON.stringify({
      type: 'vod.webhook.test',
      timestamp: now.toISOString(),
      data: { message: 'test event from vodctl webhooks test' },
    });
    const attempt = await postWebhook(
      url,
      body,
      signWebhook(ctx.config.OUTCOME_WEBHOOK_SECRET, webhookId, body, now),
      {
        timeoutMs: ctx.config.OUTCOME_WEBHOOK_TIMEOUT_MS,
        allowPrivate: ctx.config.OUTCOME_WEBHOOK_ALLOW_PRIVATE,
      },
    );
    const answer = attempt.status === undefined ? 'no answer' : `HTTP ${attempt.status}`;
    ctx.out(`${url.origin}${url.pathname}: ${answer} in ${attempt.durationMs} ms (webhook-id ${webhookId})`);
    if (attempt.excerpt) ctx.out(`answer: ${attempt.excerpt}`);
    if (attempt.verdict === 'delivered') return EXIT.ok;
    ctx.err(
      attempt.verdict === 'retry'
        ? 'not delivered: the worker would retry this answer'
        : 'not delivered: the worker would dead-letter this answer (webhook_rejected)',
    );
    return EXIT.failed;
  },
};
