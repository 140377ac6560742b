import { createHash, randomBytes } from 'node:crypto';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** A VOD-style id: a prefix and hex characters. */
export function randomId(prefix: string, hexChars: number): string {
  return (
    prefix +
    randomBytes(Math.ceil(hexChars / 2))
      .toString('hex')
      .slice(0, hexChars)
  );
}

/** `YYYYMMDDHHMMSS` + 18 hex chars, the shape of VOD's RequestIds. */
export function vodRequestId(nowMs: number): string {
  const t = new Date(nowMs).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${t}${randomBytes(9).toString('hex').toUpperCase()}`;
}

/** SourceInfo of a successful upload: plausible, and the same for the same URL. */
export function successSourceInfo(
  sourceUrl: string,
  fileName?: string,
  md5?: string,
): Record<string, unknown> {
  const h = hex(sourceUrl);
  const n = (from: number, len: number) => Number.parseInt(h.slice(from, from + len), 16);
  const [width, height] = [
    [1920, 1080],
    [1280, 720],
    [3840, 2160],
    [720, 1280],
  ][n(0, 2) % 4]!;
  const duration = Math.round((10 + (n(2, 4) % 590)) * 1000 + (n(6, 3) % 1000)) / 1000;
  const bitrate = 800_000 + (n(9, 5) % 6_000_000);
  // VOD's stored name has no suffix unless the customer gave a FileName (see the callback samples).
  const name = fileName ?? h.slice(0, 32);
  return {
    StoreUri: `tos-cn-v-0001/${name}`,
    Height: height,
    Width: width,
    Duration: duration,
    Bitrate: bitrate,
    Md5: md5 ?? h.slice(32, 64),
    Format: 'mp4',
    Size: Math.round((bitrate * duration) / 8),
    HlsMediaSize: 0,
    FileName: name,
  };
}

/** SourceInfo of a failed upload, as VOD sends it (zeroes, its stored FileName without a suffix). */
export function failureSourceInfo(sourceUrl: string, fileName?: string): Record<string, unknown> {
  return {
    StoreUri: '',
    FileType: 'video',
    Width: 0,
    Height: 0,
    Bitrate: 0,
    Duration: 0,
    Size: 0,
    FileName: fileName ?? hex(sourceUrl).slice(0, 32),
  };
}
