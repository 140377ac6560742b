import { isUtf8 } from 'node:buffer';
import { isUsableRequestId } from '@vod-callbacks/shared';
import { HttpError } from './errors.js';

/** A callback body that passed the ingress's checks. */
export interface AcceptedBody {
  requestId: string;
  /** The body as UTF-8 text, stored as-is in the job. */
  text: string;
  /** The body parsed (an object): what routes it to its shard. */
  event: Record<string, unknown>;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Nesting depth of JSON text, counting brackets outside strings. Runs before JSON.parse so a
 * hostile 100k-deep document is refused in one linear pass without building it.
 */
export function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * True when the body holds more than `limit` `{`/`[` bytes, inside strings or not: an upper bound of
 * the nesting depth (UTF-8 continuation bytes are never ASCII). Real callbacks hold about ten, so
 * the exact scan above is skipped for them; `indexOf` is native and ~10× cheaper than the scan.
 */
function mayExceedDepth(raw: Buffer, limit: number): boolean {
  let n = 0;
  for (const bracket of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let i = raw.indexOf(bracket); i !== -1; i = raw.indexOf(bracket, i + 1)) {
      if (++n > limit) return true;
    }
  }
  return false;
}

/**
 * Checks what the ingress must check (DESIGN.md): UTF-8, valid JSON, an object, bounded depth, a
 * usable RequestId. Everything else is the worker's business. Throws HttpError (400).
 */
export function acceptCallbackBody(raw: Buffer, maxDepth: number): AcceptedBody {
  if (raw.length === 0) throw new HttpError('empty_body');
  if (!isUtf8(raw)) throw new HttpError('invalid_encoding');
  const text = raw.toString('utf8');
  if (mayExceedDepth(raw, maxDepth) && exceedsDepth(text, maxDepth)) throw new HttpError('too_deep');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError('invalid_json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new HttpError('not_an_object');
  const requestId = (parsed as { RequestId?: unknown }).RequestId;
  if (!isUsableRequestId(requestId)) throw new HttpError('invalid_request_id');
  return { requestId, text, event: parsed as Record<string, unknown> };
}
