/**
 * Runs tasks one at a time, in the order they were pushed: a connection's commands
 * and the notifications they cause keep their order even when handlers await.
 * A task that throws is reported to `onError`; the queue goes on.
 */
export class TaskQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly onError: (err: unknown) => void) {}

  push(task: () => Promise<void> | void): void {
    this.tail = this.tail.then(task).catch(this.onError);
  }

  /** Resolves once every task pushed so far, and any pushed meanwhile, has run. */
  async whenIdle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.tail;
      await current;
    } while (current !== this.tail);
  }
}
