import { readFileSync } from 'node:fs';

/** What one upload of a URL comes to. */
export interface StepOutcome {
  /** Callback code (`Success` or an error code). */
  code: string;
  message: string;
  /** The callback is never sent (the task can still be looked up with QueryUploadTaskInfo). */
  drop: boolean;
}

/** Query parameter of a source URL that scripts its outcomes, e.g. `?vodsim=fail,fail,ok`. */
export const SCRIPT_PARAM = 'vodsim';

const DOWNLOAD_STATUS: Record<string, string> = {
  '400': '400 Bad Request',
  '403': '403 Forbidden',
  '404': '404 Not Found',
  '410': '410 Gone',
  '429': '429 Too Many Requests',
  '500': '500 Internal Server Error',
  '502': '502 Bad Gateway',
  '503': '503 Service Unavailable',
  '504': '504 Gateway Timeout',
};

/** Thrown for a script the simulator cannot read; the message names the bad step. */
export class ScriptError extends Error {
  override name = 'ScriptError';
}

/**
 * One step of a script: `ok`, `fail` (InternalError.UrlUploadError), `uploadfail`
 * (UploadFailed.UrlUploadFailed), an HTTP status such as `404`/`503` (DownloadFailed.UrlDownloadFail
 * with that status as Message), `timeout`, `md5` (CheckError.Md5MissMatch), `invalid`
 * (InvalidParameter.InvalidParam), `deny` (OperationDenied.DenyOverwriteUpload) or `code=<Code>`;
 * optionally followed by `~drop` to lose the callback.
 */
export function parseStep(step: string): StepOutcome {
  const [what = '', ...mods] = step.trim().split('~');
  for (const m of mods) if (m !== 'drop') throw new ScriptError(`unknown modifier ~${m} in ${step}`);
  const drop = mods.includes('drop');
  const out = (code: string, message: string): StepOutcome => ({ code, message, drop });
  if (what === 'ok') return out('Success', 'file upload success');
  if (what === 'fail') return out('InternalError.UrlUploadError', 'internal upload error');
  if (what === 'uploadfail') return out('UploadFailed.UrlUploadFailed', 'upload failed');
  if (what === 'timeout') return out('DownloadFailed.UrlDownloadFail', 'download timeout');
  if (what === 'md5') return out('CheckError.Md5MissMatch', 'md5 mismatch');
  if (what === 'invalid') return out('InvalidParameter.InvalidParam', 'invalid parameter');
  if (what === 'deny') return out('OperationDenied.DenyOverwriteUpload', 'deny overwrite upload');
  if (DOWNLOAD_STATUS[what]) return out('DownloadFailed.UrlDownloadFail', DOWNLOAD_STATUS[what]!);
  if (what.startsWith('code=') && what.length > 5) return out(what.slice(5), 'simulated outcome');
  throw new ScriptError(`unknown step ${JSON.stringify(step)}`);
}

/** A comma-separated script: step n is the n-th upload of the URL; the last step repeats. */
export function parseScript(script: string): StepOutcome[] {
  const steps = script.split(',').filter((s) => s.trim() !== '');
  if (steps.length === 0) throw new ScriptError('empty script');
  return steps.map(parseStep);
}

/** Scripts per exact SourceUrl, from `SIM_SCENARIO_FILE` (`{"<url>": "fail,ok", …}`). */
export type ScenarioFile = ReadonlyMap<string, StepOutcome[]>;

/** Reads and checks a scenario file at start (a bad file stops the simulator). */
export function loadScenarioFile(path: string): ScenarioFile {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScriptError(`${path}: expected an object of URL → script`);
  }
  const map = new Map<string, StepOutcome[]>();
  for (const [url, script] of Object.entries(raw)) {
    if (typeof script !== 'string') throw new ScriptError(`${path}: script of ${url} is not a string`);
    map.set(url, parseScript(script));
  }
  return map;
}

/**
 * The outcome of the `uploadNumber`-th upload (1-based) of `sourceUrl`: the scenario file's script,
 * else the URL's `vodsim` parameter, else success. A URL not starting with http(s) fails like VOD's
 * InvalidParameter.InvalidParam; an unreadable script does too (the simulator never crashes on input).
 */
export function outcomeFor(sourceUrl: string, uploadNumber: number, scenarios?: ScenarioFile): StepOutcome {
  if (!/^https?:\/\//i.test(sourceUrl)) {
    return { code: 'InvalidParameter.InvalidParam', message: 'SourceUrl must start with http', drop: false };
  }
  let steps = scenarios?.get(sourceUrl);
  if (!steps) {
    let script: string | null = null;
    try {
      script = new URL(sourceUrl).searchParams.get(SCRIPT_PARAM);
    } catch {
      return { code: 'InvalidParameter.InvalidParam', message: 'SourceUrl is not a URL', drop: false };
    }
    if (script === null) return { code: 'Success', message: 'file upload success', drop: false };
    try {
      steps = parseScript(script);
    } catch (err) {
      return { code: 'InvalidParameter.InvalidParam', message: (err as Error).message, drop: false };
    }
  }
  return steps[Math.min(uploadNumber, steps.length) - 1]!;
}
