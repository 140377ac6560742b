import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { updateReadme } from '../scripts/env-docs.mjs';

describe('README', () => {
  it('documents every environment variable with its current default', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(await updateReadme(readme)).toBe(readme);
    for (const name of [
      'REDIS_URL',
      'INGRESS_PORT',
      'ENQUEUE_TIMEOUT_MS',
      'WORKER_CONCURRENCY',
      'DEDUPE_TTL_SECONDS',
    ]) {
      expect(readme).toContain(`\`${name}\``);
    }
  });
});
