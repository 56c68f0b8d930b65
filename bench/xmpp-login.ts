import { randomBytes, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { hash, hmac, saltedPassword } from '../src/core/scram.ts';
import { NS } from '../src/xmpp/namespaces.ts';
import type { XmlElement } from '../src/xmpp/stream/element.ts';
import { type BenchTransport, describeError, XmppConn } from './xmpp-conn.ts';

export interface XmppTarget {
  host: string;
  /** The STARTTLS client port (listener `xmpp`), or with `transport` websocket the HTTPS port. */
  port: number;
  /** Default tcp; websocket: `wss://host:port/xmpp-websocket` (RFC 7395). */
  transport?: BenchTransport;
  domain: string;
  /** The bench CA, which signed the server's certificate for `domain`. */
  ca: Buffer;
  timeoutMs: number;
}

/**
 * SaltedPassword per (password, salt, iterations). Every bench account shares one
 * password and one set of SCRAM keys (msnp-server.ts), so the client's 10,000 PBKDF2
 * rounds are paid once instead of once per login; real clients cache it the same way
 * (RFC 5802 §5.1 lets them). The server's work per login does not change.
 */
const saltedCache = new Map<string, Buffer>();

function salted(password: string, salt: string, iterations: number): Buffer {
  const key = `${iterations}:${salt}:${password}`;
  let value = saltedCache.get(key);
  if (!value) {
    value = saltedPassword('sha256', password, Buffer.from(salt, 'base64'), iterations);
    saltedCache.set(key, value);
  }
  return value;
}

/** RFC 5802 §5.1 `saslname`. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

const isSasl = (el: XmlElement) => el.xmlns === NS.sasl;

function saslFailure(el: XmlElement): Error {
  return new Error(`SASL <${el.name}/>: ${describeError(el) || 'no condition'}`);
}

/** RFC 5802 client side of SCRAM-SHA-256 (RFC 7677), without channel binding. */
async function scramSha256(conn: XmppConn, username: string, password: string, timeoutMs: number) {
  const gs2 = 'n,,';
  const clientNonce = randomBytes(18).toString('base64');
  const clientFirstBare = `n=${saslName(username)},r=${clientNonce}`;
  conn.write(
    `<auth xmlns='${NS.sasl}' mechanism='SCRAM-SHA-256'>${Buffer.from(gs2 + clientFirstBare).toString('base64')}</auth>`,
  );
  const first = await conn.expect(isSasl, 'SASL challenge', timeoutMs);
  if (first.name !== 'challenge') throw saslFailure(first);
  const serverFirst = Buffer.from(first.text(), 'base64').toString('utf8');
  const fields = new Map(serverFirst.split(',').map((f) => [f.slice(0, 1), f.slice(2)]));
  const nonce = fields.get('r') ?? '';
  const salt = fields.get('s') ?? '';
  const iterations = Number(fields.get('i'));
  if (!nonce.startsWith(clientNonce) || salt === '' || !Number.isInteger(iterations) || iterations < 1)
    throw new Error(`SCRAM: bad server-first-message ${serverFirst}`);

  const saltedPw = salted(password, salt, iterations);
  const clientKey = hmac('sha256', saltedPw, 'Client Key');
  const storedKey = hash('sha256', clientKey);
  const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac('sha256', storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] ?? 0) ^ (signature[i] ?? 0);
  conn.write(
    `<response xmlns='${NS.sasl}'>${Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64')}</response>`,
  );
  const final = await conn.expect(isSasl, 'SASL success', timeoutMs);
  if (final.name !== 'success') throw saslFailure(final);
  // RFC 5802 §5.1: the server proves it knows the keys too.
  const serverFinal = Buffer.from(final.text(), 'base64').toString('utf8');
  const expected = hmac('sha256', hmac('sha256', saltedPw, 'Server Key'), authMessage);
  const got = serverFinal.startsWith('v=') ? Buffer.from(serverFinal.slice(2), 'base64') : Buffer.alloc(0);
  if (got.length !== expected.length || !timingSafeEqual(got, expected))
    throw new Error(`SCRAM: wrong server signature (${serverFinal})`);
}

/** RFC 4616 PLAIN (over TLS only, RFC 6120 §6.4): the server checks the password itself. */
async function plain(conn: XmppConn, username: string, password: string, timeoutMs: number) {
  const message = Buffer.from(`\0${username}\0${password}`).toString('base64');
  conn.write(`<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${message}</auth>`);
  const final = await conn.expect(isSasl, 'SASL success', timeoutMs);
  if (final.name !== 'success') throw saslFailure(final);
}

/** The SASL mechanisms the benchmark's client speaks. */
export type BenchMechanism = 'SCRAM-SHA-256' | 'PLAIN';

