import { readFileSync } from 'node:fs';
import { type Static, Type } from 'typebox';
import { Compile } from 'typebox/compile';

/** How a result code is treated. */
export type CodeClass = 'success' | 'retryable' | 'permanent' | 'unknown';
export const CODE_CLASSES: readonly CodeClass[] = ['success', 'retryable', 'permanent', 'unknown'];

const ClassSchema = Type.Union([
  Type.Literal('success'),
  Type.Literal('retryable'),
  Type.Literal('permanent'),
  Type.Literal('unknown'),
]);

/**
 * The retry policy as data. Classification order: `exact` code, then the longest matching
 * `prefixes` entry (e.g. `InternalError.` covers sub-codes VOD adds later), then, for codes listed in
 * `messageRules`, the first rule whose regex matches `Data.Message` (else that rule set's `fallback`).
 * Anything else is `unknown`.
 */
export const RetryPolicySchema = Type.Object({
  exact: Type.Record(Type.String(), ClassSchema),
  prefixes: Type.Record(Type.String(), ClassSchema),
  messageRules: Type.Record(
    Type.String(),
    Type.Object({
      rules: Type.Array(Type.Object({ pattern: Type.String(), class: ClassSchema })),
      fallback: ClassSchema,
    }),
  ),
});
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
    // VOD folds "the source is gone" and "the source hiccupped" into one code; the Message tells them apart.
    // Client errors are permanent except 408 (timeout) and 429 (throttled), which a later attempt can pass.
    'DownloadFailed.UrlDownloadFail': {
      rules: [
        { pattern: '\\b(408|429)\\b', class: 'retryable' },
        { pattern: '\\b4\\d\\d\\b', class: 'permanent' },
        { pattern: '\\b5\\d\\d\\b', class: 'retryable' },
        {
          pattern:
            'time(d)?[ -]?out|deadline|reset|refused|broken pipe|eof|unreachable|temporar|too many|dns|no such host|connection|network|tls|handshake',
          class: 'retryable',
        },
        {
          pattern: 'not found|forbidden|gone|unauthori[sz]ed|denied|invalid url|unsupported',
          class: 'permanent',
        },
      ],
      // An unexplained download failure is retried: a re-upload is cheap, a lost video is not.
      fallback: 'retryable',
    },
  },
};

/** Thrown when a policy file cannot be used; the message names the file and the problem. */
export class RetryPolicyError extends Error {
  override name = 'RetryPolicyError';
}

const policyValidator = Compile(RetryPolicySchema);

interface CompiledMessageRules {
  rules: { regex: RegExp; class: CodeClass }[];
  fallback: CodeClass;
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
          rules: set.rules.map((r) => ({ regex: new RegExp(r.pattern, 'i'), class: r.class })),
          fallback: set.fallback,
        },
      ]),
    );
  }

  /** Classifies a result code (and its message, for codes with message rules). Never throws. */
  classify(code: string, message = ''): CodeClass {
    const ruleSet = this.messageRules.get(code);
    if (ruleSet) {
      for (const rule of ruleSet.rules) if (rule.regex.test(message)) return rule.class;
      return ruleSet.fallback;
    }
    const exact = this.exact.get(code);
    if (exact) return exact;
    for (const [prefix, cls] of this.prefixes) if (code.startsWith(prefix)) return cls;
    return 'unknown';
  }

  /** True when the code is in the catalogue (exactly or by prefix); used to bound metric labels. */
  isKnownCode(code: string): boolean {
    return (
      this.exact.has(code) ||
      this.messageRules.has(code) ||
      this.prefixes.some(([prefix]) => code.startsWith(prefix))
    );
  }
}

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
  const overlay = raw as Partial<RetryPolicy> & { replaceDefaults?: boolean };
  const base = overlay.replaceDefaults ? { exact: {}, prefixes: {}, messageRules: {} } : DEFAULT_RETRY_POLICY;
  const merged = {
    exact: { ...base.exact, ...overlay.exact },
    prefixes: { ...base.prefixes, ...overlay.prefixes },
    messageRules: { ...base.messageRules, ...overlay.messageRules },
  };
  if (!policyValidator.Check(merged)) {
    const first = policyValidator.Errors(merged)[0];
    throw new RetryPolicyError(
      `RETRY_POLICY_FILE ${file}: ${first?.instancePath ?? ''} ${first?.message ?? 'invalid'}; classes are success|retryable|permanent|unknown`,
    );
  }
  for (const [code, set] of Object.entries(merged.messageRules)) {
    for (const rule of set.rules) {
      try {
        new RegExp(rule.pattern, 'i');
      } catch (err) {
        throw new RetryPolicyError(
          `RETRY_POLICY_FILE ${file}: messageRules.${code} pattern ${JSON.stringify(rule.pattern)} is not a valid regex (${(err as Error).message})`,
        );
      }
    }
  }
  return merged;
}
