import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { unmappedAddress } from '../../util/address.ts';
import { ownOrigin } from '../../util/public-origin.ts';
import type { AltConnection } from '../host-meta.ts';
import type { XmppListeners } from '../listener.ts';
import { normalizeOrigin, originAllowed } from '../websocket/routes.ts';
import { parseBody, terminateBody, xboshAttr } from './body.ts';
import { BoshSession, type BoshTerms } from './bosh-session.ts';
import { type BoshLimits, BoshSessionTable } from './session-table.ts';

export const BOSH_PATH = '/http-bind';

/** XEP-0156 §3: how host-meta names this endpoint. */
export const BOSH_ALT_CONNECTION: AltConnection = { rel: 'urn:xmpp:alt-connections:xbosh', path: BOSH_PATH };

export interface BoshOptions extends BoshLimits {
  /** As for WebSocket (config `xmppWebOrigins`): other origins whose pages may use BOSH; `*`: any. */
  origins: readonly string[];
  /** Most a client may ask for (§7.1 `wait`, `hold`), and the other terms granted. */
  maxWait?: number;
  maxHold?: number;
  polling?: number;
  inactivity?: number;
  /** The table to use (tests look into it); made from these options if unset. */
  table?: BoshSessionTable;
}

/** XEP-0124 §14.1: a rid is a positive integer below 2^53. */
const RID = /^[1-9]\d{0,15}$/;
const CONTENT_TYPE = 'text/xml; charset=utf-8';

/**
 * BOSH (XEP-0124) carrying XMPP (XEP-0206) at `/http-bind`, for web clients and proxies that
 * cannot do WebSocket: each session is an `XmppSession` of the XMPP listeners, as on TCP.
 * One table of sessions serves the HTTP and HTTPS apps; a session made over HTTPS is used
 * over HTTPS only.
 */
export function boshRoutes(
  xmpp: Pick<XmppListeners, 'context' | 'openSession'>,
  options: BoshOptions,
): FastifyPluginAsync {
  const ctx = xmpp.context;
  const table = options.table ?? new BoshSessionTable(ctx.logger.child({ component: 'bosh' }), options);
  const maxWait = options.maxWait ?? 60;
  const maxHold = options.maxHold ?? 1;
  const anyOrigin = options.origins.includes('*');
  const origins = new Set(options.origins.filter((o) => o !== '*').map(normalizeOrigin));
  // A body of a few stanzas, each within the stanza limit (the same rule as WebSocket's).
  const bodyLimit = ctx.maxStanzaBytes * 2;

  return async (app) => {
    app.removeAllContentTypeParsers();
    // Clients send text/xml, application/xml, text/plain or nothing: the body is XML whatever it says.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
      done(null, body),
    );
    // In-flight requests are answered before the HTTP server waits for them to end.
    app.addHook('preClose', async () => table.closeAll());

    /** Cross-origin use (XEP-0124 §3 allows CORS): the server's own pages and the configured ones. */
    function originRefused(request: FastifyRequest, reply: FastifyReply): boolean {
      const origin = request.headers.origin;
      if (origin === undefined) return false;
      if (!anyOrigin && !originAllowed(origin, ownOrigin(request), origins)) {
        request.log.info({ origin }, 'BOSH refused: origin not allowed (config xmppWebOrigins)');
        void reply.code(403).type('text/plain; charset=utf-8').send('this origin may not connect\n');
        return true;
      }
      reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin');
      return false;
    }

    app.options(BOSH_PATH, async (request, reply) => {
      if (originRefused(request, reply)) return reply;
      return reply
        .code(204)
        .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
        .header('Access-Control-Allow-Headers', 'Content-Type')
        .header('Access-Control-Max-Age', '86400')
        .send();
    });

    app.get(BOSH_PATH, async (_request, reply) =>
      reply
        .code(405)
        .header('Allow', 'POST, OPTIONS')
        .type('text/plain; charset=utf-8')
        .send('BOSH (XEP-0124/XEP-0206): POST <body/> requests here.\n'),
    );

    app.post(BOSH_PATH, async (request, reply) => {
      if (originRefused(request, reply)) return reply;
      const address = unmappedAddress(request.ip);
      const send = (xml: string, status = 200) => reply.code(status).type(CONTENT_TYPE).send(xml);
      if (!table.allowRequest(address)) {
        // RFC 6585 §4; the session, if any, goes on.
        reply.header('Retry-After', '1');
        return send(terminateBody('policy-violation'), 429);
      }
      const data = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const body = parseBody(data, bodyLimit);
      const rid = body?.attrs.rid;
      // §17.2: not a `<body/>`, or no usable rid.
      if (!body || rid === undefined || !RID.test(rid)) return send(terminateBody('bad-request'));
      const secure = request.protocol === 'https';
      const sid = body.attrs.sid;
      if (sid === undefined) return create(request, reply, body, Number(rid), secure, address, send);

      const session = table.get(sid);
      // §17.2: an unknown (or ended and forgotten) sid.
      if (!session) return send(terminateBody('item-not-found'));
      if (session.transport.secure && !secure) {
        // The sid, a bearer secret of an HTTPS session, went over plain HTTP: the session ends.
        request.log.info('BOSH session used over plain HTTP: terminated');
        session.terminate('item-not-found');
        return send(terminateBody('item-not-found'));
      }
      return new Promise<FastifyReply>((resolve) => {
        session.request(Number(rid), body, (xml) => resolve(send(xml)));
      });
    });

    function create(
      request: FastifyRequest,
      reply: FastifyReply,
      body: NonNullable<ReturnType<typeof parseBody>>,
      rid: number,
      secure: boolean,
      address: string,
      send: (xml: string, status?: number) => FastifyReply,
    ): FastifyReply | Promise<FastifyReply> {
      // §7.1 / XEP-0206 §5: `to` names this domain.
      if ((body.attrs.to ?? '').toLowerCase() !== ctx.domain) return send(terminateBody('host-unknown'));
      let session: BoshSession | undefined;
      const place = table.admit(address, () => session?.xmpp?.account === undefined);
      if (typeof place === 'string') {
        // For this address alone (429, RFC 6585 §4) or for everyone (503).
        reply.header('Retry-After', '60');
        return send(terminateBody('policy-violation'), place === 'full' ? 503 : 429);
      }
      const terms: BoshTerms = {
        wait: clamp(body.attrs.wait, 1, maxWait, maxWait),
        hold: clamp(body.attrs.hold, 0, maxHold, 1),
        polling: options.polling ?? 2,
        inactivity: options.inactivity ?? 60,
      };
      session = new BoshSession(
        terms,
        {
          rid,
          to: ctx.domain,
          from: ctx.domain,
          lang: body.attrs['xml:lang'] ?? 'en',
          // XEP-0206 §5: `xmpp:version='1.0'`; without it, a pre-1.0 client the session refuses.
          version: xboshAttr(body, 'version') ?? '',
        },
        secure,
        address,
        ctx.maxStanzaBytes,
        (s) => table.ended(s),
      );
      table.add(session, place);
      session.xmpp = xmpp.openSession(session.transport);
      request.log.debug({ client: address, secure, terms }, 'BOSH session created');
      return new Promise<FastifyReply>((resolve) => session.start(body, (xml) => resolve(send(xml))));
    }
  };
}

/** A client's number within [min, max], or `fallback` when it gave none. */
function clamp(value: string | undefined, min: number, max: number, fallback: number): number {
  const n = value === undefined ? Number.NaN : Number.parseInt(value, 10);
  if (!Number.isFinite(n)) return Math.min(fallback, max);
  return Math.max(min, Math.min(max, n));
}
