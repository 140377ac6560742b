/** How a failed OpenAPI call should be handled. */
export type ApiErrorKind = 'retryable' | 'rejected';

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
    return PARAMETER_CODES.some((p) => this.code === p || this.code.startsWith(`${p}.`));
  }
}

// Codes that will fail the same way however often they are retried: credentials, signature,
// permissions and bad parameters. A person must fix something, so these are dead-lettered.
const REJECTED_CODES = [
  'InvalidAccessKey',
  'SignatureDoesNotMatch',
  'InvalidAuthorization',
  'MissingAuthenticationToken',
  'InvalidTimestamp',
  'InvalidCredential',
  'AccessDenied',
  'InvalidActionOrVersion',
  'InvalidSecretToken',
];
const PARAMETER_CODES = ['MissingParameter', 'InvalidParameter', 'InvalidParameterValue'];

/**
 * Rejected for credential/signature/permission/parameter codes (and their `.`-suffixed
 * sub-codes); retryable for everything else — throttling, 5xx-style codes, network errors, and
 * codes we do not know (their retries are bounded by the job's attempts).
 */
export function apiErrorKind(code: string): ApiErrorKind {
  const matches = (list: string[]) => list.some((c) => code === c || code.startsWith(`${c}.`));
  return matches(REJECTED_CODES) || matches(PARAMETER_CODES) ? 'rejected' : 'retryable';
}
