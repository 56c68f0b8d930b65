/**
 * Where an MSNP session's bytes go: a TCP socket, or an HTTP gateway session
 * (docs/msnp-reference.md §13). Sessions never touch sockets directly.
 */
export interface MsnpTransport {
  write(data: Buffer): void;
  /** Flushes what was written, then closes. Idempotent. */
  close(): void;
  /** The client's IP address; an IPv4-mapped one is written as IPv4 (util/address.ts). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address the client reached us at: what XFR/RNG should name if no public host is configured. */
  readonly localAddress: string;
  /** True when carried over the HTTP gateway (no direct TCP; ClientPort 0 in the profile). */
  readonly viaGateway: boolean;
}
