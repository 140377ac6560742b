/** Sends one script call with the arguments of every item added this turn; resolves with its replies. */
export type BatchScript = (args: string[]) => Promise<unknown>;

interface Waiter<T> {
  resolve(result: T): void;
  reject(err: Error): void;
}

/**
 * Gathers the items of one event-loop turn into one Redis script call, sent in `setImmediate` (an
 * item waits at most one turn longer), or at once when `maxItems` are waiting. The script gets the
 * fixed `head` arguments, then every item's arguments in the order they were added, and must reply
 * with an array holding one reply per item. What one call instead of N saves: N ioredis commands
 * with their socket writes and replies on the client, and N script invocations in Redis.
 */
export class ScriptBatch<T> {
  private args: string[];
  private waiters: Waiter<T>[] = [];
  private scheduled = false;

  /**
   * With `timeout`, a call not answered within `timeout.ms` of being sent rejects its items with
   * `timeout.error()` (one timer per call, not per item); a late reply is then ignored.
   */
  constructor(
    private readonly script: BatchScript,
    private readonly head: readonly string[],
    private readonly toResult: (reply: unknown) => T,
    private readonly maxItems: number,
    private readonly timeout?: { ms: number; error: () => Error },
  ) {
    this.args = [...head];
  }

  /** Queues one item; resolves with its reply once the batch it went out in was answered. */
  add(itemArgs: readonly string[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
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
    const args = this.args;
    this.waiters = [];
    this.args = [...this.head];
    const { timeout } = this;
    const timer = timeout && setTimeout(() => this.rejectAll(waiters, timeout.error()), timeout.ms);
    this.script(args).then(
      (replies) => {
        clearTimeout(timer);
        if (!Array.isArray(replies) || replies.length !== waiters.length) {
          this.rejectAll(waiters, new Error(`unexpected reply to a batch of ${waiters.length} script items`));
          return;
        }
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(this.toResult(replies[i]));
      },
      (err: Error) => {
        clearTimeout(timer);
        this.rejectAll(waiters, err);
      },
    );
  };

  private rejectAll(waiters: readonly Waiter<T>[], err: Error): void {
    for (const w of waiters) w.reject(err);
  }
}
