import type { CodeClass, Decision } from '@vod-callbacks/shared';

/**
 * What to do with a classified event. `attempt` is the upload this event reports on (1 = the
 * customer's original); a retryable failure is re-uploaded while `attempt < maxAttempts` and the
 * re-upload is allowed (`reuploadAllowed`, see reuploadRefusal), else dead-lettered. An unknown code
 * never gets here: it is dead-lettered before (the event processor).
 */
export function decide(
  cls: Exclude<CodeClass, 'unknown'>,
  attempt: number,
  maxAttempts: number,
  reuploadAllowed = true,
): Decision {
  switch (cls) {
    case 'success':
      return 'succeeded';
    case 'permanent':
      return 'failed_permanent';
    case 'retryable':
      if (attempt >= maxAttempts) return 'retries_exhausted';
      return reuploadAllowed ? 'reupload_scheduled' : 'dead_lettered';
  }
}

/**
 * Where re-uploads may go: REUPLOAD_SPACES and REUPLOAD_URL_HOSTS. An empty list allows any value
 * (the worker refuses to start with credentials and no spaces, see config.ts).
 */
export interface ReuploadScope {
  /** SpaceNames re-uploads may go into. */
  spaces: ReadonlySet<string>;
  /** Hosts a SourceUrl may name: `cdn.example.com`, or `*.example.com` for any subdomain. Lower case. */
  urlHosts: readonly string[];
}

/** A scope that allows every re-upload. */
export const ANY_REUPLOAD_SCOPE: ReuploadScope = { spaces: new Set(), urlHosts: [] };

/**
 * Why re-uploading this source is not allowed (the dead letter's detail), or undefined when it is.
 * A callback can name any space and URL; without this, a forged one makes VOD pull that URL into
 * whichever space it names.
 */
export function reuploadRefusal(
  scope: ReuploadScope,
  source: { spaceName: string; sourceUrl: string },
): string | undefined {
  if (scope.spaces.size > 0 && !scope.spaces.has(source.spaceName)) {
    return `SpaceName ${JSON.stringify(source.spaceName.slice(0, 100))} is not in REUPLOAD_SPACES`;
  }
  if (scope.urlHosts.length === 0) return undefined;
  let host: string;
  try {
    host = new URL(source.sourceUrl).hostname.toLowerCase();
  } catch {
    return 'SourceUrl is not a URL, so its host cannot be checked against REUPLOAD_URL_HOSTS';
  }
  const allowed = scope.urlHosts.some((entry) =>
    entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry,
  );
  return allowed
    ? undefined
    : `SourceUrl host ${JSON.stringify(host.slice(0, 100))} is not in REUPLOAD_URL_HOSTS`;
}
