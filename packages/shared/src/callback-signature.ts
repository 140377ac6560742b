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
  maxAgeSeconds: number;
}

/**
 * Checks the two headers against the raw body. Timestamps older than `maxAgeSeconds`, or more than
 * `maxAgeSeconds` in the future (clock skew beyond that is a replay or a broken clock), are refused.
 * Returns undefined when the signature is good.
 */
export function verifyCallbackSignature(
  settings: SignatureSettings,
  timestamp: string | string[] | undefined,
  signature: string | string[] | undefined,
  rawBody: Buffer,
  nowSeconds: number = Date.now() / 1000,
): SignatureProblem | undefined {
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return 'signature_missing';
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-fA-F]{32}$/.test(signature)) return 'signature_mismatch';
  if (Math.abs(nowSeconds - Number(timestamp)) > settings.maxAgeSeconds) return 'signature_stale';
  const expected = Buffer.from(
    signCallback(settings.callbackUrl, timestamp, settings.privateKey, rawBody),
    'hex',
  );
  const given = Buffer.from(signature, 'hex');
  return timingSafeEqual(expected, given) ? undefined : 'signature_mismatch';
}
