/*
 * Reading a failure Message (`Data.Message`) the way a person would: addresses, ports, sizes and
 * durations are context, never a verdict, and a number is an HTTP status only where the text says so.
 * Download errors carry all of these (`dial tcp 10.4.0.44:443: i/o timeout`, `size 404 bytes`), and
 * reading any of them as a status turns a network hiccup into a lost video.
 */

// Each pattern removes one kind of context. Units are followed by a non-alphanumeric character (or
// the end) rather than \b, so CJK units (字节, 毫秒) and `µs` are cut too.
const END = '(?![a-z0-9])';
// A number starts where no digit, comma or dot precedes it: every regex below then starts at most
// once per run of digits, which keeps a hostile Message ("1,1,1,…", "a.a.a.…") linear, not quadratic.
const NUMBER = '(?<![\\d,.])\\d[\\d,]*(?:\\.\\d+)?';
const CONTEXT: RegExp[] = [
  // [IPv6]:port, IPv4 without a port
  /\[[0-9a-f:.]*\](?::\d{1,5})?/gi,
  /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])/g,
  // "port 4043", "端口 443"
  /(?:\bport|端口)\s*[:=：]?\s*\d{1,5}(?!\d)/gi,
  // byte counts: "404 bytes", "4043B", "500 MB", "1.5GiB", "404 字节"
  new RegExp(`${NUMBER}\\s*(?:bytes?|[kmgtpe]i?b|b|字节)${END}`, 'gi'),
  // Go durations ("2m30.5s", "1h0m0s"), then a number with a time unit ("400ms", "30 seconds", "5 秒")
  new RegExp(`(?<![a-z0-9.])(?:\\d+(?:\\.\\d+)?(?:h|m|s|ms|us|µs|ns)){2,}${END}`, 'gi'),
  new RegExp(
    `${NUMBER}\\s*(?:ns|us|µs|ms|msecs?|millis(?:econds?)?|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|毫秒|秒|分钟|小时)${END}`,
    'gi',
  ),
];
// URLs (their paths and queries may hold anything: /404.mp4, ?status=404); cut before host:port.
const URL_PATTERN = /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*/gi;
// host:port (IPv4 too): a run of host characters, taken whole (never re-started inside the run).
const HOST_PORT = /(?<![a-z0-9.-])([a-z0-9.-]+):\d{1,5}(?!\d)/gi;
const cutHostPort = (match: string, host: string) =>
  host.includes('.') || host.toLowerCase() === 'localhost' ? ' ' : match;

/** Characters of a Message that are read; real ones are far shorter, a hostile one costs no more. */
export const MESSAGE_READ_CHARS = 4096;

/**
 * The Message (its first MESSAGE_READ_CHARS characters) with URLs, addresses, ports, byte counts
 * and durations cut out and whitespace collapsed: what Message rules are matched against. Cutting
 * repeats until nothing changes, so context that becomes adjacent once something between was cut
 * is cut too.
 */
export function withoutContext(message: string): string {
  let text = message.slice(0, MESSAGE_READ_CHARS);
  for (let i = 0; i < 10; i++) {
    let next = text;
    next = next.replace(URL_PATTERN, ' ').replace(HOST_PORT, cutHostPort);
    for (const pattern of CONTEXT) next = next.replace(pattern, ' ');
    next = next.replace(/\s+/g, ' ').trim();
    if (next === text) break;
    text = next;
  }
  return text;
}

const STATUS = '([1-5]\\d\\d)(?![\\d.])';
// Standard reason phrases (and nginx's, CDNs'); "404 Not Found" states a status, "404 items" does not.
const REASON =
  'continue|switching protocols|ok\\b|created|accepted|no content|partial content|moved|found|see other|not modified|temporary redirect|permanent redirect|' +
  'bad request|unauthori[sz]ed|payment required|forbidden|not found|method not allowed|not acceptable|proxy authentication|request time-?out|conflict|gone|length required|precondition|' +
  '(?:request entity|payload|content) too large|request-?uri too long|uri too long|unsupported media type|(?:requested )?range not satisfiable|expectation failed|misdirected|unprocessable|locked|failed dependency|too early|upgrade required|too many requests|request header fields too large|unavailable for legal reasons|client closed request|' +
  'internal server error|not implemented|bad gateway|service (?:temporarily )?unavailable|gateway time-?out|http version not supported|variant also negotiates|insufficient storage|loop detected|not extended|network authentication required|' +
  'web server (?:returned an unknown error|is down)|connection timed out|origin is unreachable|a timeout occurred|ssl handshake failed|invalid ssl certificate|error\\b|错误';
const STATED: RegExp[] = [
  // "404 Not Found", "HTTP 404 error"
  new RegExp(`(?<![\\d.])${STATUS}\\s+(?:${REASON})`, 'gi'),
  // "HTTP/1.1 502", "HTTP/2 404", "HTTP 404", "HTTP error 404", "HTTP status: 503"
  new RegExp(
    `\\bhttps?(?:/\\d(?:\\.\\d)?)?(?:\\s+(?:error|status(?:\\s+code)?|code|response))?\\s*[:=：]?\\s*${STATUS}`,
    'gi',
  ),
  // "status code 503", "StatusCode: 404", "status=404", "code: 429", "response status is 403", "状态码 404", "HTTP 状态码：503"
  new RegExp(
    `(?:\\b(?:http[ _-]?)?(?:response[ _-]?)?(?:status(?:[ _-]?code)?|code)|状态码|返回码|响应码)\\s*(?:(?:is|was|of)\\s+|[:=：]\\s*|为\\s*|是\\s*)?${STATUS}`,
    'gi',
  ),
  // "returned 500", "returned error: 404", "responded with 503", "源站返回 404"
  new RegExp(
    `(?:\\b(?:returned|responded\\s+with|answered)|返回)(?:\\s+(?:an?\\s+)?(?:http\\s+)?(?:error|status(?:\\s+code)?|code))?\\s*[:=：]?\\s*${STATUS}`,
    'gi',
  ),
  // a Message that is nothing but a status
  new RegExp(`^${STATUS}$`, 'g'),
];

/** HTTP statuses the (context-free) Message states, in the order stated; empty when none. */
export function statedStatuses(text: string): string[] {
  const found: { at: number; status: string }[] = [];
  for (const pattern of STATED) {
    for (const m of text.matchAll(pattern)) {
      if (m[1]) found.push({ at: (m.index ?? 0) + m[0].lastIndexOf(m[1]), status: m[1] });
    }
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.status);
}

/** True when `status` (three digits) matches a status pattern such as `404`, `4xx` or `50x`. */
export function statusMatches(pattern: string, status: string): boolean {
  if (pattern.length !== status.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p !== 'x' && p !== 'X' && p !== status[i]) return false;
  }
  return true;
}
