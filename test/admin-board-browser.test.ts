import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from '@vod-callbacks/test-support';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from './support/binaries.js';
import { type Pipeline, postCallback, startPipeline, uploadEvent } from './support/pipeline.js';

// bull-board in Debian's Chromium: log in, see the three queues and a dead-lettered job; without
// credentials the board answers 401. The screenshot is kept for a person to look at.

const USER = 'ops';
const PASSWORD = 'board-test-password';
const SHOT_DIR = join(REPO_ROOT, 'test-output');

describe('admin board in a real browser', () => {
  let p: Pipeline;
  let browser: Browser;
  let deadLetterJobId = '';

  beforeAll(async () => {
    const executablePath = requireBinary('chromium', 'chromium', ['/usr/bin/chromium']);
    p = await startPipeline({
      label: 'board',
      ingressEnv: { ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD },
    });
    // An unknown code: the worker dead-letters it (reason unknown_code).
    const event = uploadEvent('Brand.NewCode', 'never seen before');
    expect(await postCallback(p.ingressUrl, event)).toBe(200);
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    deadLetterJobId = await waitFor(
      'the dead letter',
      async () => {
        const res = await fetch(
          `${p.ingressUrl}/admin/queues/api/queues?activeQueue=vod-dead-letters&status=latest&page=1`,
          { headers: { authorization: auth } },
        );
        const body = (await res.json()) as { queues: { name: string; jobs: { id: string }[] }[] };
        return body.queues.find((q) => q.name === 'vod-dead-letters')?.jobs[0]?.id;
      },
      15_000,
      100,
    );
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await p?.stop();
  });

  it('answers 401 without credentials', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A top-level navigation to a 401 with WWW-Authenticate opens Chromium's login prompt (which
    // headless cancels), so the board is requested from a page of the same origin instead.
    expect((await page.goto(`${p.ingressUrl}/healthz`))?.status()).toBe(200);
    const answer = await page.evaluate(async () => {
      const res = await fetch('/admin/queues', { credentials: 'omit' });
      return { status: res.status, auth: res.headers.get('www-authenticate'), body: await res.text() };
    });
    expect(answer.status).toBe(401);
    expect(answer.auth).toMatch(/^Basic realm="vod-callbacks admin"/);
    expect(JSON.parse(answer.body)).toEqual({ error: 'unauthorized', message: 'Authentication required.' });
    await context.close();
  });

  it('logs in, shows the three queues and the dead-lettered job', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    const res = await page.goto(`${p.ingressUrl}/admin/queues`);
    expect(res?.status()).toBe(200);
    for (const name of ['vod-events', 'vod-reuploads', 'vod-dead-letters'])
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });

    await page.goto(`${p.ingressUrl}/admin/queues/queue/vod-dead-letters`);
    await page.getByText(deadLetterJobId).first().waitFor({ timeout: 15_000 });
    await page.getByText('unknown_code').first().waitFor({ timeout: 15_000 });
    // Read-only (ADMIN_READ_WRITE unset): no action buttons on the job.
    expect(await page.getByRole('button', { name: /retry|clean|remove|delete|promote/i }).count()).toBe(0);
    mkdirSync(SHOT_DIR, { recursive: true });
    const shot = join(SHOT_DIR, 'admin-board-dead-letters.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`admin board screenshot: ${shot}\n`);
    await context.close();
  });
});
