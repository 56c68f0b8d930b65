import type { FastifyInstance } from 'fastify';

/** One year: long enough to count (RFC 6797 §11.2 leaves the figure to the operator). */
const HSTS = 'max-age=31536000';

/**
 * HTTP Strict Transport Security (RFC 6797) when the operator says the site is HTTPS
 * (config `publicUrl` is `https://…`): browsers then never reach it over plain HTTP again.
 * Only on responses that travel over TLS — the socket's own, or a trusted proxy's
 * (`X-Forwarded-Proto` under `trustProxy`) — never over plain HTTP (§7.2). Without
 * `includeSubDomains`: other hosts under the domain are not this server's to pin.
 * MSN and XMPP clients ignore the header.
 */
export function addHsts(app: FastifyInstance, publicUrl: string | undefined): void {
  if (!publicUrl?.startsWith('https:')) return;
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    return payload;
  });
}
