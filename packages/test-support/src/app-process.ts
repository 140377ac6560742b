import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives at packages/test-support/{src,dist}/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A running app process (`node apps/<app>/dist/main.js`) with its captured output. */
export interface AppProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a built app with `env` added to the environment; resolves once `readyLine` is printed. */
export async function startApp(
  app: 'ingress' | 'worker' | 'vod-simulator' | 'cli',
  env: Record<string, string>,
  readyLine: RegExp | undefined,
  args: string[] = [],
  timeoutMs = 15_000,
): Promise<AppProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'apps', app, 'dist', 'main.js'), ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const proc: AppProcess = {
    child,
    output: () => out,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (!readyLine) return proc;
  const deadline = Date.now() + timeoutMs;
  while (!readyLine.test(out)) {
    if (child.exitCode !== null)
      throw new Error(`${app} exited with ${child.exitCode} before ready:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${app} not ready within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return proc;
}
