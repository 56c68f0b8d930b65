import { createServer } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  type Server as TlsServer,
} from 'node:tls';
import { AddressSlots } from '../core/address-slots.ts';
import type { Core } from '../core/core.ts';
import type { Logger } from '../server/logger.ts';
import type { FlowLimits } from '../util/flow-limits.ts';
import { listen } from '../util/listen.ts';
import { requireProxyHeader } from '../util/proxy-protocol-listener.ts';
import type { XmppContext } from './c2s/context.ts';
import { DeliveryConfirmations } from './c2s/delivery-confirmations.ts';
import { XmppSession } from './c2s/session.ts';
import { shutdownResumable } from './c2s/stream-management.ts';
import { TcpTransport } from './c2s/tcp-transport.ts';
import type { XmppTransport } from './c2s/transport.ts';
import { ConversationBridge } from './modules/conversation-bridge.ts';

export interface XmppListenerOptions {
  bind: string;
  /** RFC 6120 §14.7 client port, STARTTLS. */
  port: number;
  /** XEP-0368 direct TLS port. */
  tlsPort: number;
  domain: string;
  version: string;
  tls: { cert: Buffer; key: Buffer } | undefined;
  requireTls: boolean;
  maxStanzaBytes: number;
  idleTimeoutMs?: number;
  /** A stream not bound to a resource this long after it connected is closed, busy or not (default 30 s). */
  loginTimeoutMs?: number;
  /** A TLS handshake (direct TLS or STARTTLS) not finished this long after it may start is dropped (default 10 s). */
  tlsHandshakeTimeoutMs?: number;
  /** Connections one address may hold before signing in, WebSocket included (default 32; 0: no limit). */
  maxUnauthenticatedPerAddress?: number;
  /** XEP-0198 §5: how long a session whose connection dropped may be resumed (default 300 s). */
  resumeTimeoutMs?: number;
  /** Issue 13: output and input bounds per connection, and the process memory budget (shared with MSNP). */
  flow?: FlowLimits;
  /** Load balancers whose PROXY protocol header is required and believed (config `proxyProtocol`). */
  proxyProtocol?: readonly string[];
}

export interface XmppListeners {
  port: number;
  tlsPort: number | undefined;
  context: XmppContext;
  /**
   * A session on a connection another listener accepted (XMPP over WebSocket, BOSH):
   * it shares this node's sessions and is stopped with the others.
   */
  openSession(transport: XmppTransport): XmppSession;
  /**
   * New certificate files (SIGHUP): STARTTLS and direct TLS connections made from now on
   * get them; streams already up keep theirs. False when started without TLS.
   */
  setTls(tls: { cert: Buffer; key: Buffer }): boolean;
  stop(): Promise<void>;
}

/** XMPP client listeners: STARTTLS on the client port, direct TLS on the other (XEP-0368). */
export async function startXmppListeners(
  core: Core,
  logger: Logger,
  options: XmppListenerOptions,
): Promise<XmppListeners> {
  const secureContext: SecureContext | undefined = options.tls
    ? createSecureContext({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' })
    : undefined;
  const context: XmppContext = {
    core,
    logger,
    domain: options.domain,
    version: options.version,
    secureContext,
    requireTls: options.requireTls,
    maxStanzaBytes: options.maxStanzaBytes,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    loginTimeoutMs: options.loginTimeoutMs ?? 30_000,
    preauth: new AddressSlots(
      options.maxUnauthenticatedPerAddress ?? 32,
      logger.child({ component: 'xmpp' }),
      'XMPP',
    ),
    resumeTimeoutMs: options.resumeTimeoutMs ?? 300_000,
    flow: options.flow ?? {},
    sessions: new Map(),
    bridge: new ConversationBridge(core, logger),
    confirmations: new DeliveryConfirmations(core, logger),
  };
  const all = new Set<XmppSession>();
  const handshakeMs = options.tlsHandshakeTimeoutMs ?? 10_000;
  const openSession = (transport: XmppTransport) => {
    const session = new XmppSession(context, transport);
    all.add(session);
    // Kept until its cleanup is done, so a stop waits for that too (it writes to the store and
    // the bus, which close right after: a session that had just dropped logged "driver has
    // already been destroyed").
    void transport.closed.then(() => session.cleanedUp).then(() => all.delete(session));
    return session;
  };

  const plain = createServer((socket) => {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    openSession(new TcpTransport(socket, false, context.maxStanzaBytes, handshakeMs, context.flow));
  });
  // The header comes first on both ports: before the stream, and before direct TLS's handshake.
  const proxied = { from: options.proxyProtocol ?? [], log: logger.child({ component: 'xmpp' }) };
  requireProxyHeader(plain, proxied);
  const port = await listen(plain, options.bind, options.port);

  let direct: TlsServer | undefined;
  let tlsPort: number | undefined;
  if (secureContext) {
    direct = createTlsServer(
      // Issue 13: Node waits 120 s for a ClientHello by default; a client that never sends one is dropped sooner.
      {
        cert: options.tls?.cert,
        key: options.tls?.key,
        minVersion: 'TLSv1.2',
        handshakeTimeout: handshakeMs,
      },
      (socket) => {
        socket.setNoDelay(true);
        openSession(new TcpTransport(socket, true, context.maxStanzaBytes, handshakeMs, context.flow));
      },
    );
    // The socket is not closed for us when someone listens (a handshake timeout included).
    direct.on('tlsClientError', (err, socket) => {
      logger.debug({ err: err.message }, 'XMPP TLS handshake failed');
      socket.destroy();
    });
    requireProxyHeader(direct, proxied);
    tlsPort = await listen(direct, options.bind, options.tlsPort);
  } else {
    logger.warn(
      'XMPP direct TLS (XEP-0368) disabled and STARTTLS unavailable: no certificate (run `papillon certs`)',
    );
  }

  return {
    port,
    tlsPort,
    context,
    openSession,
    setTls(tls) {
      if (!direct || !context.secureContext) return false;
      const options = { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const };
      context.secureContext = createSecureContext(options);
      direct.setSecureContext(options);
      return true;
    },
    async stop() {
      const closed = Promise.all([
        new Promise((r) => plain.close(r)),
        direct ? new Promise((r) => direct?.close(r)) : Promise.resolve(),
      ]);
      const sessions = [...all];
      for (const session of sessions) session.shutdown();
      sessions.push(...shutdownResumable(context));
      await closed;
      // Their endpoints leave the registry before the bus closes.
      await Promise.all(sessions.map((session) => session.cleanedUp));
      await context.confirmations.close();
      await context.bridge.close();
    },
  };
}
