import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Core } from '../core/core.ts';
import type { Logger } from '../server/logger.ts';
import { requireProxyHeader } from '../util/proxy-protocol-listener.ts';
import { addHsts } from './hsts.ts';
import { oauthRoutes } from './oauth/index.ts';
import { RequestLog } from './request-log.ts';
import { type WebSettings, webRoutes } from './web/index.ts';

export interface HttpAppOptions {
  core: Core;
  logger: Logger;
  version: string;
  startedAt: number;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  https?: { cert: Buffer; key: Buffer };
  /**
   * Routes of protocols that also travel over HTTP (MSN's web services and the MSNP
   * gateway, later XMPP over WebSocket), handed in by the composition root so this
   * folder imports no protocol.
   */
  plugins?: FastifyPluginAsync[];
  /** The web pages' settings (sign-up mode, password minimum, domain); unset: sign-up closed. */
  web?: WebSettings;
  /** Serve OAuth's implicit grant (config `oauthImplicit`); default true. */
  oauthImplicit?: boolean;
  /** Proxies whose X-Forwarded-For/-Proto are believed (config `trustProxy`); default none. */
  trustProxy?: string[];
  /** TCP load balancers whose PROXY protocol header is required and believed (config `proxyProtocol`). */
  proxyProtocol?: readonly string[];
  /** The external origin absolute URLs use (config `publicUrl`); default: the Host header. */
  publicUrl?: string | undefined;
  /** How long a client may take to send its request and its TLS handshake (issue 13). */
  timeouts?: HttpTimeouts;
}

export interface HttpTimeouts {
  /** The whole request, headers and body, must arrive within this (0: no limit; default 30 s). */
  requestMs?: number;
  /** HTTPS: the TLS handshake must be done within this (default 10 s; Node's own is 120 s). */
  tlsHandshakeMs?: number;
}

/**
 * Node's http.Server options bounding a slow client (issue 13: a body trickled one byte
 * at a time held 2,000 connections for 330 s, and an idle timer restarted by every byte
 * would not stop it). Node checks these deadlines every `connectionsCheckingInterval`
 * (30 s by default), so a tighter interval makes the deadline mean what it says.
 */
function serverTimeouts(timeouts: HttpTimeouts = {}) {
  const requestTimeout = timeouts.requestMs ?? 30_000;
  if (requestTimeout === 0) return { requestTimeout };
  return {
    requestTimeout,
    headersTimeout: Math.min(60_000, requestTimeout),
    connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(requestTimeout / 4))),
  };
}

/**
 * One fastify app serves every HTTP(S) port: health, OAuth and the web pages from
 * this folder, and the protocols' own routes handed in as `plugins`.
 */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  // fastify's types follow the server kind; every route here works on either.
  const timeouts = serverTimeouts(options.timeouts);
  const app = Fastify({
    // https.createServer takes the http.Server options with the TLS ones; http's come apart.
    ...(options.https
      ? {
          https: {
            ...options.https,
            ...timeouts,
            handshakeTimeout: options.timeouts?.tlsHandshakeMs ?? 10_000,
          },
        }
      : { http: timeouts }),
    requestTimeout: timeouts.requestTimeout,
    loggerInstance: options.logger.child({ component: 'http' }),
    logController: new RequestLog(),
    // Idle keep-alive sockets are closed at shutdown instead of holding it up.
    forceCloseConnections: 'idle',
    bodyLimit: 1024 * 1024,
    // request.ip and request.protocol then come from the proxy's X-Forwarded-* headers,
    // so throttles, sign-up limits and logs see the real client.
    ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}),
  }) as unknown as FastifyInstance;
  // The header precedes TLS and HTTP: read off the socket before the server's own listeners
  // see it, so request.ip is the balancer's client (and X-Forwarded-For is checked against it).
  requireProxyHeader(app.server, {
    from: options.proxyProtocol ?? [],
    log: options.logger.child({ component: 'http' }),
  });
  app.decorate('publicOrigin', options.publicUrl ?? null);
  app.decorate('serverDomain', options.web?.domain ?? null);
  addHsts(app, options.publicUrl);

  app.get('/health', async () => ({
    status: 'ok',
    version: options.version,
    uptimeSeconds: Math.round((Date.now() - options.startedAt) / 1000),
  }));

  // OAuth 2.0 (Live's paths and the standard ones) and the web pages people use.
  app.register(oauthRoutes, { core: options.core, implicit: options.oauthImplicit });
  app.register(webRoutes, { core: options.core, settings: options.web });
  for (const plugin of options.plugins ?? []) app.register(plugin);

  return app;
}
