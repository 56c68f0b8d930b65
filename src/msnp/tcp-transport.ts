import type { Socket } from 'node:net';
import { unmappedAddress } from '../util/address.ts';
import type { FlowLimits } from '../util/flow-limits.ts';
import type { BudgetAccount } from '../util/memory-budget.ts';
import { SocketFlow } from '../util/socket-flow.ts';
import type { MsnpTransport, TransportOverflow, TransportOwner } from './transport.ts';

/** An MSNP session over a TCP socket, with bounded output (util/socket-flow.ts). */
export class TcpTransport implements MsnpTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly viaGateway = false;
  private owner: TransportOwner | undefined;
  private readonly flow: SocketFlow;

  constructor(
    private readonly socket: Socket,
    readonly limits: FlowLimits = {},
  ) {
    this.remoteAddress = unmappedAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.flow = new SocketFlow(socket, {
      bounds: limits.output,
      onOutputPressure: this.outputPressure.bind(this),
      onOverflow: this.overflow.bind(this),
    });
  }

  /**
   * Asked only for an XFR/RNG address when no public host is configured, so not read
   * (and cached by Node on the socket) for every idle session.
   */
  get localAddress(): string {
    return unmappedAddress(this.socket.localAddress ?? '127.0.0.1');
  }

  private outputPressure(held: boolean): void {
    this.owner?.outputPressure(held);
  }

  private overflow(reason: TransportOverflow, queued: number): void {
    this.owner?.overflow(reason, queued);
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
