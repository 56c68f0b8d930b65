import net from 'node:net';
import tls from 'node:tls';
import { NS } from '../src/xmpp/namespaces.ts';
import { XmlElement } from '../src/xmpp/stream/element.ts';
import { XmppStreamParser } from '../src/xmpp/stream/parser.ts';
import { NS_FRAMING } from '../src/xmpp/websocket/framing.ts';
import { ConnBase, type ConnSocket, connectSocket } from './conn-base.ts';
import { connectWebSocket } from './xmpp-ws-conn.ts';

/** How the client reaches the server: a TCP stream (STARTTLS), or XMPP over WebSocket (RFC 7395, wss). */
export type BenchTransport = 'tcp' | 'websocket';

/** A stanza start tag (RFC 6120 §8) and whether it names its namespace, for RFC 7395 §3.3.3. */
const STANZA_START = /^<(message|presence|iq)(?=[\s/>])/;
const XMLNS_IN_START_TAG = /^<[^>]*\sxmlns=/;

/** What a waiter waits for: a top-level element it accepts, or the server's stream header. */
type Want = ((el: XmlElement) => boolean) | 'stream';

/**
 * A lean XMPP client connection for the benchmark: the server's output is parsed with
 * `src/xmpp/stream/parser.ts` (over WebSocket each message as a child of a stream header
 * given to the parser once, as the server's framing.ts does), an optional `handler` sees
 * every top-level element first (and swallows it by returning true), unclaimed elements
 * wait in a small inbox, and `expect(predicate)` has a timeout. A stream error from the
 * server fails every waiter. Over TCP and WebSocket alike: only the framing differs.
 */
export class XmppConn extends ConnBase<XmlElement> {
  private readonly parser: XmppStreamParser;
  private streamHeaderSeen = false;
  /** XEP-0198: enabled, and the stanzas handled since (what `<a/>` reports). */
  private sm = false;
  private smInbound = 0;

  private constructor(
    socket: ConnSocket,
    readonly transport: BenchTransport,
  ) {
    super(socket);
    this.parser = new XmppStreamParser({
      // Over WebSocket the server's `<open/>` stands for its stream header (RFC 7395 §3.4).
      streamOpen: () => {
        if (transport === 'tcp') this.onStreamOpen();
      },
      stanza: (el) => this.onElement(el),
      streamClose: () => this.fail(new Error('the server closed the stream')),
      error: (condition, text) => this.fail(new Error(`unparsable server output: ${condition} (${text})`)),
    });
    if (transport === 'websocket')
      this.parser.write(Buffer.from(`<stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}'>`));
  }

  static async connect(
    port: number,
    host: string,
    localAddress: string | undefined,
    timeoutMs: number,
  ): Promise<XmppConn> {
    return new XmppConn(await connectSocket(port, host, localAddress, timeoutMs), 'tcp');
  }

  /** XMPP over WebSocket at `url` (wss), the certificate checked for `servername` against `ca`. */
  static async connectWebSocket(
    url: string,
    ca: Buffer,
    servername: string,
    localAddress: string | undefined,
    timeoutMs: number,
  ): Promise<XmppConn> {
    return new XmppConn(await connectWebSocket(url, ca, servername, localAddress, timeoutMs), 'websocket');
  }

  /**
   * Sends top-level elements: over TCP in one write, over WebSocket one message each
   * (RFC 7395 §3.3.3), stanzas there qualified by `jabber:client` as the RFC asks.
   */
  write(...elements: string[]): void {
    if (this.closed || !this.socket.writable) return;
    if (this.transport === 'tcp') {
      this.socket.write(elements.length === 1 ? (elements[0] as string) : elements.join(''));
      return;
    }
    for (const el of elements) {
      const qualify = STANZA_START.test(el) && !XMLNS_IN_START_TAG.test(el);
      this.socket.write(qualify ? el.replace(STANZA_START, `$& xmlns='${NS.client}'`) : el);
    }
  }

  /**
   * Opens a (new) stream to `domain` and resolves with the server's `<stream:features/>`
   * (RFC 6120 §4.2, §4.3.2). The parser must already expect a new stream.
   */
  async openStream(domain: string, timeoutMs: number): Promise<XmlElement> {
    this.streamHeaderSeen = false;
    this.write(
      this.transport === 'websocket'
        ? `<open xmlns='${NS_FRAMING}' to='${domain}' version='1.0' xml:lang='en'/>`
        : `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xml:lang='en' ` +
            `xmlns='${NS.client}' xmlns:stream='${NS.streams}'>`,
    );
    await this.waitFor('stream', 'the stream header', timeoutMs);
    return this.expect((el) => el.name === 'features', 'stream:features', timeoutMs);
  }

