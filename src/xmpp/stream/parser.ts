import type { SaxesTagNS, XMLDecl } from 'saxes';
import { SaxesParser } from 'saxes';
import { NS } from '../namespaces.ts';
import { XmlElement } from './element.ts';
import type { StreamErrorCondition } from './stream-errors.ts';

/**
 * The XMPP stream parser: bytes in, stream events out (RFC 6120 §4).
 *
 * One instance parses one stream at a time: the `<stream:stream>` header, then each
 * top-level child as a complete {@link XmlElement}, then `</stream:stream>`. Anything the
 * stream may not carry ends it with exactly one `error(condition, text)`, after which the
 * parser ignores input until `reset()`.
 *
 * Error conditions chosen (RFC 6120 §4.9.3):
 * - DOCTYPE/DTD, comment, processing instruction (the XML declaration at the very start of
 *   a stream excepted; one anywhere else counts as a PI), entity reference other than the five predefined ones →
 *   `restricted-xml` (§11.1, §4.9.3.18). Character references (`&#…;`) are not entity
 *   references and are allowed by §11.1; one naming a character XML forbids is
 *   `not-well-formed`.
 * - Invalid UTF-8 bytes, or an XML declaration naming another encoding →
 *   `unsupported-encoding` (§11.6; §4.9.3.22 names "violating the rules of the UTF-8
 *   encoding" as this condition). A chunk holding invalid bytes is rejected whole: none
 *   of it is parsed.
 * - Unbound namespace prefix → `bad-namespace-prefix` (§11.2, §4.9.3.2).
 * - Root not in the streams namespace → `invalid-namespace` (§4.8.1, §4.9.3.10); root in
 *   that namespace but not named `stream` → `bad-format` (§4.9.3.1). The content namespace
 *   (`attrs.xmlns`) is the session's to check.
 * - Top-level element over `maxStanzaBytes` bytes, deeper than `maxDepth`, or an element
 *   with more than `maxAttributes` attributes → `policy-violation` (§4.9.3.14).
 * - Non-whitespace text at stream level, and every other XML error → `not-well-formed`
 *   (§4.9.3.13).
 *
 * Whitespace between top-level elements is ignored (keepalives, RFC 6120 §4.6). A stream
 * that just stops, unclosed, reports nothing: the session's idle timeout handles it.
 * After `</stream:stream>` the parser ignores input, as after an error. The size limit
 * counts a top-level element's bytes plus any non-keepalive text before it; the stream
 * header (with anything before it) has the same limit. saxes reports a comment, PI or DTD
 * only once it ends, so one that passes the limit first ends in `policy-violation`.
 *
 * Handlers run synchronously while a chunk is parsed. If a handler calls `reset()`, the
 * rest of the chunk being parsed is discarded (nothing sent before a stream restart may be
 * read as part of the new stream, RFC 6120 §5.4.3.3). If a handler throws, the exception
 * propagates out of `write()` and the parser stops (ignores input until `reset()`).
 */

export interface StreamParserHandlers {
  /** `<stream:stream …>` opened: its attributes (with `xmlns` = the default namespace and the prefixed stream namespace checked). */
  streamOpen(attrs: Record<string, string>): void;
  /** A complete top-level element (stanza or nonza) child of the stream, namespaces resolved as element.ts describes. */
  /** `size`: its length in input characters (UTF-16 units, whitespace before it included), for input bounds. */
  stanza(element: XmlElement, size: number): void;
  /** `</stream:stream>` received. */
  streamClose(): void;
  /** The input cannot continue: the caller sends this stream error and closes. Called at most once; afterwards the parser ignores input. */
  error(condition: StreamErrorCondition, text: string): void;
}

export interface StreamParserOptions {
  /** Largest top-level element, in bytes of input (default 262144). Also bounds the stream header and the text between elements. */
  maxStanzaBytes?: number;
  /** Deepest element nesting inside a top-level element, which is depth 1 (default 64). */
  maxDepth?: number;
  /** Most attributes (namespace declarations included) on one element (default 64). */
  maxAttributes?: number;
}

