import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodeClassifier } from './retry-policy.js';

const classifier = new CodeClassifier();
const DOWNLOAD_FAIL = 'DownloadFailed.UrlDownloadFail';
const classify = (message: string) => classifier.classify(DOWNLOAD_FAIL, message);

// Messages as download clients, CDNs and object stores write them (Go net/http, curl, nginx, S3, OSS,
// TOS, Chinese texts VOD passes through). Addresses, ports, sizes, durations and ids are deliberate:
// none of them is a status code.
const RETRYABLE: string[] = [
  // Go net/http
  'Get "https://cdn.example.com/v/a.mp4": dial tcp 10.4.0.44:443: i/o timeout',
  'Get "https://cdn.example.com:8443/v/a.mp4": dial tcp 10.4.0.44:8443: connect: connection refused',
  'read tcp 10.0.0.5:53012->10.4.0.44:4043: read: connection reset by peer',
  'Get "https://cdn.example.com/v/404.mp4": net/http: TLS handshake timeout',
  'Get "https://cdn.example.com/v/a.mp4": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
  'Get "https://cdn.example.com/v/a.mp4": dial tcp: lookup cdn.example.com on 10.0.0.2:53: no such host',
  'Get "https://cdn.example.com/v/a.mp4": x509: certificate signed by unknown authority',
  'unexpected EOF after 4043 bytes',
  'write tcp 10.4.0.44:443->10.0.0.5:40404: write: broken pipe',
  'Get "http://10.4.0.44:4043/v/a.mp4": dial tcp 10.4.0.44:4043: connect: no route to host',
  'download stalled: 0 bytes in 404s, giving up',
  // curl
  'curl: (28) Operation timed out after 30000 milliseconds with 404 out of 1048576 bytes received',
  'curl: (7) Failed to connect to 10.4.0.44 port 4043 after 403 ms: Connection refused',
  'curl: (6) Could not resolve host: cdn.example.com',
  'curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to cdn.example.com:443',
  'curl: (56) Recv failure: Connection reset by peer',
  'curl: (18) transfer closed with 410 bytes remaining to read',
  // HTTP statuses, stated
  'HTTP/1.1 502 Bad Gateway',
  'server returned status code 503',
  'unexpected response: code: 429, retry later',
  '<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>',
  'origin responded with 500 Internal Server Error (request id 4040404)',
  'response status is 408',
  'oss: service returned error: StatusCode=503, ErrorCode=ServiceUnavailable, RequestId=5C3D9175B6FC201293AD4890',
  'status=500 size=404 took=404ms',
  // Chinese
  '下载超时',
  '连接源站 10.4.0.44:443 超时',
  '源站返回 HTTP 状态码：503',
  '下载失败：连接被重置，已下载 404 字节',
  // nothing stated at all: a re-upload is cheap, a lost video is not
  'download failed',
  '',
];

const PERMANENT: string[] = [
  '404 Not Found',
  'HTTP/1.1 403 Forbidden',
  'HTTP/2 410',
  'curl: (22) The requested URL returned error: 404',
  'server returned status code 401 from 10.4.0.44:443',
  'response status is 403',
  'status=404 size=502 bytes',
  'returned 451',
  '<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx/1.25.3</center></body></html>',
  'operation error S3: GetObject, https response error StatusCode: 404, RequestID: 4B2C6F9E0D1A3B5C, HostID: abc, api error NoSuchKey: The specified key does not exist.',
  'oss: service returned error: StatusCode=403, ErrorCode=AccessDenied, ErrorMessage="The bucket you access does not belong to you.", RequestId=5C3D9175B6FC201293AD4890',
  'tos: request error: StatusCode=404, Code=NoSuchKey, Message=The specified key does not exist., RequestId=502e5f2f6a, HostId=tos-cn-beijing.volces.com',
  'file size 500 MB exceeds limit',
  'source file too large: 5.1 GB exceeds the maximum of 5 GB',
  'unsupported format: video/x-ms-asf',
  'Invalid data found when processing input',
  // Chinese
  '状态码 404',
  'HTTP 状态码：403',
  '文件过大',
  '文件大小 520MB 超过限制',
  '格式不支持',
  '不支持的文件格式 .rmvb',
];

