import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** The seed page's two sample bodies exactly as printed (neither is valid JSON). */
export function seedSamples(): { success: string; failure: string } {
  const lines = readFileSync(new URL('../fixtures/seed-page.txt', import.meta.url), 'utf8').split('\n');
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '{') continue;
    const end = lines.indexOf('}', i + 1);
    blocks.push(lines.slice(i, end + 1).join('\n'));
    i = end;
  }
  if (blocks.length < 2) throw new Error('seed samples not found');
  return { success: blocks[0]!, failure: blocks[1]! };
}

const seedSuccess = JSON.parse(
  readFileSync(new URL('../fixtures/seed-success.json', import.meta.url), 'utf8'),
);

/** A valid callback (the corrected seed success sample) with `RequestId` and optional changes. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated freely, into wrong shapes on purpose
type Loose = Record<string, any>;

export function valid(requestId: string, change: (e: Loose) => void = () => {}): Loose {
  const e = structuredClone(seedSuccess);
  e.RequestId = requestId;
  change(e);
  return e;
}

const json = (v: unknown) => JSON.stringify(v);
const withData = (id: string, field: string, value: unknown) =>
  json(
    valid(id, (e) => {
      e.Data[field] = value;
    }),
  );
const nested = (depth: number) => `{"RequestId":"deep","X":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

/** What the ingress must answer (a 4xx), or what the worker must make of a stored event. */
export type Expected =
  | { status: 400 | 401 | 404 | 413 | 415; error: string }
  | {
      status: 200;
      decision: 'succeeded' | 'dead_lettered' | 'failed_permanent' | 'reupload_scheduled';
      reason?: string;
    };

export interface CorpusCase {
  name: string;
  body: string | Buffer;
  /** Content-Type; null sends none. Default application/json. */
  contentType?: string | null;
  headers?: Record<string, string>;
  method?: 'POST' | 'GET' | 'PUT';
  expected: Expected;
}

const bad = (error: string, status: 400 | 404 | 405 | 413 | 415 = 400) => ({ status, error }) as Expected;
const stored = (decision: Extract<Expected, { status: 200 }>['decision'], reason?: string) =>
  ({ status: 200, decision, reason }) as Expected;
const invalid = stored('dead_lettered', 'invalid_payload');
/** The Data fields processing needs (SPEC): a wrong type there is an invalid payload. */
const REQUIRED_DATA_FIELDS: ReadonlySet<string> = new Set(['Code', 'JobId', 'SourceUrl', 'SpaceName']);