const DEFAULT_MAX_STANZA_BYTES = 262144;
const DEFAULT_MAX_DEPTH = 64;
const DEFAULT_MAX_ATTRIBUTES = 64;
/** Input is parsed in pieces of at most this many bytes, so limits are checked at least this often. */
const MAX_PIECE_BYTES = 65536;

/** XML whitespace (XML 1.0 §2.3 production S). */
const WHITESPACE_ONLY = /^[ \t\r\n]*$/;

type SaxOptions = { xmlns: true; forceXMLVersion: true; defaultXMLVersion: '1.0' };
const SAX_OPTIONS: SaxOptions = { xmlns: true, forceXMLVersion: true, defaultXMLVersion: '1.0' };

/**
 * A saxes parser whose handlers are set while it is constructed. saxes stores each handler
 * as a property of the parser; set afterwards, ten of them turn the parser into a V8
 * dictionary-mode object and parsing gets about three times slower.
 */
class HandledSaxes extends SaxesParser<SaxOptions> {
  constructor(register: (sax: SaxesParser<SaxOptions>) => void) {
    super(SAX_OPTIONS);
    register(this);
  }
}

/** Thrown inside saxes callbacks to stop parsing the current chunk; never escapes `write()`. */
const STOP: unique symbol = Symbol('stop');

/** A top-level element or stream close seen but not yet reported (see `flush`). */
type Pending = XmlElement | 'close' | undefined;

export class XmppStreamParser {
  private readonly handlers: StreamParserHandlers;
  private readonly maxBytes: number;
  private readonly maxDepth: number;
  private readonly maxAttributes: number;
  private readonly pieceBytes: number;

  private sax: SaxesParser<SaxOptions>;
  private decoder = new TextDecoder('utf-8', { fatal: true });
  /** Bumped by reset(): a handler that reset the parser is detected by a changed generation. */
  private generation = 0;
  /** After an error, `</stream:stream>` or a throwing handler: input is ignored. */
  private stopped = false;
  private inStream = false;
  /** The open elements of the current top-level element, outermost first, and their namespaces. */
  private stack: XmlElement[] = [];
  private nsStack: string[] = [];
  private pending: Pending;
  /** The size of the element in `pending`, in fed units. */
  private pendingSize = 0;
  /** UTF-16 units fed to saxes so far; saxes' `position` counts in the same units. */
  private fed = 0;
  /** The piece being parsed: its start (in fed units) and text. */
  private pieceStart = 0;
  private pieceText = '';
  /**
   * The current "segment" — prolog and stream header, or the text since the last
   * top-level element ended plus the next one — starts at this position; `segmentBytes`
   * is its size in bytes up to the end of the last piece parsed.
   */
  private segmentStart = 0;
  private segmentBytes = 0;
  /** Between top-level elements with only whitespace pending: a whitespace-only piece can be skipped. */
  private idle = false;

  constructor(handlers: StreamParserHandlers, options: StreamParserOptions = {}) {
    this.handlers = handlers;
    this.maxBytes = options.maxStanzaBytes ?? DEFAULT_MAX_STANZA_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxAttributes = options.maxAttributes ?? DEFAULT_MAX_ATTRIBUTES;
    this.pieceBytes = Math.max(1, Math.min(MAX_PIECE_BYTES, this.maxBytes));
    this.sax = this.createSax();
  }

  /** Feed bytes as they arrive; UTF-8 sequences may be split across chunks. */
  write(chunk: Buffer): void {
    if (this.stopped) return;
    const generation = this.generation;
    const step = this.pieceBytes;
    if (chunk.length <= step) {
      this.feed(chunk);
      return;
    }
    for (let offset = 0; offset < chunk.length; offset += step) {
      this.feed(chunk.subarray(offset, offset + step));
      if (this.stopped || this.generation !== generation) return;
    }
  }

