import type { FastifyPluginAsync } from 'fastify';
import { msnpGatewayRoutes } from '../msnp/gateway/routes.ts';
import type { MsnpContext } from '../msnp/ns/context.ts';
import { msnServiceRoutes } from '../msnp/services/index.ts';
import { BOSH_ALT_CONNECTION, boshRoutes } from '../xmpp/bosh/routes.ts';
import { hostMetaRoutes } from '../xmpp/host-meta.ts';
import type { XmppListeners } from '../xmpp/listener.ts';
import { WEBSOCKET_ALT_CONNECTION, xmppWebSocketRoutes } from '../xmpp/websocket/routes.ts';

/**
 * The protocols' own HTTP routes, on both the HTTP and HTTPS apps: the MSN web services and
 * the HTTP gateway, XMPP for web clients (RFC 7395, XEP-0206) and where to find it
 * (XEP-0156). One list, for the server and for the HTTP fuzz target.
 */
export function protocolRoutes(
  msnp: MsnpContext,
  xmpp: Pick<XmppListeners, 'context' | 'openSession'>,
  xmppWebOrigins: readonly string[],
): FastifyPluginAsync[] {
  return [
    msnServiceRoutes(msnp),
    msnpGatewayRoutes(msnp),
    xmppWebSocketRoutes(xmpp, { origins: xmppWebOrigins }),
    boshRoutes(xmpp, { origins: xmppWebOrigins }),
    hostMetaRoutes([WEBSOCKET_ALT_CONNECTION, BOSH_ALT_CONNECTION]),
  ];
}
