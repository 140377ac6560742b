import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@vod-callbacks/test-support';

/**
 * Prints a test's `figures` as one line tagged `[tag]` and appends them, with the time, to
 * test-output/`file` (JSON lines; CI keeps test-output/).
 */
export function reportFigures(tag: string, file: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[${tag}] ${JSON.stringify(figures)}\n`);
  const dir = join(REPO_ROOT, 'test-output');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, file), `${JSON.stringify({ at: new Date().toISOString(), ...figures })}\n`);
}
