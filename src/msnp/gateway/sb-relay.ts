import { connect, type Socket } from 'node:net';
import type { Logger } from '../../server/logger.ts';
import type { MsnpContext } from '../ns/context.ts';
import type { GatewayTransport } from './gateway-transport.ts';

/** A switchboard that does not accept the connection by then is taken for unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long a request that sent commands waits for the switchboard's first answer before
 * it is answered with what there is: most commands are answered at once (`ANS`, `CAL`,
 * `MSG … A`), some never (`MSG … U`); what comes later waits for the next poll (§13).
 */
const REPLY_WAIT_MS = 500;

/** Where a switchboard is, from the `host:port` an `RNG` named (an IPv6 host may be bracketed). */
export interface SwitchboardAddress {
  host: string;
  port: number;
}

/**
 * The switchboard an `Action=open&Server=SB` is for when it is another node's: the body
 * answers (`ANS trid handle cookie sessid`, §12.2) an `RNG` this node wrote for a
 * conversation that node hosts, with that node's cookie (sb/cookies.ts `referred`).
 * Undefined for anything else (`USR` after `XFR SB` names this node's switchboard).
 *
 * Found by the cookie, not by `IP=`: clients name only the switchboard's host there
 * (libpurple, pecan, and bitlbee send the host part of the `RNG` address), and the nodes
 * of a cluster may share one address, told apart by their switchboard port.
 */
export function relayTarget(ctx: MsnpContext, body: Buffer): SwitchboardAddress | undefined {
  const end = body.indexOf('\r\n');
  const line = body.subarray(0, end === -1 ? Math.min(body.length, 512) : Math.min(end, 512)).toString();
  const [name, , , cookie] = line.split(' ');
  if (name !== 'ANS' || !cookie) return undefined;
  const address = ctx.sbCookies.referralOf(cookie);
  if (!address) return undefined;
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  return { host, port };
}

/**
 * A gateway switchboard session carried to another node's switchboard (issue 11): a
 * conversation lives on one node, and an MSN client on this node's HTTP gateway that is
 * rung into one another node hosts answers it there. This node opens the TCP connection
 * the client would have opened itself, as the real gateway did for every switchboard
 * (`IP=` named the switchboard it connected to, §13), and passes the bytes both ways
 * unchanged: the client's requests go to the switchboard, what it writes waits for the
 * client's next request. The switchboard's node sees this node as the client, and its
 * own login deadline, idle close and BYE apply; closing here drops the connection there.
 */
export class SbRelay {
  private readonly socket: Socket;
  private connected = false;
  private ended = false;
  /** Client bytes sent before the connection was up. */
  private pending: Buffer[] = [];
  /** A request sent commands and the switchboard has not written since. */
  private awaiting = false;
  private waiters: Array<() => void> = [];
  /** The conversation the client answered into, once the switchboard has written back. */
  private conversationId: string | undefined;
  private answeredId: string | undefined;

  constructor(
    private readonly transport: GatewayTransport,
    readonly target: SwitchboardAddress,
    private readonly log: Logger,
  ) {
    // The output waiting for the client counts against the memory budget as a session's does.
    const account = transport.limits.budget?.open(() => this.close('closed'));
    transport.own({ outputPressure: () => {}, overflow: () => this.close('closed') }, account);
    this.socket = connect({ host: target.host, port: target.port });
    this.socket.setNoDelay(true);
    this.socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!this.connected) this.socket.destroy(new Error('connect timeout'));
    });
    this.socket.once('connect', () => {
      this.connected = true;
      this.socket.setTimeout(0);
      for (const chunk of this.pending.splice(0)) this.socket.write(chunk);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.conversationId ??= this.answeredId;
      this.transport.write(chunk);
      this.awaiting = false;
      this.wake();
    });
    this.socket.on('error', (err) => {
      this.log.warn(
        { err, switchboard: `${target.host}:${target.port}` },
        `gateway switchboard relay to ${target.host}:${target.port} failed`,
      );
    });
    this.socket.on('close', () => this.finish());
  }

  /** The conversation (the `ANS` session id) once its switchboard answered: signed in, for the gateway's bounds. */
  get conversation(): string | undefined {
    return this.conversationId;
  }

  /** Bytes from the client's request, for the switchboard. */
  receive(data: Buffer): void {
    if (this.ended || data.length === 0) return;
    if (this.answeredId === undefined) {
      const line = data.subarray(0, Math.max(0, data.indexOf('\r\n'))).toString();
      const [name, , , , sessionId] = line.split(' ');
      if (name === 'ANS') this.answeredId = sessionId;
    }
    this.awaiting = true;
    if (this.connected) this.socket.write(data);
    else this.pending.push(data);
  }

  /**
   * Resolves when the request can be answered: at once for a poll, else at the
   * switchboard's first answer (and what comes with it), its end, or `REPLY_WAIT_MS`.
   */
  whenIdle(): Promise<void> {
    if (!this.awaiting || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, REPLY_WAIT_MS);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Drops the connection to the switchboard (the client left, stopped polling, or the server stops). */
  close(_reason: 'closed'): void {
    if (this.ended) return;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    this.transport.close();
    this.wake();
  }

  private wake(): void {
    // What the switchboard wrote in the same burst (IRO lines, then ANS OK) goes too.
    const waiters = this.waiters.splice(0);
    if (waiters.length === 0) return;
    setImmediate(() => {
      for (const wake of waiters) wake();
    });
  }
}
