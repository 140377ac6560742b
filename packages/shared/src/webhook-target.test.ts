import { describe, expect, it } from 'vitest';
import { isWebhookSecret, parseWebhookDecisions, webhookIdOf, webhookPayloadOf } from './outcome-webhook.js';
import {
  checkWebhookTarget,
  isPrivateAddress,
  parseWebhookUrl,
  WebhookTargetError,
} from './webhook-target.js';

describe('isPrivateAddress', () => {
  it('flags loopback, link-local, private, CGNAT and unspecified addresses, IPv4-mapped too', () => {
    for (const a of [
      '127.0.0.1',
      '127.255.0.9',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:1.1.1.1']) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });
});

describe('webhook URL checks', () => {
  it('accepts http(s) only, without credentials', () => {
    expect(parseWebhookUrl('https://hooks.example.com/vod').hostname).toBe('hooks.example.com');
    expect(() => parseWebhookUrl('ftp://x/y')).toThrow(WebhookTargetError);
    expect(() => parseWebhookUrl('https://u:p@x/y')).toThrow(/credentials/);
    expect(() => parseWebhookUrl('nope')).toThrow(/not a URL/);
  });

  it('refuses at start a host resolving to a private address unless allowed', async () => {
    await expect(checkWebhookTarget(new URL('http://127.0.0.1:9/x'), false)).rejects.toThrow(
      /OUTCOME_WEBHOOK_ALLOW_PRIVATE/,
    );
    await expect(checkWebhookTarget(new URL('http://localhost:9/x'), false)).rejects.toThrow(
      WebhookTargetError,
    );
    await expect(checkWebhookTarget(new URL('http://[::1]:9/x'), false)).rejects.toThrow(WebhookTargetError);
    expect((await checkWebhookTarget(new URL('http://127.0.0.1:9/x'), true)).addresses).toEqual([
      '127.0.0.1',
    ]);
    // A name that does not resolve now is reported, not refused: each send checks again.
    const unresolved = await checkWebhookTarget(new URL('http://no-such-host.invalid/x'), false);
    expect(unresolved.resolveError).toBeTruthy();
  });
});

describe('outcome webhook contract', () => {
  it('parses OUTCOME_WEBHOOK_EVENTS against the decisions', () => {
    expect([...parseWebhookDecisions(['succeeded', 'reupload_scheduled'])]).toEqual([
      'succeeded',
      'reupload_scheduled',
    ]);
    expect(() => parseWebhookDecisions(['succeeded', 'done'])).toThrow(/"done" is not a decision/);
  });

  it('accepts only whsec_ secrets of at least 24 bytes', () => {
    expect(isWebhookSecret(`whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toBe(true);
    expect(isWebhookSecret(`whsec_${Buffer.alloc(8, 7).toString('base64')}`)).toBe(false);
    expect(isWebhookSecret(Buffer.alloc(32, 7).toString('base64'))).toBe(false);
    expect(isWebhookSecret('whsec_not base64!')).toBe(false);
  });

  it('derives a stable webhook-id per outcome and types the payload by decision', () => {
    expect(webhookIdOf('req-1')).toBe(webhookIdOf('req-1'));
    expect(webhookIdOf('req-1')).not.toBe(webhookIdOf('req-2'));
    expect(webhookIdOf('req-1')).toMatch(/^msg_[0-9a-f]{32}$/);
    const outcome = {
      outcomeId: '1-0',
      requestId: 'req-1',
      jobId: 'j',
      spaceName: 's',
      sourceUrl: 'u',
      callbackArgs: '',
      vid: 'v',
      code: 'Success',
      class: 'success' as const,
      decision: 'succeeded' as const,
      attempt: 1,
      eventTime: '',
      processedAt: '2026-01-01T00:00:00.000Z',
    };
    expect(webhookPayloadOf({ webhookId: 'msg_x', outcome })).toEqual({
      type: 'vod.upload.succeeded',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: outcome,
    });
  });
});
