import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { unmappedAddress } from '../../util/address.ts';
import type { FlowLimits } from '../../util/flow-limits.ts';
import type { BudgetAccount } from '../../util/memory-budget.ts';
import { SocketFlow } from '../../util/socket-flow.ts';
import { NS } from '../namespaces.ts';
import { XmppStreamParser } from '../stream/parser.ts';
import type { TransportEvents, TransportFlowOwner, XmppTransport } from './transport.ts';

/** An XML stream on a TCP connection (RFC 6120 §4), with STARTTLS (§5) unless it began with TLS (XEP-0368). */
export class TcpTransport implements XmppTransport {
  readonly kind = 'tcp';
  readonly canStartTls = true;
  secure: boolean;
  readonly closed: Promise<void>;
  private socket: Socket;
  private parser: XmppStreamParser | undefined;
  private events: TransportEvents | undefined;
  private settle: (() => void) | undefined;
  /** Issue 13: bounded output, and reading paused while the session's input is backed up. */
  private readonly flow: SocketFlow;
  private owner: TransportFlowOwner | undefined;
  /** The budget account charged with the parser's unfinished element, and how much. */
  private charged: { account: BudgetAccount | undefined; bytes: number } = { account: undefined, bytes: 0 };

  constructor(
    socket: Socket,
    directTls: boolean,
    private readonly maxStanzaBytes: number,
    /** STARTTLS: how long the client has to finish its handshake after `<proceed/>`. */
    private readonly handshakeTimeoutMs = 10_000,
    limits: FlowLimits = {},
  ) {
    this.socket = socket;
    const transport = this;
    this.flow = new SocketFlow(socket, {
      bounds: limits.output,
      onOutputPressure(held) {
        transport.owner?.outputPressure(held);
      },
      onOverflow(reason, queued) {
        transport.owner?.overflow(reason, queued);
      },
    });
    this.secure = directTls;
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.attach(socket);
  }

  get remoteAddress(): string {
    return unmappedAddress(this.socket.remoteAddress);
  }

  get writable(): boolean {
    return !this.socket.destroyed;
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      const events = this.events;
      if (!events) return;
      events.activity();
      const parser = this.parser;
      if (!parser) return;
      parser.write(chunk);
      this.chargeUnfinished(parser === this.parser ? parser.unfinishedBytes : 0);
    });
    socket.on('close', () => {
      this.chargeUnfinished(0);
      this.settle?.();
      this.events?.closed();
    });
    socket.on('error', (err: Error) => this.events?.transportError(err));
  }

  listen(events: TransportEvents, resumed = false): void {
    this.events = events;
    // The parser reports to the `events` of its own stream: what an older parser still
    // holds (bytes after `<starttls/>` or `<auth/>` in the same packet) reaches only the
    // stream it was sent on, which the session has left (RFC 6120 §5.4.3.3 / §6.4.6).
    let skipHeader = resumed;
    const parser = new XmppStreamParser(
      {
        streamOpen(attrs) {
          if (skipHeader) skipHeader = false;
          else events.streamOpen(attrs);
        },
        stanza(el, size) {
          events.element(el, size);
        },
        streamClose() {
          events.streamClose();
        },
        error(condition, text) {
          events.error(condition, text);
        },
      },
      { maxStanzaBytes: this.maxStanzaBytes },
    );
    // A resumed session goes on inside the stream the client already opened (XEP-0198 §5).
    if (resumed)
      parser.write(Buffer.from(`<stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}'>`));
    this.parser = parser;
  }

  unlisten(): void {
    this.events = undefined;
    this.parser = undefined;
    this.chargeUnfinished(0);
  }

  own(owner: TransportFlowOwner | undefined): void {
    this.chargeUnfinished(0);
    this.owner = owner;
    const account = owner?.budgetAccount;
    if (this.flow.account !== account) {
      // XEP-0198 resumption: output charged to the old owner's account is released with it
      // (detach), and what backs up from now on is charged to the new one.
      const socket = this.flow.detach();
      this.flow.account = account;
      if (socket) this.flow.attach(socket);
    }
  }

  pauseInput(paused: boolean): void {
    this.flow.pauseInput(paused);
  }

  abort(): void {
    this.flow.abort();
  }

  /** Issue 13: an unfinished element is memory the client makes us hold (up to the stanza limit). */
  private chargeUnfinished(bytes: number): void {
    const charged = this.charged;
    const account = this.owner?.budgetAccount;
    if (charged.account === account && charged.bytes === bytes) return;
    charged.account?.add(-charged.bytes);
    account?.add(bytes);
    this.charged = { account, bytes };
  }

  sendHeader(id: string, from: string): void {
    this.send(
      `<?xml version='1.0'?><stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}' id='${id}' from='${from}' version='1.0' xml:lang='en'>`,
    );
  }

  send(data: string): void {
    this.flow.write(data);
  }

  flushed(): Promise<void> {
    return this.flow.flushed();
  }

  sendClose(): void {
    this.send('</stream:stream>');
  }

  startTls(context: SecureContext, onSecure: () => void): void {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.socket = secure;
    this.secure = true;
    this.attach(secure);
    // Output goes through the TLS socket now; reading paused stays paused.
    this.flow.attach(secure);
    // Issue 13: a client that never starts its handshake must not hold the connection.
    let deadline: NodeJS.Timeout | undefined = setTimeout(() => secure.destroy(), this.handshakeTimeoutMs);
    deadline.unref();
    // Once: nothing of the handshake stays with an idle session (issue 14).
    const handshakeOver = () => {
      clearTimeout(deadline);
      deadline = undefined;
      secure.off('close', handshakeOver);
    };
    secure.once('secure', handshakeOver);
    secure.once('close', handshakeOver);
    secure.once('secure', onSecure);
  }

  close(): void {
    const socket = this.socket;
    socket.end();
    setTimeout(() => socket.destroy(), 2_000).unref();
  }
}