  /**
   * Inside the stream, with no element begun since the last one ended (whitespace aside):
   * the input so far is whole elements. XMPP over WebSocket checks this after each message
   * (RFC 7395 §3.3.3: a message is one complete element).
   */
  get betweenElements(): boolean {
    return this.idle;
  }

  /**
   * Bytes of the element (or header) not yet complete, as of the last piece parsed: what
   * a client makes this parser hold (issue 13: charged to the process memory budget).
   */
  get unfinishedBytes(): number {
    return this.stopped ? 0 : this.segmentBytes;
  }

  /** Start afresh for a new stream on the same connection (after STARTTLS or SASL success, RFC 6120 §5.4.3.3 / §6.4.6). */
  reset(): void {
    this.generation++;
    this.stopped = false;
    this.decoder = new TextDecoder('utf-8', { fatal: true });
    this.sax = this.createSax();
    this.inStream = false;
    this.stack = [];
    this.nsStack = [];
    this.pending = undefined;
    this.fed = 0;
    this.pieceStart = 0;
    this.pieceText = '';
    this.segmentStart = 0;
    this.segmentBytes = 0;
    this.idle = false;
  }

  private feed(piece: Buffer): void {
    let text: string;
    try {
      text = this.decoder.decode(piece, { stream: true });
    } catch {
      // RFC 6120 §11.6 and §4.9.3.22: the stream must be UTF-8.
      this.report('unsupported-encoding', 'invalid UTF-8');
      return;
    }
    if (text.length === 0) return; // only part of a multi-byte sequence so far
    // RFC 6120 §4.6: whitespace keepalives between elements are dropped unparsed, so they
    // neither accumulate nor count towards the next element's size.
    if (this.idle && WHITESPACE_ONLY.test(text)) return;

    const start = this.fed;
    this.pieceStart = start;
    this.pieceText = text;
    const generation = this.generation;
    try {
      this.sax.write(text);
      this.fed = start + text.length;
      if (this.pending !== undefined) this.flush();
    } catch (err) {
      if (err === STOP) return;
      this.stopped = true;
      throw err;
    }
    if (this.stopped || this.generation !== generation) return;

    // Size accounting, once per piece (RFC 6120 §13.12: denial of service).
    const segmentIndex = this.segmentStart - start;
    let bytes: number;
    if (segmentIndex < 0) bytes = this.segmentBytes + Buffer.byteLength(text);
    else if (segmentIndex === 0) bytes = Buffer.byteLength(text);
    else if (segmentIndex >= text.length) bytes = 0;
    else bytes = Buffer.byteLength(text.slice(segmentIndex));
    this.segmentBytes = bytes;
    if (bytes > this.maxBytes) {
      this.report('policy-violation', this.sizeText());
      return;
    }
    this.idle =
      this.inStream &&
      this.stack.length === 0 &&
      segmentIndex >= 0 &&
      (segmentIndex >= text.length || WHITESPACE_ONLY.test(text.slice(segmentIndex)));
  }

  private createSax(): SaxesParser<SaxOptions> {
    // XML 1.0 only (RFC 6120 §11.8); namespaces resolved by saxes (Namespaces in XML 1.0).
    // saxes never reads a DTD: it expands no entity but the five predefined ones (an
    // undefined entity is an error, reported below) and fetches nothing, so neither
    // billion laughs nor external entities can do anything.
    return new HandledSaxes((sax) => {
      sax.on('xmldecl', (decl) => this.onXmlDecl(decl));
      sax.on('doctype', () => this.restricted('a DTD is not allowed'));
      sax.on('comment', () => this.restricted('comments are not allowed'));
      sax.on('processinginstruction', () => this.restricted('processing instructions are not allowed'));
      sax.on('opentagstart', () => this.onOpenTagStart());
      sax.on('opentag', (tag) => this.onOpenTag(tag));
      sax.on('closetag', () => this.onCloseTag());
      sax.on('text', (text) => this.onText(text));
      sax.on('cdata', (text) => this.onText(text));
      sax.on('error', (err) => this.onSaxError(err));
    });
  }

