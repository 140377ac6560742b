/**
 * Exit codes of `vodctl` (documented in README). Scripts branch on them, so they never change meaning.
 */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** Not found, or the operation failed (details on stderr). */
  failed: 1,
  /** Bad command line: unknown command, bad option or value. */
  usage: 2,
  /** Redis did not answer (connection refused, timeout, lost mid-command). */
  redisUnreachable: 3,
  /** Refused: the state does not allow the change yet (e.g. `shards set` while jobs are queued); nothing changed. */
  refused: 4,
  /** A bad environment variable (same code as the other processes: EX_CONFIG). */
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with a chosen exit code and a one-line message on stderr. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/** A usage error (exit 2). */
export const usageError = (message: string) => new CliError(EXIT.usage, message);
/** A change the current state does not allow (exit 4); the message says what to do first. */
export const refused = (message: string) => new CliError(EXIT.refused, message);
/** Not found (exit 1). */
export const notFound = (message: string) => new CliError(EXIT.failed, message);
