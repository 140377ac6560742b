import { STATUS_CODES } from 'node:http';

/** Every error the ingress answers with, by stable code. Bodies are `{"error": code, "message": …}`. */
export const HTTP_ERRORS = {
  invalid_json: { status: 400, message: 'Body is not valid JSON.' },
  invalid_encoding: { status: 400, message: 'Body is not valid UTF-8.' },
  not_an_object: { status: 400, message: 'Body must be a JSON object.' },
  too_deep: { status: 400, message: 'JSON nesting exceeds CALLBACK_MAX_DEPTH.' },
  invalid_request_id: { status: 400, message: 'RequestId must be a string of 1–128 printable characters.' },
  empty_body: { status: 400, message: 'Body is empty.' },
  bad_request: {
    status: 400,
    message:
      'Malformed HTTP request (e.g. a bad URL or Content-Length, Content-Length with Transfer-Encoding, no Host).',
  },
  signature_missing: { status: 401, message: 'X-VOD-TIMESTAMP and X-VOD-SIGNATURE are required.' },
  signature_stale: { status: 401, message: 'X-VOD-TIMESTAMP is outside the accepted window.' },
  signature_mismatch: { status: 401, message: 'X-VOD-SIGNATURE does not match the body.' },
  unauthorized: { status: 401, message: 'Authentication required.' },
  not_found: { status: 404, message: 'No such route.' },
  upload_not_found: { status: 404, message: 'Nothing is recorded for this upload.' },
  invalid_query: {
    status: 400,
    message: 'spaceName and sourceUrl are required, each once (callbackArgs optional, once).',
  },
  method_not_allowed: { status: 405, message: 'Method not allowed.' },
  url_too_long: { status: 414, message: 'A path segment exceeds 1,024 characters.' },
  request_timeout: { status: 408, message: 'Request body not received in time.' },
  too_large: { status: 413, message: 'Body exceeds CALLBACK_BODY_LIMIT.' },
  unsupported_media_type: { status: 415, message: 'Content-Type must be application/json.' },
  unsupported_content_encoding: {
    status: 415,
    message: 'Content-Encoding must be identity: send the JSON uncompressed.',
  },
  headers_too_large: { status: 431, message: 'Request headers exceed the 16 KB limit.' },
  rate_limited: { status: 429, message: 'Too many requests from this address.' },
  unavailable: { status: 503, message: 'Event store (Redis) unavailable; retry later.' },
  replication_timeout: {
    status: 503,
    message: 'Event not acknowledged by REDIS_MIN_REPLICAS Redis replicas in time; retry later.',
  },
  overloaded: { status: 503, message: 'Server overloaded; retry later.' },
  internal: { status: 500, message: 'Internal error.' },
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** An error with a stable code, thrown inside handlers and parsers and rendered by the error handler. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: HttpErrorCode,
    message?: string,
  ) {
    super(message ?? HTTP_ERRORS[code].message);
    this.statusCode = HTTP_ERRORS[code].status;
  }
}

/** Maps an error Node's HTTP parser raised before any route saw the request (`clientError`) onto ours. */
export function fromClientError(err: { code?: string }): HttpErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  return 'bad_request';
}

/** The whole HTTP/1.1 answer for `code`, written straight to a socket that has no request or reply yet. */
export function rawErrorResponse(code: HttpErrorCode): string {
  const { status, message } = HTTP_ERRORS[code];
  const body = JSON.stringify({ error: code, message });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Maps Fastify's own error codes (parser, limits) onto ours. */
export function fromFastifyError(err: { code?: string; statusCode?: number }): HttpErrorCode {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'invalid_json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'empty_body';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'invalid_json';
  }
  if (err.statusCode === 413) return 'too_large';
  if (err.statusCode === 415) return 'unsupported_media_type';
  if (err.statusCode === 408) return 'request_timeout';
  if (err.statusCode === 429) return 'rate_limited';
  if (err.statusCode === 404) return 'not_found';
  if (err.statusCode === 400) return 'invalid_json';
  return 'internal';
}
