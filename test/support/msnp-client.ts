import net from 'node:net';
import type { MsnpCommand } from '../../src/msnp/codec/command.ts';
import { MsnpDecoder } from '../../src/msnp/codec/decoder.ts';
import { encodePayloadCommand } from '../../src/msnp/codec/encoder.ts';

/**
 * Server→client payload commands in MSNP2–12 (docs/msnp-reference.md §2.2): MSG
 * (NS and SB), NOT, IPG, UBX and GCF. The server's `UUX trid 0` reply has no payload.
 * MSNP13+ add FQY and UBN, and ADL/RML (but not their `ADL trid OK` replies); an
 * error line with a second argument (`208 trid len`, after FQY) carries one too.
 */
const SERVER_PAYLOAD_COMMANDS = new Set(['MSG', 'NOT', 'IPG', 'UBX', 'GCF', 'FQY', 'UBN', 'NFY', 'SDG']);

export function serverHasPayload(name: string, args: readonly string[] = []): boolean {
  if (name === 'ADL' || name === 'RML') return args[1] !== 'OK';
  if (/^\d{3}$/.test(name)) return args.length === 2;
  return SERVER_PAYLOAD_COMMANDS.has(name);
}

/** A command as one readable string: the line, then `\r\n` and the payload (UTF-8) if any. */
export function commandText(cmd: MsnpCommand): string {
  const line = cmd.args.length > 0 ? `${cmd.name} ${cmd.args.join(' ')}` : cmd.name;
  return cmd.payload ? `${line}\r\n${cmd.payload.toString('utf8')}` : line;
}

/** `line` + CRLF as bytes, for tests that write raw (possibly split) data. */
export function encodeLine(line: string): Buffer {
  return Buffer.from(`${line}\r\n`, 'utf8');
}

interface Waiter {
  match: (cmd: MsnpCommand) => boolean;
  what: string;
  resolve: (cmd: MsnpCommand) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A minimal MSNP client over real TCP for protocol tests. It knows framing only
 * (no login logic). Received commands go to an inbox; `next` takes the oldest and
 * `expect(name)` the oldest with that name, leaving the others in place, in order.
 */
export class MsnpTestClient {
  /** Everything received, one entry per command (see `commandText`), for debugging. */
  readonly lines: string[] = [];
  private readonly inbox: MsnpCommand[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly decoder = new MsnpDecoder({ hasPayload: serverHasPayload });
  private readonly closedPromise: Promise<void>;
  private isClosed = false;
  private failure: Error | undefined;
  private lastTrid = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.failure ??= err;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.failWaiters();
        resolve();
      });
    });
  }

  /** `localAddress`: the source address (another loopback address, say, as a second client machine). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<MsnpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
      socket.setNoDelay(true);
      const onError = (err: Error) => reject(err);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new MsnpTestClient(socket));
      });
    });
  }

  /** The next TrID: 1, 2, 3, … */
  trid(): number {
    this.lastTrid += 1;
    return this.lastTrid;
  }

  /** Sends `line` followed by CRLF. */
  send(line: string): void {
    this.socket.write(encodeLine(line));
  }

  /** Sends `NAME args… <bytes>\r\n<payload>`. */
  sendPayload(name: string, args: readonly (string | number)[], payload: Buffer | string): void {
    this.socket.write(encodePayloadCommand(name, args, payload));
  }

  /** Sends bytes as they are (for framing tests). */
  sendRaw(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Stops reading: a client that never takes what the server sends (backpressure tests). */
  stopReading(): void {
    this.socket.pause();
  }

  /**
   * Writes `data` and waits until the socket takes more: `sent`, or `blocked` when it
   * has not within `ms` (the server stopped reading), or `closed`.
   */
  writeWhenReady(data: Buffer, ms = 1000): Promise<'sent' | 'blocked' | 'closed'> {
    if (this.isClosed || this.socket.destroyed) return Promise.resolve('closed');
    if (this.socket.write(data)) return Promise.resolve('sent');
    return new Promise((resolve) => {
      const done = (result: 'sent' | 'blocked' | 'closed') => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(result);
      };
      const onDrain = () => done('sent');
      const onClose = () => done('closed');
      const timer = setTimeout(() => done('blocked'), ms);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /** The oldest command not yet taken. */
  next(timeoutMs = 3000): Promise<MsnpCommand> {
    return this.take(() => true, 'any command', timeoutMs);
  }

  /**
   * The oldest command named `name` not yet taken; other commands stay in the
   * inbox. Rejects on timeout or close, listing what arrived instead.
   */
  expect(name: string, timeoutMs = 3000): Promise<MsnpCommand> {
    return this.take((cmd) => cmd.name === name, name, timeoutMs);
  }

  /** Waits `ms` and fails if any command is then waiting in the inbox (including older untaken ones). */
  async expectNothing(ms = 300): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.failure && !this.isClosed) throw this.failure;
    if (this.inbox.length > 0) {
      throw new Error(`expected no command, but the inbox holds:\n${this.describeInbox()}`);
    }
  }

  /** Takes and returns everything in the inbox. */
  drain(): MsnpCommand[] {
    return this.inbox.splice(0);
  }

  /** Resolves when the connection is closed (by either side); rejects after `timeoutMs`. */
  closed(timeoutMs = 3000): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`connection still open after ${timeoutMs} ms; received:\n${this.describeInbox()}`),
          ),
        timeoutMs,
      );
      void this.closedPromise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Ends the connection (flushing what was written) and resolves once it is closed. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await this.closedPromise;
    clearTimeout(timer);
  }

  private onData(chunk: Buffer): void {
    let commands: MsnpCommand[];
    try {
      commands = this.decoder.push(chunk);
    } catch (err) {
      this.failure = err as Error;
      this.failWaiters();
      this.socket.destroy();
      return;
    }
    for (const cmd of commands) {
      this.lines.push(commandText(cmd));
      const i = this.waiters.findIndex((w) => w.match(cmd));
      const waiter = i === -1 ? undefined : this.waiters.splice(i, 1)[0];
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(cmd);
      } else {
        this.inbox.push(cmd);
      }
    }
  }

  private take(match: (cmd: MsnpCommand) => boolean, what: string, timeoutMs: number): Promise<MsnpCommand> {
    const i = this.inbox.findIndex(match);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0] as MsnpCommand);
    if (this.failure || this.isClosed) return Promise.reject(this.waitError(what));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        what,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(this.waitError(what, timeoutMs));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private failWaiters(): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.waitError(waiter.what));
    }
  }

  private waitError(what: string, timeoutMs?: number): Error {
    const why =
      timeoutMs !== undefined
        ? `timed out after ${timeoutMs} ms`
        : this.failure
          ? `stream failed (${this.failure.message})`
          : 'connection closed';
    return new Error(`waiting for ${what}: ${why}; received instead:\n${this.describeInbox()}`);
  }

  private describeInbox(): string {
    return this.inbox.length === 0 ? '  (nothing)' : this.inbox.map((c) => `  ${commandText(c)}`).join('\n');
  }
}
