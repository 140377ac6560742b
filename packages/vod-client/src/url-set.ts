import type { UploadSource } from '@vod-callbacks/shared';

/** One entry of UploadMediaByUrl's URLSets, as the API spells it. */
export interface UrlSet {
  SourceUrl: string;
  CallbackArgs?: string;
  Md5?: string;
  FileName?: string;
  FileExtension?: string;
  Templates?: { TemplateIds?: string[]; TemplateType?: string }[];
}

/** VOD's limit of URLs per UploadMediaByUrl call (and JobIds per QueryUploadTaskInfo call). */
export const MAX_URLS_PER_CALL = 20;

/**
 * The URLSet that repeats an upload: the same SourceUrl with what the customer passed the first
 * time, so its own item is still matched when the new callback arrives. Empty values are left out
 * (VOD treats an empty Md5 or FileName as a value).
 */
export function urlSetOf(source: UploadSource): UrlSet {
  const set: UrlSet = { SourceUrl: source.sourceUrl };
  if (source.callbackArgs) set.CallbackArgs = source.callbackArgs;
  if (source.md5) set.Md5 = source.md5;
  if (source.fileName) set.FileName = source.fileName;
  if (source.fileExtension) set.FileExtension = source.fileExtension;
  if (source.templates && source.templates.length > 0) set.Templates = source.templates;
  return set;
}

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number = MAX_URLS_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
