import { readFileSync } from 'node:fs';
import { ConfigError, isValidFileExtension } from '@vod-callbacks/shared';
import type { UrlSet } from './url-set.js';

/*
 * REUPLOAD_DEFAULTS_FILE: what a re-upload should carry that a callback does not — per SpaceName
 * (`"*"` for every space; a space's own entry overrides it field by field):
 *
 *   { "*": { "StorageClass": 1 },
 *     "space-a": { "Templates": [{ "TemplateIds": ["t1"], "TemplateType": "transcode" }],
 *                  "ClassificationId": 12, "Tags": "a,b", "Title": "…",
 *                  "CustomURLHeaders": { "Referer": "https://…", "Authorization": { "env": "ORIGIN_AUTH" } } } }
 *
 * A header value is a string or `{"env": "NAME"}`, read from that environment variable at start:
 * secrets stay out of the file, and a credential-like header (Authorization, Cookie, …, *token*,
 * *key*, *secret*, *signature*) must use that form. Values are never logged (`describe()` gives
 * names only).
 */

/** Thrown when the file cannot be used; the message names the file and the problem (exit 78). */
export class ReuploadDefaultsError extends ConfigError {
  override name = 'ReuploadDefaultsError';
}

/** The fields one space's defaults may set, as UploadMediaByUrl's URLSet spells them. */
export const DEFAULT_FIELDS = [
  'Templates',
  'TemplateId',
  'ClassificationId',
  'StorageClass',
  'Tags',
  'Title',
  'Description',
  'Category',
  'FileExtension',
  'CustomURLHeaders',
] as const;
type DefaultField = (typeof DEFAULT_FIELDS)[number];

/** One space's defaults, header secrets resolved. */
export type SpaceDefaults = Partial<Record<DefaultField, unknown>>;

const SENSITIVE_HEADER = /authorization|cookie|token|secret|key|signature|password/i;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Per-space re-upload defaults, loaded and checked once at start. */
export class ReuploadDefaults {
  private constructor(private readonly bySpace: ReadonlyMap<string, SpaceDefaults>) {}

  /** No defaults: every URLSet goes as built from its source. */
  static readonly none = new ReuploadDefaults(new Map());

  /** Reads, checks and resolves `file` against `env`. */
  static load(file: string, env: NodeJS.ProcessEnv): ReuploadDefaults {
    const fail = (problem: string): never => {
      throw new ReuploadDefaultsError(`REUPLOAD_DEFAULTS_FILE ${file}: ${problem}`);
    };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      return fail(`cannot read JSON (${(err as Error).message})`);
    }
    if (!isObject(raw)) return fail('must be a JSON object of SpaceName → defaults');
    const bySpace = new Map<string, SpaceDefaults>();
    for (const [space, entry] of Object.entries(raw)) {
      bySpace.set(
        space,
        checkSpace(entry, env, (p) => fail(`${JSON.stringify(space)}: ${p}`)),
      );
    }
    return new ReuploadDefaults(bySpace);
  }

  /** The defaults for `spaceName`: its own entry over `"*"`'s. */
  for(spaceName: string): SpaceDefaults {
    return { ...this.bySpace.get('*'), ...this.bySpace.get(spaceName) };
  }

  /** Spaces and the fields each sets (header names, never values): safe to log. */
  describe(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [space, d] of this.bySpace) {
      out[space] = Object.entries(d).map(([k, v]) =>
        k === 'CustomURLHeaders' ? `CustomURLHeaders(${Object.keys(v as object).join(',')})` : k,
      );
    }
    return out;
  }

  /** Logged by accident, it shows what `describe()` shows. */
  toJSON(): Record<string, string[]> {
    return this.describe();
  }
}

/**
 * `set` with the space's defaults filled in where the set has nothing: what the source carries (the
 * customer's choice, or what this system sent before) wins. Templates and TemplateId count as one
 * choice, so a source with either gets neither default.
 */
export function withReuploadDefaults(set: UrlSet, defaults: SpaceDefaults): UrlSet {
  const out: UrlSet = { ...set };
  const hasTemplate = set.Templates !== undefined || set.TemplateId !== undefined;
  for (const [field, value] of Object.entries(defaults)) {
    if (value === undefined || out[field] !== undefined) continue;
    if ((field === 'Templates' || field === 'TemplateId') && hasTemplate) continue;
    out[field] = field === 'CustomURLHeaders' ? { ...(value as object) } : value;
  }
  if (out.Templates !== undefined && out.TemplateId !== undefined && !hasTemplate) delete out.TemplateId;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkSpace(entry: unknown, env: NodeJS.ProcessEnv, fail: (p: string) => never): SpaceDefaults {
  if (!isObject(entry)) return fail('must be an object of URLSet fields');
  const out: SpaceDefaults = {};
  for (const [field, value] of Object.entries(entry)) {
    const at = (p: string) => fail(`${field} ${p}`);
    switch (field as DefaultField) {
      case 'Templates':
        if (
          !Array.isArray(value) ||
          value.length === 0 ||
          !value.every(
            (t) =>
              isObject(t) &&
              typeof t.TemplateType === 'string' &&
              Array.isArray(t.TemplateIds) &&
              t.TemplateIds.length > 0 &&
              t.TemplateIds.every((id) => typeof id === 'string' && id !== ''),
          )
        ) {
          at('must be a non-empty array of {"TemplateIds": ["…"], "TemplateType": "…"}');
        }
        break;
      case 'TemplateId':
      case 'Tags':
      case 'Category':
        if (typeof value !== 'string' || value === '') at('must be a non-empty string');
        break;
      case 'Title':
        if (typeof value !== 'string' || value === '' || [...value].length > 128)
          at('must be 1–128 characters');
        break;
      case 'Description':
        if (typeof value !== 'string' || [...value].length > 256) at('must be at most 256 characters');
        break;
      case 'ClassificationId':
        if (!Number.isSafeInteger(value) || (value as number) < 0) at('must be a whole number ≥ 0');
        break;
      case 'StorageClass':
        if (!Number.isSafeInteger(value) || (value as number) < 1) at('must be a whole number ≥ 1');
        break;
      case 'FileExtension':
        if (typeof value !== 'string' || !isValidFileExtension(value))
          at('must be "." and 1–7 letters or digits');
        break;
      case 'CustomURLHeaders':
        out.CustomURLHeaders = checkHeaders(value, env, at);
        continue;
      default:
        return fail(`unknown field ${JSON.stringify(field)}; fields are ${DEFAULT_FIELDS.join(', ')}`);
    }
    out[field as DefaultField] = value;
  }
  return out;
}

function checkHeaders(
  value: unknown,
  env: NodeJS.ProcessEnv,
  at: (p: string) => never,
): Record<string, string> {
  if (!isObject(value)) return at('must be an object of header name → value');
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!HEADER_NAME.test(name)) at(`${JSON.stringify(name)} is not a header name`);
    if (typeof v === 'string') {
      if (SENSITIVE_HEADER.test(name)) {
        at(`${name} looks like a credential: give {"env": "NAME"} instead of the value in the file`);
      }
      headers[name] = v;
      continue;
    }
    if (!isObject(v) || typeof v.env !== 'string' || !ENV_NAME.test(v.env) || Object.keys(v).length !== 1) {
      return at(`${name} must be a string or {"env": "NAME"}`);
    }
    const resolved = env[v.env];
    if (!resolved) return at(`${name}: environment variable ${v.env} is not set`);
    headers[name] = resolved;
  }
  return headers;
}
