import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReuploadDefaults, ReuploadDefaultsError, withReuploadDefaults } from './reupload-defaults.js';

const dir = mkdtempSync(join(tmpdir(), 'reupload-defaults-'));
let n = 0;
const file = (content: unknown) => {
  const f = join(dir, `d${n++}.json`);
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
};
const SECRET = 'Bearer s3cr3t-value';

describe('REUPLOAD_DEFAULTS_FILE', () => {
  const good = {
    '*': { StorageClass: 1, Tags: 'from-star' },
    'space-a': {
      Templates: [{ TemplateIds: ['t1'], TemplateType: 'transcode' }],
      ClassificationId: 12,
      Title: 'Re-uploaded',
      Tags: 'a,b',
      CustomURLHeaders: { Referer: 'https://origin.example/', Authorization: { env: 'ORIGIN_AUTH' } },
    },
  };

  it('gives a space its own fields over "*", with header secrets read from the environment', () => {
    const d = ReuploadDefaults.load(file(good), { ORIGIN_AUTH: SECRET });
    expect(d.for('space-a')).toEqual({
      StorageClass: 1,
      Tags: 'a,b',
      Templates: good['space-a'].Templates,
      ClassificationId: 12,
      Title: 'Re-uploaded',
      CustomURLHeaders: { Referer: 'https://origin.example/', Authorization: SECRET },
    });
    expect(d.for('other')).toEqual({ StorageClass: 1, Tags: 'from-star' });
  });

  it('never shows a header value when described or logged', () => {
    const d = ReuploadDefaults.load(file(good), { ORIGIN_AUTH: SECRET });
    const shown = JSON.stringify({ d, described: d.describe() });
    expect(shown).not.toContain('s3cr3t');
    expect(shown).not.toContain('origin.example');
    expect(d.describe()['space-a']).toContain('CustomURLHeaders(Referer,Authorization)');
  });

  it.each([
    ['not JSON', '{', /cannot read JSON/],
    ['not an object', [], /must be a JSON object/],
    ['an unknown field', { s: { Titel: 'x' } }, /"s": unknown field "Titel"/],
    ['a Title over 128 characters', { s: { Title: 'x'.repeat(129) } }, /"s": Title must be 1–128/],
    ['a bad FileExtension', { s: { FileExtension: 'mp4' } }, /FileExtension must be/],
    ['a bad ClassificationId', { s: { ClassificationId: 1.5 } }, /ClassificationId must be a whole number/],
    ['empty Templates', { s: { Templates: [] } }, /Templates must be a non-empty array/],
    [
      'a secret header written in the file',
      { s: { CustomURLHeaders: { Authorization: 'Bearer x' } } },
      /Authorization looks like a credential/,
    ],
    [
      'an unset secret variable',
      { s: { CustomURLHeaders: { 'X-Token': { env: 'NOT_SET_ANYWHERE' } } } },
      /environment variable NOT_SET_ANYWHERE is not set/,
    ],
    ['a malformed header', { s: { CustomURLHeaders: { 'Bad Header': 'v' } } }, /is not a header name/],
  ])('refuses %s, naming the file and the problem', (_what, content, message) => {
    const f = file(content);
    let err: unknown;
    try {
      ReuploadDefaults.load(f, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReuploadDefaultsError);
    expect((err as Error).name).toBe('ReuploadDefaultsError');
    expect((err as Error).message).toContain(`REUPLOAD_DEFAULTS_FILE ${f}:`);
    expect((err as Error).message).toMatch(message);
  });

  it('a missing file is refused too', () => {
    expect(() => ReuploadDefaults.load(join(dir, 'nope.json'), {})).toThrow(
      /REUPLOAD_DEFAULTS_FILE .*nope.json: cannot read JSON/,
    );
  });
});

describe('withReuploadDefaults', () => {
  it('fills only what the URLSet lacks; Templates/TemplateId of the source win as one choice', () => {
    const defaults = {
      Templates: [{ TemplateIds: ['d'], TemplateType: 'transcode' }],
      Title: 'T',
      Tags: 'x',
    };
    expect(withReuploadDefaults({ SourceUrl: 'u', Tags: 'own' }, defaults)).toEqual({
      SourceUrl: 'u',
      Tags: 'own',
      Templates: defaults.Templates,
      Title: 'T',
    });
    expect(withReuploadDefaults({ SourceUrl: 'u', TemplateId: 'wf-own' }, defaults)).toEqual({
      SourceUrl: 'u',
      TemplateId: 'wf-own',
      Title: 'T',
      Tags: 'x',
    });
  });
});
