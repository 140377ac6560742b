import { readFileSync } from 'node:fs';
import { type Static, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { ConfigError } from './env-config.js';
import { statedStatuses, statusMatches, withoutContext } from './failure-message.js';

/** How a result code is treated. */
export type CodeClass = 'success' | 'retryable' | 'permanent' | 'unknown';
export const CODE_CLASSES: readonly CodeClass[] = ['success', 'retryable', 'permanent', 'unknown'];

const ClassSchema = Type.Union([
  Type.Literal('success'),
  Type.Literal('retryable'),
  Type.Literal('permanent'),
  Type.Literal('unknown'),
]);

const PatternRuleSchema = Type.Object(
  {
    /** JavaScript RegExp source, flag `i`, tested anywhere in the Message without its context. */
    pattern: Type.String(),
    class: ClassSchema,
  },
  { additionalProperties: false },
);
const StatusRuleSchema = Type.Object(
  {
    /** HTTP statuses such as `404`, `4xx`, `50x`: matches when the Message states one of them. */
    status: Type.Array(Type.String({ pattern: '^[1-5][0-9xX]{2}$' }), { minItems: 1 }),
    class: ClassSchema,
  },
  { additionalProperties: false },
);
export type MessageRule = Static<typeof PatternRuleSchema> | Static<typeof StatusRuleSchema>;

/**
 * The retry policy as data. Classification order: the `exact` code; then, for a code listed in
 * `messageRules`, the first of its rules that matches `Data.Message` (else that set's `fallback`);
 * then the longest matching `prefixes` entry (e.g. `InternalError.` covers sub-codes VOD adds
 * later). Anything else is `unknown`. Message rules come before prefixes because they are keyed by
 * one exact code, and an `exact` entry comes first so an operator can overrule any rule set.
 */
export const RetryPolicySchema = Type.Object(
  {
    exact: Type.Record(Type.String(), ClassSchema),
    prefixes: Type.Record(Type.String(), ClassSchema),
    messageRules: Type.Record(
      Type.String(),
      Type.Object(
        {
          rules: Type.Array(Type.Union([PatternRuleSchema, StatusRuleSchema])),
          fallback: ClassSchema,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RetryPolicy = Static<typeof RetryPolicySchema>;

/** The defaults of SPEC.md. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  exact: {
    Success: 'success',
    'InvalidParameter.InvalidParam': 'permanent',
    'CheckError.Md5MissMatch': 'permanent',
    'UploadFailed.UrlUploadFailed': 'retryable',
    'InternalError.UrlUploadError': 'retryable',
    'OperationDenied.DenyOverwriteUpload': 'permanent',
    // Not VOD's: the code reconciliation gives a task QueryUploadTaskInfo reports `failed` (it says
    // no more). Retryable, as such failures mostly are; its own code so metrics and policy can
    // tell it from a callback's UploadFailed.UrlUploadFailed.
    'Reconciled.TaskFailed': 'retryable',
  },
  prefixes: {
    'InternalError.': 'retryable',
    'UploadFailed.': 'retryable',
    'InvalidParameter.': 'permanent',
    'CheckError.': 'permanent',
    'OperationDenied.': 'permanent',
    'DownloadFailed.': 'retryable',
  },
  messageRules: {
    // VOD folds "the source is gone" and "the source hiccupped" into one code; the Message tells them
    // apart. A status counts only where the Message states one ("404 Not Found", "status code 503",
    // "HTTP/1.1 502", "状态码 404"); ports, addresses, sizes and durations are cut out first
    // (failure-message.ts). Client errors are permanent except 408 (timeout) and 429 (throttled).
    // Network trouble is tried before the "source is bad" words: "connection refused" (连接被拒绝)
    // must not read as "access denied" (拒绝访问).
    'DownloadFailed.UrlDownloadFail': {
      rules: [
        { status: ['408', '429'], class: 'retryable' },
        { status: ['4xx'], class: 'permanent' },
        { status: ['5xx'], class: 'retryable' },
        {
          pattern:
            'time(d)?[ -]?out|deadline|\\breset\\b|refused|broken pipe|\\beof\\b|unreachable|no route|temporar|too many|\\bdns\\b|no such host|resolve|connection|network|\\btls\\b|\\bssl|x509|certificate|handshake|stalled|超时|连接|重置|网络|解析',
          class: 'retryable',
        },
        {
          pattern:
            'not found|does not exist|no ?such ?(key|bucket|file)|forbidden|\\bgone\\b|unauthori[sz]ed|denied|invalid url|unsupported|not supported|invalid data|(size|file)\\b.{0,40}\\bexceed(s|ed|ing)? (the )?(max|limit|allowed)|too (large|big)|larger than (the )?(max|limit|allowed)|不存在|拒绝访问|无权|过大|超过.{0,10}限制|超出.{0,10}限制|不支持',
          class: 'permanent',
        },
      ],
      // An unexplained download failure is retried: a re-upload is cheap, a lost video is not.
      fallback: 'retryable',
    },
  },
};

/**
 * Thrown when a policy file cannot be used; the message names the file and the problem. A
 * ConfigError, so every process stops on it as on any other bad setting (exit 78).
 */
export class RetryPolicyError extends ConfigError {
  override name = 'RetryPolicyError';
}

const policyValidator = Compile(RetryPolicySchema);

/** Flags of every Message rule pattern (case-insensitive; no `u`, so `\\b` is ASCII-only). */
export const MESSAGE_RULE_FLAGS = 'i';

type CompiledRule = { test: (text: string, statuses: readonly string[]) => boolean; class: CodeClass };

interface CompiledMessageRules {
  rules: CompiledRule[];
  fallback: CodeClass;
}

function compileRule(rule: MessageRule): CompiledRule {
  if ('status' in rule) {
    const patterns = rule.status;
    return {
      test: (_text, statuses) => statuses.some((s) => patterns.some((p) => statusMatches(p, s))),
      class: rule.class,
    };
  }
  const regex = new RegExp(rule.pattern, MESSAGE_RULE_FLAGS);
  return { test: (text) => regex.test(text), class: rule.class };
}

/** A policy ready for classification: regexes compiled, prefixes sorted longest first. */
export class CodeClassifier {
  private readonly exact: Map<string, CodeClass>;
  private readonly prefixes: [string, CodeClass][];
  private readonly messageRules: Map<string, CompiledMessageRules>;

  constructor(readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY) {
    this.exact = new Map(Object.entries(policy.exact));
    this.prefixes = Object.entries(policy.prefixes).sort((a, b) => b[0].length - a[0].length);
    this.messageRules = new Map(
      Object.entries(policy.messageRules).map(([code, set]) => [
        code,
        {
          rules: set.rules.map(compileRule),
          fallback: set.fallback,
        },
      ]),
    );
  }

  /**
   * Classifies a result code: exact entry, else the code's Message rules, else the longest prefix,
   * else `unknown`. Never throws: a Message that is not a string (a sender's `"Message": false`) is
   * read as empty, as the schema keeps optional fields as received.
   */
  classify(code: string, message: unknown = ''): CodeClass {
    const exact = this.exact.get(code);
    if (exact) return exact;
    const ruleSet = this.messageRules.get(code);
    if (ruleSet) {
      const text = withoutContext(typeof message === 'string' ? message : '');
      const statuses = statedStatuses(text);
      for (const rule of ruleSet.rules) if (rule.test(text, statuses)) return rule.class;
      return ruleSet.fallback;
    }
    for (const [prefix, cls] of this.prefixes) if (code.startsWith(prefix)) return cls;
    return 'unknown';
  }

  /** True when the code is in the catalogue (exactly or by prefix). */
  isKnownCode(code: string): boolean {
    return this.catalogueLabel(code) !== undefined;
  }

  /**
   * The catalogue's name for a code, used as its metric label: the code itself when the policy names
   * it (`exact` or `messageRules`), `<prefix>*` when only a prefix covers it (so the sub-codes VOD or a
   * sender invents share one series), undefined when the policy does not know it.
   */
  catalogueLabel(code: string): string | undefined {
    if (this.exact.has(code) || this.messageRules.has(code)) return code;
    for (const [prefix] of this.prefixes) if (code.startsWith(prefix)) return `${prefix}*`;
    return undefined;
  }
}

/** The keys a policy file may have; anything else (a misspelt `exakt`) stops the worker at start. */
const POLICY_FILE_KEYS: readonly string[] = ['exact', 'prefixes', 'messageRules', 'replaceDefaults'];

/**
 * Builds a policy from the defaults overlaid with a JSON file. Each of `exact`, `prefixes` and
 * `messageRules` in the file adds to or replaces entries of the defaults; set `"replaceDefaults": true`
 * to start from an empty policy instead.
 */
export function loadRetryPolicy(file?: string): RetryPolicy {
  if (!file) return DEFAULT_RETRY_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RetryPolicyError(`RETRY_POLICY_FILE ${file}: cannot read JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RetryPolicyError(`RETRY_POLICY_FILE ${file}: must be a JSON object`);
  }
  const unknownKey = Object.keys(raw).find((key) => !POLICY_FILE_KEYS.includes(key));
  if (unknownKey !== undefined) {
    throw new RetryPolicyError(
      `RETRY_POLICY_FILE ${file}: unknown key ${JSON.stringify(unknownKey)} (allowed: ${POLICY_FILE_KEYS.join(', ')})`,
    );
  }
  const overlay = raw as Partial<RetryPolicy> & { replaceDefaults?: unknown };
  if (overlay.replaceDefaults !== undefined && typeof overlay.replaceDefaults !== 'boolean') {
    throw new RetryPolicyError(`RETRY_POLICY_FILE ${file}: replaceDefaults must be true or false`);
  }
  const base = overlay.replaceDefaults ? { exact: {}, prefixes: {}, messageRules: {} } : DEFAULT_RETRY_POLICY;
  const merged = {
    exact: { ...base.exact, ...overlay.exact },
    prefixes: { ...base.prefixes, ...overlay.prefixes },
    messageRules: { ...base.messageRules, ...overlay.messageRules },
  };
  if (!policyValidator.Check(merged)) {
    const first = policyValidator.Errors(merged)[0];
    const where = first?.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
    throw new RetryPolicyError(
      `RETRY_POLICY_FILE ${file}: ${where} ${first?.message ?? 'is invalid'}; classes are success|retryable|permanent|unknown, a rule is {"pattern": "<regex>", "class": …} or {"status": ["404", "5xx"], "class": …}`,
    );
  }
  for (const [code, set] of Object.entries(merged.messageRules)) {
    for (const rule of set.rules) {
      if (!('pattern' in rule)) continue;
      try {
        new RegExp(rule.pattern, MESSAGE_RULE_FLAGS);
      } catch (err) {
        throw new RetryPolicyError(
          `RETRY_POLICY_FILE ${file}: messageRules.${code} pattern ${JSON.stringify(rule.pattern)} is not a valid regex (${(err as Error).message})`,
        );
      }
    }
  }
  return merged;
}
