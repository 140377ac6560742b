import { vodOpenapi } from '@volcengine/openapi';
import { VodApiError } from './api-error.js';
import {
  MAX_UPLOAD_REQUEST_LINE_BYTES,
  MAX_URLS_PER_CALL,
  type UrlSet,
  uploadRequestLineBytes,
} from './url-set.js';

/** Where and how to reach the VOD OpenAPI (or the simulator). */
export interface VodApiOptions {
  accessKeyId: string;
  secretKey: string;
  /** Signing region, `cn-north-1` for VOD China. */
  region: string;
  /** Host, optionally with a port (`127.0.0.1:8080` for the simulator). */
  host: string;
  /** `https:` or `http:`. */
  protocol: string;
}

/** One accepted URL of an UploadMediaByUrl call. */
export interface UploadedUrl {
  JobId: string;
  SourceUrl: string;
}

/** One entry of QueryUploadTaskInfo's MediaInfoList. */
export interface UploadTaskInfo {
  JobId: string;
  SourceUrl?: string;
  /** `initial`/`processing`/`success`/`failed` (older docs: `init`/`process`/`fail`). */
  State?: string;
  Vid?: string;
  SpaceName?: string;
  RequestId?: string;
  SourceInfo?: Record<string, unknown>;
  /** The URLSet's CallbackArgs, as the upload was started (by this system or anyone else). */
  CallbackArgs?: string;
}

/** What QueryUploadTaskInfo answered. */
export interface UploadTaskQuery {
  infos: UploadTaskInfo[];
  notFound: string[];
}

/** The two VOD actions this project calls; an interface so processors can be tested with a fake. */
export interface VodApi {
  uploadMediaByUrl(spaceName: string, urlSets: UrlSet[]): Promise<UploadedUrl[]>;
  queryUploadTaskInfo(jobIds: string[]): Promise<UploadTaskQuery>;
}

interface Answer<T> {
  ResponseMetadata?: { Error?: { Code?: string; Message?: string } };
  Result?: T;
}

/** Throws VodApiError for an error answer or something that is not an OpenAPI answer. */
function resultOf<T>(action: string, answer: unknown): T {
  if (!answer || typeof answer !== 'object' || !('ResponseMetadata' in answer)) {
    throw new VodApiError('BadResponse', 'the answer is not an OpenAPI response', action);
  }
  const a = answer as Answer<T>;
  const err = a.ResponseMetadata?.Error;
  if (err?.Code) throw new VodApiError(err.Code, err.Message ?? '', action);
  if (a.Result === undefined) throw new VodApiError('BadResponse', 'the answer has no Result', action);
  return a.Result;
}

async function call<T>(action: string, run: () => Promise<unknown>): Promise<T> {
  let answer: unknown;
  try {
    answer = await run();
  } catch (err) {
    // The SDK throws only when no answer came (connection refused, reset, timeout): retryable.
    throw new VodApiError('NetworkError', (err as Error).message, action);
  }
  return resultOf<T>(action, answer);
}

/**
 * The VOD OpenAPI through the official SDK (`@volcengine/openapi`'s `vodOpenapi.VodService`),
 * which signs every request with HMAC-SHA256. Error answers do not throw in the SDK; here they
 * become VodApiError with the API's code.
 */
export class VodApiClient implements VodApi {
  private readonly service: vodOpenapi.VodService;

  constructor(options: VodApiOptions) {
    this.service = new vodOpenapi.VodService({
      serviceName: 'vod',
      host: options.host,
      protocol: options.protocol,
      region: options.region,
    });
    // Set explicitly: the SDK would otherwise fall back to VOLC_* env vars or ~/.volc/config.
    this.service.setAccessKeyId(options.accessKeyId);
    this.service.setSecretKey(options.secretKey);
  }

  async uploadMediaByUrl(spaceName: string, urlSets: UrlSet[]): Promise<UploadedUrl[]> {
    if (urlSets.length === 0 || urlSets.length > MAX_URLS_PER_CALL) {
      throw new RangeError(`UploadMediaByUrl takes 1–${MAX_URLS_PER_CALL} URLs, got ${urlSets.length}`);
    }
    const bytes = uploadRequestLineBytes(spaceName, urlSets);
    if (bytes > MAX_UPLOAD_REQUEST_LINE_BYTES) {
      // A gateway would refuse it (414) without an OpenAPI answer: split it first (packUrlSets).
      throw new RangeError(
        `UploadMediaByUrl request line of ${bytes} bytes is over ${MAX_UPLOAD_REQUEST_LINE_BYTES}`,
      );
    }
    // The SDK JSON-encodes array parameters in place, so it gets a fresh object.
    const req = { SpaceName: spaceName, URLSets: urlSets.map((u) => ({ ...u })) };
    const result = await call<{ Data?: UploadedUrl[] }>('UploadMediaByUrl', () =>
      this.service.UploadMediaByUrl(req as never),
    );
    return result.Data ?? [];
  }

  async queryUploadTaskInfo(jobIds: string[]): Promise<UploadTaskQuery> {
    if (jobIds.length === 0 || jobIds.length > MAX_URLS_PER_CALL) {
      throw new RangeError(`QueryUploadTaskInfo takes 1–${MAX_URLS_PER_CALL} JobIds, got ${jobIds.length}`);
    }
    const result = await call<{ Data?: { MediaInfoList?: UploadTaskInfo[]; NotExistJobIds?: string[] } }>(
      'QueryUploadTaskInfo',
      () => this.service.QueryUploadTaskInfo({ JobIds: jobIds.join(',') }),
    );
    return { infos: result.Data?.MediaInfoList ?? [], notFound: result.Data?.NotExistJobIds ?? [] };
  }
}
