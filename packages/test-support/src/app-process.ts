import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureOutput } from './output-capture.js';

/** Repository root (this file lives at packages/test-support/{src,dist}/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** How a child process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process with its stdout and stderr captured together. */
export interface CapturedProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<ProcessExit>;
  /** Sends `signal` (default SIGTERM) unless it already ended; resolves once it did. */
  kill(signal?: NodeJS.Signals): Promise<ProcessExit>;
}

/** A running app process (`node apps/<app>/dist/main.js`) with its captured output. */
export type AppProcess = CapturedProcess;

/** The apps of this repository. */
export type AppName = 'ingress' | 'worker' | 'vod-simulator' | 'cli';

/** The built entry point of an app, apps/<app>/dist/main.js. */
export function appMain(app: AppName): string {
  return join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
}

/** Spawns `command` with stdin closed and stdout and stderr captured. */
export function spawnCaptured(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CapturedProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Resolves once `proc` has printed something matching `readyLine`. Throws with its output when it
 * exits first, or when `timeoutMs` pass (then it is killed); `name` names it in the error.
 */
export async function untilPrinted(
  proc: CapturedProcess,
  name: string,
  readyLine: RegExp,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!readyLine.test(proc.output())) {
    if (proc.child.exitCode !== null)
      throw new Error(`${name} exited with ${proc.child.exitCode} before ready:\n${proc.output()}`);
    if (Date.now() > deadline) {
      proc.child.kill('SIGKILL');
      throw new Error(`${name} not ready within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a built app with `env` added to the environment; resolves once `readyLine` is printed. */
export async function startApp(
  app: AppName,
  env: Record<string, string>,
  readyLine: RegExp | undefined,
  args: string[] = [],
  timeoutMs = 15_000,
): Promise<AppProcess> {
  const proc = spawnCaptured(process.execPath, [appMain(app), ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
  });
  if (readyLine) await untilPrinted(proc, app, readyLine, timeoutMs);
  return proc;
}
