import type { ChildProcess } from 'node:child_process';

/**
 * Captures a child's stdout and stderr together, as they arrive: all of it by default (an app's
 * start-up lines are searched later), or only the last `maxChars` for a long-lived server whose log
 * matters for a post-mortem (Redis and Sentinel log to stdout), in bounded memory.
 */
export function captureOutput(child: ChildProcess, maxChars = Number.POSITIVE_INFINITY): () => string {
  let out = '';
  const keep = (d: Buffer) => {
    out += String(d);
    if (out.length > maxChars) out = out.slice(-maxChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}
