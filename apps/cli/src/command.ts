import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './cli-context.js';
import { usageError } from './exit-codes.js';

/** Options and positionals after the command's words, as `util.parseArgs` returns them. */
export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * One `vodctl` command. Each lives in its own file under `commands/` and is listed once in
 * `main.ts`; the dispatcher parses options, connects to Redis and maps errors to exit codes.
 */
export interface Command {
  /** The words that select it, e.g. `['dlq', 'list']`. */
  path: readonly string[];
  /** What follows the words in the usage line, e.g. `<id> [--json]`. */
  usage: string;
  /** One line for `vodctl --help`. */
  summary: string;
  /** Options for `util.parseArgs` (strict: unknown options are usage errors). */
  options?: ParseArgsConfig['options'];
  /**
   * True for the commands that inspect or change the recorded EVENT_SHARDS itself: they run whatever
   * count Redis holds. Every other command refuses to run with an EVENT_SHARDS other than the
   * recorded one (it would read, or replay into, shards no process uses).
   */
  anyShardCount?: boolean;
  /** Checks the arguments before Redis is contacted; throw `usageError` on a bad one. */
  validate?(args: CommandArgs): void;
  /** Does the work; the returned number is the exit code. */
  run(ctx: CliContext, args: CommandArgs): Promise<number>;
}

/** `validate` of a command that takes no argument besides its options. */
export function takesNoArgument({ positionals }: CommandArgs): void {
  if (positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
}

/** `validate` of a command that takes exactly one argument, `what` (e.g. `dead letter id`). */
export function takesOneArgument(what: string): (args: CommandArgs) => void {
  return ({ positionals }) => {
    if (positionals.length !== 1) throw usageError(`expects exactly one ${what}`);
  };
}
