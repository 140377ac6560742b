import { describe, expect, it } from 'vitest';
import type { Command } from './command.js';
import { findCommand, runCli, usageText } from './dispatcher.js';
import { parseDuration, parsePositiveInt } from './duration.js';
import { EXIT } from './exit-codes.js';
import { COMMANDS } from './main.js';

describe('vodctl dispatcher (no Redis needed)', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it('picks the longest matching command path', () => {
    const a: Command = { path: ['dlq'], usage: '', summary: 'a', run: async () => 0 };
    const b: Command = { path: ['dlq', 'list'], usage: '', summary: 'b', run: async () => 0 };
    expect(findCommand([a, b], ['dlq', 'list', '--json'])).toEqual({ command: b, rest: ['--json'] });
    expect(findCommand([a, b], ['dlq', 'other'])).toEqual({ command: a, rest: ['other'] });
    expect(findCommand([a, b], ['queues'])).toBeUndefined();
  });

  it('lists every command with its usage', () => {
    const text = usageText(COMMANDS);
    for (const c of COMMANDS) expect(text).toContain(`vodctl ${c.path.join(' ')}`);
    expect(text).toMatch(/exit codes: 0 ok, 1 not found or failed, 2 usage, 3 Redis unreachable/);
  });

  it.each([
    [['dlq', 'list', '--limit', 'ten']],
    [['dlq', 'list', '--reason', 'oops']],
    [['dlq', 'list', 'extra']],
    [['dlq', 'show']],
    [['dlq', 'show', 'a', 'b']],
    [['dlq', 'replay']],
    [['dlq', 'replay', 'id', '--reason', 'unknown_code']],
    [['dlq', 'purge', '--older-than', '7 days']],
    [['dlq', 'purge', '--older-than']],
    [['status']],
    [['queues', '--bogus']],
    [['nonsense']],
  ])('usage error (exit 2) before touching Redis: %j', async (argv) => {
    const { err, io: sink } = io();
    // A closed local port: were Redis contacted first, the answer would be 3, not 2.
    const code = await runCli(argv, COMMANDS, { env: { REDIS_URL: 'redis://127.0.0.1:1' }, io: sink });
    expect(code).toBe(EXIT.usage);
    expect(err.join('\n')).toMatch(/vodctl/);
  });

  it('a command group without its subcommand names the subcommands', async () => {
    const { err, io: sink } = io();
    expect(await runCli(['dlq'], COMMANDS, { io: sink })).toBe(EXIT.usage);
    expect(err[0]).toMatch(/^vodctl dlq: expects one of list, show, replay, purge/);
  });

  it('--help answers 0 on stdout, no arguments answers 2 on stderr', async () => {
    const a = io();
    expect(await runCli(['--help'], COMMANDS, { io: a.io })).toBe(EXIT.ok);
    expect(a.out.join('\n')).toMatch(/^usage: vodctl/);
    const b = io();
    expect(await runCli([], COMMANDS, { io: b.io })).toBe(EXIT.usage);
    expect(b.err.join('\n')).toMatch(/^usage: vodctl/);
    const c = io();
    expect(await runCli(['dlq', 'replay', '--help'], COMMANDS, { io: c.io })).toBe(EXIT.ok);
    expect(c.out.join('\n')).toMatch(/usage: vodctl dlq replay/);
  });

  it('parses ages and limits strictly', () => {
    expect(parseDuration('7d', '--older-than')).toBe(7 * 86_400_000);
    expect(parseDuration('30m', '--older-than')).toBe(1_800_000);
    expect(parseDuration('2w', '--older-than')).toBe(14 * 86_400_000);
    for (const bad of ['7', 'd', '-1d', '1.5d', '7days', ''])
      expect(() => parseDuration(bad, '--older-than')).toThrow(/duration/);
    expect(parsePositiveInt('50', '--limit')).toBe(50);
    for (const bad of ['0', '-1', '1e3', 'x', ''])
      expect(() => parsePositiveInt(bad, '--limit')).toThrow(/whole number/);
  });
});
