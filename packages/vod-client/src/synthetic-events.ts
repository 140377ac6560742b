import {
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  type EventJobData,
  type EventJobSettings,
  eventJobId,
  eventJobOptions,
  openQueue,
  type RedisClient,
  type UploadCompleteEvent,
} from '@vod-callbacks/shared';
import type { Queue } from 'bullmq';

/**
 * Puts synthetic events (from reconciliation) on `vod-events`, so they take exactly the path of a
 * callback. The job id derives from the RequestId like the ingress's, so a JobId looked up twice
 * collapses onto one job (and the worker's processed marker catches it after the job is gone).
 */
export class SyntheticEventWriter {
  readonly queue: Queue<EventJobData>;

  /** `settings`: EVENT_JOB_ATTEMPTS and EVENT_JOB_KEEP_COMPLETED, as the ingress gives callbacks. */
  constructor(connection: RedisClient, prefix: string, settings: EventJobSettings) {
    this.queue = openQueue<EventJobData>(EVENTS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: eventJobOptions(settings),
    });
  }

  async add(event: UploadCompleteEvent, nowMs: number): Promise<void> {
    await this.queue.add(
      EVENT_JOB_NAME,
      { body: JSON.stringify(event), receivedAt: nowMs, origin: 'reconcile' },
      { jobId: eventJobId(event.RequestId) },
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
