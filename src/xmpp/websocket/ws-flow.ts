import type { Socket } from 'node:net';
import { DEFAULT_OUTPUT_BOUNDS, type OutputBounds } from '../../util/flow-limits.ts';
import type { BudgetAccount } from '../../util/memory-budget.ts';
import type { OutputOverflow } from '../../util/socket-flow.ts';

/** The part of a `ws` WebSocket (ws ≥ 8) flow control uses. */
export interface FlowWebSocket {
  /** Bytes sent and not yet taken by the kernel (the socket's queue, plus frames being compressed). */
  readonly bufferedAmount: number;
  pause(): void;
  resume(): void;
  terminate(): void;
}

export interface WebSocketFlowOptions {
  bounds?: Partial<OutputBounds> | undefined;
  /** Output above the soft bound (true) or drained (false): the owner holds, then releases, its input. */
  onOutputPressure: (held: boolean) => void;
  /** Past the hard bound, or stalled: the WebSocket is already terminated. */
  onOverflow: (reason: OutputOverflow, queuedBytes: number) => void;
}

const BY_OUTPUT = 1;
const BY_INPUT = 2;

/**
 * Issue 13: util/socket-flow.ts's bounds for a WebSocket, which writes its frames to the
 * socket itself: after each `send`, `bufferedAmount` is compared with the bounds (above
 * the socket's high-water mark it is charged to the budget account, above `soft` reading
 * stops and input is held until 'drain', above `hard`, or stalled for `stallMs`, the
 * WebSocket is terminated). Reading also stops while the input queue is over its bound.
 */
export class WebSocketFlow {
  private account: BudgetAccount | undefined;
  private readonly bounds: OutputBounds;
  private charged = 0;
  private pausedBy = 0;
  private held = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private stallMark = 0;
  private done = false;

  constructor(
    private readonly ws: FlowWebSocket,
    private readonly socket: Socket,
    private readonly options: WebSocketFlowOptions,
  ) {
    this.bounds = { ...DEFAULT_OUTPUT_BOUNDS, ...options.bounds };
    socket.on('drain', this.drained);
  }

  /** Charges `account` from now on (a new owner after XEP-0198 resumption): what is queued moves to it. */
  setAccount(account: BudgetAccount | undefined): void {
    if (account === this.account) return;
    this.account?.add(-this.charged);
    this.account = account;
    account?.add(this.charged);
  }

  /** Call after each `ws.send`. */
  sent(): void {
    if (this.done) return;
    const queued = this.ws.bufferedAmount;
    // Below the high-water mark the socket keeps up: nothing to count, no 'drain' to wait for.
    if (queued <= this.socket.writableHighWaterMark) {
      if (this.charged !== 0) this.charge(0);
      return;
    }
    this.charge(queued);
    if (queued > this.bounds.hard) {
      this.overflow('output', queued);
    } else if (queued > this.bounds.soft && !this.held) {
      this.held = true;
      this.setPaused(BY_OUTPUT, true);
      this.stallMark = sentBytes(this.socket);
      this.stallTimer = setTimeout(this.checkStall, this.bounds.stallMs);
      this.stallTimer.unref();
      this.options.onOutputPressure(true);
    }
  }

  /** The input queue is over its bound (true) or back under it (false). */
  pauseInput(paused: boolean): void {
    this.setPaused(BY_INPUT, paused);
  }

  /** The connection is gone: the charge is released, timers stop. Idempotent. */
  dispose(): void {
    if (this.done) return;
    this.done = true;
    this.socket.off('drain', this.drained);
    clearTimeout(this.stallTimer);
    this.charge(0);
  }

  private charge(bytes: number): void {
    this.account?.add(bytes - this.charged);
    this.charged = bytes;
  }

  private readonly drained = (): void => {
    if (this.done) return;
    this.charge(0);
    if (!this.held) return;
    this.held = false;
    clearTimeout(this.stallTimer);
    this.setPaused(BY_OUTPUT, false);
    this.options.onOutputPressure(false);
  };

  /** Still held after `stallMs`: fine if bytes left meanwhile, fatal if none did. */
  private readonly checkStall = (): void => {
    if (this.done || !this.held) return;
    const now = sentBytes(this.socket);
    if (now > this.stallMark) {
      this.stallMark = now;
      this.stallTimer?.refresh();
      return;
    }
    this.overflow('stalled', this.ws.bufferedAmount);
  };

  private overflow(reason: OutputOverflow, queued: number): void {
    this.dispose();
    this.ws.terminate();
    this.options.onOverflow(reason, queued);
  }

  private setPaused(reason: number, paused: boolean): void {
    const before = this.pausedBy;
    this.pausedBy = paused ? before | reason : before & ~reason;
    if (before === 0 && this.pausedBy !== 0) this.ws.pause();
    else if (before !== 0 && this.pausedBy === 0) this.ws.resume();
  }
}

/** Bytes the kernel has taken from this socket so far. */
function sentBytes(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}
