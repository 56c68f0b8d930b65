import net from 'node:net';

/** Untaken items kept at most per connection; older ones are dropped (a benchmark does not care). */
const INBOX_LIMIT = 64;

/** A pending `expect`: what it accepts, and how an accepted item settles it. */
export interface Waiter<T> {
  what: string;
  accept: (item: T) => boolean;
  settle: (item: T | undefined) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** Set for waiters that are not settled by an item (for example a stream header). */
  tag?: string;
}

/**
 * What `ConnBase` uses of its connection: a TCP (or TLS) socket, or anything shaped like
 * one (bench/xmpp-ws-conn.ts wraps a WebSocket so, each message one 'data' chunk).
 */
export interface ConnSocket {
  readonly writable: boolean;
  readonly writableLength: number;
  write(data: string | Buffer): unknown;
  end(): unknown;
  destroy(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** A TCP connection with Nagle off, or a rejection after `timeoutMs`. */
export function connectSocket(
  port: number,
  host: string,
  localAddress: string | undefined,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(localAddress ? { port, host, localAddress } : { port, host });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * The plumbing shared by the benchmark's lean client connections: the socket, an
 * optional `handler` that sees every received item first (and swallows it by returning
 * true), a small inbox of unclaimed items, and waiters with a timeout that fail when
 * the connection closes. Subclasses decode the bytes (`receive`) and pass items to
 * `deliver`.
 */
export abstract class ConnBase<T> {
  /** Sees each received item first; returning true consumes it. */
  handler: ((item: T) => boolean) | undefined;
  protected readonly inbox: T[] = [];
  protected readonly waiters: Waiter<T>[] = [];
  protected readonly closedPromise: Promise<void>;
  protected failure: Error | undefined;
  protected closed = false;
  protected readonly onData = (chunk: Buffer) => this.receive(chunk);

  protected constructor(protected socket: ConnSocket) {
    socket.on('data', this.onData);
    socket.on('error', (err) => {
      this.failure ??= err;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.failWaiters(this.failure ? `connection failed (${this.failure.message})` : 'connection closed');
        resolve();
      });
    });
  }

  protected abstract receive(chunk: Buffer): void;

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes written but not yet handed to the kernel. */
  get pendingWrite(): number {
    return this.socket.writableLength;
  }

  /** Forgets everything in the inbox. */
  clearInbox(): void {
    this.inbox.length = 0;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Writes `farewell` (if any), ends the connection and resolves once it is closed (destroyed after `timeoutMs`). */
  protected async closeWith(farewell: Buffer | string | undefined, timeoutMs: number): Promise<void> {
    if (this.closed) return;
    if (farewell !== undefined && this.socket.writable) this.socket.write(farewell);
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await this.closedPromise;
    clearTimeout(timer);
  }

  /** Takes the oldest inbox item `accept` accepts. */
  protected takeFromInbox(accept: (item: T) => boolean): { item: T } | undefined {
    const i = this.inbox.findIndex(accept);
    return i === -1 ? undefined : { item: this.inbox.splice(i, 1)[0] as T };
  }

  /** Registers a waiter that times out after `timeoutMs`. */
  protected addWaiter(
    what: string,
    accept: (item: T) => boolean,
    settle: (item: T | undefined, reject: (err: Error) => void) => void,
    reject: (err: Error) => void,
    timeoutMs: number,
    tag?: string,
  ): void {
    const waiter: Waiter<T> = {
      what,
      accept,
      settle: (item) => settle(item, reject),
      reject,
      timer: setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at !== -1) this.waiters.splice(at, 1);
        reject(new Error(`waiting for ${what}: timed out after ${timeoutMs} ms`));
      }, timeoutMs),
      ...(tag !== undefined ? { tag } : {}),
    };
    this.waiters.push(waiter);
  }

  /** Removes (and disarms) the oldest waiter matching `pred`. */
  protected takeWaiter(pred: (w: Waiter<T>) => boolean): Waiter<T> | undefined {
    const i = this.waiters.findIndex(pred);
    if (i === -1) return undefined;
    const waiter = this.waiters.splice(i, 1)[0] as Waiter<T>;
    clearTimeout(waiter.timer);
    return waiter;
  }

  /** Hands `item` to the oldest waiter that accepts it, or keeps it in the inbox. */
  protected deliver(item: T): void {
    const waiter = this.takeWaiter((w) => w.tag === undefined && w.accept(item));
    if (waiter) {
      waiter.settle(item);
      return;
    }
    if (this.inbox.length >= INBOX_LIMIT) this.inbox.shift();
    this.inbox.push(item);
  }

  protected failWaiters(why: string): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`waiting for ${w.what}: ${why}`));
    }
  }
}
