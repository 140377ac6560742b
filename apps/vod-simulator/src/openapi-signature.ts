import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The parts of an HTTP request the OpenAPI signature covers. */
export interface SignedRequest {
  method: string;
  /** Path and query exactly as received (`/?Action=…`). */
  rawUrl: string;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Credentials the simulator accepts. */
export interface SignatureCredentials {
  accessKeyId: string;
  secretKey: string;
  /** Region and service the credential scope must name. */
  region: string;
  service: string;
  /** Largest accepted distance between X-Date and now. */
  maxSkewSeconds: number;
}

/** Why a request was refused: the API's error code, HTTP status and message. */
export interface SignatureFailure {
  code: string;
  status: number;
  message: string;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 escaping, as the SDK applies it to query keys and values before signing. */
export function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Query parameters of a raw URL, decoded (no `+` → space: the SDK sends spaces as %20). */
export function parseQuery(rawUrl: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  const q = rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?') + 1) : '';
  for (const pair of q.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    params.set(key, [...(params.get(key) ?? []), value]);
  }
  return params;
}

/** Sorted, escaped `k=v&…`: the canonical query string of the signing algorithm. */
export function canonicalQuery(params: Map<string, string[]>): string {
  return [...params.keys()]
    .sort()
    .map((k) => {
      const values = (params.get(k) ?? []).map(uriEscape).sort();
      return values.map((v) => `${uriEscape(k)}=${v}`).join('&');
    })
    .join('&');
}

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `20261130T031500Z` → epoch ms, or NaN. */
function parseXDate(xDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(xDate);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** HMAC-SHA256 signature of a request over the given credential scope (the SDK's algorithm). */
export function computeSignature(
  req: SignedRequest,
  signedHeaders: string[],
  xDate: string,
  scope: { date: string; region: string; service: string },
  secretKey: string,
): string {
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${(header(req, h) ?? '').replace(/\s+/g, ' ').trim()}`)
    .join('\n');
  const bodyHash = header(req, 'x-content-sha256') ?? sha256Hex(req.body);
  const path = req.rawUrl.split('?')[0] || '/';
  const canonical = [
    req.method.toUpperCase(),
    path,
    canonicalQuery(parseQuery(req.rawUrl)),
    `${canonicalHeaders}\n`,
    signedHeaders.join(';'),
    bodyHash,
  ].join('\n');
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/request`;
  const stringToSign = ['HMAC-SHA256', xDate, credentialScope, sha256Hex(canonical)].join('\n');
  const kDate = hmac(secretKey, scope.date);
  const kSigning = hmac(hmac(hmac(kDate, scope.region), scope.service), 'request');
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

const AUTH_RE =
  /^HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Checks a request's `Authorization` (HMAC-SHA256, as the official SDK signs) and `X-Date`.
 * Returns undefined when the request is authentic, else the error VOD answers with.
 */
export function verifyOpenApiSignature(
  req: SignedRequest,
  creds: SignatureCredentials,
  nowMs: number = Date.now(),
): SignatureFailure | undefined {
  const auth = header(req, 'authorization');
  if (!auth) {
    return { code: 'MissingAuthenticationToken', status: 401, message: 'Request is missing Authorization' };
  }
  const m = AUTH_RE.exec(auth.trim());
  if (!m) return { code: 'InvalidAuthorization', status: 400, message: 'Authorization is malformed' };
  const [, ak, date, region, service, signedList, signature] = m as unknown as string[];
  if (ak !== creds.accessKeyId) {
    return {
      code: 'InvalidClientTokenId',
      status: 401,
      message: 'The security token included in the request is invalid',
    };
  }
  const xDate = header(req, 'x-date') ?? '';
  const at = parseXDate(xDate);
  if (Number.isNaN(at) || !xDate.startsWith(date!)) {
    return {
      code: 'InvalidTimestamp',
      status: 401,
      message: 'X-Date is missing or does not match the credential',
    };
  }
  if (Math.abs(nowMs - at) > creds.maxSkewSeconds * 1000) {
    return { code: 'InvalidTimestamp', status: 401, message: 'X-Date is too far from the server time' };
  }
  const signedHeaders = signedList!.split(';');
  if (!signedHeaders.includes('x-date') || signedHeaders.some((h) => header(req, h) === undefined)) {
    return { code: 'SignatureDoesNotMatch', status: 401, message: 'A signed header is missing' };
  }
  const given = header(req, 'x-content-sha256');
  if (given !== undefined && req.body.length > 0 && given !== sha256Hex(req.body)) {
    return {
      code: 'SignatureDoesNotMatch',
      status: 401,
      message: 'X-Content-Sha256 does not match the body',
    };
  }
  if (region !== creds.region || service !== creds.service) {
    return {
      code: 'SignatureDoesNotMatch',
      status: 401,
      message: 'Credential scope names another region or service',
    };
  }
  const expected = computeSignature(
    req,
    signedHeaders,
    xDate,
    { date: date!, region, service },
    creds.secretKey,
  );
  const ok = timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature!, 'hex'));
  return ok
    ? undefined
    : {
        code: 'SignatureDoesNotMatch',
        status: 401,
        message: 'The request signature we calculated does not match',
      };
}