describe(`${DOWNLOAD_FAIL}: what the Message states`, () => {
  it('the tables are large enough to mean something', () => {
    expect(RETRYABLE.length + PERMANENT.length).toBeGreaterThanOrEqual(30);
  });

  it.each(RETRYABLE)('retryable: %j', (message) => {
    expect(classify(message)).toBe('retryable');
  });

  it.each(PERMANENT)('permanent: %j', (message) => {
    expect(classify(message)).toBe('permanent');
  });

  it('property: a stated 4xx is permanent except 408/429, a stated 5xx retryable, in every stated form', () => {
    const forms = [
      (s: number) => `${s} Not Found`,
      (s: number) => `status code ${s}`,
      (s: number) => `HTTP/1.1 ${s}`,
      (s: number) => `code: ${s}`,
      (s: number) => `response status is ${s}`,
      (s: number) => `status=${s}`,
      (s: number) => `returned ${s}`,
      (s: number) => `状态码 ${s}`,
      (s: number) => `HTTP 状态码：${s}`,
    ];
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), fc.constantFrom(...forms), (status, form) => {
        const expected = status >= 500 || status === 408 || status === 429 ? 'retryable' : 'permanent';
        expect(classify(form(status))).toBe(expected);
      }),
    );
  });
});

// Noise that is never a status: an address with a port, a byte count, a duration.
const octet = fc.integer({ min: 0, max: 255 });
const port = fc.oneof(fc.constantFrom(443, 8443, 4043, 404, 503, 80), fc.integer({ min: 1, max: 65535 }));
const num = fc.oneof(fc.integer({ min: 400, max: 599 }), fc.integer({ min: 0, max: 10_000_000 }));
const ipPort = fc.oneof(
  fc.tuple(octet, octet, octet, octet, port).map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}:${p}`),
  fc.tuple(octet, octet, octet, octet).map(([a, b, c, d]) => `${a}.${b}.${c}.${d}`),
  port.map((p) => `cdn.example.com:${p}`),
  port.map((p) => `[2001:db8::44]:${p}`),
  port.map((p) => `port ${p}`),
);
const byteCount = fc
  .tuple(num, fc.constantFrom(' bytes', 'B', ' MB', 'KB', ' GiB', ' 字节'))
  .map(([n, u]) => `${n}${u}`);
const duration = fc.oneof(
  fc
    .tuple(num, fc.constantFrom('ms', ' ms', 's', ' seconds', 'µs', ' milliseconds', '毫秒', '秒'))
    .map(([n, u]) => `${n}${u}`),
  fc.tuple(fc.integer({ min: 1, max: 59 }), num).map(([m, s]) => `${m}m${s}s`),
  fc.tuple(num, fc.integer({ min: 0, max: 999 })).map(([s, f]) => `${s}.${f}s`),
);
const noise = fc.oneof(ipPort, byteCount, duration);

/** `message` with `inserted` put in as a token of its own at one of its word boundaries. */
function insertAt(message: string, inserted: string, where: number): string {
  const words = message.split(' ');
  const at = where % (words.length + 1);
  return [...words.slice(0, at), inserted, ...words.slice(at)].join(' ');
}

describe(`${DOWNLOAD_FAIL}: addresses, sizes and durations never decide`, () => {
  it('property: inserted into a retryable Message, they never make it permanent', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RETRYABLE), noise, fc.nat(), (message, inserted, where) => {
        expect(classify(insertAt(message, inserted, where))).toBe('retryable');
      }),
      { numRuns: 2000 },
    );
  });

  it('property: inserted into a permanent Message, they never make it retryable', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PERMANENT), noise, fc.nat(), (message, inserted, where) => {
        expect(classify(insertAt(message, inserted, where))).toBe('permanent');
      }),
      { numRuns: 2000 },
    );
  });
});

describe(`${DOWNLOAD_FAIL}: a hostile Message`, () => {
  it.each([
    ['a.a.a.…', 'a.'],
    ['1,1,1,…', '1,'],
    ['1 1 1 …', '1 '],
    ['1.1.1.…', '1.'],
    ['1m1m1m…', '1m'],
    ['status status …', 'status '],
    ['http http …', 'http '],
  ])('of 256 KB (%s) is read in bounded time', (_label, unit) => {
    const message = unit.repeat(Math.ceil((256 * 1024) / unit.length));
    const started = performance.now();
    classify(message);
    expect(performance.now() - started).toBeLessThan(250);
  });
});
