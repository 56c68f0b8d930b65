import type { Socket } from 'node:net';
import { writeBatched } from './batched-write.ts';
import { DEFAULT_OUTPUT_BOUNDS, type OutputBounds } from './flow-limits.ts';
import type { BudgetAccount } from './memory-budget.ts';

/** Why a flow gave up on its client: output past the hard bound, or not moving at all. */
export type OutputOverflow = 'output' | 'stalled';

export interface SocketFlowOptions {
  bounds?: Partial<OutputBounds> | undefined;
  /** Charged with output the client has not taken yet (beyond the socket's high-water mark). */
  account?: BudgetAccount | undefined;
  /**
   * Output went above the soft bound (true) or drained (false): the connection holds,
   * then releases, its client's input (TaskQueue.hold / release).
   */
  onOutputPressure?: ((held: boolean) => void) | undefined;
  /**
   * The client stopped reading: output went past the hard bound, or stayed above the
   * soft bound for `stallMs` without a byte leaving. The socket is already destroyed
   * (nothing more could reach the client); log it and let the session end.
   */
  onOverflow: (reason: OutputOverflow, queuedBytes: number) => void;
}

const BY_OUTPUT = 1;
const BY_INPUT = 2;
/**
 * Held output is looked at this many times per `stallMs`: a client is closed once that
 * many looks in a row found no byte gone, between `stallMs` and 1.25 × `stallMs` after the
 * last one left. (Looked at once per `stallMs`, a non-reader whose kernel buffers still
 * took a little after the hold was let go only at the second look: 120 s, not 60.)
 */
const STALL_CHECKS = 4;

/**
 * Backpressure for one connection's socket. Writes go out batched (util/batched-write.ts)
 * and cost nothing more while the socket keeps up; once `write` says the socket is
 * full, the queued bytes are charged to the connection's budget account and compared
 * with the bounds: above `soft`, reading stops and the owner holds its input queue
 * until 'drain'; above `hard`, or stalled, the socket is destroyed. Reading also stops
 * while the input queue is over its own bound (`pauseInput`).
 *
 * The socket can change (`attach`/`detach`): STARTTLS wraps it, XEP-0198 resumption
 * moves a session to a new one.
 */
export class SocketFlow {
  private socket: Socket | undefined;
  private readonly bounds: OutputBounds;
  /** Charged with queued output; may be set after construction, before the first write. */
  account: BudgetAccount | undefined;
  private readonly onOutputPressure: ((held: boolean) => void) | undefined;
  private readonly onOverflow: (reason: OutputOverflow, queuedBytes: number) => void;
  /** Output bytes charged to the account. */
  private charged = 0;
  /** Why reading is paused: BY_OUTPUT | BY_INPUT. */
  private pausedBy = 0;
  private outputHeld = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Bytes that had left the socket at the last look at held output. */
  private stallMark = 0;
  /** Looks in a row at held output that found no byte gone since the one before. */
  private quietChecks = 0;
  private failed = false;

  /** The drain listener (attach and detach pass the same one). */
  private readonly onDrain: () => void;
  /** A closed socket holds nothing more; the session may still move to another (XEP-0198). */
  private readonly onClose: () => void;

  constructor(socket: Socket | undefined, options: SocketFlowOptions) {
    // The defaults shared, not copied, when nothing is overridden: one object less per connection.
    this.bounds = options.bounds ? { ...DEFAULT_OUTPUT_BOUNDS, ...options.bounds } : DEFAULT_OUTPUT_BOUNDS;
    this.account = options.account;
    this.onOutputPressure = options.onOutputPressure;
    this.onOverflow = options.onOverflow;
    // The socket listeners, made once per connection (attach and detach pass the same ones).
    this.onDrain = this.drained.bind(this);
    this.onClose = this.detach.bind(this);
    if (socket) this.attach(socket);
  }

  /** Bytes written to the socket and not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Whether output is above the soft bound (the owner's input is held). */
  get held(): boolean {
    return this.outputHeld;
  }

