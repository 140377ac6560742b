import type { UploadSource } from '@vod-callbacks/shared';
import {
  MAX_URLS_PER_CALL,
  type UploadedUrl,
  urlSetOf,
  type VodApi,
  VodApiError,
} from '@vod-callbacks/vod-client';

/** What one URL's share of an UploadMediaByUrl call came to. */
export type UploadResult = { ok: true; jobId: string } | { ok: false; error: VodApiError };

/** Settings of the batcher. */
export interface UploadBatcherOptions {
  /** URLs per call (VOD's limit is 20). */
  maxBatch?: number;
  /** How long the first URL of a batch waits for others of its space. */
  waitMs: number;
}

interface Waiting {
  source: UploadSource;
  resolve: (r: UploadResult) => void;
}

/**
 * Groups the re-uploads this process is handling right now by SpaceName into UploadMediaByUrl calls
 * of up to 20 URLs. Each URL stays its own BullMQ job, locked by this worker while it waits here, so
 * a crash loses nothing (the jobs stall and are retried) and other worker processes batch their own
 * jobs; the batcher only shares the HTTP call. It never throws: every URL gets an UploadResult.
 */
export class UploadBatcher {
  private readonly bySpace = new Map<string, { items: Waiting[]; timer: NodeJS.Timeout }>();
  private readonly maxBatch: number;

  constructor(
    private readonly api: VodApi,
    private readonly options: UploadBatcherOptions,
  ) {
    this.maxBatch = Math.min(options.maxBatch ?? MAX_URLS_PER_CALL, MAX_URLS_PER_CALL);
  }

  /** Uploads `source` again, in a call shared with other URLs of its space that are due now. */
  submit(source: UploadSource): Promise<UploadResult> {
    return new Promise((resolve) => {
      const space = source.spaceName;
      let batch = this.bySpace.get(space);
      if (!batch) {
        const timer = setTimeout(() => this.flush(space), this.options.waitMs);
        batch = { items: [], timer };
        this.bySpace.set(space, batch);
      }
      batch.items.push({ source, resolve });
      if (batch.items.length >= this.maxBatch) this.flush(space);
    });
  }

  private flush(space: string): void {
    const batch = this.bySpace.get(space);
    if (!batch) return;
    this.bySpace.delete(space);
    clearTimeout(batch.timer);
    void this.call(space, batch.items, true);
  }

  private async call(space: string, items: Waiting[], maySplit: boolean): Promise<void> {
    let data: UploadedUrl[];
    try {
      data = await this.api.uploadMediaByUrl(
        space,
        items.map((i) => urlSetOf(i.source)),
      );
    } catch (err) {
      const error =
        err instanceof VodApiError
          ? err
          : new VodApiError('Error', (err as Error).message, 'UploadMediaByUrl');
      // A parameter error names no URL: one bad entry must not dead-letter its neighbours, so each
      // URL is tried alone once to find the one VOD refuses.
      if (maySplit && items.length > 1 && error.kind === 'rejected' && error.isParameterError) {
        await Promise.all(items.map((i) => this.call(space, [i], false)));
        return;
      }
      for (const i of items) i.resolve({ ok: false, error });
      return;
    }
    for (const [item, jobId] of matchJobIds(items, data)) {
      item.resolve(
        jobId
          ? { ok: true, jobId }
          : {
              ok: false,
              error: new VodApiError(
                'BadResponse',
                'no JobId returned for this SourceUrl',
                'UploadMediaByUrl',
              ),
            },
      );
    }
  }
}

/**
 * Pairs each submitted URL with its JobId. VOD answers one entry per URL in order; matching by
 * SourceUrl (in order among equal URLs) keeps that right even if the order were not kept.
 */
export function matchJobIds<T extends { source: UploadSource }>(
  items: readonly T[],
  data: readonly UploadedUrl[],
): [T, string | undefined][] {
  const used = new Set<number>();
  return items.map((item) => {
    const idx = data.findIndex(
      (d, i) => !used.has(i) && d.SourceUrl === item.source.sourceUrl && Boolean(d.JobId),
    );
    if (idx < 0) return [item, undefined];
    used.add(idx);
    return [item, data[idx]!.JobId];
  });
}