  // saxes callbacks ------------------------------------------------------------------

  private onXmlDecl(decl: XMLDecl): void {
    // RFC 6120 §11.6: UTF-8 only. (The version is forced to 1.0, §11.8.)
    const encoding = decl.encoding?.toLowerCase();
    if (encoding !== undefined && encoding !== 'utf-8') {
      this.stop('unsupported-encoding', `encoding ${decl.encoding} is not supported; use UTF-8`);
    }
  }

  private restricted(text: string): never {
    // RFC 6120 §11.1: comments, PIs, DTDs and entity references are forbidden.
    return this.stop('restricted-xml', text);
  }

  private onOpenTagStart(): void {
    if (this.pending !== undefined) this.flush();
    if (this.stack.length >= this.maxDepth) {
      this.stop('policy-violation', `elements may nest at most ${this.maxDepth} deep`);
    }
  }

  private onOpenTag(tag: SaxesTagNS): void {
    if (!this.inStream) {
      this.openStream(tag);
      return;
    }
    const uri = tag.uri;
    const depth = this.stack.length;
    const element = new XmlElement(tag.local);
    const attrs = element.attrs;
    // element.ts: `xmlns` on every top-level element and wherever the namespace changes.
    if (depth === 0 || this.nsStack[depth - 1] !== uri) attrs.xmlns = uri;
    let count = 0;
    const source = tag.attributes;
    for (const name in source) {
      const attr = source[name];
      if (attr === undefined) continue;
      if (++count > this.maxAttributes) this.tooManyAttributes();
      const prefix = attr.prefix;
      if (prefix === '') {
        if (name !== 'xmlns') attrs[name] = attr.value;
      } else if (prefix !== 'xmlns') {
        // A prefixed attribute keeps its qualified name; outside the predeclared `xml`
        // prefix it keeps its prefix's declaration too, so the element serializes alone.
        if (prefix !== 'xml') {
          const declaration = `xmlns:${prefix}`;
          if (attrs[declaration] === undefined) attrs[declaration] = attr.uri;
        }
        attrs[name] = attr.value;
      }
    }
    const parent = this.stack[depth - 1];
    if (parent !== undefined) parent.children.push(element);
    this.stack.push(element);
    this.nsStack.push(uri);
  }

  private openStream(tag: SaxesTagNS): void {
    // RFC 6120 §4.8.1: the stream element is qualified by the streams namespace.
    if (tag.uri !== NS.streams) {
      this.stop('invalid-namespace', `the stream element must be in the ${NS.streams} namespace`);
    }
    if (tag.local !== 'stream') this.stop('bad-format', 'the root element must be <stream:stream>');
    const attrs: Record<string, string> = { xmlns: this.sax.resolve('') ?? '' };
    let count = 0;
    const source = tag.attributes;
    for (const name in source) {
      const attr = source[name];
      if (attr === undefined) continue;
      if (++count > this.maxAttributes) this.tooManyAttributes();
      if (name !== 'xmlns' && attr.prefix !== 'xmlns') attrs[name] = attr.value;
    }
    // The header (with anything before it) is measured exactly where it ends, as an
    // element is: the per-piece check alone missed one that ended in a later piece.
    this.checkElementSize(this.sax.position);
    this.inStream = true;
    // The stream header was its own segment; the first element's begins after it.
    this.segmentStart = this.sax.position;
    const generation = this.generation;
    this.handlers.streamOpen(attrs);
    this.checkAfterHandler(generation);
  }