/** The hostile and broken requests, each with its exact expected answer. */
export function corpus(): CorpusCase[] {
  const seed = seedSamples();
  const onlyTrailingComma = json(valid('tc')).replace('"Size":1024', '"Size":1024,');
  return [
    // Malformed JSON
    {
      name: 'seed success sample as printed (trailing comma, missing commas)',
      body: seed.success,
      expected: bad('invalid_json'),
    },
    {
      name: 'seed failure sample as printed (valid JSON: 404 is permanent)',
      body: seed.failure,
      expected: stored('failed_permanent'),
    },
    {
      name: 'only the trailing comma after "Size": 1024',
      body: onlyTrailingComma,
      expected: bad('invalid_json'),
    },
    { name: 'truncated JSON', body: json(valid('trunc')).slice(0, 60), expected: bad('invalid_json') },
    { name: 'single quotes', body: "{'RequestId':'sq'}", expected: bad('invalid_json') },
    { name: 'JSON with comments', body: '{"RequestId":"c" /* hi */}', expected: bad('invalid_json') },
    {
      name: 'two concatenated objects',
      body: '{"RequestId":"a"}{"RequestId":"b"}',
      expected: bad('invalid_json'),
    },
    {
      name: 'UTF-8 byte order mark before the object',
      body: `\ufeff${json(valid('bom'))}`,
      expected: bad('invalid_json'),
    },
    { name: 'empty body', body: '', expected: bad('empty_body') },
    { name: 'whitespace only', body: '   \n\t ', expected: bad('invalid_json') },
    // Not an object
    { name: 'JSON array', body: '[]', expected: bad('not_an_object') },
    { name: 'array holding a valid event', body: json([valid('arr')]), expected: bad('not_an_object') },
    { name: 'JSON string', body: '"FileUploadByUrlComplete"', expected: bad('not_an_object') },
    { name: 'JSON number', body: '42', expected: bad('not_an_object') },
    { name: 'JSON null', body: 'null', expected: bad('not_an_object') },
    { name: 'JSON true', body: 'true', expected: bad('not_an_object') },
    // Content type and method
    {
      name: 'text/plain',
      body: json(valid('tp')),
      contentType: 'text/plain',
      expected: bad('unsupported_media_type', 415),
    },
    {
      name: 'no content type',
      body: json(valid('nct')),
      contentType: null,
      expected: bad('unsupported_media_type', 415),
    },
    {
      name: 'form-urlencoded',
      body: 'RequestId=form',
      contentType: 'application/x-www-form-urlencoded',
      expected: bad('unsupported_media_type', 415),
    },
    {
      name: 'application/json; charset=utf-8',
      body: json(valid('charset')),
      contentType: 'application/json; charset=utf-8',
      expected: stored('succeeded'),
    },
    {
      name: 'GET on the callback path',
      body: '',
      method: 'GET',
      contentType: null,
      expected: bad('method_not_allowed', 405),
    },
    // Size
    {
      name: 'body over CALLBACK_BODY_LIMIT',
      body: json(valid('big', (e) => (e.Pad = 'x'.repeat(300 * 1024)))),
      expected: bad('too_large', 413),
    },
    {
      name: '1 MB CallbackArgs',
      body: withData('mb', 'CallbackArgs', 'a'.repeat(1024 * 1024)),
      expected: bad('too_large', 413),
    },
    {
      name: '200 KB CallbackArgs (under the limit)',
      body: withData('kb200', 'CallbackArgs', 'a'.repeat(200 * 1024)),
      expected: stored('succeeded'),
    },
    // RequestId
    {
      name: 'RequestId missing',
      body: json(valid('x', (e) => delete e.RequestId)),
      expected: bad('invalid_request_id'),
    },
    { name: 'RequestId empty', body: json(valid('')), expected: bad('invalid_request_id') },
    {
      name: 'RequestId a number',
      body: json(valid('x', (e) => (e.RequestId = 20200727))),
      expected: bad('invalid_request_id'),
    },
    {
      name: 'RequestId null',
      body: json(valid('x', (e) => (e.RequestId = null))),
      expected: bad('invalid_request_id'),
    },
    {
      name: 'RequestId an object',
      body: json(valid('x', (e) => (e.RequestId = { id: 'x' }))),
      expected: bad('invalid_request_id'),
    },
    {
      name: 'RequestId of 129 characters',
      body: json(valid('r'.repeat(129))),
      expected: bad('invalid_request_id'),
    },
    {
      name: 'RequestId of exactly 128 characters',
      body: json(valid('r'.repeat(128))),
      expected: stored('succeeded'),
    },
    { name: 'RequestId with a newline', body: json(valid('a\nb')), expected: bad('invalid_request_id') },
    { name: 'RequestId with NUL', body: json(valid('a\u0000b')), expected: bad('invalid_request_id') },
    { name: 'RequestId with DEL', body: json(valid('a\u007fb')), expected: bad('invalid_request_id') },
    {
      name: 'RequestId with a C1 control (U+0085)',
      body: json(valid('a\u0085b')),
      expected: bad('invalid_request_id'),
    },
    {
      name: 'RequestId with ":" (hashed job id)',
      body: json(valid('reconcile:like:id')),
      expected: stored('succeeded'),
    },
    {
      name: 'RequestId that looks like an integer',
      body: json(valid('1234567890')),
      expected: stored('succeeded'),
    },
    { name: 'RequestId with emoji and CJK', body: json(valid('回调-🎬-1')), expected: stored('succeeded') },
    {
      name: 'duplicate RequestId keys (last wins, everywhere)',
      body: `{"RequestId":"first",${json(valid('last')).slice(1)}`,
      expected: stored('succeeded'),
    },
    // Prototype pollution
    {
      name: '__proto__ key at the top level',
      body: `{"__proto__":{"polluted":"yes"},${json(valid('proto-top')).slice(1)}`,
      expected: stored('succeeded'),
    },
    {
      name: '__proto__ key inside Data and SourceInfo',
      body: json(valid('proto-data'))
        .replace('"Data":{', '"Data":{"__proto__":{"polluted":"yes"},')
        .replace('"SourceInfo":{', '"SourceInfo":{"__proto__":{"Width":"x"},'),
      expected: stored('succeeded'),
    },
    {
      name: 'constructor.prototype keys',
      body: `{"constructor":{"prototype":{"polluted":"yes"}},${json(valid('ctor')).slice(1)}`,
      expected: stored('succeeded'),
    },
    {
      name: 'RequestId only via __proto__',
      body: '{"__proto__":{"RequestId":"via-proto"}}',
      expected: bad('invalid_request_id'),
    },
    // Nesting
    { name: 'nested 33 deep (over CALLBACK_MAX_DEPTH)', body: nested(33), expected: bad('too_deep') },
    { name: 'nested 100,000 deep', body: nested(100_000), expected: bad('too_deep') },
    {
      name: 'brackets inside strings do not count as depth',
      body: json(valid('brackets', (e) => (e.Note = '[[[[{{{{'.repeat(50)))),
      expected: stored('succeeded'),
    },
    // Numbers
    {
      name: 'huge number literal (1e400) in Width',
      body: json(valid('huge')).replace('"Width":544', '"Width":1e400'),
      expected: stored('succeeded'),
    },
    {
      name: '400-digit integer in Size',
      body: json(valid('digits')).replace('"Size":1024', `"Size":1${'0'.repeat(400)}`),
      expected: stored('succeeded'),
    },
    {
      name: 'tiny number (1e-400) in Duration',
      body: json(valid('tiny')).replace('"Duration":143.98', '"Duration":1e-400'),
      expected: stored('succeeded'),
    },
    {
      name: '"NaN" string in Width',
      body: json(valid('nan', (e) => (e.Data.SourceInfo.Width = 'NaN'))),
      expected: stored('succeeded'),
    },
    {
      name: '"Infinity" string in Duration',
      body: json(valid('inf', (e) => (e.Data.SourceInfo.Duration = 'Infinity'))),
      expected: stored('succeeded'),
    },
    {
      name: '"1024" string in Size',
      body: json(valid('strnum', (e) => (e.Data.SourceInfo.Size = '1024'))),
      expected: stored('succeeded'),
    },
    // Wrong types in every Data field
    ...(
      [
        ['Code', 7],
        ['Message', 404],
        ['JobId', 12345],
        ['SourceUrl', ['http://a', 'http://b']],
        ['CallbackArgs', { item: 1 }],
        ['Vid', true],
        ['SpaceName', null],
        ['SourceInfo', 'mp4'],
        ['PosterUri', 1],
        ['OptionInfo', []],
      ] as const
    ).map(([field, value]) => ({
      name: `Data.${field} of the wrong type`,
      body: withData(`wt-${field}`, field, value),
      // Only what processing needs is required (SPEC); other fields are kept as received.
      expected: REQUIRED_DATA_FIELDS.has(field) ? invalid : stored('succeeded'),
    })),
    ...(
      [
        ['StoreUri', 1],
        ['Height', '960'],
        ['Bitrate', null],
        ['Md5', 123],
        ['Format', ['mp4']],
        ['Size', { bytes: 1 }],
        ['HlsMediaSize', true],
        ['FileName', { path: 'x' }],
      ] as const
    ).map(([field, value]) => ({
      name: `Data.SourceInfo.${field} of the wrong type`,
      body: json(valid(`si-${field}`, (e) => (e.Data.SourceInfo[field] = value))),
      expected: stored('succeeded'),
    })),
    {
      name: 'Data.OptionInfo.Templates an object',
      body: json(valid('tpl', (e) => (e.Data.OptionInfo.Templates = { a: 1 }))),
      expected: stored('succeeded'),
    },
    {
      name: 'Data.OptionInfo.Templates[].TemplateIds a string',
      body: json(valid('tplids', (e) => (e.Data.OptionInfo.Templates[0].TemplateIds = 'x'))),
      expected: stored('succeeded'),
    },
    { name: 'Data a string', body: json(valid('ds', (e) => (e.Data = '{}'))), expected: invalid },
    { name: 'Data missing', body: json(valid('dm', (e) => delete e.Data)), expected: invalid },
    { name: 'Data.JobId empty', body: withData('jid-empty', 'JobId', ''), expected: invalid },
    {
      name: 'Data.Code missing',
      body: json(valid('code-missing', (e) => delete e.Data.Code)),
      expected: invalid,
    },
    { name: 'EventType a number', body: json(valid('et-num', (e) => (e.EventType = 1))), expected: invalid },
    {
      name: 'EventTime a number',
      body: json(valid('etime', (e) => (e.EventTime = 1595847845))),
      expected: stored('succeeded'),
    },
    // Event types and codes
    {
      name: "unknown EventType (the table's FileUploadComplete)",
      body: json(valid('et', (e) => (e.EventType = 'FileUploadComplete'))),
      expected: stored('dead_lettered', 'unsupported_event'),
    },
    {
      name: 'unknown Code',
      body: withData('uc', 'Code', 'Throttling.TooManyRequests'),
      expected: stored('dead_lettered', 'unknown_code'),
    },
    {
      name: 'mixed-case "success"',
      body: withData('mc1', 'Code', 'success'),
      expected: stored('dead_lettered', 'unknown_code'),
    },
    {
      name: 'mixed-case "internalerror.UrlUploadError"',
      body: withData('mc2', 'Code', 'internalerror.UrlUploadError'),
      expected: stored('dead_lettered', 'unknown_code'),
    },
    {
      name: 'Code with trailing space',
      body: withData('sp', 'Code', 'Success '),
      expected: stored('dead_lettered', 'unknown_code'),
    },
    {
      name: 'known sub-code by prefix',
      body: withData('sub', 'Code', 'InternalError.NewDependency'),
      expected: stored('reupload_scheduled'),
    },
    // Encoding
    {
      name: 'Latin-1 bytes (not UTF-8)',
      body: Buffer.concat([Buffer.from('{"RequestId":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]),
      expected: bad('invalid_encoding'),
    },
    {
      name: 'overlong UTF-8 encoding of "/"',
      body: Buffer.concat([Buffer.from('{"RequestId":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
      expected: bad('invalid_encoding'),
    },
    {
      name: 'UTF-8-encoded surrogate (CESU)',
      body: Buffer.concat([
        Buffer.from('{"RequestId":"a'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]),
      expected: bad('invalid_encoding'),
    },
    {
      name: 'lone surrogate escape in RequestId',
      body: '{"RequestId":"a\\ud800b","EventType":"x","Data":{}}',
      expected: bad('invalid_request_id'),
    },
    {
      name: 'lone low surrogate escape in RequestId',
      body: '{"RequestId":"a\\udc00b"}',
      expected: bad('invalid_request_id'),
    },
    {
      name: 'gzip body without Content-Encoding',
      body: gzipSync(json(valid('gz'))),
      expected: bad('invalid_encoding'),
    },
    {
      // Not decompressed (VOD does not compress): the bytes are judged as they are.
      name: 'gzip body with Content-Encoding: gzip',
      body: gzipSync(json(valid('gz-enc'))),
      headers: { 'content-encoding': 'gzip' },
      expected: bad('unsupported_content_encoding', 415),
    },
    {
      name: 'upper-case APPLICATION/JSON content type',
      body: json(valid('upper-ct')),
      contentType: 'APPLICATION/JSON',
      expected: stored('succeeded'),
    },
    {
      name: 'application/jsonp content type',
      body: json(valid('jsonp')),
      contentType: 'application/jsonp',
      expected: bad('unsupported_media_type', 415),
    },
    {
      name: 'UTF-16LE body',
      body: Buffer.from(json(valid('u16')), 'utf16le'),
      expected: bad('invalid_json'),
    },
  ];
}
