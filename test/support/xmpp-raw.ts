import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { hash, hmac, type ScramAlgorithm, saltedPassword } from '../../src/core/scram.ts';
import { NS } from '../../src/xmpp/namespaces.ts';
import { type XmlElement, xml } from '../../src/xmpp/stream/element.ts';
import { XmppStreamParser } from '../../src/xmpp/stream/parser.ts';

export type { XmlElement };
export { xml };

export type Match = (el: XmlElement) => boolean;

/** Where to connect: the test server's ports and CA, or any XMPP listener. */
export interface RawTarget {
  host?: string;
  /** STARTTLS port (RFC 6120 §14.7). */
  port: number;
  /** Direct TLS port (XEP-0368). */
  tlsPort?: number;
  ca: Buffer;
}

export interface RawConnectOptions {
  /** 'plain' leaves the socket in clear text (for STARTTLS); 'direct' is TLS from the first byte. */
  transport?: 'plain' | 'direct';
  /** The client's own address (`127.0.0.2`: another host, for per-address limits). */
  localAddress?: string;
}

export interface RawLoginOptions {
  username: string;
  password: string;
  /** Omitted: ask the server to make one (RFC 6120 §7.6). */
  resource?: string;
  /** 'starttls' (default) or 'direct' (XEP-0368). */
  transport?: 'starttls' | 'direct';
  mechanism?: 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';
  /** As in {@link RawConnectOptions}. */
  localAddress?: string;
}

/** The server's `<stream:error/>`: its condition (RFC 6120 §4.9.3) and text. */
export interface StreamErrorInfo {
  condition: string;
  text: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 3000;

/** RFC 5802 §5.1 saslname: `=` and `,` are escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function scramAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) out.set(part.slice(0, 1), part.slice(2));
  return out;
}

/**
 * A deliberately low-level XMPP client for protocol tests: plain sockets (net + tls),
 * the server's own restricted-XML parser on the receiving side, and nothing done behind
 * the test's back. It can send any bytes (hostile XML, pipelined commands), negotiate
 * STARTTLS, authenticate with SCRAM-SHA-256/SCRAM-SHA-1 (RFC 5802 / RFC 7677, client side
 * written from the RFC) or PLAIN (RFC 4616), and bind a resource.
 *
 * Every element the server sends is recorded in `log`; `expect(match)` takes the first
 * one not yet taken that matches (already received or still to come).
 */
export class RawXmppClient {
  socket: net.Socket | tls.TLSSocket;
  secure: boolean;
  /** Every element received, in order, on every stream of this connection. */
  readonly log: XmlElement[] = [];
  /** Received and not yet taken by `expect`. */
  private readonly pending: XmlElement[] = [];
  private waiters: Array<{ match: Match; resolve: (el: XmlElement) => void; reject: (e: Error) => void }> =
    [];
  /** The attributes of the server's stream headers, one per stream. */
  readonly headers: Array<Record<string, string>> = [];
  private headerWaiters: Array<() => void> = [];
  streamError: StreamErrorInfo | undefined;
  /** The server sent `</stream:stream>`. */
  serverClosedStream = false;
  /** Our parser refused what the server sent (should never happen). */
  parseError: string | undefined;
  /** The TCP connection is gone. */
  isClosed = false;
  readonly whenClosed: Promise<void>;
  jid = '';
  private parser!: XmppStreamParser;
  private readonly markClosed: () => void;
  private readonly target: RawTarget;
  private idCounter = 0;

