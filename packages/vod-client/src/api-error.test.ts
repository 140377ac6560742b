import { describe, expect, it } from 'vitest';
import { apiErrorKind, VodApiError } from './api-error.js';

// The public OpenAPI error codes (Volcengine's common error-code list that VOD's docs refer to, plus
// the gateway's throttling and service codes), each with how the worker must treat it. Written out
// here rather than derived from the implementation's table, so a code dropped or moved there fails.
const PUBLIC_CODES: [code: string, kind: 'rejected' | 'retryable'][] = [
  ['UndefinedError', 'retryable'],
  ['MissingParameter', 'rejected'],
  ['MissingAuthenticationToken', 'rejected'],
  ['MissingRequestInfo', 'rejected'],
  ['MissingSignature', 'rejected'],
  ['InvalidTimestamp', 'rejected'],
  ['ServiceNotFound', 'rejected'],
  ['ServiceUnavailable', 'retryable'],
  ['InvalidActionOrVersion', 'rejected'],
  ['InvalidAction', 'rejected'],
  ['InvalidVersion', 'rejected'],
  ['UnsupportedRegion', 'rejected'],
  ['InvalidClientTokenId', 'rejected'],
  ['InvalidAccessKey', 'rejected'],
  ['SignatureDoesNotMatch', 'rejected'],
  ['ServiceShouldCallSelfApi', 'rejected'],
  ['LackPolicy', 'rejected'],
  ['LackProjectPolicy', 'rejected'],
  ['AccessDenied', 'rejected'],
  ['InternalError', 'retryable'],
  ['InternalServiceError', 'retryable'],
  ['InternalServiceTimeout', 'retryable'],
  ['ServiceUnavailableTemp', 'retryable'],
  ['FlowLimitExceeded', 'retryable'],
  ['InvalidAuthorization', 'rejected'],
  ['InvalidCredential', 'rejected'],
  ['InvalidSecretToken', 'rejected'],
  ['InnerApiNeedAccountInfo', 'rejected'],
  ['InvalidParameter', 'rejected'],
  ['InvalidParameterValue', 'rejected'],
];

describe('apiErrorKind', () => {
  it.each(PUBLIC_CODES)('%s is %s', (code, kind) => {
    expect(apiErrorKind(code)).toBe(kind);
    expect(new VodApiError(code, 'm', 'UploadMediaByUrl').kind).toBe(kind);
  });

  it('sub-codes take their base code’s kind; only parameter codes split a batch', () => {
    expect(apiErrorKind('InvalidParameter.URLSets')).toBe('rejected');
    expect(apiErrorKind('MissingParameter.SpaceName')).toBe('rejected');
    expect(apiErrorKind('InternalError.Timeout')).toBe('retryable');
    expect(new VodApiError('InvalidParameter.URLSets', '', 'a').isParameterError).toBe(true);
    expect(new VodApiError('LackPolicy', '', 'a').isParameterError).toBe(false);
  });

  it('our own failures and codes not listed are retried (bounded by the job’s attempts)', () => {
    for (const c of ['NetworkError', 'BadResponse', 'Whatever', 'LackPolicyX', '.InvalidParameter'])
      expect(apiErrorKind(c), c).toBe('retryable');
  });
});

describe('our own codes', () => {
  it('RequestTooLarge and UnpairedResponse are never retried', () => {
    expect(apiErrorKind('RequestTooLarge')).toBe('rejected');
    // VOD accepted the call: a retry would upload the URL a second time.
    expect(apiErrorKind('UnpairedResponse')).toBe('rejected');
  });
});
