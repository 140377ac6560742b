/**
 * Sends one script call with the keys and arguments of every item added this turn; resolves with its
 * replies. `keys` are the head's keys, then every item's keys; `args` likewise (see ScriptBatch).
 */
export type BatchScript = (args: string[], keys: string[]) => Promise<unknown>;

/** What every call of a ScriptBatch starts with: keys (KEYS) and arguments (ARGV). */
export interface BatchHead {
  keys?: readonly string[];
  args: readonly string[];
}

interface Waiter<T> {
  resolve(result: T): void;
  reject(err: Error): void;
}

/**
 * Gathers the items of one event-loop turn into one Redis script call, sent in `setImmediate` (an
 * item waits at most one turn longer), or at once when `maxItems` are waiting. The script gets the
 * fixed `head` keys and arguments, then every item's keys (KEYS) and arguments (ARGV) in the order
 * they were added, and must reply with an array holding one reply per item. Every key a script
 * touches travels in KEYS (Redis Cluster and proxies route by them): an item with keys of its own
 * passes them with `add`. What one call instead of N saves: N ioredis commands with their socket
 * writes and replies on the client, and N script invocations in Redis.
 */
export class ScriptBatch<T> {
  private readonly headKeys: readonly string[];
  private readonly headArgs: readonly string[];
  private keys: string[];
  private args: string[];
  private waiters: Waiter<T>[] = [];
  private scheduled = false;

  /**
   * `head`: the arguments (or keys and arguments) every call starts with. `toResult` turns an
   * item's reply into its result; when it throws, that item alone is rejected with the error.
   * With `timeout`, a call not answered within `timeout.ms` of being sent rejects its items with
   * `timeout.error()` (one timer per call, not per item); a late reply is then ignored.
   * With `confirm`, a call's items settle only once `confirm` resolved after the reply (it gets
   * what is left of `timeout.ms`, or undefined without a timeout); its rejection rejects them all.
   * The ingress and the worker use it to wait for replicas (REDIS_MIN_REPLICAS): once per call.
   */
  constructor(
    private readonly script: BatchScript,
    head: readonly string[] | BatchHead,
    private readonly toResult: (reply: unknown) => T,
    private readonly maxItems: number,
    private readonly timeout?: { ms: number; error: () => Error },
    private readonly confirm?: (remainingMs: number | undefined) => Promise<void>,
  ) {
    const h: BatchHead = Array.isArray(head) ? { args: head } : (head as BatchHead);
    this.headKeys = h.keys ?? [];
    this.headArgs = h.args;
    this.keys = [...this.headKeys];
    this.args = [...this.headArgs];
  }

  /** Queues one item; resolves with its reply once the batch it went out in was answered. */
  add(itemArgs: readonly string[], itemKeys: readonly string[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      for (const k of itemKeys) this.keys.push(k);
      for (const a of itemArgs) this.args.push(a);
      this.waiters.push({ resolve, reject });
      if (this.waiters.length >= this.maxItems) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    const { args, keys } = this;
    this.waiters = [];
    this.keys = [...this.headKeys];
    this.args = [...this.headArgs];
    const { timeout, confirm } = this;
    const sentAt = confirm && timeout ? Date.now() : 0;
    const timer = timeout && setTimeout(() => this.rejectAll(waiters, timeout.error()), timeout.ms);
    this.script(args, keys).then(
      (replies) => {
        clearTimeout(timer);
        if (!Array.isArray(replies) || replies.length !== waiters.length) {
          this.rejectAll(waiters, new Error(`unexpected reply to a batch of ${waiters.length} script items`));
          return;
        }
        const settleAll = () => {
          for (let i = 0; i < waiters.length; i++) this.settle(waiters[i]!, replies[i]);
        };
        if (!confirm) return settleAll();
        confirm(timeout ? timeout.ms - (Date.now() - sentAt) : undefined).then(settleAll, (err: Error) =>
          this.rejectAll(waiters, err),
        );
      },
      (err: Error) => {
        clearTimeout(timer);
        this.rejectAll(waiters, err);
      },
    );
  };

  private settle(waiter: Waiter<T>, reply: unknown): void {
    let result: T;
    try {
      result = this.toResult(reply);
    } catch (err) {
      waiter.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    waiter.resolve(result);
  }

  private rejectAll(waiters: readonly Waiter<T>[], err: Error): void {
    for (const w of waiters) w.reject(err);
  }
}

/** A script command of ioredis called with its key count first. */
export type VariadicCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * A command defined with `defineCommand` and no fixed key count, as a BatchScript: the key count
 * goes first, then the keys, then the arguments (ioredis' form for a variable number of keys).
 */
export function variadicScript(command: (...args: (string | number)[]) => Promise<unknown>): BatchScript {
  return (args, keys) => command(keys.length, ...keys, ...args);
}
