import type { EventJobData } from '@vod-callbacks/shared';
import type { AttemptSource } from './outcome-store.js';

/** Where an event job came from: VOD's own callback (no origin), a dead-letter replay, or reconciliation. */
export type EventOrigin = EventJobData['origin'];

/** What an event's origin changes in its processing; see `originRules`. */
export interface OriginRules {
  /**
   * A success or permanent code is recorded in one script call, without a lookup first. Not for a
   * reconciled event: it must first check that its JobId's callback was not recorded meanwhile.
   */
  finalCodesWithoutLookup: boolean;
  /** Where that record takes the attempt from (the JobId mapping; strict: see `yieldsToReconciled`). */
  attemptFrom: AttemptSource;
  /** Nothing is recorded when reconciliation already recorded the JobId's outcome (a late callback). */
  yieldsToReconciled: boolean;
  /** Nothing is recorded when the JobId's callback was already recorded (a reconciliation that raced it). */
  yieldsToCallback: boolean;
  /** The JobId mapping the outcome writes says reconciliation recorded it. */
  marksReconciled: boolean;
}

const RULES: Record<'callback' | 'replay' | 'reconcile', OriginRules> = {
  // VOD's callback: reconciliation only stands in for it, so a reconciled outcome makes it late.
  callback: {
    finalCodesWithoutLookup: true,
    attemptFrom: 'mapping-strict',
    yieldsToReconciled: true,
    yieldsToCallback: false,
    marksReconciled: false,
  },
  // A person replayed a dead letter: it runs once more, whatever else was recorded for its JobId.
  replay: {
    finalCodesWithoutLookup: true,
    attemptFrom: 'mapping',
    yieldsToReconciled: false,
    yieldsToCallback: false,
    marksReconciled: false,
  },
  // Synthesised from QueryUploadTaskInfo because the callback never came: the callback wins a race.
  reconcile: {
    finalCodesWithoutLookup: false,
    attemptFrom: 'mapping',
    yieldsToReconciled: false,
    yieldsToCallback: true,
    marksReconciled: true,
  },
};

/** The one place that says how an event's origin changes its processing. */
export function originRules(origin: EventOrigin | string | undefined): OriginRules {
  if (origin === 'reconcile') return RULES.reconcile;
  if (origin === 'replay') return RULES.replay;
  return RULES.callback;
}
