import type { Socket } from 'node:net';
import { unmappedAddress } from '../util/address.ts';
import { writeBatched } from '../util/batched-write.ts';
import type { MsnpTransport } from './transport.ts';

/** An MSNP session over a TCP socket. */
export class TcpTransport implements MsnpTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly viaGateway = false;

  constructor(private readonly socket: Socket) {
    this.remoteAddress = unmappedAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = unmappedAddress(socket.localAddress ?? '127.0.0.1');
  }

  write(data: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    writeBatched(this.socket, data);
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end();
    // A peer that never reads must not keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }
}
