import type { SecureContext } from 'node:tls';
import type { BudgetAccount } from '../../util/memory-budget.ts';
import type { OutputOverflow } from '../../util/socket-flow.ts';
import type { XmlElement } from '../stream/element.ts';
import type { StreamErrorCondition } from '../stream/stream-errors.ts';

/**
 * What a transport reports to the session it carries. The stream events (`streamOpen`,
 * `element`, `streamClose`, `error`) are those of `XmppStreamParser` whatever the framing
 * (RFC 6120 §4 on TCP, RFC 7395 on WebSocket, XEP-0206 on BOSH); the session queues them.
 */
export interface TransportEvents {
  /** A stream header (`<stream:stream>`, `<open/>`): its attributes, `xmlns` the content namespace. */
  streamOpen(attrs: Record<string, string>): void;
  /**
   * One complete top-level element (stanza or nonza), namespaces resolved as element.ts
   * describes; `bytes`, about its size on the wire (for the input bound; 0 when unknown).
   */
  element(element: XmlElement, bytes?: number): void;
  /** The client closed its stream (`</stream:stream>`, `<close/>`). */
  streamClose(): void;
  /** The input cannot go on: the session sends this stream error and closes. */
  error(condition: StreamErrorCondition, text: string): void;
  /** Input of any kind arrived (bytes, a WebSocket ping): the connection is not idle. */
  activity(): void;
  /** The connection is gone (closed by either side, or broken). */
  closed(): void;
  /** The connection reported an error (it closes next); for the log only. */
  transportError(err: Error): void;
}

/**
 * Who a transport reports output backpressure to (issue 13): the session it carries.
 * Any transport may ignore it; one that queues output in this process should not.
 */
export interface TransportFlowOwner {
  /** Charged with output the client has not taken, and input the transport holds unparsed. */
  readonly budgetAccount: BudgetAccount | undefined;
  /** Output above the soft bound (true: hold the client's stanzas) or drained (false). */
  outputPressure(held: boolean): void;
  /** The client does not read: the connection is already cut; the session ends. */
  overflow(reason: OutputOverflow, queuedBytes: number): void;
}

/**
 * The connection under an `XmppSession`: TCP/TLS (tcp-transport.ts), a WebSocket
 * (../websocket/transport.ts), and any other framing of an XML stream (BOSH). It frames
 * what the session writes and parses what the client sends; the session does the rest
 * (negotiation, SASL, binding, stanzas, idle timeout, XEP-0198).
 */
export interface XmppTransport {
  /** For logs: `tcp`, `websocket`, `bosh`. */
  readonly kind: string;
  /** Encrypted: direct TLS, after STARTTLS, wss or HTTPS (as the request's scheme says). */
  readonly secure: boolean;
  /** The client's address (behind a trusted proxy, the client's, not the proxy's). */
  readonly remoteAddress: string;
  /** RFC 6120 §5: this connection can be upgraded in place with STARTTLS (RFC 7395 §3.9: never on WebSocket). */
  readonly canStartTls: boolean;
  /** Bytes can still be written. */
  readonly writable: boolean;
  /** Settles once the connection is gone, whichever session then holds it. */
  readonly closed: Promise<void>;

  /**
   * Input from now on is a new stream reported to `events` (at start, and after STARTTLS or
   * SASL success, RFC 6120 §5.4.3.3 / §6.4.6): nothing received before, nor anything a
   * previous stream's parser still holds, reaches `events`. `resumed`: the stream goes on
   * where the client's previous connection left it (XEP-0198 §5), with no new header.
   */
  listen(events: TransportEvents, resumed?: boolean): void;
  /** No more events (the connection changes hands, XEP-0198 §5, or waits to be resumed). */
  unlisten(): void;
  /** Our stream header (RFC 6120 §4.7.1, RFC 7395 §3.4): `<stream:stream …>` or `<open/>`. */
  sendHeader(id: string, from: string): void;
  /**
   * One top-level element, serialized as on a TCP stream (prefix `stream:` bound, stanzas in
   * the default `jabber:client` namespace): the transport makes it stand alone if its
   * framing needs that.
   */
  send(data: string): void;
  /** Our stream's end (RFC 6120 §4.4, RFC 7395 §3.6): `</stream:stream>` or `<close/>`. */
  sendClose(): void;
  /** RFC 6120 §5.4.3.3: TLS on this connection from the next byte on (only when `canStartTls`). */
  startTls(context: SecureContext, onSecure: () => void): void;
  /** Ends the connection politely, and for good a little later if the client does not. */
  close(): void;
  /**
   * Resolves once everything sent so far has left this process (TCP: the socket's write
   * callback), or the connection is gone. Absent: nothing waits in this process. Offline
   * delivery without XEP-0198 counts its grace period from then (modules/offline.ts).
   */
  flushed?(): Promise<void>;
  /**
   * Backpressure (issue 13), optional: the session that now owns this connection (again
   * after XEP-0198 resumption). A transport that implements it bounds its output (util/
   * flow-limits.ts) and reports to `owner`.
   */
  own?(owner: TransportFlowOwner | undefined): void;
  /** Stop (true) or resume (false) reading the client: the session's input queue is over its bound. */
  pauseInput?(paused: boolean): void;
  /** Cuts the connection at once, dropping unsent output (absent: `close`). */
  abort?(): void;
}
