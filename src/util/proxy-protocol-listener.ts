import type { Server, Socket } from 'node:net';
import { unmappedAddress } from './address.ts';
import { addressMatcher } from './address-list.ts';
import { type ProxiedPeer, parseProxyHeader } from './proxy-protocol.ts';

/** The two levels of a pino logger this uses. */
export interface ProxyProtocolLog {
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface ProxyProtocolOptions {
  /** Load balancers (addresses, CIDR blocks, named ranges) whose PROXY header is required and believed. */
  from: readonly string[];
  log: ProxyProtocolLog;
  /** How long a listed balancer has to send its header before the connection is closed. */
  timeoutMs?: number;
}

/** The balancer sends its header "immediately and at once" (§2.1): seconds are plenty. */
const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * PROXY protocol (HAProxy's doc/proxy-protocol.txt) on one listener. A connection from a
 * listed balancer must start with a v1 or v2 header, which is read off before the server's
 * own `connection` listeners see the socket (so it precedes TLS on a TLS server, and HTTP
 * on an HTTP one); from then on the socket reports the header's client as its remote
 * address (see `reportPeer`). A missing, late or malformed header closes the connection.
 * Connections from anywhere else are handed on untouched: a header they send is not
 * believed, it is just bytes of the protocol the port speaks.
 *
 * Call it once the server exists (its own `connection` listeners attached) and before it
 * listens. With an empty `from` it does nothing.
 */
export function requireProxyHeader(server: Server, options: ProxyProtocolOptions): void {
  if (options.from.length === 0) return;
  const isBalancer = addressMatcher(options.from);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const downstream = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const handOn = (socket: Socket) => {
    for (const listener of downstream) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => {
    if (socket.remoteAddress === undefined) {
      // The peer reset the connection before Node accepted it (a balancer's health check
      // ending with an RST does): whether it came from a balancer cannot be told, and
      // handed on, its PROXY header would be read as protocol data (MSNP's "malformed
      // input", XMPP's not-well-formed). Nobody is left to answer: close it quietly.
      options.log.debug({}, 'PROXY protocol: closing a connection whose peer is already gone');
      socket.on('error', () => {}); // the reset itself may still be reported
      socket.destroy();
      return;
    }
    if (!isBalancer(socket.remoteAddress)) {
      handOn(socket);
      return;
    }
    readHeader(socket, timeoutMs, options.log, (peer) => {
      if (peer) reportPeer(socket, peer);
      handOn(socket);
    });
  });
}

/**
 * Reads the header in paused mode ('readable' + read()), so the bytes after it are put
 * back (`unshift`) and whoever takes the socket next reads them first: a TLS server's
 * handshake, an HTTP parser, a protocol session.
 */
function readHeader(
  socket: Socket,
  timeoutMs: number,
  log: ProxyProtocolLog,
  done: (peer: ProxiedPeer | undefined) => void,
): void {
  const balancer = `${unmappedAddress(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
  let buffered: Buffer = Buffer.alloc(0);
  const stop = () => {
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    socket.off('error', onError);
  };
  const close = () => {
    stop();
    socket.on('error', () => {}); // a reset racing the close is no news
    socket.destroy();
  };
  const refuse = (reason: string) => {
    log.warn({ balancer, reason }, `PROXY protocol: closing the connection from ${balancer}: ${reason}`);
    close();
  };
  const onReadable = () => {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const header = parseProxyHeader(buffered);
      if (header.state === 'incomplete') continue;
      if (header.state === 'invalid') {
        refuse(header.reason);
        return;
      }
      stop();
      const rest = buffered.subarray(header.length);
      if (rest.length > 0) socket.unshift(rest);
      if (header.peer) {
        log.debug(
          { balancer, client: header.peer.address, version: header.version },
          `PROXY protocol: ${header.peer.address}:${header.peer.port} via ${balancer}`,
        );
      }
      done(header.peer);
      return;
    }
  };
  // A balancer's health check may connect and leave without a word: no warning for that.
  const onEnd = () => {
    if (buffered.length > 0) refuse('the connection ended inside the PROXY header');
    else {
      log.debug({ balancer }, `PROXY protocol: ${balancer} closed before sending a header`);
      close();
    }
  };
  const onError = (err: Error) => {
    log.debug({ balancer, err: err.message }, 'PROXY protocol: socket error before the header');
    close();
  };
  const timer = setTimeout(() => refuse(`no PROXY header within ${timeoutMs} ms`), timeoutMs);
  timer.unref();
  socket.on('readable', onReadable);
  socket.on('end', onEnd);
  socket.on('error', onError);
}

interface SocketInternals {
  _handle?: { getpeername?: (out: Record<string, unknown>) => number } | null;
  _peername?: unknown;
}

/**
 * From now on the socket reports `peer` as its remote end: `remoteAddress`, `remotePort`
 * and `remoteFamily`, for every reader (MSNP and XMPP sessions, fastify's `request.ip`,
 * the throttles and logs behind them), with no call site changed. Node answers those from
 * the TCP handle's getpeername(), cached in `_peername`; a TLS socket layered on this one
 * later (direct TLS, STARTTLS, HTTPS) asks the same handle. Both are Node internals, so
 * test/server/proxy-protocol.test.ts checks every kind of listener end to end.
 */
function reportPeer(socket: Socket, peer: ProxiedPeer): void {
  const name = { address: peer.address, port: peer.port, family: peer.family };
  const internals = socket as unknown as SocketInternals;
  internals._peername = name;
  if (internals._handle) {
    internals._handle.getpeername = (out) => {
      Object.assign(out, name);
      return 0;
    };
  }
}
