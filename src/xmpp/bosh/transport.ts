import type { TransportEvents, XmppTransport } from '../c2s/transport.ts';
import type { XmlElement } from '../stream/element.ts';
import { standalone } from '../websocket/transport.ts';

/**
 * An XML stream carried by BOSH (XEP-0124, XEP-0206): what the session writes waits in
 * `output` until an HTTP response takes it (bosh-session.ts), and what requests carry is
 * handed to the session as stream events. There is no stream header on the wire: the
 * session creation request and `xmpp:restart` stand for it (XEP-0206 §5, §6), and a
 * terminate body stands for the stream's end (§7).
 */
export class BoshTransport implements XmppTransport {
  readonly kind = 'bosh';
  readonly canStartTls = false;
  readonly closed: Promise<void>;
  /** Elements written by the session, standalone, not yet in a response. */
  readonly output: string[] = [];
  /** Our stream id: the creation response's `authid` (XEP-0206 §5). */
  streamId = '';
  /** The session closed its stream: the next response is the last (`type='terminate'`). */
  ended = false;
  /** What it closed with was a stream error (XEP-0206 §7: condition `remote-stream-error`). */
  streamError = false;
  /** The BOSH session is over; nothing more is read or written. */
  gone = false;
  private events: TransportEvents | undefined;
  private settle: () => void = () => {};

  constructor(
    readonly secure: boolean,
    readonly remoteAddress: string,
    private readonly maxStanzaBytes: number,
    /** Something was written: a held request may be answered. */
    private readonly onOutput: () => void,
    /** The session ended the connection (it answers held requests with a terminate body). */
    private readonly onClose: () => void,
  ) {
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  get writable(): boolean {
    return !this.gone && !this.ended;
  }

  listen(events: TransportEvents): void {
    // Every request is whole elements: a new stream needs no parser state forgotten.
    this.events = events;
  }

  unlisten(): void {
    this.events = undefined;
  }

  sendHeader(id: string): void {
    // XEP-0206 §5: the header's attributes are on the creation response; a restart gets none.
    this.streamId = id;
  }

  send(data: string): void {
    if (!this.writable) return;
    if (data.startsWith('<stream:error')) this.streamError = true;
    this.output.push(standalone(data));
    this.onOutput();
  }

  sendClose(): void {
    if (this.gone) return;
    this.ended = true;
    this.onOutput();
  }

  startTls(): void {
    throw new Error('no STARTTLS on BOSH: TLS is the HTTP connection’s (XEP-0206 §3)');
  }

  close(): void {
    if (this.gone) return;
    this.ended = true;
    this.gone = true;
    this.onClose();
    this.settle();
    this.events?.closed();
  }

  // Input, in rid order, from bosh-session.ts ---------------------------------------

  /** A request arrived: the session is not idle (its own idle timeout, RFC 6120 §4.6). */
  activity(): void {
    this.events?.activity();
  }

  /** The creation request or `xmpp:restart='true'` (XEP-0206 §5, §6): a stream header. */
  open(attrs: Record<string, string>): void {
    this.events?.streamOpen(attrs);
  }

  /** The payload of one request, each element as a stanza on a TCP stream. */
  elements(children: readonly XmlElement[]): void {
    for (const child of children) {
      const events = this.events;
      if (!events) return;
      // RFC 6120 §13.12 as on TCP: the same limit for each stanza.
      const bytes = Buffer.byteLength(child.toString());
      if (bytes > this.maxStanzaBytes) {
        events.error('policy-violation', `stanzas are limited to ${this.maxStanzaBytes} bytes`);
        return;
      }
      // Counted in the session's input queue, as TCP and WebSocket stanzas are.
      events.element(child, bytes);
    }
  }

  /** A terminate request (XEP-0124 §13): the client's stream ends. */
  streamClose(): void {
    this.events?.streamClose();
  }
}
