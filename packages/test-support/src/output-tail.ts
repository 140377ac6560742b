import type { ChildProcess } from 'node:child_process';

/**
 * Keeps the last `maxChars` of a child's stdout and stderr (Redis and Sentinel log to stdout): what
 * a failed start or a failed test's post-mortem needs, in bounded memory.
 */
export function keepOutputTail(child: ChildProcess, maxChars: number): () => string {
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + String(d)).slice(-maxChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}
