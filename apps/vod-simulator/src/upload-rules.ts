/*
 * What UploadMediaByUrl refuses, per its documentation, written independently of the client's
 * helpers so the simulator checks them rather than agreeing with them: at most 20 URLSets; each
 * with a SourceUrl; CallbackArgs of at most 512 bytes; a FileName that ends in a suffix; a
 * FileExtension that starts with `.` and has at most 8 characters; a Title of at most 128
 * characters; CustomURLHeaders as a map of strings.
 */

/** Most URLSets per UploadMediaByUrl call. */
export const MAX_URL_SETS = 20;
/** Largest CallbackArgs of one URLSet, in bytes. */
export const CALLBACK_ARGS_MAX_BYTES = 512;
/** Longest FileExtension, the dot included. */
export const FILE_EXTENSION_MAX_CHARS = 8;
/** Longest Title. */
export const TITLE_MAX_CHARS = 128;

/** A refusal: the API's error code and message (HTTP 400). */
export interface RuleProblem {
  code: string;
  message: string;
}

const bad = (message: string): RuleProblem => ({ code: 'InvalidParameter', message });

/** The first problem of a `URLSets` parameter's decoded JSON, or undefined when VOD would take it. */
export function checkUrlSets(sets: unknown): RuleProblem | undefined {
  if (!Array.isArray(sets) || sets.length === 0 || sets.length > MAX_URL_SETS) {
    return bad(`URLSets must be an array of 1 to ${MAX_URL_SETS} entries`);
  }
  for (const [i, s] of (sets as unknown[]).entries()) {
    const problem = checkUrlSet(s);
    if (problem) return { code: problem.code, message: `URLSets[${i}]: ${problem.message}` };
  }
  return undefined;
}

function checkUrlSet(value: unknown): RuleProblem | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return bad('must be an object');
  const s = value as Record<string, unknown>;
  if (typeof s.SourceUrl !== 'string' || !/^https?:\/\/[^/\s]+/i.test(s.SourceUrl)) {
    return bad('SourceUrl must be an http(s) URL');
  }
  if (s.CallbackArgs !== undefined) {
    if (typeof s.CallbackArgs !== 'string' || Buffer.byteLength(s.CallbackArgs) > CALLBACK_ARGS_MAX_BYTES) {
      return bad(`CallbackArgs must be a string of at most ${CALLBACK_ARGS_MAX_BYTES} bytes`);
    }
  }
  if (s.FileName !== undefined) {
    const name = typeof s.FileName === 'string' ? s.FileName : '';
    const base = name.slice(name.lastIndexOf('/') + 1);
    if (!/^[^.].*\.[A-Za-z0-9]+$/.test(base)) return bad('FileName must end in a file suffix, e.g. name.mp4');
  }
  if (s.FileExtension !== undefined) {
    const ext = s.FileExtension;
    if (
      typeof ext !== 'string' ||
      !ext.startsWith('.') ||
      ext.length < 2 ||
      ext.length > FILE_EXTENSION_MAX_CHARS
    ) {
      return bad(`FileExtension must start with "." and have at most ${FILE_EXTENSION_MAX_CHARS} characters`);
    }
  }
  if (s.Title !== undefined && (typeof s.Title !== 'string' || [...s.Title].length > TITLE_MAX_CHARS)) {
    return bad(`Title must be a string of at most ${TITLE_MAX_CHARS} characters`);
  }
  if (s.CustomURLHeaders !== undefined) {
    const h = s.CustomURLHeaders;
    if (
      !h ||
      typeof h !== 'object' ||
      Array.isArray(h) ||
      Object.values(h).some((v) => typeof v !== 'string')
    ) {
      return bad('CustomURLHeaders must map header names to strings');
    }
  }
  return undefined;
}
