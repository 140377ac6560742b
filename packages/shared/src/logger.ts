import type { LoggerOptions } from 'pino';

/**
 * Paths pino must never print: credentials, signatures and full bodies. Fastify's request logs and
 * our own share these.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-vod-signature"]',
  'headers.authorization',
  'config.VOLC_SECRETKEY',
  'config.VOLC_ACCESSKEY',
  'config.CALLBACK_PRIVATE_KEY',
  'config.CALLBACK_PRIVATE_KEY_PREVIOUS',
  'config.ADMIN_PASSWORD',
  'body',
];

/** pino options of every process: level, service name, redaction. */
export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
}
