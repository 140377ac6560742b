import { ConfigError } from './env-config.js';

/** Where a server was asked to listen, and the variables that said so. */
export interface ListenSettings {
  hostVar: string;
  host: string;
  portVar: string;
  port: number;
}

/**
 * A listen failure that a setting caused (a host that does not resolve or is not this machine's, a port
 * in use or reserved) as a ConfigError naming that variable; any other error is returned unchanged.
 */
export function listenConfigError(err: unknown, s: ListenSettings): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const host = `${s.hostVar}=${JSON.stringify(s.host)}`;
  const port = `${s.portVar}=${s.port}`;
  if (['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA'].includes(code))
    return new ConfigError(`${host} does not resolve to an address (${code})`);
  if (code === 'EADDRNOTAVAIL') return new ConfigError(`${host} is not an address of this machine (${code})`);
  if (code === 'EADDRINUSE')
    return new ConfigError(`${port} is already in use on ${s.host} (${code}); pick a free port`);
  if (code === 'EACCES')
    return new ConfigError(
      `${port} may not be used by this user on ${s.host} (${code}; ports below 1024 need privileges)`,
    );
  return err;
}
