import { unmappedAddress } from '../../util/address.ts';
import type { FlowLimits } from '../../util/flow-limits.ts';
import type { BudgetAccount } from '../../util/memory-budget.ts';
import type { MsnpTransport, TransportOwner } from '../transport.ts';

/**
 * Output held for a client that is not polling (at the official client's 2 s poll
 * interval, even a large initial SYN is far below this). Past it, the session is
 * dropped, as a TCP peer that never reads would be.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 2 * 1024 * 1024;

export interface GatewayTransportOptions {
  /** The client's IP address, as the HTTP request shows it. */
  remoteAddress: string;
  remotePort: number;
  /** The address the client reached us at (for XFR/RNG when no public host is set). */
  localAddress: string;
  maxBufferedBytes?: number;
  /** Called (once, asynchronously) when the client let too much output pile up. */
  onOverflow?: () => void;
  /** The listener's flow settings: the memory budget, the command queue's bounds. */
  limits?: FlowLimits;
}

/**
 * An MSNP session carried over the HTTP gateway (docs/msnp-reference.md §13): what
 * the session writes waits here until the client's next request takes it as the
 * response body. `close()` only marks the session closed; the next response then
 * carries `Session=close`.
 */
export class GatewayTransport implements MsnpTransport {
  readonly viaGateway = true;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private isClosed = false;
  private readonly maxBufferedBytes: number;
  private readonly onOverflow: (() => void) | undefined;
  readonly limits: FlowLimits;
  private owner: TransportOwner | undefined;
  /** Charged with the output waiting here. */
  private account: BudgetAccount | undefined;
  /** `flushed` callers, until a response takes what waits or the session closes. */
  private flushWaiters: Array<() => void> = [];

  constructor(options: GatewayTransportOptions) {
    this.remoteAddress = unmappedAddress(options.remoteAddress);
    this.remotePort = options.remotePort;
    this.localAddress = unmappedAddress(options.localAddress);
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.onOverflow = options.onOverflow;
    this.limits = options.limits ?? {};
  }

  own(owner: TransportOwner, account: BudgetAccount | undefined): void {
    this.owner = owner;
    this.account = account;
  }

  /**
   * Nothing to pause: the client sends only with a request, and the request is
   * answered once its commands are handled (routes.ts), so it cannot outrun them by
   * much; one that does anyway meets the queue's hard bound.
   */
  pauseInput(): void {}

  /** Closes, dropping output not yet taken: the next request hears `Session=close`. */
  abort(): void {
    this.close();
    this.chunks = [];
    this.bytes = 0;
  }

  /** True once the session has closed: the next response says `Session=close`. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes waiting for the next response. */
  get buffered(): number {
    return this.bytes;
  }

  write(data: Buffer): void {
    if (this.isClosed || data.length === 0) return;
    if (this.bytes + data.length > this.maxBufferedBytes) {
      // Nothing more is queued; the owner closes the session outside this call,
      // which may be in the middle of the session's own send().
      const queued = this.bytes;
      this.abort();
      const owner = this.owner;
      setImmediate(() => {
        owner?.overflow('output', queued);
        this.onOverflow?.();
      });
      return;
    }
    this.chunks.push(data);
    this.bytes += data.length;
    this.account?.add(data.length);
  }

  close(): void {
    this.isClosed = true;
    this.account?.close();
    for (const resolve of this.flushWaiters.splice(0)) resolve();
  }

  flushed(): Promise<void> {
    if (this.bytes === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** Everything written since the last call, in order; empties the buffer. */
  take(): Buffer {
    const out =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    this.account?.add(-this.bytes);
    this.chunks = [];
    this.bytes = 0;
    for (const resolve of this.flushWaiters.splice(0)) resolve();
    return out;
  }
}
