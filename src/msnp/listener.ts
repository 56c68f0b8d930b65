import { createServer, type Socket } from 'node:net';
import { AddressSlots } from '../core/address-slots.ts';
import type { Core } from '../core/core.ts';
import type { Logger } from '../server/logger.ts';
import type { FlowLimits } from '../util/flow-limits.ts';
import { listen } from '../util/listen.ts';
import { requireProxyHeader } from '../util/proxy-protocol-listener.ts';
import { DispatchReferrals } from './dispatch.ts';
import type { MsnpContext } from './ns/context.ts';
import { NsSession } from './ns/session.ts';
import { switchboardAccess } from './sb/answer-cookies.ts';
import { SbCookies } from './sb/cookies.ts';
import { SbSession } from './sb/session.ts';
import { TcpTransport } from './tcp-transport.ts';

export interface MsnpListenerOptions {
  bind: string;
  nsPort: number;
  sbPort: number;
  domain: string;
  publicHost?: string | undefined;
  /** §7.1: how long a client has to answer CHL. */
  challengeTimeoutMs?: number;
  /** How long a switchboard may stay without a message before the server closes it. */
  sbIdleMs?: number;
  /** A connection that has not signed in by then is closed. */
  loginTimeoutMs?: number;
  /** A notification-server connection with nothing sent either way for this long is closed (default 5 min). */
  nsIdleMs?: number;
  /** Load balancers whose PROXY protocol header is required and believed (config `proxyProtocol`). */
  proxyProtocol?: readonly string[];
  /** NS and SB connections one address may hold before signing in (default 32; 0: no limit). */
  maxUnauthenticatedPerAddress?: number;
  /** Bounds on each connection's queued output and input, and the process memory budget (issue 13). */
  flow?: FlowLimits;
}

/** How many idle sweeps a silent notification-server session survives. */
const IDLE_SWEEPS = 5;

export interface MsnpListeners {
  nsPort: number;
  sbPort: number;
  context: MsnpContext;
  stop(): Promise<void>;
}

/** MSNP over TCP: the dispatch/notification port (1863) and the switchboard port (1864). */
export async function startMsnpListeners(
  core: Core,
  logger: Logger,
  options: MsnpListenerOptions,
): Promise<MsnpListeners> {
  const log = logger.child({ component: 'msnp' });
  const sbSessions = new Set<SbSession>();
  const context: MsnpContext = {
    core,
    logger,
    domain: options.domain,
    publicHost: options.publicHost,
    nsPort: options.nsPort,
    sbPort: options.sbPort,
    sbCookies: new SbCookies(),
    dispatch: new DispatchReferrals(core.rates),
    challengeTimeoutMs: options.challengeTimeoutMs ?? 60_000,
    loginTimeoutMs: options.loginTimeoutMs ?? 60_000,
    sessions: new Set(),
    sbSessions,
    flow: options.flow ?? {},
  };

  // One listener for every socket, not a closure each (issue 14: memory per idle session).
  const onSocketError = (err: Error) => log.debug({ err: err.message }, 'MSNP socket error');
  const prepare = (socket: Socket) => {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on('error', onSocketError);
  };

  // Issue 13: over its cap an address's new connection is dropped before any command (MSNP
  // has no greeting, and no error code fits); AddressSlots logs it.
  const preauth = new AddressSlots(options.maxUnauthenticatedPerAddress ?? 32, log, 'MSNP');

  const ns = createServer((socket) => {
    prepare(socket);
    // The session gives the slot back when it signs in, or when the socket closes first.
    const slot = preauth.take(socket.remoteAddress);
    if (!slot) return void socket.destroy();
    const session = new NsSession(context, new TcpTransport(socket, context.flow));
    session.holdSlot(slot);
    socket.on('data', (chunk) => session.receive(chunk));
    socket.on('close', () => session.onTransportClosed());
  });

  const sb = createServer((socket) => {
    prepare(socket);
    const slot = preauth.take(socket.remoteAddress, () => session.conversation === undefined);
    if (!slot) return void socket.destroy();
    socket.on('close', () => slot.release());
    const session = new SbSession(context, new TcpTransport(socket, context.flow));
    socket.on('data', (chunk) => session.receive(chunk));
    socket.on('close', () => session.close('closed'));
  });

  for (const server of [ns, sb]) requireProxyHeader(server, { from: options.proxyProtocol ?? [], log });

  const nsPort = await listen(ns, options.bind, options.nsPort);
  const sbPort = await listen(sb, options.bind, options.sbPort).catch(async (err) => {
    await new Promise((r) => ns.close(r));
    throw err;
  });
  context.nsPort = nsPort;
  context.sbPort = sbPort;
  // MSN clients signed in on other nodes answer this node's conversations here.
  core.conversations.useSwitchboard(switchboardAccess(context));

  // Idle switchboards close: every member is dropped (§12.3 "BYE handle 1" to the others).
  const sbIdleMs = options.sbIdleMs ?? 10 * 60_000;
  const idleSweep = setInterval(
    () => {
      const idle = new Set(core.conversations.idleSince(Date.now() - sbIdleMs).map((c) => c.id));
      for (const session of [...sbSessions]) {
        if (session.conversation && idle.has(session.conversation)) session.close('idle');
      }
    },
    Math.min(sbIdleMs, 30_000),
  );
  idleSweep.unref();

  // Clients ping about every 50 s (QNG 50); five silent minutes means the peer is gone.
  // One sweep for every session, not a socket timeout (a timer, a bound callback and a
  // once-listener) each: a session is closed once IDLE_SWEEPS sweeps in a row found
  // nothing sent either way (MsnpConnection.quietSweeps), so after nsIdleMs to 1.2 × it.
  const nsIdleMs = options.nsIdleMs ?? 300_000;
  const nsIdleSweep = setInterval(() => {
    for (const session of [...context.sessions]) {
      // The HTTP gateway's sessions end by their own polling deadline (§13).
      if (!(session instanceof NsSession) || session.transport.viaGateway) continue;
      if (++session.quietSweeps > IDLE_SWEEPS) session.close();
    }
  }, nsIdleMs / IDLE_SWEEPS);
  nsIdleSweep.unref();

  return {
    nsPort,
    sbPort,
    context,
    async stop() {
      clearInterval(idleSweep);
      clearInterval(nsIdleSweep);
      const closed = Promise.all([new Promise((r) => ns.close(r)), new Promise((r) => sb.close(r))]);
      const sessions = [...context.sessions];
      for (const session of sessions) session.shutdown();
      for (const session of [...sbSessions]) session.close('closed');
      await closed;
      // Their endpoints leave the registry (contacts see them go) before the bus closes.
      await Promise.all(sessions.map((session) => session.cleanedUp));
    },
  };
}
