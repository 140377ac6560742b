import type { StepOutcome } from './scenario.js';

/** One accepted URL of an UploadMediaByUrl call. */
export interface SimTask {
  jobId: string;
  spaceName: string;
  sourceUrl: string;
  callbackArgs: string;
  md5?: string;
  fileName?: string;
  templates?: unknown;
  /** The URLSet as received (for tests: what a re-upload really sent). */
  urlSet?: Record<string, unknown>;
  /** Which upload of this URL it is (1-based), which picks the scripted outcome. */
  uploadNumber: number;
  outcome: StepOutcome;
  state: 'initial' | 'processing' | 'success' | 'failed';
  vid: string;
  requestId: string;
  sourceInfo?: Record<string, unknown>;
  createdAt: number;
}

/**
 * Tasks by JobId and upload counts per URL, in memory and bounded: past `maxTasks` the oldest are
 * forgotten (QueryUploadTaskInfo then lists them as not existing, as VOD does for expired jobs).
 */
export class TaskStore {
  private readonly tasks = new Map<string, SimTask>();
  private readonly uploads = new Map<string, number>();

  constructor(private readonly maxTasks: number) {}

  /** Counts one more upload of (space, url) and returns its number. */
  nextUploadNumber(spaceName: string, sourceUrl: string): number {
    const key = `${spaceName}\u0000${sourceUrl}`;
    const n = (this.uploads.get(key) ?? 0) + 1;
    this.uploads.delete(key);
    this.uploads.set(key, n);
    if (this.uploads.size > this.maxTasks) this.uploads.delete(this.uploads.keys().next().value!);
    return n;
  }

  add(task: SimTask): void {
    this.tasks.set(task.jobId, task);
    if (this.tasks.size > this.maxTasks) this.tasks.delete(this.tasks.keys().next().value!);
  }

  get(jobId: string): SimTask | undefined {
    return this.tasks.get(jobId);
  }

  get size(): number {
    return this.tasks.size;
  }
}
