import { DEFAULT_INPUT_BOUNDS, type InputBounds, TASK_OVERHEAD_BYTES } from './flow-limits.ts';
import type { BudgetAccount } from './memory-budget.ts';

type Task = () => Promise<void> | void;

/**
 * One queue's input tasks run back to back for at most this long, then the rest waits
 * for the next turn of the event loop (issue 14). Tasks whose store work is synchronous
 * (better-sqlite3) resolve at once, so without this a packet of a few hundred requests
 * ran as one unbroken chain of microtasks: a client flooding vCard gets held every other
 * connection's delivery for hundreds of milliseconds.
 */
const INPUT_SLICE_MS = 2;

/** The next turn of the event loop, after the I/O waiting now (other connections' input). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface TaskQueueOptions {
  /** A task threw or rejected; the queue goes on. */
  onError: (err: unknown) => void;
  bounds?: Partial<InputBounds> | undefined;
  /**
   * Waiting input went over its soft bound (true: stop reading the client), or back
   * under half of it (false: read again).
   */
  onInputPressure?: ((over: boolean) => void) | undefined;
  /** Waiting input went over the hard bound (called once): close the connection. */
  onInputOverflow?: (() => void) | undefined;
  /** Charged with the bytes of waiting input. */
  account?: BudgetAccount | undefined;
}

/**
 * Runs tasks one at a time, in the order they were pushed: a connection's commands
 * and the notifications they cause keep their order even when handlers await.
 * A task that throws is reported to `onError`; the queue goes on.
 *
 * The client's own input (`pushInput`) is bounded and can be held. Each input task
 * takes its place in the run order as any task does, but when its turn comes while the
 * queue is held (the connection's output is backed up), it stays waiting instead, and
 * runs once released. So a packet of a thousand requests for a large reply makes a
 * few replies, not a thousand, while other tasks (events for the client) still run and
 * count against the output bound: an event may then run before input that arrived
 * earlier but had not started, as if it had come first. Input keeps its own order.
 */
export class TaskQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly onError: (err: unknown) => void;
  private readonly bounds: InputBounds;
  private readonly onInputPressure: ((over: boolean) => void) | undefined;
  private readonly onInputOverflow: (() => void) | undefined;
  private readonly account: BudgetAccount | undefined;
  /** Input not yet started, oldest at `head`, with what each counts for. */
  private readonly inbox: (Task | undefined)[] = [];
  private readonly costs: number[] = [];
  private head = 0;
  /** Turns in the run order that will each start the oldest waiting input. */
  private turns = 0;
  private held = false;
  /** When the current run of input tasks without a pause began (performance.now()); 0: none. */
  private sliceStart = 0;
  private over = false;
  private overflowed = false;
  private released: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Input tasks waiting to start, and the bytes they count for. */
  inputTasks = 0;
  inputBytes = 0;

  constructor(options: TaskQueueOptions | ((err: unknown) => void)) {
    const o = typeof options === 'function' ? { onError: options } : options;
    this.onError = o.onError;
    // The defaults shared, not copied, when nothing is overridden: one object less per connection.
    this.bounds = o.bounds ? { ...DEFAULT_INPUT_BOUNDS, ...o.bounds } : DEFAULT_INPUT_BOUNDS;
    this.onInputPressure = o.onInputPressure;
    this.onInputOverflow = o.onInputOverflow;
    this.account = o.account;
    // The turn function every input task is chained with, made once per queue.
    this.turn = this.startOldestInput.bind(this);
  }

  /** A task that is not the client's input (an event to render): runs in order, never held. */
  push(task: Task): void {
    this.tail = this.tail.then(task).catch(this.onError);
  }

  /** The client's input: `bytes` is its size on the wire (a command line and payload, a stanza). */
  pushInput(task: Task, bytes = 0): void {
    const cost = bytes + TASK_OVERHEAD_BYTES;
    this.inbox.push(task);
    this.costs.push(cost);
    this.inputTasks += 1;
    this.inputBytes += cost;
    this.account?.add(cost);
    if (this.inputBytes > this.bounds.hardBytes) {
      if (!this.overflowed) {
        this.overflowed = true;
        this.onInputOverflow?.();
      }
    } else if (
      !this.over &&
      (this.inputTasks > this.bounds.softTasks || this.inputBytes > this.bounds.softBytes)
    ) {
      this.over = true;
      this.onInputPressure?.(true);
    }
    if (!this.held) this.addTurn();
  }

  /** Stop starting input tasks (the client's output is backed up). */
  hold(): void {
    this.held = true;
  }

  /** Start input tasks again: the waiting ones get turns at the end of the run order. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    for (let n = this.inbox.length - this.head - this.turns; n > 0; n--) this.addTurn();
    const released = this.released;
    this.released = undefined;
    released?.resolve();
  }

  /** Drops waiting input (the connection closed): it would only find the connection gone. */
  clear(): void {
    for (let i = this.head; i < this.costs.length; i++) this.started(this.costs[i] as number);
    this.inbox.length = 0;
    this.costs.length = 0;
    this.head = 0;
    this.release();
  }

  /** Resolves once every task pushed so far, and any pushed meanwhile, has run. Not while held with input waiting. */
  async whenIdle(): Promise<void> {
    for (;;) {
      const current = this.tail;
      await current;
      if (current !== this.tail) continue;
      if (this.head === this.inbox.length) return;
      // Held with input waiting: it runs once released.
      if (!this.released) {
        let resolve = () => {};
        const promise = new Promise<void>((r) => {
          resolve = r;
        });
        this.released = { promise, resolve };
      }
      await this.released.promise;
    }
  }

  private addTurn(): void {
    this.turns += 1;
    this.push(this.turn);
  }

  /** An input's turn: the oldest waiting input starts, unless the queue is held (no closure per task). */
  private readonly turn: () => Promise<void> | void;

  private startOldestInput(): Promise<void> | void {
    this.turns -= 1;
    return this.runOldestInput();
  }

  private runOldestInput(): Promise<void> | void {
    if (this.held || this.head === this.inbox.length) {
      this.sliceStart = 0;
      return;
    }
    // Its slice used up, the queue yields in its place in the run order: what comes after
    // it waits, other connections' input and timers run meanwhile.
    const now = performance.now();
    if (this.sliceStart === 0) this.sliceStart = now;
    else if (now - this.sliceStart > INPUT_SLICE_MS) {
      this.sliceStart = 0;
      return nextTurn().then(() => this.runOldestInput());
    }
    const task = this.inbox[this.head] as Task;
    const cost = this.costs[this.head] as number;
    this.inbox[this.head] = undefined;
    this.head += 1;
    if (this.head === this.inbox.length) {
      this.inbox.length = 0;
      this.costs.length = 0;
      this.head = 0;
      // The last waiting input: the next one to arrive starts a new slice.
      this.sliceStart = 0;
    }
    this.started(cost);
    return task();
  }

  /** An input task left the inbox: it no longer counts against the bounds. */
  private started(cost: number): void {
    this.inputTasks -= 1;
    this.inputBytes -= cost;
    this.account?.add(-cost);
    if (
      this.over &&
      this.inputTasks <= this.bounds.softTasks / 2 &&
      this.inputBytes <= this.bounds.softBytes / 2
    ) {
      this.over = false;
      this.onInputPressure?.(false);
    }
  }
}
