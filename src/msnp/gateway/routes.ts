import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { hostFor, type MsnpContext } from '../ns/context.ts';
import { type GatewayEntry, GatewaySessions, type GatewaySessionsOptions } from './gateway-sessions.ts';
import { relayTarget } from './sb-relay.ts';

export const GATEWAY_PATH = '/gateway/gateway.dll';
const CONTENT_TYPE = 'application/x-msn-messenger';

export interface GatewayOptions extends GatewaySessionsOptions {
  /** Largest request body (raw MSNP bytes). */
  bodyLimit?: number;
  /** How long a response waits for the session to handle the request's commands. */
  settleTimeoutMs?: number;
  /** The session table to use (tests reach sessions through it); made from these options if unset. */
  sessions?: GatewaySessions;
}

/**
 * The MSNP HTTP gateway (docs/msnp-reference.md §13): MSNP over HTTP polling for
 * clients behind proxies, for the notification server and for switchboards.
 *
 * - `POST /gateway/gateway.dll?Action=open&Server=NS|SB&IP=host` starts a session and
 *   feeds it the body (`VER …`, or `USR`/`ANS` for a switchboard);
 * - `POST …?SessionID=id` sends the body to that session;
 * - `POST …?Action=poll&SessionID=id` (empty body) only collects output.
 *
 * Every answer is 200 with the queued output as body and
 * `X-MSN-Messenger: SessionID=id; GW-IP=host`, or `Session=close; SessionID=id`
 * once the session has ended. One plugin instance (and session table) serves the
 * HTTP and the HTTPS app alike.
 */
export function msnpGatewayRoutes(ctx: MsnpContext, options: GatewayOptions = {}): FastifyPluginAsync {
  const sessions = options.sessions ?? new GatewaySessions(ctx, options);
  const bodyLimit = options.bodyLimit ?? 256 * 1024;
  const settleTimeoutMs = options.settleTimeoutMs ?? 5_000;

  return async (app) => {
    // Encapsulated: these parsers apply to the gateway routes only. The body is raw
    // MSNP bytes whatever the Content-Type says; bitlbee, for one, sends none.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
      done(null, body),
    );
    // Both apps close at shutdown; the second call finds nothing left.
    app.addHook('onClose', async () => sessions.closeAll());

    // §13: [ESC] answers CORS preflight for web clients.
    app.options(GATEWAY_PATH, async (request, reply) => {
      cors(reply);
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      const asked = request.headers['access-control-request-headers'];
      reply.header(
        'Access-Control-Allow-Headers',
        typeof asked === 'string' && asked ? asked : 'Content-Type',
      );
      reply.header('Access-Control-Max-Age', '86400');
      return reply.code(204).send();
    });

    app.post(GATEWAY_PATH, async (request, reply) => {
      cors(reply);
      const query = lowerCaseKeys(request.query);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const gatewayHost = gatewayHostOf(ctx, request);

      // COMPAT: bitlbee (protocols/msn/gw.c) opens with an empty `SessionID=&Action=open&Server=NS`.
      if (query.action?.toLowerCase() === 'open') {
        const server = (query.server ?? 'NS').toUpperCase();
        if (server !== 'NS' && server !== 'SB') {
          return answer(reply, 400, 'Session=close', Buffer.alloc(0));
        }
        // An answer to an RNG into another node's switchboard is carried there (sb-relay.ts).
        const relayTo = server === 'SB' ? relayTarget(ctx, body) : undefined;
        const addresses = {
          remoteAddress: request.ip,
          remotePort: request.socket.remotePort ?? 0,
          localAddress: request.socket.localAddress ?? '127.0.0.1',
        };
        const entry = sessions.open(server, addresses, relayTo);
        if (typeof entry === 'string') {
          // This address holds too many sessions that have not signed in: 429 (RFC 6585 §4)
          // for it alone; a full table is the server's state, 503 for all.
          reply.header('Retry-After', '60');
          return answer(reply, entry === 'address-limit' ? 429 : 503, 'Session=close', Buffer.alloc(0));
        }
        return exchange(entry, body, reply, gatewayHost);
      }

      const id = query.sessionid ?? '';
      const entry = id ? sessions.get(id) : undefined;
      if (!entry) {
        return answer(reply, 400, `Session=close; SessionID=${headerSafe(id)}`, Buffer.alloc(0));
      }
      if (entry.busy) {
        // §13: sending while a request is outstanding got HTTP 400 on the real service.
        // The session itself lives on; its output waits for the next request.
        return answer(reply, 400, sessionHeader(entry, gatewayHost), Buffer.alloc(0));
      }
      return exchange(entry, body, reply, gatewayHost);
    });
  };

  async function exchange(entry: GatewayEntry, body: Buffer, reply: FastifyReply, gatewayHost: string) {
    entry.busy = true;
    entry.lastSeen = Date.now();
    try {
      if (body.length > 0 && !entry.transport.closed) entry.session.receive(body);
      await settle(entry, settleTimeoutMs);
    } finally {
      entry.busy = false;
      entry.lastSeen = Date.now();
    }
    const output = entry.transport.take();
    if (entry.transport.closed) {
      // COMPAT: bitlbee, Miranda and aMSN look for the literal `Session=close`.
      sessions.forget(entry);
      return answer(reply, 200, `Session=close; SessionID=${entry.id}`, output);
    }
    return answer(reply, 200, sessionHeader(entry, gatewayHost), output);
  }
}