/** The steps of a sign-in over TCP, in order, as `signInXmpp` times them. */
export const LOGIN_STEPS = [
  'TCP + stream',
  'STARTTLS + TLS handshake',
  'stream + SASL SCRAM-SHA-256',
  'stream + bind',
  'roster get',
  'presence + ping',
  'SM + carbons (--sm)',
] as const;

/** Over WebSocket: TLS comes first (wss) and `<open/>` stands for the stream header. */
const WEBSOCKET_LOGIN_STEPS = [
  'TCP + TLS + WebSocket upgrade + open',
  'open + SASL SCRAM-SHA-256',
  'open + bind',
  'roster get',
  'presence + ping',
  'SM + carbons (--sm)',
] as const;

/** The steps `signInXmpp` times over `transport`. */
export function loginSteps(transport: BenchTransport = 'tcp'): readonly string[] {
  return transport === 'websocket' ? WEBSOCKET_LOGIN_STEPS : LOGIN_STEPS;
}

/** RFC 7395 §3.1: the XMPP WebSocket endpoint (src/xmpp/websocket/routes.ts). */
export function webSocketUrl(target: XmppTarget): string {
  return `wss://${target.host}:${target.port}/xmpp-websocket`;
}

/**
 * One XMPP sign-in as a desktop client does it: stream, STARTTLS, stream, SASL
 * SCRAM-SHA-256 (or `mechanism`), stream, resource binding, roster get and initial presence
 * (over WebSocket as a web client does: wss, `<open/>` instead of each stream header). A ping
 * follows the presence: the server answers nothing to `<presence/>` here (no contacts,
 * no other resource), and it handles a session's stanzas in order, so the pong says
 * the presence was processed. Resolves with the connection, the bound full JID and
 * how long each of `LOGIN_STEPS` took (ms).
 */
export async function signInXmpp(
  target: XmppTarget,
  handle: string,
  password: string,
  localAddress: string | undefined,
  resource: string,
  extensions = false,
  mechanism: BenchMechanism = 'SCRAM-SHA-256',
): Promise<{ conn: XmppConn; jid: string; steps: number[] }> {
  const t = target.timeoutMs;
  const steps: number[] = [];
  let last = performance.now();
  const step = () => {
    const now = performance.now();
    steps.push(now - last);
    last = now;
  };
  const websocket = target.transport === 'websocket';
  const conn = websocket
    ? await XmppConn.connectWebSocket(webSocketUrl(target), target.ca, target.domain, localAddress, t)
    : await XmppConn.connect(target.port, target.host, localAddress, t);
  try {
    let features = await conn.openStream(target.domain, t);
    if (!websocket) {
      if (!features.getChild('starttls', NS.tls)) throw new Error('the server offered no STARTTLS');
      step();
      await conn.startTls(target.ca, target.domain, t);
      step();
      features = await conn.openStream(target.domain, t);
    } else step(); // RFC 7395 §3.9: no STARTTLS, the WebSocket is already over TLS.
    const mechanisms = features.getChild('mechanisms', NS.sasl)?.getChildren('mechanism') ?? [];
    if (!mechanisms.some((m) => m.text() === mechanism))
      throw new Error(`no ${mechanism} among ${mechanisms.map((m) => m.text()).join(', ')}`);
    const username = handle.slice(0, handle.lastIndexOf('@'));
    if (mechanism === 'PLAIN') await plain(conn, username, password, t);
    else await scramSha256(conn, username, password, t);
    step();

    features = await conn.openStream(target.domain, t);
    if (!features.getChild('bind', NS.bind)) throw new Error('the server offered no resource binding');
    conn.write(
      `<iq type='set' id='bind1'><bind xmlns='${NS.bind}'><resource>${resource}</resource></bind></iq>`,
    );
    const bound = await conn.iqResult('bind1', t);
    const jid = bound.getChild('bind', NS.bind)?.getChildText('jid') ?? '';
    if (!jid) throw new Error('bind: no jid in the result');
    step();

    conn.write(`<iq type='get' id='roster1'><query xmlns='${NS.roster}'/></iq>`);
    await conn.iqResult('roster1', t);
    step();

    conn.write('<presence/>', `<iq type='get' id='ping1'><ping xmlns='${NS.ping}'/></iq>`);
    await conn.iqResult('ping1', t);
    step();

    if (extensions) {
      // What a mobile client adds: resumable stream management (XEP-0198) and carbons (XEP-0280).
      conn.write(
        `<enable xmlns='${NS.sm}' resume='true'/>`,
        `<iq type='set' id='carbons1'><enable xmlns='${NS.carbons}'/></iq>`,
      );
      const enabled = await conn.expect((el) => el.xmlns === NS.sm, '<enabled/>', t);
      if (enabled.name !== 'enabled') throw new Error(`stream management: <${enabled.name}/>`);
      await conn.iqResult('carbons1', t);
      step();
    }
    conn.clearInbox();
    return { conn, jid, steps };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}