  /**
   * RFC 6120 §5.4: `<starttls/>`, `<proceed/>`, the TLS handshake over the same TCP
   * connection (checking the certificate for `servername` against `ca`), and a fresh
   * parser for the stream that follows (the caller opens it).
   */
  async startTls(ca: Buffer, servername: string, timeoutMs: number): Promise<void> {
    this.write(`<starttls xmlns='${NS.tls}'/>`);
    await this.expect((el) => el.xmlns === NS.tls, '<proceed/>', timeoutMs).then((el) => {
      if (el.name !== 'proceed') throw new Error(`STARTTLS: <${el.name}/> instead of <proceed/>`);
    });
    const plain = this.socket;
    if (!(plain instanceof net.Socket)) throw new Error('STARTTLS needs a TCP connection');
    plain.off('data', this.onData);
    const secure = tls.connect({ socket: plain, ca, servername, minVersion: 'TLSv1.2' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new Error(`TLS handshake timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.off('error', reject);
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`TLS handshake failed: ${err.message}`));
      });
    });
    secure.on('error', (err) => {
      this.failure ??= err;
    });
    secure.on('data', this.onData);
    this.socket = secure;
  }

  /** The negotiated TLS version and cipher (`TLSv1.3 TLS_AES_256_GCM_SHA384`), once TLS is up. */
  get tlsDescription(): string | undefined {
    if (!(this.socket instanceof tls.TLSSocket)) return undefined;
    return `${this.socket.getProtocol() ?? '?'} ${this.socket.getCipher()?.name ?? '?'}`;
  }

  /** The oldest top-level element `want` accepts; others stay in the inbox. */
  expect(want: (el: XmlElement) => boolean, what: string, timeoutMs: number): Promise<XmlElement> {
    return this.waitFor(want, what, timeoutMs) as Promise<XmlElement>;
  }

  /** The IQ result (or error, which rejects) with this id. */
  async iqResult(id: string, timeoutMs: number): Promise<XmlElement> {
    const iq = await this.expect((el) => el.name === 'iq' && el.attrs.id === id, `iq ${id}`, timeoutMs);
    if (iq.attrs.type !== 'result') throw new Error(`iq ${id}: ${iq.attrs.type} ${describeError(iq)}`.trim());
    return iq;
  }

  /**
   * Closes the stream (`</stream:stream>`, or `<close/>`: RFC 7395 §3.6), ends the
   * connection and resolves once it is closed.
   */
  close(timeoutMs: number): Promise<void> {
    return this.closeWith(
      this.transport === 'websocket' ? `<close xmlns='${NS_FRAMING}'/>` : '</stream:stream>',
      timeoutMs,
    );
  }

  protected receive(chunk: Buffer): void {
    this.parser.write(chunk);
  }

  private waitFor(want: Want, what: string, timeoutMs: number): Promise<XmlElement | undefined> {
    if (want === 'stream') {
      if (this.streamHeaderSeen) return Promise.resolve(undefined);
    } else {
      const taken = this.takeFromInbox(want);
      if (taken) return Promise.resolve(taken.item);
    }
    if (this.failure) return Promise.reject(new Error(`waiting for ${what}: ${this.failure.message}`));
    if (this.closed) return Promise.reject(new Error(`waiting for ${what}: connection closed`));
    return new Promise((resolve, reject) => {
      if (want === 'stream') this.addWaiter(what, () => false, resolve, reject, timeoutMs, 'stream');
      else this.addWaiter(what, want, resolve, reject, timeoutMs);
    });
  }

  private onStreamOpen(): void {
    this.streamHeaderSeen = true;
    this.takeWaiter((w) => w.tag === 'stream')?.settle(undefined);
  }

  private onElement(el: XmlElement): void {
    if (el.xmlns === NS_FRAMING && this.transport === 'websocket') {
      if (el.name === 'open') this.onStreamOpen();
      else if (el.name === 'close') this.fail(new Error('the server closed the stream'));
      return;
    }
    // XEP-0198 §4: count every stanza, answer the server's <r/> as a client does.
    if (this.sm && (el.name === 'message' || el.name === 'presence' || el.name === 'iq')) this.smInbound++;
    if (el.xmlns === NS.sm) {
      if (el.name === 'enabled') this.sm = true;
      if (el.name === 'r' && this.sm) {
        this.write(`<a xmlns='${NS.sm}' h='${this.smInbound % 2 ** 32}'/>`);
        return;
      }
    }
    if (this.handler?.(el)) return;
    if (el.name === 'error' && el.xmlns === NS.streams) {
      this.fail(new Error(`stream error: ${describeError(el)}`));
      return;
    }
    // RFC 6120 §5.4.3.3 / §6.4.6: a new stream follows these (over TLS after <proceed/>);
    // nothing more of the old one does.
    // Over WebSocket the messages stay children of the one header the parser was given.
    const restart =
      (el.name === 'success' && el.xmlns === NS.sasl) || (el.name === 'proceed' && el.xmlns === NS.tls);
    if (restart && this.transport === 'tcp') {
      this.parser.reset();
    }
    this.deliver(el);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.failWaiters(err.message);
    this.socket.destroy();
  }
}

/** The condition (and text) of a stream error, SASL failure or stanza error, for messages. */
export function describeError(el: XmlElement): string {
  const holder =
    el.name === 'iq' || el.name === 'message' || el.name === 'presence' ? el.getChild('error') : el;
  if (!holder) return '';
  const names: string[] = [];
  let text = '';
  for (const child of holder.children) {
    if (!(child instanceof XmlElement)) continue;
    if (child.name === 'text') text = child.text();
    else names.push(child.name);
  }
  return `${names.join(' ')}${text ? ` (${text})` : ''}`;
}