/** Waits until the session has handled what it was sent, but not forever. */
async function settle(entry: GatewayEntry, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([entry.session.whenIdle(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * COMPAT: clients take the SessionID from every response and send their next
 * request to GW-IP (Miranda reconnects when it changes), so GW-IP repeats the host
 * the client used. Both fields are split on "; " exactly (bitlbee gw.c, Miranda).
 */
function sessionHeader(entry: GatewayEntry, gatewayHost: string): string {
  return `SessionID=${entry.id}; GW-IP=${gatewayHost}`;
}

function answer(reply: FastifyReply, status: number, messengerHeader: string, body: Buffer) {
  return reply
    .code(status)
    .header('Content-Type', CONTENT_TYPE)
    .header('X-MSN-Messenger', messengerHeader)
    .header('Cache-Control', 'no-cache')
    .send(body);
}

/** Web clients must be able to read X-MSN-Messenger; no cookies are involved. */
function cors(reply: FastifyReply): void {
  reply.header('Access-Control-Allow-Origin', '*');
  reply.header('Access-Control-Expose-Headers', 'X-MSN-Messenger');
}

/**
 * The host the client addressed (its Host header), else this server's address.
 * COMPAT: older Miranda copies GW-IP into a 40-byte buffer, so anything longer, or
 * not a plain host[:port], falls back too.
 */
function gatewayHostOf(ctx: MsnpContext, request: FastifyRequest): string {
  const host = request.headers.host;
  if (host && host.length < 40 && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host))
    return host;
  const local = hostFor(ctx, request.socket.localAddress ?? '127.0.0.1');
  const port = request.socket.localPort;
  const defaultPort = request.protocol === 'https' ? 443 : 80;
  const name = local.includes(':') ? `[${local}]` : local;
  return port && port !== defaultPort ? `${name}:${port}` : name;
}

/** Query parameters by lower-cased name, first value only (clients differ in case). */
function lowerCaseKeys(query: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (!query || typeof query !== 'object') return out;
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    const first = Array.isArray(value) ? value[0] : value;
    const name = key.toLowerCase();
    if (typeof first === 'string' && out[name] === undefined) out[name] = first;
  }
  return out;
}

/** An unknown SessionID echoed back only if it cannot break the header. */
function headerSafe(id: string): string {
  return /^[A-Za-z0-9._-]{1,64}$/.test(id) ? id : '';
}
