import type { Socket } from 'node:net';
import { unmappedAddress } from '../util/address.ts';
import type { FlowLimits } from '../util/flow-limits.ts';
import type { BudgetAccount } from '../util/memory-budget.ts';
import { SocketFlow } from '../util/socket-flow.ts';
import type { MsnpTransport, TransportOwner } from './transport.ts';

/** An MSNP session over a TCP socket, with bounded output (util/socket-flow.ts). */
export class TcpTransport implements MsnpTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly viaGateway = false;
  private owner: TransportOwner | undefined;
  private readonly flow: SocketFlow;

  constructor(
    private readonly socket: Socket,
    readonly limits: FlowLimits = {},
  ) {
    this.remoteAddress = unmappedAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = unmappedAddress(socket.localAddress ?? '127.0.0.1');
    this.flow = new SocketFlow(socket, {
      bounds: limits.output,
      onOutputPressure: (held) => this.owner?.outputPressure(held),
      onOverflow: (reason, queued) => this.owner?.overflow(reason, queued),
    });
  }

  own(owner: TransportOwner, account: BudgetAccount | undefined): void {
    this.owner = owner;
    this.flow.account = account;
  }

  write(data: Buffer): void {
    this.flow.write(data);
  }

  pauseInput(paused: boolean): void {
    this.flow.pauseInput(paused);
  }

  close(): void {
    this.flow.account?.close();
    if (!this.socket.destroyed) this.socket.end();
    // A peer that never reads must not keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  abort(): void {
    this.flow.account?.close();
    this.flow.abort();
  }

  flushed(): Promise<void> {
    return this.flow.flushed();
  }
}
