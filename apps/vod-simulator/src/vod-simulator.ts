import { UPLOAD_BY_URL_COMPLETE } from '@vod-callbacks/shared';
import type { Logger } from 'pino';
import { CallbackSender } from './callback-sender.js';
import { failureSourceInfo, randomId, successSourceInfo, vodRequestId } from './media-info.js';
import {
  parseQuery,
  type SignatureCredentials,
  type SignedRequest,
  verifyOpenApiSignature,
} from './openapi-signature.js';
import { QpsQuota } from './qps-quota.js';
import { outcomeFor, type ScenarioFile } from './scenario.js';
import { type SimTask, TaskStore } from './task-store.js';
import { checkUrlSets, MAX_URL_SETS } from './upload-rules.js';

/** Everything the simulator is configured with. */
export interface VodSimulatorOptions {
  credentials: SignatureCredentials;
  qps: number;
  processingMs: number;
  maxTasks: number;
  scenarios?: ScenarioFile;
  callbackUrl: string;
  callbackSignUrl: string;
  callbackPrivateKey: string;
  redeliveryDelaysMs: readonly number[];
  callbackTimeoutMs: number;
  /** Longest request line (`GET /?… HTTP/1.1`) answered; longer ones get a gateway's 414. */
  maxRequestLineBytes: number;
  /** Actions the key may not call (answered 403 LackPolicy): a sub-account without the policy. */
  deniedActions?: readonly string[];
  logger: Logger;
}

/** An OpenAPI answer: HTTP status and JSON body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Counters of the API side, exposed on GET /sim/stats. */
export interface ApiStats {
  requests: number;
  byAction: Record<string, number>;
  throttled: number;
  /** Refused requests by error code (signature, parameters, …). */
  errors: Record<string, number>;
  urlsAccepted: number;
  /** UploadMediaByUrl calls by number of URLs (to see batching). */
  uploadBatchSizes: Record<string, number>;
  /** Callbacks not sent because the script said `~drop`. */
  scriptedDrops: number;
}

const VERSION = '2020-08-01';
const ACTIONS = new Set(['UploadMediaByUrl', 'QueryUploadTaskInfo']);