  /** Writes through this socket from now on (a new connection, or the TLS socket after STARTTLS). */
  attach(socket: Socket): void {
    if (this.socket) this.detach();
    this.socket = socket;
    this.failed = false;
    socket.on('drain', this.onDrain);
    socket.on('close', this.onClose);
    if (this.pausedBy !== 0) socket.pause();
  }

  /** Stops watching the current socket (it is handed over or wrapped); output pressure ends with it. */
  detach(): Socket | undefined {
    const socket = this.socket;
    if (!socket) return undefined;
    socket.off('drain', this.onDrain);
    socket.off('close', this.onClose);
    this.socket = undefined;
    this.drained();
    return socket;
  }

  write(data: string | Buffer): void {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) return;
    if (!writeBatched(socket, data)) this.backedUp(socket);
  }

  /** The input queue is over its bound (true) or back under it (false): stop or resume reading. */
  pauseInput(paused: boolean): void {
    this.setPaused(BY_INPUT, paused);
  }

  /**
   * Resolves once everything written so far went to the kernel: writes complete in order,
   * so an empty one's callback fires after every earlier byte (or the socket failed, which
   * ends the session anyway). At once when there is no socket to wait for.
   */
  flushed(): Promise<void> {
    const socket = this.socket;
    return new Promise((resolve) => {
      if (!socket || socket.destroyed || !socket.writable) resolve();
      else socket.write(Buffer.alloc(0), () => resolve());
    });
  }

  /** Closes the socket at once, dropping unsent output (a client that does not read gets nothing more). */
  abort(): void {
    this.failed = true;
    this.socket?.destroy();
  }

  /** The connection is done: timers stop and the output charge is released. */
  dispose(): void {
    this.detach();
    this.failed = true;
  }

  /** `write` found the socket full: charge what waits, and act on the bounds. */
  private backedUp(socket: Socket): void {
    const queued = socket.writableLength;
    this.account?.add(queued - this.charged);
    this.charged = queued;
    if (queued > this.bounds.hard) {
      this.overflow(socket, 'output');
    } else if (queued > this.bounds.soft && !this.outputHeld) {
      this.outputHeld = true;
      this.setPaused(BY_OUTPUT, true);
      this.stallMark = sent(socket);
      this.quietChecks = 0;
      this.armStallCheck();
      this.onOutputPressure?.(true);
    }
  }

  private drained(): void {
    if (this.charged !== 0) {
      this.account?.add(-this.charged);
      this.charged = 0;
    }
    if (!this.outputHeld) return;
    this.outputHeld = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.setPaused(BY_OUTPUT, false);
    this.onOutputPressure?.(false);
  }

  private armStallCheck(): void {
    // Made here, not per connection: few connections are ever held.
    this.stallTimer = setTimeout(() => this.checkStall(), this.bounds.stallMs / STALL_CHECKS);
    this.stallTimer.unref();
  }

  /** Still held: fine while bytes leave (a slow link), fatal once none left for `stallMs`. */
  private checkStall(): void {
    const socket = this.socket;
    if (!socket || !this.outputHeld || this.failed) return;
    const now = sent(socket);
    if (now > this.stallMark) {
      this.stallMark = now;
      this.quietChecks = 0;
    } else if (++this.quietChecks >= STALL_CHECKS) {
      this.overflow(socket, 'stalled');
      return;
    }
    this.armStallCheck();
  }

  private overflow(socket: Socket, reason: OutputOverflow): void {
    if (this.failed) return;
    const queued = socket.writableLength;
    this.dispose();
    socket.destroy();
    this.onOverflow(reason, queued);
  }

  private setPaused(reason: number, paused: boolean): void {
    const before = this.pausedBy;
    this.pausedBy = paused ? before | reason : before & ~reason;
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    if (before === 0 && this.pausedBy !== 0) socket.pause();
    else if (before !== 0 && this.pausedBy === 0) socket.resume();
  }
}

/** Bytes the kernel has taken from this socket so far (written, minus still queued). */
function sent(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}
