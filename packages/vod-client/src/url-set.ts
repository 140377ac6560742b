import { stringify } from 'node:querystring';
import { hasFileNameSuffix, isValidFileExtension, type UploadSource } from '@vod-callbacks/shared';

/** One entry of UploadMediaByUrl's URLSets, as the API spells it. */
export interface UrlSet {
  SourceUrl: string;
  CallbackArgs?: string;
  Md5?: string;
  FileName?: string;
  FileExtension?: string;
  Templates?: { TemplateIds?: string[]; TemplateType?: string }[];
  TemplateId?: string;
  /** Further fields (Title, Tags, ClassificationId, StorageClass, CustomURLHeaders, …) from re-upload defaults. */
  [field: string]: unknown;
}

/** VOD's limit of URLs per UploadMediaByUrl call (and JobIds per QueryUploadTaskInfo call). */
export const MAX_URLS_PER_CALL = 20;

/** VOD's limit on one URLSet's CallbackArgs, in bytes. */
export const MAX_CALLBACK_ARGS_BYTES = 512;

/**
 * The URLSet that repeats an upload: the same SourceUrl, CallbackArgs (so the customer's item is
 * still matched when the new callback arrives) and the fields in `source` — what the customer or
 * this system chose, never VOD's own values (see `uploadSourceOf`). Empty values are left out (VOD
 * treats an empty Md5 or FileName as a value), and so are a FileName without a suffix and a
 * malformed FileExtension, which VOD refuses (a source stored by an older build may hold them).
 */
export function urlSetOf(source: UploadSource): UrlSet {
  const set: UrlSet = { SourceUrl: source.sourceUrl };
  if (source.callbackArgs) set.CallbackArgs = source.callbackArgs;
  if (source.md5) set.Md5 = source.md5;
  if (source.fileName && hasFileNameSuffix(source.fileName)) set.FileName = source.fileName;
  if (source.fileExtension && isValidFileExtension(source.fileExtension))
    set.FileExtension = source.fileExtension;
  if (source.templates && source.templates.length > 0) set.Templates = source.templates;
  else if (source.templateId) set.TemplateId = source.templateId;
  return set;
}

/**
 * Longest request line an UploadMediaByUrl call may have. The SDK sends URLSets as JSON in the
 * query string of a GET (VodService.UploadMediaByUrl; the OpenAPI documents GET for it), and
 * gateways refuse long request lines: nginx's default `large_client_header_buffers` is 8 KB. 8000
 * leaves room for a proxy's absolute-form URL.
 */
export const MAX_UPLOAD_REQUEST_LINE_BYTES = 8000;

/**
 * Bytes of the request line (`GET /?… HTTP/1.1`) the SDK sends for this call: the same parameters,
 * encoded the way it encodes them (node's querystring over the JSON of URLSets).
 */
export function uploadRequestLineBytes(spaceName: string, urlSets: readonly UrlSet[]): number {
  const query = stringify({
    SpaceName: spaceName,
    URLSets: JSON.stringify(urlSets),
    Action: 'UploadMediaByUrl',
    Version: '2020-08-01',
  });
  return Buffer.byteLength(`GET /?${query} HTTP/1.1`);
}

/**
 * Splits URLSets, in order, into calls of at most MAX_URLS_PER_CALL whose request line fits in
 * `maxBytes`. Returns groups of indexes; a URLSet too long even alone is in `tooLong`.
 */
export function packUrlSets(
  spaceName: string,
  urlSets: readonly UrlSet[],
  maxBytes: number = MAX_UPLOAD_REQUEST_LINE_BYTES,
): { groups: number[][]; tooLong: number[] } {
  const groups: number[][] = [];
  const tooLong: number[] = [];
  let current: number[] = [];
  const fits = (idx: number[]) =>
    uploadRequestLineBytes(
      spaceName,
      idx.map((i) => urlSets[i]!),
    ) <= maxBytes;
  for (let i = 0; i < urlSets.length; i++) {
    if (!fits([i])) {
      tooLong.push(i);
      continue;
    }
    const next = [...current, i];
    if (next.length <= MAX_URLS_PER_CALL && fits(next)) {
      current = next;
    } else {
      groups.push(current);
      current = [i];
    }
  }
  if (current.length > 0) groups.push(current);
  return { groups, tooLong };
}

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number = MAX_URLS_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
