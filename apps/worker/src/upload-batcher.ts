import type { UploadSource } from '@vod-callbacks/shared';
import {
  MAX_UPLOAD_REQUEST_LINE_BYTES,
  MAX_URLS_PER_CALL,
  packUrlSets,
  type ReuploadDefaults,
  type UploadedUrl,
  type UrlSet,
  urlSetOf,
  type VodApi,
  VodApiError,
  withReuploadDefaults,
} from '@vod-callbacks/vod-client';

/** What one URL's share of an UploadMediaByUrl call came to. */
export type UploadResult = { ok: true; jobId: string } | { ok: false; error: VodApiError };

/** Settings of the batcher. */
export interface UploadBatcherOptions {
  /** URLs per call (VOD's limit is 20). */
  maxBatch?: number;
  /** How long the first URL of a batch waits for others of its space. */
  waitMs: number;
  /** REUPLOAD_DEFAULTS_FILE: fields a URLSet gets where its source has none. */
  defaults?: ReuploadDefaults;
}

interface Waiting {
  source: UploadSource;
  resolve: (r: UploadResult) => void;
}

/**
 * Groups the re-uploads this process is handling right now by SpaceName into UploadMediaByUrl calls
 * of up to 20 URLs whose request line stays under MAX_UPLOAD_REQUEST_LINE_BYTES (the SDK puts the
 * URLSets in the query string). Each URL stays its own BullMQ job, locked by this worker while it waits here, so
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
    void this.call(space, batch.items);
  }

  /** Sends the URLs of one space in as many calls as their count and request size need. */
  private async call(space: string, items: Waiting[]): Promise<void> {
    // Defaults are applied here, at every send, and never stored: a rotated header secret takes effect.
    const defaults = this.options.defaults?.for(space) ?? {};
    const sets = items.map((i) => withReuploadDefaults(urlSetOf(i.source), defaults));
    const { groups, tooLong } = packUrlSets(space, sets);
    for (const i of tooLong) {
      items[i]!.resolve({
        ok: false,
        error: new VodApiError(
          'RequestTooLarge',
          `this URLSet alone makes a request line over ${MAX_UPLOAD_REQUEST_LINE_BYTES} bytes`,
          'UploadMediaByUrl',
        ),
      });
    }
    await Promise.all(
      groups.map((g) =>
        this.callGroup(
          space,
          g.map((i) => items[i]!),
          g.map((i) => sets[i]!),
          true,
        ),
      ),
    );
  }

  private async callGroup(space: string, items: Waiting[], sets: UrlSet[], maySplit: boolean): Promise<void> {
    let data: UploadedUrl[];
    try {
      data = await this.api.uploadMediaByUrl(space, sets);
    } catch (err) {
      const error =
        err instanceof VodApiError
          ? err
          : new VodApiError('Error', (err as Error).message, 'UploadMediaByUrl');
      // A parameter error names no URL: one bad entry must not dead-letter its neighbours, so each
      // URL is tried alone once to find the one VOD refuses.
      if (maySplit && items.length > 1 && error.kind === 'rejected' && error.isParameterError) {
        await Promise.all(items.map((item, i) => this.callGroup(space, [item], [sets[i]!], false)));
        return;
      }
      for (const i of items) i.resolve({ ok: false, error });
      return;
    }
    const ids = pairJobIds(
      sets.map((s) => s.SourceUrl),
      data,
    );
    const paired = new Set(ids.filter(Boolean));
    const orphans = data.map((d) => d.JobId).filter((id) => id && !paired.has(id));
    items.forEach((item, i) => {
      const jobId = ids[i];
      item.resolve(
        jobId
          ? { ok: true, jobId }
          : {
              ok: false,
              // VOD took the call: retrying would upload again, so this is not retryable. The
              // JobIds it returned go with the dead letter (for `vodctl reconcile --job-ids`).
              error: new VodApiError(
                'UnpairedResponse',
                `the answer (${data.length} entries for ${sets.length} URLs) gives no JobId for this URL; unpaired JobIds: ${orphans.join(',') || 'none'}`,
                'UploadMediaByUrl',
              ),
            },
      );
    });
  }
}

/**
 * Pairs the URLs of a call with the JobIds of its answer. VOD answers one entry per URLSet, in
 * order: entry i is URL i's, with its echoed SourceUrl as a check (an empty echo passes). If the
 * check fails but the echoes are exactly the URLs sent in another order, they are paired by URL (in
 * order among equal URLs). Otherwise an entry whose check fails, or an answer of another length
 * (where only a URL sent once and echoed once can be paired), leaves URLs without a JobId: those
 * must not be sent again, since VOD may have started them.
 */
export function pairJobIds(sent: readonly string[], data: readonly UploadedUrl[]): (string | undefined)[] {
  const jobId = (d: UploadedUrl | undefined) => (d?.JobId ? d.JobId : undefined);
  if (data.length === sent.length) {
    const agrees = (i: number) => !data[i]!.SourceUrl || data[i]!.SourceUrl === sent[i];
    if (sent.every((_, i) => agrees(i))) return data.map(jobId);
    const echoed = data.map((d) => d.SourceUrl);
    if ([...echoed].sort().join('\n') === [...sent].sort().join('\n')) {
      const used = new Set<number>();
      return sent.map((url) => {
        const idx = data.findIndex((d, i) => !used.has(i) && d.SourceUrl === url);
        used.add(idx);
        return jobId(data[idx]);
      });
    }
    return sent.map((_, i) => (agrees(i) ? jobId(data[i]) : undefined));
  }
  const count = (list: readonly string[], url: string) => list.filter((u) => u === url).length;
  const echoed = data.map((d) => d.SourceUrl);
  return sent.map((url) =>
    count(sent, url) === 1 && count(echoed, url) === 1 ? jobId(data[echoed.indexOf(url)]) : undefined,
  );
}
