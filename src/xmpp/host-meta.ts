import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ownOrigin } from '../util/public-origin.ts';
import { escapeXml } from '../util/xml.ts';

/** One way to reach the server over HTTP that host-meta lists (XEP-0156 §3). */
export interface AltConnection {
  /** `urn:xmpp:alt-connections:websocket`, `urn:xmpp:alt-connections:xbosh`. */
  rel: string;
  /** Path on this server, e.g. `/xmpp-websocket`. */
  path: string;
  /** A WebSocket URL (`wss://`, `ws://`) rather than an HTTP one. */
  websocket?: boolean;
}

/**
 * XEP-0156 §3: `/.well-known/host-meta` (XRD, RFC 6415 §3.1) and `/.well-known/host-meta.json`
 * (JRD, RFC 6415 Appendix A) tell a web client where the XMPP transports of this domain are.
 * URLs are made from the public origin (config `publicUrl`, else the request's scheme and
 * Host when it names this server): `https` gives `wss://…` and `https://…` links.
 */
export function hostMetaRoutes(connections: readonly AltConnection[]): FastifyPluginAsync {
  return async (app) => {
    app.get('/.well-known/host-meta', async (request, reply) => {
      const links = linksFor(request, connections)
        .map((l) => `  <Link rel="${escapeXml(l.rel)}" href="${escapeXml(l.href)}"/>\n`)
        .join('');
      cors(reply);
      return reply
        .type('application/xrd+xml; charset=utf-8')
        .send(
          `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n${links}</XRD>\n`,
        );
    });
    app.get('/.well-known/host-meta.json', async (request, reply) => {
      cors(reply);
      return reply.type('application/json; charset=utf-8').send({ links: linksFor(request, connections) });
    });
  };
}

/** Web clients on any site read it to find where to connect: it is public and carries no secret. */
function cors(reply: { header(name: string, value: string): unknown }): void {
  reply.header('Access-Control-Allow-Origin', '*');
}

function linksFor(
  request: FastifyRequest,
  connections: readonly AltConnection[],
): Array<{ rel: string; href: string }> {
  const origin = ownOrigin(request);
  if (origin === undefined) return [];
  const webSocketOrigin = origin.replace(/^http/, 'ws');
  return connections.map((c) => ({ rel: c.rel, href: `${c.websocket ? webSocketOrigin : origin}${c.path}` }));
}
