import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** Thrown when the webhook URL is unusable or points where it may not (the message says why). */
export class WebhookTargetError extends Error {
  override name = 'WebhookTargetError';
  readonly code = 'EWEBHOOKTARGET';
}

// Where a webhook must not go unless OUTCOME_WEBHOOK_ALLOW_PRIVATE=true: a URL set by a customer
// (or a DNS answer they control) must not make the worker call services inside our own network.
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv6');
}

/** True for a loopback, link-local, private (or unspecified) address, IPv4-mapped IPv6 included. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Parses the webhook URL; only http and https, no credentials in it. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('OUTCOME_WEBHOOK_URL is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookTargetError(`OUTCOME_WEBHOOK_URL must be http or https, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new WebhookTargetError(
      'OUTCOME_WEBHOOK_URL must not carry credentials (sign with OUTCOME_WEBHOOK_SECRET)',
    );
  }
  return url;
}

/** The host of a URL as `dns.lookup` and `net.isIP` want it (IPv6 literals without brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Every address `host` resolves to (the host itself when it is an address). */
export async function resolveHost(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses.map((a) => a.address)),
    ),
  );
}

/**
 * The start-up check: refuses a URL whose host resolves to a private address (unless allowed).
 * Answers the addresses found; a host that does not resolve now is not refused (DNS may be down at
 * start), since every send checks the address it connects to again (`guardedLookup`).
 */
export async function checkWebhookTarget(
  url: URL,
  allowPrivate: boolean,
): Promise<{ addresses: string[]; resolveError?: string }> {
  let addresses: string[];
  try {
    addresses = await resolveHost(hostOf(url));
  } catch (err) {
    return { addresses: [], resolveError: (err as Error).message };
  }
  const blocked = addresses.filter(isPrivateAddress);
  if (!allowPrivate && blocked.length > 0) {
    throw new WebhookTargetError(
      `OUTCOME_WEBHOOK_URL host ${url.hostname} resolves to ${blocked.join(', ')} (loopback, link-local or private); set OUTCOME_WEBHOOK_ALLOW_PRIVATE=true if that is intended`,
    );
  }
  return { addresses };
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that refuses private addresses: the check applies to the address
 * the socket actually connects to, so a DNS answer that changed since start (rebinding) is caught.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, options, (err, address: string | LookupAddress[], family?: number) => {
      if (err) return callback(err, address, family);
      const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const blocked = allowPrivate ? [] : list.filter(isPrivateAddress);
      if (blocked.length > 0) {
        return callback(
          new WebhookTargetError(`${hostname} resolved to ${blocked.join(', ')}, a private address`),
          address,
          family,
        );
      }
      callback(null, address, family);
    });
  };
}
