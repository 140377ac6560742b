import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@vod-callbacks/test-support';

/**
 * Prints a test's `figures` as one line tagged `[tag]` and appends them, with the time, to
 * test-output/`file` (JSON lines; CI keeps test-output/).
 */
export function reportFigures(tag: string, file: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[${tag}] ${JSON.stringify(figures)}\n`);
  appendFileSync(testOutputPath(file), `${JSON.stringify({ at: new Date().toISOString(), ...figures })}\n`);
}

/**
 * Writes each log of `logs` to test-output/`<label>-<name>.log`, for a failed run's post-mortem (CI
 * keeps test-output/): the processes' and servers' output of a fault scenario.
 */
export function saveTestLogs(label: string, logs: Record<string, string>): void {
  for (const [name, text] of Object.entries(logs))
    writeFileSync(testOutputPath(`${label}-${name}.log`), text);
}

/** `file` in test-output/, which is made when missing. */
function testOutputPath(file: string): string {
  const dir = join(REPO_ROOT, 'test-output');
  mkdirSync(dir, { recursive: true });
  return join(dir, file);
}
