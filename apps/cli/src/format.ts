import { DEAD_LETTER_REASONS, type DeadLetterReason } from '@vod-callbacks/shared';
import { usageError } from './exit-codes.js';

/** Checks a `--reason` value against the known reasons. */
export function parseReason(text: string): DeadLetterReason {
  if ((DEAD_LETTER_REASONS as readonly string[]).includes(text)) return text as DeadLetterReason;
  throw usageError(`--reason must be one of ${DEAD_LETTER_REASONS.join(', ')} (got ${JSON.stringify(text)})`);
}

/** Renders rows as left-aligned columns by display width (the last column is not padded). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - displayWidth(c))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One line of free text for a table cell: control characters escaped, cut to `max` columns. */
export function cell(text: string | undefined, max = 80): string {
  const clean = escapeControl(text ?? '');
  if (displayWidth(clean) <= max) return clean;
  let out = '';
  let width = 0;
  for (const ch of clean) {
    const w = displayWidth(ch);
    if (width + w > max - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

// C0 and C1 controls and DEL, line/paragraph separators, and the bidi controls that reorder or hide
// text on screen ("Trojan Source").
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_KEEPING_NEWLINES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from events (sender-controlled) made safe for a terminal: every control character becomes a
 * visible escape (`\u001b`, `\n`), so none can move the cursor, recolour, retitle the terminal or fake a
 * line. Escapes inside JSON text decode to the same characters, so JSON output stays equal.
 * `keepNewlines` leaves `\n` alone, for output whose lines the command itself joined.
 */
export function escapeControl(text: string, { keepNewlines = false } = {}): string {
  return text.replace(
    keepNewlines ? CONTROL_KEEPING_NEWLINES : CONTROL,
    (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

// Wide and fullwidth code points of Unicode's East Asian Width (UAX #11): CJK, kana, Hangul, fullwidth
// forms; the emoji blocks are counted wide as a whole (a few text-style symbols in them are narrow).
// Enough to align the ids, URLs and names an operator sees.
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1b000, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = WIDE[mid]!;
    if (cp < from) hi = mid - 1;
    else if (cp > to) lo = mid + 1;
    else return true;
  }
  return false;
}

// Combining marks, format characters (zero-width space/joiner, BOM) and Hangul medial/final jamo take no column.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff]$/u;

/** Columns `text` takes on a terminal (wide characters 2, combining and format characters 0). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x7f) width += cp >= 0x20 ? 1 : 0;
    else if (ZERO_WIDTH.test(ch)) continue;
    else width += isWide(cp) ? 2 : 1;
  }
  return width;
}
