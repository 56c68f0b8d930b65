import websocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { unmappedAddress } from '../../util/address.ts';
import { ownOrigin } from '../../util/public-origin.ts';
import type { XmppSession } from '../c2s/session.ts';
import type { AltConnection } from '../host-meta.ts';
import type { XmppListeners } from '../listener.ts';
import { type WebSocketLike, WebSocketTransport } from './transport.ts';

export const XMPP_WEBSOCKET_PATH = '/xmpp-websocket';

/** XEP-0156 §3: how host-meta names this endpoint. */
export const WEBSOCKET_ALT_CONNECTION: AltConnection = {
  rel: 'urn:xmpp:alt-connections:websocket',
  path: XMPP_WEBSOCKET_PATH,
  websocket: true,
};

/** RFC 7395 §3.1: the WebSocket sub-protocol. */
const SUBPROTOCOL = 'xmpp';

export interface XmppWebSocketOptions {
  /**
   * Origins of web pages, besides this server's own, whose scripts may connect (config
   * `xmppWebOrigins`); `*`: any page. Clients that send no Origin (not browsers) always may.
   */
  origins: readonly string[];
}

/**
 * XMPP over WebSocket (RFC 7395) at `/xmpp-websocket`: each connection is an `XmppSession`
 * of the XMPP listeners, the same as on TCP but for the framing (websocket/transport.ts).
 * One plugin instance per HTTP(S) app: its WebSocket server is that app's.
 */
export function xmppWebSocketRoutes(
  xmpp: Pick<XmppListeners, 'context' | 'openSession'>,
  options: XmppWebSocketOptions,
): FastifyPluginAsync {
  const maxStanzaBytes = xmpp.context.maxStanzaBytes;
  const anyOrigin = options.origins.includes('*');
  const origins = new Set(options.origins.filter((o) => o !== '*').map(normalizeOrigin));

  return async (app) => {
    const sessions = new Set<XmppSession>();
    await app.register(websocket, {
      options: {
        // A message up to twice the stanza limit is read and refused with `policy-violation`
        // (framing.ts); a bigger one closes the WebSocket at once (1009, RFC 6455 §7.4.1).
        maxPayload: maxStanzaBytes * 2,
        // RFC 7395 §3.1: the answer names `xmpp` whatever else the client offered.
        handleProtocols: (offered: Set<string>) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      },
      errorHandler: (err, socket, request) => {
        request.log.debug({ err: err.message }, 'XMPP WebSocket error');
        socket.terminate();
      },
      // Sessions end with `<system-shutdown/>` and `<close/>` before the server goes (RFC 7395 §3.6).
      preClose: async () => {
        for (const session of sessions) session.shutdown();
        await new Promise((resolve) => app.websocketServer.close(resolve));
      },
    });

    app.route({
      method: 'GET',
      url: XMPP_WEBSOCKET_PATH,
      preValidation: async (request, reply) => {
        if (request.ws) return refusal(request, reply);
      },
      handler: async (_request, reply) =>
        reply
          .code(426)
          .header('Upgrade', 'websocket')
          .type('text/plain; charset=utf-8')
          .send('XMPP over WebSocket (RFC 7395): connect with a WebSocket client, sub-protocol "xmpp".\n'),
      wsHandler: (socket, request) => {
        const raw = request.raw.socket;
        // As on the TCP port (xmpp/listener.ts): no Nagle delay, and dead peers found by TCP keepalive.
        raw.setNoDelay(true);
        raw.setKeepAlive(true, 60_000);
        const transport = new WebSocketTransport(
          socket as unknown as WebSocketLike,
          raw,
          request.protocol === 'https',
          unmappedAddress(request.ip),
          maxStanzaBytes,
          xmpp.context.flow,
        );
        const session = xmpp.openSession(transport);
        sessions.add(session);
        const log = request.log.child({ component: 'xmpp', stream: session.streamId });
        log.debug({ client: transport.remoteAddress, secure: transport.secure }, 'XMPP WebSocket opened');
        void transport.closed.then(() => {
          sessions.delete(session);
          log.debug('XMPP WebSocket closed');
        });
      },
    });

    /** The upgrade is refused before it happens: wrong sub-protocol, or a page not allowed. */
    function refusal(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
      const offered = String(request.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (!offered.includes(SUBPROTOCOL)) {
        // RFC 7395 §3.1: a client must ask for `xmpp`; RFC 6455 §4.2.2 lets the server refuse.
        request.log.debug({ offered }, 'XMPP WebSocket refused: no xmpp sub-protocol');
        return reply
          .code(400)
          .type('text/plain; charset=utf-8')
          .send('the "xmpp" sub-protocol is required\n');
      }
      const origin = request.headers.origin;
      if (origin !== undefined && !anyOrigin && !originAllowed(origin, ownOrigin(request), origins)) {
        // RFC 6455 §10.2: a page of another site must not use the visitor's browser (and its
        // address, or a stored password) to reach this server.
        request.log.info({ origin }, 'XMPP WebSocket refused: origin not allowed (config xmppWebOrigins)');
        return reply.code(403).type('text/plain; charset=utf-8').send('this origin may not connect\n');
      }
      return undefined;
    }
  };
}

/** `https://Example.org:443` → `https://example.org`; anything unparsable → itself (never equal to a real origin). */
export function normalizeOrigin(origin: string): string {
  return URL.canParse(origin) ? new URL(origin).origin : origin;
}

export function originAllowed(
  origin: string,
  own: string | undefined,
  allowed: ReadonlySet<string>,
): boolean {
  const normalized = normalizeOrigin(origin);
  // `null` (a sandboxed frame, a file) parses as no origin: only `*` lets it in.
  if (normalized === 'null') return false;
  return (own !== undefined && normalized === normalizeOrigin(own)) || allowed.has(normalized);
}
