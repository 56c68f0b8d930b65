import type { FlowLimits } from '../util/flow-limits.ts';
import type { BudgetAccount } from '../util/memory-budget.ts';

/** Why a transport gave up on its client (util/socket-flow.ts, the gateway's buffer). */
export type TransportOverflow = 'output' | 'stalled';

/** What a transport tells the session that owns it about its client's reading. */
export interface TransportOwner {
  /** Output backed up past the soft bound (true) or drained (false): hold / release the client's commands. */
  outputPressure(held: boolean): void;
  /** The client is not reading: the transport has dropped it. */
  overflow(reason: TransportOverflow, queuedBytes: number): void;
}

/**
 * Where an MSNP session's bytes go: a TCP socket, or an HTTP gateway session
 * (docs/msnp-reference.md §13). Sessions never touch sockets directly.
 */
export interface MsnpTransport {
  write(data: Buffer): void;
  /** Flushes what was written, then closes. Idempotent. */
  close(): void;
  /** Closes at once, dropping output the client has not taken (it is not reading). */
  abort(): void;
  /**
   * Resolves once everything written so far has left (TCP: the socket's write callback;
   * the gateway: a response took it), or the transport closed. Absent: nothing waits.
   * Offline delivery counts its grace period from then (ns/offline-delivery.ts).
   */
  flushed?(): Promise<void>;
  /** Stops (true) or resumes (false) reading the client: its commands wait to be handled. */
  pauseInput(paused: boolean): void;
  /**
   * Called once by the session: whom to tell about output pressure, and the session's
   * share of the process memory budget (closed with the transport).
   */
  own(owner: TransportOwner, account: BudgetAccount | undefined): void;
  /** The listener's flow settings, which the session's command queue uses too. */
  readonly limits: FlowLimits;
  /** The client's IP address; an IPv4-mapped one is written as IPv4 (util/address.ts). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address the client reached us at: what XFR/RNG should name if no public host is configured. */
  readonly localAddress: string;
  /** True when carried over the HTTP gateway (no direct TCP; ClientPort 0 in the profile). */
  readonly viaGateway: boolean;
}
