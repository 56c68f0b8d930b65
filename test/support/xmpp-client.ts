import tls from 'node:tls';
import { client, xml } from '@xmpp/client';
import type { TestServer } from './papillon-server.ts';
import { installGlobalWebSocket, webSocketUrl } from './xmpp-websocket.ts';

export { xml };

type XmppClient = ReturnType<typeof client>;
type Element = ReturnType<typeof xml>;

let trusted: Buffer | undefined;

/**
 * @xmpp/client verifies certificates against the system CAs only; the test server's
 * certificate comes from `papillon certs`. Add that CA to every TLS connection the
 * library opens, so verification stays on (host name included).
 */
function trustTestCa(ca: Buffer): void {
  if (trusted) {
    trusted = ca;
    return;
  }
  trusted = ca;
  const original = tls.connect;
  (tls as { connect: typeof tls.connect }).connect = ((...args: unknown[]) => {
    const options = args[0];
    // A CA the caller names (a raw client of another test server) is kept.
    if (options && typeof options === 'object') (options as tls.ConnectionOptions).ca ??= trusted;
    return (original as (...a: unknown[]) => tls.TLSSocket)(...args);
  }) as typeof tls.connect;
}

/**
 * COMPAT: @xmpp/client 0.14 — its IQ caller takes the replies it waits for before the
 * XEP-0198 counter sees them, so the 'h' it acknowledges falls one behind per IQ and
 * the server takes later stanzas (messages) for unacknowledged: sent again on
 * resumption, kept offline when the session ends. Count those replies as XEP-0198 §4
 * says a client must, before the library's own handlers run.
 */
function countIqReplies(xmpp: XmppClient): void {
  const lib = xmpp as unknown as {
    streamManagement: { enabled: boolean; inbound: number };
    iqCaller: { handlers: Map<string, unknown> };
  };
  xmpp.prependListener('element', (el: Element) => {
    const sm = lib.streamManagement;
    if (!sm.enabled || !el.is('iq') || (el.attrs.type !== 'result' && el.attrs.type !== 'error')) return;
    if (lib.iqCaller.handlers.has(el.attrs.id)) sm.inbound += 1;
  });
}

export interface ConnectOptions {
  username: string;
  password: string;
  resource?: string;
  /** 'starttls' (port 5222), 'direct' (XEP-0368, port 5223) or 'websocket' (RFC 7395, wss on the HTTPS port). */
  transport?: 'starttls' | 'direct' | 'websocket';
  /** The one SASL mechanism to use; default PLAIN (the library's SCRAM is slow: ask for it where it matters). */
  mechanism?: string;
  /** SASL mechanisms the library lacks (saslmechanisms classes), e.g. X-MESSENGER-OAUTH2. */
  extraMechanisms?: Array<{ name: string; mechanism: new () => unknown }>;
}

export interface TestXmppClient {
  xmpp: XmppClient;
  jid: string;
  stanzas: Element[];
  /** Resolves with the next stanza (already received or coming) matching `match`. */
  waitFor(match: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** Sends an iq and resolves with the reply. */
  iq(el: Element): Promise<Element>;
  stop(): Promise<void>;
}

/** A real @xmpp/client connection to the test server, recording every stanza received. */
export async function connectXmpp(server: TestServer, options: ConnectOptions): Promise<TestXmppClient> {
  trustTestCa(server.ca);
  const direct = options.transport === 'direct';
  if (options.transport === 'websocket') installGlobalWebSocket();
  const xmpp = client({
    service:
      options.transport === 'websocket'
        ? webSocketUrl(server)
        : direct
          ? `xmpps://localhost:${server.port('xmpps')}`
          : `xmpp://localhost:${server.port('xmpp')}`,
    domain: 'localhost',
    username: options.username,
    password: options.password,
    resource: options.resource,
  });
  // The library's own SCRAM takes seconds of this process's CPU (pure-JS PBKDF2) while other
  // clients of the same test wait for their streams: its 2 s step timeout then fails
  // busy runs. A safety net only; nothing here measures time.
  (xmpp as unknown as { timeout: number }).timeout = 15_000;
  // biome-ignore lint/suspicious/noExplicitAny: the library's SASL factory (saslmechanisms) is untyped
  const factory = (xmpp as any).saslFactory as {
    _mechs: Array<{ name: string }>;
    use(name: string, mechanism: new () => unknown): void;
  };
  for (const extra of options.extraMechanisms ?? []) factory.use(extra.name, extra.mechanism);
  // Pin one mechanism by reaching into the factory's list. Unless a test asks for one, PLAIN
  // (over TLS, as every client may): the library's SCRAM-SHA-1 computes PBKDF2 in
  // JavaScript, seconds of CPU per sign-in that made the suite slow and its streams time
  // out. The tests that are about SCRAM ask for it.
  const mechanism = options.mechanism ?? 'PLAIN';
  factory._mechs = factory._mechs.filter((m) => m.name === mechanism);
  countIqReplies(xmpp);
  const stanzas: Element[] = [];
  const waiters: Array<{ match: (el: Element) => boolean; resolve: (el: Element) => void }> = [];
  xmpp.on('stanza', (el: Element) => {
    stanzas.push(el);
    const i = waiters.findIndex((w) => w.match(el));
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      w?.resolve(el);
    }
  });
  xmpp.on('error', () => {});
  let address: Awaited<ReturnType<XmppClient['start']>>;
  try {
    address = await xmpp.start();
  } catch (err) {
    // A failed start leaves the connection (and its timers) behind otherwise.
    await xmpp.stop().catch(() => {});
    throw err;
  }
  return {
    xmpp,
    jid: address.toString(),
    stanzas,
    waitFor(match, timeoutMs = 3000) {
      const seen = stanzas.find(match);
      if (seen) {
        stanzas.splice(stanzas.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (el: Element) => {
            clearTimeout(timer);
            stanzas.splice(stanzas.indexOf(el), 1);
            resolve(el);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`timed out; received: ${stanzas.map(String).join('\n')}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    iq: (el) => xmpp.iqCaller.request(el, 3000),
    async stop() {
      await xmpp.stop().catch(() => {});
    },
  };
}