  private onCloseTag(): void {
    // saxes reports a close before checking that it matches the open tag, and reports the
    // mismatch right after: a finished top-level element (or the stream close) is held in
    // `pending` and reported at the next event, so a mismatched close never reports one.
    if (this.pending !== undefined) this.flush();
    const element = this.stack.pop();
    if (element === undefined) {
      if (this.inStream) this.pending = 'close';
      return;
    }
    this.nsStack.pop();
    if (this.stack.length !== 0) return;
    const end = this.sax.position;
    this.checkElementSize(end);
    this.pendingSize = end - this.segmentStart;
    this.segmentStart = end;
    this.pending = element;
  }

  private onText(text: string): void {
    if (this.pending !== undefined) this.flush();
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      // RFC 6120 §4.6: only whitespace may come between top-level elements.
      if (this.inStream && !WHITESPACE_ONLY.test(text)) this.stop('not-well-formed', 'text outside a stanza');
      return;
    }
    const children = top.children;
    const last = children.length - 1;
    const previous = children[last];
    if (typeof previous === 'string') children[last] = previous + text;
    else children.push(text);
  }

  private onSaxError(err: Error): void {
    const message = err.message;
    if (this.pending !== undefined) {
      if (message.endsWith('unexpected close tag.')) this.pending = undefined;
      else this.flush();
    }
    this.stop(classify(message), message);
  }

  // helpers ----------------------------------------------------------------------------

  /** Reports what onCloseTag held back; stops parsing the chunk if the handler reset or stopped the parser. */
  private flush(): void {
    const pending = this.pending;
    this.pending = undefined;
    const generation = this.generation;
    if (pending === 'close') {
      this.stopped = true;
      this.handlers.streamClose();
      throw STOP;
    }
    if (pending !== undefined) this.handlers.stanza(pending, this.pendingSize);
    this.checkAfterHandler(generation);
  }

  private checkAfterHandler(generation: number): void {
    if (this.stopped || this.generation !== generation) throw STOP;
  }

  /**
   * A top-level element that began in an earlier piece is measured exactly when it ends
   * (the per-piece check may not have seen its last part); one that began in this piece
   * only when the piece's text could exceed the limit (at most 3 UTF-8 bytes per UTF-16
   * unit). Sizes are of the decoded text, so a sequence split between pieces counts once.
   */
  private checkElementSize(end: number): void {
    const startIndex = this.segmentStart - this.pieceStart;
    const endIndex = Math.max(0, end - this.pieceStart);
    let bytes: number;
    if (startIndex < 0) bytes = this.segmentBytes + Buffer.byteLength(this.pieceText.slice(0, endIndex));
    else if (this.pieceText.length * 3 > this.maxBytes) {
      bytes = Buffer.byteLength(this.pieceText.slice(startIndex, endIndex));
    } else return;
    if (bytes > this.maxBytes) this.stop('policy-violation', this.sizeText());
  }

  private sizeText(): string {
    return this.inStream
      ? `stanzas are limited to ${this.maxBytes} bytes`
      : `the stream header is limited to ${this.maxBytes} bytes`;
  }

  private tooManyAttributes(): never {
    return this.stop('policy-violation', `elements may have at most ${this.maxAttributes} attributes`);
  }

  /** Reports an error from inside a saxes callback and abandons the chunk. */
  private stop(condition: StreamErrorCondition, text: string): never {
    this.report(condition, text);
    throw STOP;
  }

  private report(condition: StreamErrorCondition, text: string): void {
    this.stopped = true;
    this.pending = undefined;
    this.handlers.error(condition, text);
  }
}

/** Maps a saxes error message to the stream error condition (see the class comment). */
function classify(message: string): StreamErrorCondition {
  if (message.endsWith('undefined entity.')) return 'restricted-xml';
  if (message.endsWith('inappropriately located doctype declaration.')) return 'restricted-xml';
  // An XML declaration anywhere but the very start is a processing instruction (§11.1).
  if (message.endsWith('must be at the start of the document.')) return 'restricted-xml';
  if (message.endsWith('must appear at the start of the document.')) return 'restricted-xml';
  if (message.includes('unbound namespace prefix')) return 'bad-namespace-prefix';
  return 'not-well-formed';
}