  private constructor(socket: net.Socket | tls.TLSSocket, secure: boolean, target: RawTarget) {
    this.socket = socket;
    this.secure = secure;
    this.target = target;
    this.newParser();
    let markClosed: () => void = () => {};
    this.whenClosed = new Promise((resolve) => {
      markClosed = resolve;
    });
    this.markClosed = () => {
      if (this.isClosed) return;
      this.isClosed = true;
      markClosed();
      for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed; ${this.describe()}`));
      for (const h of this.headerWaiters.splice(0)) h();
    };
    this.listen(socket);
  }

  /** Opens a TCP (or direct TLS) connection; no stream yet. */
  static async connect(target: RawTarget, options: RawConnectOptions = {}): Promise<RawXmppClient> {
    const host = target.host ?? '127.0.0.1';
    if (options.transport === 'direct') {
      if (target.tlsPort === undefined) throw new Error('no direct TLS port');
      const socket = tls.connect({
        host,
        port: target.tlsPort,
        ca: target.ca,
        servername: 'localhost',
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      return new RawXmppClient(socket, true, target);
    }
    const socket = net.connect({
      host,
      port: target.port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new RawXmppClient(socket, false, target);
  }

  /** Connects, negotiates TLS, authenticates and binds: a client ready for stanzas. */
  static async login(target: RawTarget, options: RawLoginOptions): Promise<RawXmppClient> {
    const direct = options.transport === 'direct';
    const c = await RawXmppClient.connect(target, {
      transport: direct ? 'direct' : 'plain',
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    try {
      await c.open();
      if (!direct) await c.starttls();
      await c.authenticate(options.username, options.password, options.mechanism ?? 'SCRAM-SHA-256');
      await c.bind(options.resource);
      return c;
    } catch (err) {
      c.destroy();
      throw err;
    }
  }

  private listen(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.parser.write(chunk));
    // After STARTTLS both the TCP socket and its TLS layer report the end; the first counts.
    socket.on('close', () => this.markClosed());
    socket.on('error', () => {}); // a reset after the server closed is expected in these tests
  }

  private newParser(): void {
    this.parser = new XmppStreamParser(
      {
        streamOpen: (attrs) => {
          this.headers.push(attrs);
          for (const h of this.headerWaiters.splice(0)) h();
        },
        stanza: (el) => this.receive(el),
        streamClose: () => {
          this.serverClosedStream = true;
        },
        error: (condition, text) => {
          this.parseError = `${condition}: ${text}`;
        },
      },
      { maxStanzaBytes: 16 * 1024 * 1024 },
    );
  }

  private receive(el: XmlElement): void {
    this.log.push(el);
    if (el.name === 'error' && el.xmlns === NS.streams) {
      const condition = el.getChildren().find((c) => c.xmlns === NS.streamErrors && c.name !== 'text');
      this.streamError = { condition: condition?.name ?? '', text: el.getChildText('text', NS.streamErrors) };
    }
    const i = this.waiters.findIndex((w) => w.match(el));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w?.resolve(el);
    } else this.pending.push(el);
  }

  private describe(): string {
    return `received: ${this.log.map(String).join('\n') || '(nothing)'}${
      this.streamError ? `\nstream error: ${this.streamError.condition}` : ''
    }`;
  }

  nextId(prefix = 'raw'): string {
    return `${prefix}-${++this.idCounter}`;
  }

  // Sending -----------------------------------------------------------------------

  /** Writes bytes as they are; resolves once handed to the kernel (or the connection is gone). */
  write(data: string | Buffer): Promise<void> {
    if (this.isClosed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(data, () => resolve());
    });
  }

  send(el: XmlElement | string): Promise<void> {
    return this.write(typeof el === 'string' ? el : el.toString());
  }

  /** Sends an iq (an id is added when missing) and resolves with the result or error for it. */
  async iq(el: XmlElement, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<XmlElement> {
    el.attrs.id ??= this.nextId('iq');
    const id = el.attrs.id;
    const reply = this.expect(
      (r) => r.name === 'iq' && r.attrs.id === id && (r.attrs.type === 'result' || r.attrs.type === 'error'),
      timeoutMs,
    );
    await this.send(el);
    return reply;
  }

  // Receiving ---------------------------------------------------------------------

  /** The first element not yet taken that matches, already received or coming within the timeout. */
  expect(match: Match, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<XmlElement> {
    const i = this.pending.findIndex(match);
    if (i >= 0) {
      const [el] = this.pending.splice(i, 1);
      return Promise.resolve(el as XmlElement);
    }
    if (this.isClosed) return Promise.reject(new Error(`connection closed; ${this.describe()}`));
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (el: XmlElement) => {
          clearTimeout(timer);
          resolve(el);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      // Made here, so its stack names the test line that waited.
      const timeout = new Error(`timed out after ${timeoutMs} ms`);
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        timeout.message += `; ${this.describe()}`;
        reject(timeout);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if nothing matching arrives (or is waiting) within `ms`. */
  async expectNone(match: Match, ms = 300): Promise<boolean> {
    try {
      const el = await this.expect(match, ms);
      throw new Error(`unexpected ${el.toString()}`);
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected')) throw err;
      return true;
    }
  }

  /** Takes every pending element matching (those already received). */
  drain(match: Match = () => true): XmlElement[] {
    const out: XmlElement[] = [];
    for (let i = 0; i < this.pending.length; ) {
      const el = this.pending[i] as XmlElement;
      if (match(el)) {
        out.push(el);
        this.pending.splice(i, 1);
      } else i++;
    }
    return out;
  }

  /** Waits for the server's stream header number `n` (1-based). */
  async header(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    while (this.headers.length < n) {
      if (this.isClosed) throw new Error(`connection closed before stream header ${n}; ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no stream header ${n}; ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.headerWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.headers[n - 1] as Record<string, string>;
  }

  /** Resolves when the connection is closed; rejects after the timeout. */
  async closed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.whenClosed,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`still connected after ${timeoutMs} ms; ${this.describe()}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Waits for `<stream:error/>` and the end of the connection; returns the condition. */
  async expectStreamError(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<StreamErrorInfo> {
    await this.expect((el) => el.name === 'error' && el.xmlns === NS.streams, timeoutMs);
    await this.closed(timeoutMs);
    return this.streamError as StreamErrorInfo;
  }

  // Negotiation -------------------------------------------------------------------

  /** The initial stream header (RFC 6120 §4.7); `attrs` replace or (undefined) drop the usual ones. */
  streamHeader(attrs: Record<string, string | undefined> = {}): string {
    const all: Record<string, string | undefined> = {
      xmlns: NS.client,
      'xmlns:stream': NS.streams,
      to: 'localhost',
      version: '1.0',
      'xml:lang': 'en',
      ...attrs,
    };
    const text = Object.entries(all)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => ` ${k}='${v}'`)
      .join('');
    return `<?xml version='1.0'?><stream:stream${text}>`;
  }

  /** Opens a stream and resolves with the server's `<stream:features/>`. */
  async open(attrs: Record<string, string | undefined> = {}): Promise<XmlElement> {
    const n = this.headers.length + 1;
    const features = this.expect((el) => el.name === 'features' && el.xmlns === NS.streams);
    await this.write(this.streamHeader(attrs));
    await this.header(n);
    return features;
  }

  /** RFC 6120 §5.4: `<starttls/>`, `<proceed/>`, the TLS handshake, a new stream. Returns the new features. */
  async starttls(extra = ''): Promise<XmlElement> {
    const proceed = this.expect((el) => el.xmlns === NS.tls);
    await this.write(`<starttls xmlns='${NS.tls}'/>${extra}`);
    const answer = await proceed;
    if (answer.name !== 'proceed') throw new Error(`STARTTLS refused: ${answer}`);
    await this.upgrade();
    return this.open();
  }

  /** Wraps the TCP socket in TLS (after `<proceed/>`), checking the certificate against the test CA. */
  async upgrade(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tls.connect({ socket: plain, ca: this.target.ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.secure = true;
    this.newParser();
    this.listen(secure);
  }

  /** RFC 6120 §6.4.6: after `<success/>` both sides start a new stream. */
  private restartAfterSasl(): void {
    this.newParser();
  }

  /** Sends `<auth mechanism=…/>` (with `data` as the initial response) and resolves with the server's answer. */
  saslAuth(mechanism: string, data?: Buffer): Promise<XmlElement> {
    return this.saslSend('auth', data, mechanism);
  }

  /** Sends a SASL element and resolves with the server's next challenge, success or failure. */
  private async saslSend(name: 'auth' | 'response', data: Buffer | undefined, mechanism?: string) {
    const reply = this.expect(
      (el) =>
        el.xmlns === NS.sasl && (el.name === 'challenge' || el.name === 'success' || el.name === 'failure'),
    );
    const body = data === undefined ? '' : data.length === 0 ? '=' : data.toString('base64');
    await this.send(xml(name, { xmlns: NS.sasl, mechanism }, body));
    return reply;
  }

  /**
   * Authenticates; on `<success/>` restarts the stream (RFC 6120 §6.4.6) and resolves
   * with the new stream's features, on `<failure/>` rejects with a {@link SaslFailure}.
   */
  async authenticate(
    username: string,
    password: string,
    mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN' = 'SCRAM-SHA-256',
  ): Promise<XmlElement> {
    const outcome =
      mechanism === 'PLAIN'
        ? await this.saslSend('auth', Buffer.from(`\0${username}\0${password}`), 'PLAIN')
        : await this.scram(mechanism === 'SCRAM-SHA-1' ? 'sha1' : 'sha256', mechanism, username, password);
    if (outcome.name !== 'success') throw new SaslFailure(outcome);
    this.restartAfterSasl();
    return this.open();
  }

  /** RFC 5802 §3 / §5 client side; checks the server's signature (mutual authentication). */
  private async scram(
    alg: ScramAlgorithm,
    mechanism: string,
    username: string,
    password: string,
  ): Promise<XmlElement> {
    const gs2 = 'n,,';
    const cnonce = randomBytes(18).toString('base64');
    const clientFirstBare = `n=${saslName(username)},r=${cnonce}`;
    const first = await this.saslSend('auth', Buffer.from(gs2 + clientFirstBare), mechanism);
    if (first.name !== 'challenge') return first;
    const serverFirst = Buffer.from(first.text(), 'base64').toString('utf8');
    const attrs = scramAttributes(serverFirst);
    const nonce = attrs.get('r') ?? '';
    if (!nonce.startsWith(cnonce)) throw new Error(`the server nonce does not extend ours: ${serverFirst}`);
    const salted = saltedPassword(
      alg,
      password,
      Buffer.from(attrs.get('s') ?? '', 'base64'),
      Number(attrs.get('i')),
    );
    const clientKey = hmac(alg, salted, 'Client Key');
    const storedKey = hash(alg, clientKey);
    const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${nonce}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(alg, storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
    const outcome = await this.saslSend(
      'response',
      Buffer.from(`${withoutProof},p=${proof.toString('base64')}`),
    );
    if (outcome.name === 'success') {
      const serverSignature = hmac(alg, hmac(alg, salted, 'Server Key'), authMessage).toString('base64');
      const got = Buffer.from(outcome.text(), 'base64').toString('utf8');
      if (got !== `v=${serverSignature}`) throw new Error(`wrong server signature: ${got}`);
    }
    return outcome;
  }

  /** RFC 6120 §7: binds `resource` (or one the server makes) and returns the full JID. */
  async bind(resource?: string): Promise<string> {
    const reply = await this.iq(
      xml(
        'iq',
        { type: 'set' },
        xml('bind', { xmlns: NS.bind }, resource === undefined ? undefined : xml('resource', {}, resource)),
      ),
    );
    const jid = reply.getChild('bind', NS.bind)?.getChildText('jid');
    if (reply.attrs.type !== 'result' || !jid) throw new Error(`bind failed: ${reply}`);
    this.jid = jid;
    return jid;
  }

  // Helpers for stanzas ------------------------------------------------------------

  /** Available presence (initial presence, RFC 6121 §4.2). */
  presence(attrs: Record<string, string | undefined> = {}, ...children: XmlElement[]): Promise<void> {
    return this.send(xml('presence', attrs, ...children));
  }

  /** Fetches the roster (RFC 6121 §2.1.3), which also makes this session "interested" in pushes. */
  async roster(ver?: string): Promise<XmlElement> {
    return this.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS.roster, ver })));
  }

  /** A roster set (RFC 6121 §2.1.5) of these items; resolves with the result or error. */
  async rosterSet(...items: XmlElement[]): Promise<XmlElement> {
    return this.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS.roster }, ...items)));
  }

  /** Closes our stream (RFC 6120 §4.4) and waits for the connection to end. */
  async close(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (this.isClosed) return;
    await this.write('</stream:stream>');
    await this.closed(timeoutMs).catch(() => this.destroy());
  }

  /** Drops the connection without closing the stream (an unclean end). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** A SASL `<failure/>`; `condition` is the RFC 6120 §6.5 condition. */
export class SaslFailure extends Error {
  readonly condition: string;
  constructor(readonly element: XmlElement) {
    const condition = element.getChildren().find((c) => c.name !== 'text')?.name ?? '';
    super(`SASL failure: ${condition}`);
    this.condition = condition;
  }
}

/** Matchers for the elements tests wait for. */
export const is = {
  message:
    (pred: Match = () => true): Match =>
    (el) =>
      el.name === 'message' && pred(el),
  presence:
    (pred: Match = () => true): Match =>
    (el) =>
      el.name === 'presence' && pred(el),
  iq:
    (pred: Match = () => true): Match =>
    (el) =>
      el.name === 'iq' && pred(el),
  /** A roster push (RFC 6121 §2.1.6) whose item is for `jid`. */
  push:
    (jid: string, pred: (item: XmlElement) => boolean = () => true): Match =>
    (el) => {
      const item = el.getChild('query', NS.roster)?.getChild('item');
      return el.name === 'iq' && el.attrs.type === 'set' && item?.attrs.jid === jid && pred(item);
    },
  body:
    (text: string): Match =>
    (el) =>
      el.name === 'message' && el.getChildText('body') === text,
};

/** The target for the test server's XMPP listeners. */
export function targetOf(server: { port(name: string): number; ca: Buffer }): RawTarget {
  return { port: server.port('xmpp'), tlsPort: server.port('xmpps'), ca: server.ca };
}
