import type { UploadSource } from '@vod-callbacks/shared';

/**
 * What the worker stores per JobId it started (`RedisKeys.uploadJob`): the source's key and the
 * attempt (so the callback continues the count), plus, for re-uploads, when it started and the
 * source itself: the URLSet fields it sent, re-sent as they are if the upload fails again.
 */
export interface TrackedUpload {
  sourceKey: string;
  attempt: number;
  startedAt?: number;
  source?: UploadSource;
}

/** Parses a stored mapping; undefined for a missing or unreadable one. */
export function parseTrackedUpload(raw: string | null | undefined): TrackedUpload | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<TrackedUpload>;
    if (typeof v.sourceKey !== 'string' || typeof v.attempt !== 'number') return undefined;
    return v as TrackedUpload;
  } catch {
    return undefined;
  }
}
