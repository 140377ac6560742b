/** How a failed OpenAPI call should be handled. */
export type ApiErrorKind = 'retryable' | 'rejected';

/**
 * Why a code is handled as it is: the first four are rejected (a person must fix credentials,
 * permissions, the request or the endpoint; retrying cannot help); `accepted` is rejected too (VOD
 * took the call, so a retry would upload again); the last two are retried.
 */
export type ApiErrorGroup =
  | 'credential'
  | 'permission'
  | 'parameter'
  | 'action'
  | 'accepted'
  | 'throttling'
  | 'service';

/**
 * The OpenAPI gateway's public error codes (Volcengine's common error-code list, which VOD's error
 * page refers to) and the VOD-side service codes, by group. A `.`-suffixed sub-code
 * (`InvalidParameter.URLSets`) takes its base code's group.
 */
export const API_ERROR_GROUPS: Readonly<Record<string, ApiErrorGroup>> = {
  // The key, the signature or the signing time is wrong.
  InvalidClientTokenId: 'credential',
  InvalidAccessKey: 'credential',
  SignatureDoesNotMatch: 'credential',
  MissingSignature: 'credential',
  MissingAuthenticationToken: 'credential',
  MissingRequestInfo: 'credential',
  InvalidAuthorization: 'credential',
  InvalidCredential: 'credential',
  InvalidSecretToken: 'credential',
  // A clock off by more than the gateway allows: every retry is signed by the same clock.
  InvalidTimestamp: 'credential',
  InnerApiNeedAccountInfo: 'credential',
  ServiceShouldCallSelfApi: 'credential',
  // The key is fine but may not do this (IAM policy, project policy).
  LackPolicy: 'permission',
  LackProjectPolicy: 'permission',
  AccessDenied: 'permission',
  // The request itself is wrong.
  MissingParameter: 'parameter',
  InvalidParameter: 'parameter',
  InvalidParameterValue: 'parameter',
  // The endpoint does not offer this action/version/region (a wrong VOD_API_HOST or VOD_REGION).
  InvalidAction: 'action',
  InvalidVersion: 'action',
  InvalidActionOrVersion: 'action',
  UnsupportedRegion: 'action',
  ServiceNotFound: 'action',
  // Our own: one URLSet too long for a request line on its own (see packUrlSets).
  RequestTooLarge: 'parameter',
  // Our own: VOD accepted the call but its answer cannot be paired with the URLs sent. Calling
  // again would start a second upload (a duplicate asset and an orphan callback).
  UnpairedResponse: 'accepted',
  // Too many requests for the account's quota: slow down and try again.
  FlowLimitExceeded: 'throttling',
  // The service failed or is overloaded: try again.
  ServiceUnavailableTemp: 'service',
  ServiceUnavailable: 'service',
  InternalError: 'service',
  InternalServiceError: 'service',
  InternalServiceTimeout: 'service',
  UndefinedError: 'service',
  // Failures of our own: no answer at all, or one that is not an OpenAPI answer (a gateway's HTML page).
  NetworkError: 'service',
  BadResponse: 'service',
};

const REJECTED_GROUPS: ReadonlySet<ApiErrorGroup> = new Set([
  'credential',
  'permission',
  'parameter',
  'action',
  'accepted',
]);

/** The group of a code (its own, or its base code's for `Base.Sub`); undefined for codes not listed. */
export function apiErrorGroup(code: string): ApiErrorGroup | undefined {
  const own = API_ERROR_GROUPS[code];
  if (own) return own;
  const dot = code.indexOf('.');
  return dot > 0 ? API_ERROR_GROUPS[code.slice(0, dot)] : undefined;
}

/**
 * Rejected for credential, permission, parameter and action codes (and their sub-codes): these are
 * dead-lettered at once with the code. Retryable for throttling and service codes, network errors,
 * and codes not listed (their retries are bounded by the job's attempts).
 */
export function apiErrorKind(code: string): ApiErrorKind {
  const group = apiErrorGroup(code);
  return group && REJECTED_GROUPS.has(group) ? 'rejected' : 'retryable';
}

/**
 * An error answer of the VOD OpenAPI (`ResponseMetadata.Error`) or a failure to get one (network,
 * timeout, a body that is not an OpenAPI answer). `code` is the API's code, or `NetworkError` /
 * `BadResponse` for failures of our own.
 */
export class VodApiError extends Error {
  override name = 'VodApiError';
  readonly kind: ApiErrorKind;

  constructor(
    readonly code: string,
    message: string,
    readonly action: string,
  ) {
    super(`${action} failed: ${code}: ${message}`);
    this.kind = apiErrorKind(code);
  }

  /** True for parameter errors: one bad entry of a batch fails the whole call. */
  get isParameterError(): boolean {
    return apiErrorGroup(this.code) === 'parameter';
  }
}