class ApiFailure extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A fake VOD: the two OpenAPI actions we call, the tasks they start, and the callbacks those send. */
export class VodSimulator {
  readonly tasks: TaskStore;
  readonly sender: CallbackSender;
  readonly stats: ApiStats = {
    requests: 0,
    byAction: {},
    throttled: 0,
    errors: {},
    urlsAccepted: 0,
    uploadBatchSizes: {},
    scriptedDrops: 0,
  };
  private readonly quota: QpsQuota;
  private faults: { code: string; status: number; message: string; left: number } | undefined;
  private deniedActions: Set<string>;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: VodSimulatorOptions) {
    this.tasks = new TaskStore(options.maxTasks);
    this.quota = new QpsQuota(options.qps);
    this.deniedActions = new Set(options.deniedActions ?? []);
    this.sender = new CallbackSender({
      callbackUrl: options.callbackUrl,
      signUrl: options.callbackSignUrl || options.callbackUrl,
      privateKey: options.callbackPrivateKey,
      redeliveryDelaysMs: options.redeliveryDelaysMs,
      timeoutMs: options.callbackTimeoutMs,
      logger: options.logger,
    });
  }

  /** Answers one OpenAPI request (`/?Action=…&Version=…`). */
  handle(req: SignedRequest): ApiAnswer {
    this.stats.requests++;
    // The gateway in front of the OpenAPI refuses an over-long request line before any OpenAPI
    // code runs, so the answer is its plain page, not a ResponseMetadata.
    if (Buffer.byteLength(`${req.method} ${req.rawUrl} HTTP/1.1`) > this.options.maxRequestLineBytes) {
      this.stats.errors.RequestLineTooLong = (this.stats.errors.RequestLineTooLong ?? 0) + 1;
      return { status: 414, body: '414 Request-URI Too Large' };
    }
    const query = parseQuery(req.rawUrl);
    // The SDK sends these two actions as GET with query parameters; a form body is accepted too.
    if (req.body.length > 0 && String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
      for (const [k, v] of parseQuery(`?${req.body.toString('utf8')}`)) if (!query.has(k)) query.set(k, v);
    }
    const param = (name: string) => query.get(name)?.[0];
    const action = param('Action') ?? '';
    const version = param('Version') ?? '';
    this.stats.byAction[action || '(none)'] = (this.stats.byAction[action || '(none)'] ?? 0) + 1;
    const meta = {
      RequestId: vodRequestId(Date.now()),
      Action: action,
      Version: version,
      Service: 'vod',
      Region: this.options.credentials.region,
    };
    try {
      const sigProblem = verifyOpenApiSignature(req, this.options.credentials);
      if (sigProblem) throw new ApiFailure(sigProblem.code, sigProblem.status, sigProblem.message);
      if (!this.quota.take()) {
        this.stats.throttled++;
        throw new ApiFailure(
          'FlowLimitExceeded',
          429,
          `Request rate exceeds the quota of ${this.options.qps} QPS`,
        );
      }
      if (this.faults && this.faults.left > 0) {
        this.faults.left--;
        throw new ApiFailure(this.faults.code, this.faults.status, this.faults.message);
      }
      if (version !== VERSION || !ACTIONS.has(action)) {
        throw new ApiFailure(
          'InvalidActionOrVersion',
          404,
          `Could not find operation ${action} for version ${version}`,
        );
      }
      if (this.deniedActions.has(action)) {
        throw new ApiFailure(
          'LackPolicy',
          403,
          `Request was rejected because of lack of policy for ${action}`,
        );
      }
      const result =
        action === 'UploadMediaByUrl' ? this.uploadMediaByUrl(param) : this.queryUploadTaskInfo(param);
      return { status: 200, body: { ResponseMetadata: meta, Result: result } };
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      if (err.code !== 'FlowLimitExceeded')
        this.stats.errors[err.code] = (this.stats.errors[err.code] ?? 0) + 1;
      this.options.logger.debug({ action, code: err.code }, 'openapi request refused');
      return {
        status: err.status,
        body: { ResponseMetadata: { ...meta, Error: { Code: err.code, Message: err.message } } },
      };
    }
  }

  /**
   * Makes the next `count` authenticated OpenAPI requests fail with `code` and HTTP `status`
   * (e.g. InternalError/500, ServiceUnavailableTemp/503): server-side faults for tests.
   */
  injectFaults(fault: { code: string; status: number; count: number; message?: string }): void {
    this.faults = {
      code: fault.code,
      status: fault.status,
      message: fault.message ?? 'simulated server fault',
      left: fault.count,
    };
  }

  /** Makes `actions` answer 403 LackPolicy (a key without the permission); `[]` allows all again. */
  denyActions(actions: readonly string[]): void {
    this.deniedActions = new Set(actions);
  }

  private uploadMediaByUrl(param: (n: string) => string | undefined): unknown {
    const spaceName = param('SpaceName');
    if (!spaceName) throw new ApiFailure('MissingParameter', 400, 'SpaceName is required');
    const raw = param('URLSets');
    if (!raw) throw new ApiFailure('MissingParameter', 400, 'URLSets is required');
    let sets: unknown;
    try {
      sets = JSON.parse(raw);
    } catch {
      throw new ApiFailure('InvalidParameter', 400, 'URLSets is not valid JSON');
    }
    const problem = checkUrlSets(sets);
    if (problem) throw new ApiFailure(problem.code, 400, problem.message);
    if (!Array.isArray(sets)) throw new ApiFailure('InvalidParameter', 400, 'URLSets must be an array');
    this.stats.urlsAccepted += sets.length;
    this.stats.uploadBatchSizes[sets.length] = (this.stats.uploadBatchSizes[sets.length] ?? 0) + 1;
    return {
      Data: (sets as Record<string, unknown>[]).map((s) => {
        const task = this.startTask(spaceName, s);
        return { JobId: task.jobId, SourceUrl: task.sourceUrl };
      }),
    };
  }

  private startTask(spaceName: string, s: Record<string, unknown>): SimTask {
    const sourceUrl = s.SourceUrl as string;
    const uploadNumber = this.tasks.nextUploadNumber(spaceName, sourceUrl);
    const task: SimTask = {
      jobId: randomId('', 32),
      spaceName,
      sourceUrl,
      callbackArgs: typeof s.CallbackArgs === 'string' ? s.CallbackArgs : '',
      uploadNumber,
      outcome: outcomeFor(sourceUrl, uploadNumber, this.options.scenarios),
      state: 'initial',
      vid: '',
      requestId: '',
      createdAt: Date.now(),
    };
    if (typeof s.Md5 === 'string') task.md5 = s.Md5;
    if (typeof s.FileName === 'string') task.fileName = s.FileName;
    if (Array.isArray(s.Templates)) task.templates = s.Templates;
    task.urlSet = s;
    this.tasks.add(task);
    const ms = this.options.processingMs;
    this.later(Math.floor(ms / 2), () => {
      if (task.state === 'initial') task.state = 'processing';
    });
    this.later(ms, () => this.finish(task));
    return task;
  }

  private finish(task: SimTask): void {
    const ok = task.outcome.code === 'Success';
    task.state = ok ? 'success' : 'failed';
    task.vid = ok ? randomId('v0d', 29) : '';
    task.requestId = vodRequestId(Date.now());
    task.sourceInfo = ok
      ? successSourceInfo(task.sourceUrl, task.fileName, task.md5)
      : failureSourceInfo(task.sourceUrl, task.fileName);
    if (task.outcome.drop) {
      this.stats.scriptedDrops++;
      this.options.logger.debug({ jobId: task.jobId }, 'callback dropped by script');
      return;
    }
    const data: Record<string, unknown> = {
      Code: task.outcome.code,
      Message: task.outcome.message,
      JobId: task.jobId,
      SourceUrl: task.sourceUrl,
      CallbackArgs: task.callbackArgs,
      Vid: task.vid,
      SpaceName: task.spaceName,
      SourceInfo: task.sourceInfo,
    };
    if (task.templates) data.OptionInfo = { TemplateId: '', Templates: task.templates };
    const event = {
      RequestId: task.requestId,
      Version: '1.0',
      EventType: UPLOAD_BY_URL_COMPLETE,
      EventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Data: data,
    };
    this.sender.send(task.requestId, JSON.stringify(event));
  }

  private queryUploadTaskInfo(param: (n: string) => string | undefined): unknown {
    const raw = param('JobIds');
    if (!raw) throw new ApiFailure('MissingParameter', 400, 'JobIds is required');
    const ids = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0 || ids.length > MAX_URL_SETS) {
      throw new ApiFailure('InvalidParameter', 400, `JobIds must list 1 to ${MAX_URL_SETS} ids`);
    }
    const list: unknown[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const t = this.tasks.get(id);
      if (!t) {
        missing.push(id);
        continue;
      }
      list.push({
        RequestId: t.requestId,
        JobId: t.jobId,
        SourceUrl: t.sourceUrl,
        State: t.state,
        Vid: t.vid,
        SpaceName: t.spaceName,
        AccountId: '2100000000',
        SourceInfo: t.sourceInfo ?? {},
        CallbackArgs: t.callbackArgs,
      });
    }
    return { Data: { MediaInfoList: list, NotExistJobIds: missing } };
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  /** Cancels pending task completions and callback redeliveries. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sender.close();
  }
}
