import type { Socket } from 'node:net';
import type { FlowLimits } from '../../util/flow-limits.ts';
import type { TransportEvents, TransportFlowOwner, XmppTransport } from '../c2s/transport.ts';
import { NS } from '../namespaces.ts';
import { FrameParser, NS_FRAMING } from './framing.ts';
import { type FlowWebSocket, WebSocketFlow } from './ws-flow.ts';

/** The part of a `ws` WebSocket this uses. */
export interface WebSocketLike extends FlowWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'ping' | 'pong', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** RFC 6455 §3.3.5 readyState OPEN. */
const OPEN = 1;
/** RFC 6455 §7.4.1: normal closure. */
const NORMAL_CLOSURE = 1000;

/** A top-level element written with the `stream:` prefix: it declares it to stand alone. */
const STREAM_PREFIXED = /^<stream:(features|error)(?=[\s/>])/;
/** A stanza (RFC 6120 §8) start tag, and whether it names its namespace. */
const STANZA_START = /^<(message|presence|iq)(?=[\s/>])/;
const XMLNS_ATTRIBUTE = /\sxmlns=/;

/**
 * XMPP over WebSocket (RFC 7395): one WebSocket connection, each message one element.
 * `<open/>` and `<close/>` stand for the stream header and end (§3.4, §3.6), stanzas carry
 * their namespace (§3.3.3), and STARTTLS does not exist (§3.9): a wss connection is secure.
 */
export class WebSocketTransport implements XmppTransport {
  readonly kind = 'websocket';
  readonly canStartTls = false;
  readonly closed: Promise<void>;
  private events: TransportEvents | undefined;
  private frames: FrameParser | undefined;
  private corked = false;
  private settle: () => void = () => {};
  /** Issue 13: bounded output, reading paused while input or output is backed up. */
  private readonly flow: WebSocketFlow;
  private owner: TransportFlowOwner | undefined;

  constructor(
    private readonly ws: WebSocketLike,
    /** The TCP (or TLS) connection under it: writes of one turn of the event loop leave together. */
    private readonly socket: Socket,
    readonly secure: boolean,
    readonly remoteAddress: string,
    private readonly maxStanzaBytes: number,
    limits: FlowLimits = {},
  ) {
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.flow = new WebSocketFlow(ws, socket, {
      bounds: limits.output,
      onOutputPressure: (held) => this.owner?.outputPressure(held),
      onOverflow: (reason, queued) => this.owner?.overflow(reason, queued),
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    // §3.8: WebSocket pings are the keepalives (whitespace is not allowed between messages).
    ws.on('ping', () => this.events?.activity());
    ws.on('pong', () => this.events?.activity());
    ws.on('close', () => {
      this.flow.dispose();
      this.settle();
      this.events?.closed();
    });
    ws.on('error', (err) => this.events?.transportError(err));
  }

  get writable(): boolean {
    return this.ws.readyState === OPEN;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const events = this.events;
    const frames = this.frames;
    if (!events || !frames) return;
    events.activity();
    // §3.2: text messages only.
    if (isBinary) {
      events.error('bad-format', 'messages must be text (RFC 7395 §3.2)');
      return;
    }
    const frame = frames.parse(data);
    if (frame.kind === 'element') events.element(frame.element, data.length);
    else if (frame.kind === 'open') events.streamOpen(frame.attrs);
    else if (frame.kind === 'close') events.streamClose();
    else if (frame.kind === 'error') events.error(frame.condition, frame.text);
  }

  listen(events: TransportEvents): void {
    // Messages are whole elements, so a new stream needs no new parser to forget a partial
    // one (RFC 6120 §6.4.6); it gets one anyway, so no state of the old stream carries over.
    this.events = events;
    this.frames = new FrameParser(this.maxStanzaBytes);
  }

  unlisten(): void {
    this.events = undefined;
    this.frames = undefined;
  }

  own(owner: TransportFlowOwner | undefined): void {
    this.owner = owner;
    this.flow.setAccount(owner?.budgetAccount);
  }

  pauseInput(paused: boolean): void {
    this.flow.pauseInput(paused);
  }

  abort(): void {
    this.flow.dispose();
    this.ws.terminate();
  }

  sendHeader(id: string, from: string): void {
    // §3.4: the header's attributes on `<open/>`, an empty element of its own.
    this.write(`<open xmlns='${NS_FRAMING}' id='${id}' from='${from}' version='1.0' xml:lang='en'/>`);
  }

  send(data: string): void {
    this.write(standalone(data));
  }

  sendClose(): void {
    this.write(`<close xmlns='${NS_FRAMING}'/>`);
  }

  startTls(): void {
    throw new Error('no STARTTLS on WebSocket (RFC 7395 §3.9)');
  }

  close(): void {
    // §3.6: after `<close/>`, the WebSocket closing handshake; a peer that never answers is cut off.
    const ws = this.ws;
    if (ws.readyState === OPEN) ws.close(NORMAL_CLOSURE);
    setTimeout(() => ws.terminate(), 2_000).unref();
  }

  private write(message: string): void {
    if (this.ws.readyState !== OPEN) return;
    // As on TCP (util/batched-write.ts): the messages of one turn leave in one system call.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.ws.send(message);
    this.flow.sent();
  }
}

/**
 * §3.3.3: every message stands alone, "complete with all relevant namespace … declarations".
 * The session writes elements as for a TCP stream, whose header binds `stream:` and makes
 * `jabber:client` the default; here the element declares them itself.
 */
export function standalone(data: string): string {
  const prefixed = STREAM_PREFIXED.exec(data);
  if (prefixed) {
    const at = prefixed[0].length;
    return `${data.slice(0, at)} xmlns:stream='${NS.streams}'${data.slice(at)}`;
  }
  const stanza = STANZA_START.exec(data);
  if (stanza) {
    // Only the start tag counts: a child's xmlns is not the stanza's. Attribute values
    // written by element.ts have `>` escaped, so the first `>` ends the tag.
    const tagEnd = data.indexOf('>');
    if (!XMLNS_ATTRIBUTE.test(data.slice(0, tagEnd))) {
      const at = stanza[0].length;
      return `${data.slice(0, at)} xmlns='${NS.client}'${data.slice(at)}`;
    }
  }
  return data;
}
