import { createHash, timingSafeEqual } from 'node:crypto';

/** Header carrying the Unix time (seconds) the signature was made at. */
export const TIMESTAMP_HEADER = 'x-vod-timestamp';
/** Header carrying the 32-hex-char signature. */
export const SIGNATURE_HEADER = 'x-vod-signature';

/**
 * VOD's callback signature: md5_hex(CallbackURL|timestamp|PrivateKey|base64(raw body)).
 * The raw body is hashed as received: re-serialising JSON would change the bytes.
 */
export function signCallback(
  callbackUrl: string,
  timestamp: string,
  privateKey: string,
  rawBody: Buffer,
): string {
  return createHash('md5')
    .update(`${callbackUrl}|${timestamp}|${privateKey}|${rawBody.toString('base64')}`)
    .digest('hex');
}

/** Why a signature was refused (stable codes, also used in error bodies). */
export type SignatureProblem = 'signature_missing' | 'signature_stale' | 'signature_mismatch';

export interface SignatureSettings {
  callbackUrl: string;
  privateKey: string;
  /**
   * The key before the last rotation, accepted too: VOD applies a new key with a delay, so callbacks
   * signed with the old one keep coming for a while.
   */
  previousPrivateKey?: string;
  maxAgeSeconds: number;
}

/** Which configured key a good signature was made with (`vod_callback_signature_key_total{key}`). */
export type SignatureKey = 'current' | 'previous';
export const SIGNATURE_KEYS: readonly SignatureKey[] = ['current', 'previous'];

/** A signature check: the key that matched, or why none did. */
export type SignatureCheck = { ok: true; key: SignatureKey } | { ok: false; problem: SignatureProblem };

/**
 * Checks the two headers against the raw body, with the current key and then the previous one.
 * Timestamps older than `maxAgeSeconds`, or more than `maxAgeSeconds` in the future (clock skew
 * beyond that is a replay or a broken clock), are refused.
 */
export function checkCallbackSignature(
  settings: SignatureSettings,
  timestamp: string | string[] | undefined,
  signature: string | string[] | undefined,
  rawBody: Buffer,
  nowSeconds: number = Date.now() / 1000,
): SignatureCheck {
  if (typeof timestamp !== 'string' || typeof signature !== 'string') {
    return { ok: false, problem: 'signature_missing' };
  }
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-fA-F]{32}$/.test(signature)) {
    return { ok: false, problem: 'signature_mismatch' };
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > settings.maxAgeSeconds) {
    return { ok: false, problem: 'signature_stale' };
  }
  const given = Buffer.from(signature, 'hex');
  const matches = (key: string) =>
    timingSafeEqual(Buffer.from(signCallback(settings.callbackUrl, timestamp, key, rawBody), 'hex'), given);
  if (matches(settings.privateKey)) return { ok: true, key: 'current' };
  if (settings.previousPrivateKey && matches(settings.previousPrivateKey))
    return { ok: true, key: 'previous' };
  return { ok: false, problem: 'signature_mismatch' };
}

/** `checkCallbackSignature` as a problem, or undefined when the signature is good (with either key). */
export function verifyCallbackSignature(
  settings: SignatureSettings,
  timestamp: string | string[] | undefined,
  signature: string | string[] | undefined,
  rawBody: Buffer,
  nowSeconds: number = Date.now() / 1000,
): SignatureProblem | undefined {
  const check = checkCallbackSignature(settings, timestamp, signature, rawBody, nowSeconds);
  return check.ok ? undefined : check.problem;
}
