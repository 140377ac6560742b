import { parseArgs } from 'node:util';
import { ConfigError } from '@vod-callbacks/shared';
import { type CliIo, connectRedis, createContext } from './cli-context.js';
import type { Command, CommandArgs } from './command.js';
import { loadCliConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';
import { escapeControl } from './format.js';
import { refuseOtherShardCount } from './recorded-shards.js';

/** What `runCli` needs besides the arguments; defaults are the real process's. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  io?: CliIo;
  now?: () => number;
}

/**
 * Standard output, which its reader may close early (`vodctl dlq list | head -1`): from then on lines
 * are dropped and the command runs to its end, its exit code saying how the work went. A replay or
 * purge is not cut short, nor reported as failed, because nobody reads the rest.
 */
function processIo(): CliIo {
  let readerGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    readerGone = true;
  });
  return {
    out: (line) => {
      if (!readerGone) process.stdout.write(`${line}\n`);
    },
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

/** The usage text listing every command. */
export function usageText(commands: readonly Command[]): string {
  const lines = commands.map(
    (c) => `  vodctl ${[...c.path, c.usage].filter(Boolean).join(' ')}\n      ${c.summary}`,
  );
  return [
    'usage: vodctl <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'environment: REDIS_URL (default redis://127.0.0.1:6379), QUEUE_PREFIX (default vod), EVENT_SHARDS (default 1)',
    'exit codes: 0 ok, 1 not found or failed, 2 usage, 3 Redis unreachable, 4 refused, 78 bad environment',
  ].join('\n');
}

/** The command whose words start `argv` (longest match), and the rest of the arguments. */
export function findCommand(
  commands: readonly Command[],
  argv: readonly string[],
): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((word, i) => argv[i] === word) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { command: best, rest: argv.slice(best.path.length) } : undefined;
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '') ||
    /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|ECONNREFUSED/.test(e.message ?? '')
  );
}

/**
 * Runs one `vodctl` invocation and returns its exit code (never throws, never calls process.exit,
 * so tests can drive it against a real Redis).
 */
export async function runCli(
  argv: readonly string[],
  commands: readonly Command[],
  options: RunOptions = {},
): Promise<number> {
  // Every line goes out with its control characters escaped (the lines' own breaks kept): commands
  // print event data, which the sender controls, and a missed field must not reach the terminal raw.
  const target = options.io ?? processIo();
  const io: CliIo = {
    out: (line) => target.out(escapeControl(line, { keepNewlines: true })),
    err: (line) => target.err(escapeControl(line, { keepNewlines: true })),
  };
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    (argv.length === 0 ? io.err : io.out)(usageText(commands));
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(commands, argv);
  if (!found) {
    const group = commands.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
    io.err(
      group.length > 0
        ? `vodctl ${argv[0]}: expects one of ${group.map((c) => c.path[1]).join(', ')}\n\n${usageText(group)}`
        : `vodctl: unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))}\n\n${usageText(commands)}`,
    );
    return EXIT.usage;
  }
  const { command, rest } = found;
  const name = command.path.join(' ');
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: vodctl ${name} ${command.usage}\n  ${command.summary}`);
    return EXIT.ok;
  }

  let args: CommandArgs;
  try {
    const parsed = parseArgs({
      args: [...rest],
      options: command.options ?? {},
      allowPositionals: true,
      strict: true,
    });
    args = { values: parsed.values as CommandArgs['values'], positionals: parsed.positionals };
    command.validate?.(args);
  } catch (err) {
    io.err(`vodctl ${name}: ${(err as Error).message}\nusage: vodctl ${name} ${command.usage}`);
    return EXIT.usage;
  }

  let config: ReturnType<typeof loadCliConfig>;
  try {
    config = loadCliConfig(options.env ?? process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`vodctl: configuration error: ${err.message}`);
      return EXIT.config;
    }
    throw err;
  }

  let close: (() => Promise<void>) | undefined;
  try {
    const redis = await connectRedis(config.topology);
    const built = createContext(config, redis, io, options.now);
    close = built.close;
    if (!command.anyShardCount) await refuseOtherShardCount(built.ctx);
    return await command.run(built.ctx, args);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`vodctl ${name}: ${err.message}`);
      return err.exitCode;
    }
    if (isConnectionError(err)) {
      io.err(`vodctl ${name}: lost the connection to Redis: ${(err as Error).message}`);
      return EXIT.redisUnreachable;
    }
    io.err(`vodctl ${name}: failed: ${(err as Error).message}`);
    return EXIT.failed;
  } finally {
    await close?.();
  }
}
