import { DEAD_LETTER_REASONS, type DeadLetterReason } from '@vod-callbacks/shared';
import { usageError } from './exit-codes.js';

/** Checks a `--reason` value against the known reasons. */
export function parseReason(text: string): DeadLetterReason {
  if ((DEAD_LETTER_REASONS as readonly string[]).includes(text)) return text as DeadLetterReason;
  throw usageError(`--reason must be one of ${DEAD_LETTER_REASONS.join(', ')} (got ${JSON.stringify(text)})`);
}

/** Renders rows as left-aligned columns (the last column is not padded). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One line of free text for a table cell: control characters out, cut to `max`. */
export function cell(text: string | undefined, max = 80): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = (text ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
