import { describe, expect, it } from 'vitest';
import { ScriptBatch } from './script-batch.js';

/** A script that records each call and replies with each item's first argument upper-cased. */
function fakeScript(headLength: number, itemLength: number) {
  const calls: string[][] = [];
  const script = async (args: string[]) => {
    calls.push(args);
    const replies: string[] = [];
    for (let i = headLength; i < args.length; i += itemLength) replies.push(args[i]!.toUpperCase());
    return replies;
  };
  return { calls, script };
}

describe('ScriptBatch', () => {
  it('sends the items of one turn in one call, head first, and gives each item its own reply', async () => {
    const { calls, script } = fakeScript(1, 2);
    const batch = new ScriptBatch(script, ['head'], (r) => `got ${String(r)}`, 100);
    const replies = await Promise.all(['a', 'b', 'c'].map((x) => batch.add([x, `${x}2`])));
    expect(replies).toEqual(['got A', 'got B', 'got C']);
    expect(calls).toEqual([['head', 'a', 'a2', 'b', 'b2', 'c', 'c2']]);
  });

  it('splits a turn at maxItems, and a later turn is a new call', async () => {
    const { calls, script } = fakeScript(0, 1);
    const batch = new ScriptBatch(script, [], String, 2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => batch.add([x])));
    await batch.add(['f']);
    expect(calls).toEqual([['a', 'b'], ['c', 'd'], ['e'], ['f']]);
  });

  it('sends keys apart from arguments: the head keys, then each item’s keys, in the order added', async () => {
    const calls: { args: string[]; keys: string[] }[] = [];
    const batch = new ScriptBatch(
      async (args, keys) => {
        calls.push({ args, keys });
        return args.slice(1);
      },
      { keys: ['k-head'], args: ['a-head'] },
      String,
      10,
    );
    expect(await Promise.all([batch.add(['a1'], ['k1', 'k1b']), batch.add(['a2'], ['k2', 'k2b'])])).toEqual([
      'a1',
      'a2',
    ]);
    expect(calls).toEqual([{ keys: ['k-head', 'k1', 'k1b', 'k2', 'k2b'], args: ['a-head', 'a1', 'a2'] }]);
  });

  it('rejects only the item whose reply toResult refuses; the others of the call resolve', async () => {
    const batch = new ScriptBatch(
      async (args: string[]) => args,
      [],
      (r) => {
        if (r === 'bad') throw new Error('refused reply');
        return String(r);
      },
      10,
    );
    const settled = await Promise.allSettled([batch.add(['a']), batch.add(['bad']), batch.add(['c'])]);
    expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value))).toEqual([
      'a',
      'refused reply',
      'c',
    ]);
  });

  it('rejects every item of a call that failed, or whose reply does not match the items', async () => {
    const failing = new ScriptBatch(async () => Promise.reject(new Error('NOSCRIPT')), [], String, 10);
    const failed = await Promise.allSettled([failing.add(['a']), failing.add(['b'])]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);

    const short = new ScriptBatch(async () => ['only one'], [], String, 10);
    await expect(Promise.all([short.add(['a']), short.add(['b'])])).rejects.toThrow(/batch of 2/);
  });

  it('rejects the items of a call not answered in time with the timeout error; a late reply changes nothing', async () => {
    let answer: (replies: unknown) => void = () => {};
    const slow = () => new Promise((resolve) => (answer = resolve));
    const batch = new ScriptBatch(slow, [], String, 10, { ms: 20, error: () => new Error('timed out') });
    const items = Promise.allSettled([batch.add(['a']), batch.add(['b'])]);
    const settled = await items;
    expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value))).toEqual([
      'timed out',
      'timed out',
    ]);
    answer(['A', 'B']);
    const fast = new ScriptBatch(async (args: string[]) => args, [], String, 10, {
      ms: 20,
      error: () => new Error('timed out'),
    });
    expect(await fast.add(['c'])).toBe('c');
  });

  it('with confirm: items resolve only after confirm, which gets the time left and runs once per call', async () => {
    const budgets: (number | undefined)[] = [];
    let pass = true;
    const confirm = async (remaining: number | undefined) => {
      budgets.push(remaining);
      if (!pass) throw new Error('not on enough replicas');
    };
    const batch = new ScriptBatch(
      async (args: string[]) => args,
      [],
      String,
      10,
      { ms: 1000, error: () => new Error('timed out') },
      confirm,
    );
    expect(await Promise.all([batch.add(['a']), batch.add(['b'])])).toEqual(['a', 'b']);
    expect(budgets).toHaveLength(1);
    expect(budgets[0]).toBeGreaterThan(900);
    expect(budgets[0]).toBeLessThanOrEqual(1000);
    pass = false;
    const failed = await Promise.allSettled([batch.add(['c']), batch.add(['d'])]);
    expect(failed.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual([
      'not on enough replicas',
      'not on enough replicas',
    ]);
    expect(budgets).toHaveLength(2);
    const untimed = new ScriptBatch(async (args: string[]) => args, [], String, 10, undefined, confirm);
    await expect(untimed.add(['e'])).rejects.toThrow(/replicas/);
    expect(budgets[2]).toBeUndefined();
  });
});
