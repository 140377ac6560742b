import { usageError } from './exit-codes.js';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Parses `30s`, `15m`, `12h`, `7d`, `2w` into milliseconds; anything else is a usage error. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m)
    throw usageError(
      `${option} expects a duration like 30s, 15m, 12h, 7d or 2w (got ${JSON.stringify(text)})`,
    );
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Parses a positive integer option (e.g. `--limit`). */
export function parsePositiveInt(text: string, option: string, max = 1_000_000): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw usageError(`${option} expects a whole number from 1 to ${max} (got ${JSON.stringify(text)})`);
  return Number(text);
}
