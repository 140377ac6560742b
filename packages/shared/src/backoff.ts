/** Upper bound of a single re-upload delay: beyond an hour a person should look instead. */
export const MAX_BACKOFF_MS = 60 * 60 * 1000;

/**
 * Delay before re-upload number `reuploadNumber` (1 for the first re-upload): exponential from
 * `baseMs`, capped, with "equal jitter" (half fixed, half random) so a burst of failures from one
 * source outage does not come back as one burst, yet no delay collapses to zero.
 */
export function reuploadDelayMs(
  reuploadNumber: number,
  baseMs: number,
  random: () => number = Math.random,
  capMs: number = MAX_BACKOFF_MS,
): number {
  const n = Math.max(1, Math.floor(reuploadNumber));
  const exp = Math.min(capMs, baseMs * 2 ** (n - 1));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
