import { unmappedAddress } from '../../util/address.ts';
import type { MsnpTransport } from '../transport.ts';

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

  constructor(options: GatewayTransportOptions) {
    this.remoteAddress = unmappedAddress(options.remoteAddress);
    this.remotePort = options.remotePort;
    this.localAddress = unmappedAddress(options.localAddress);
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.onOverflow = options.onOverflow;
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
      this.isClosed = true;
      if (this.onOverflow) setImmediate(this.onOverflow);
      return;
    }
    this.chunks.push(data);
    this.bytes += data.length;
  }

  close(): void {
    this.isClosed = true;
  }

  /** Everything written since the last call, in order; empties the buffer. */
  take(): Buffer {
    const out =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    return out;
  }
}
