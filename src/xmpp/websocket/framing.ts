import { NS } from '../namespaces.ts';
import type { XmlElement } from '../stream/element.ts';
import { XmppStreamParser } from '../stream/parser.ts';
import type { StreamErrorCondition } from '../stream/stream-errors.ts';

/** RFC 7395 §3.3.2: the namespace of `<open/>` and `<close/>`. */
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

/** What one WebSocket message holds (RFC 7395 §3.3.3). */
export type Frame =
  | { kind: 'open'; attrs: Record<string, string> }
  | { kind: 'close' }
  | { kind: 'element'; element: XmlElement }
  /** A message of whitespace only: nothing (RFC 7395 §3.8 forbids them as keepalives; harmless). */
  | { kind: 'none' }
  | { kind: 'error'; condition: StreamErrorCondition; text: string };

const WHITESPACE_ONLY = /^[ \t\r\n]*$/;
const LT = 0x3c;
/** An XML declaration, allowed before a message's element though NOT RECOMMENDED (§3.3.3). */
const XML_DECLARATION = /^<\?xml\s[^>]*\?>/;
const ENCODING = /\bencoding\s*=\s*["']([^"']*)["']/;

/**
 * RFC 7395 §3.3.3: every message is one complete XML element, parsed on its own, under the
 * same restricted-XML rules and size limit as a TCP stream (RFC 6120 §11): no DTD, comment,
 * processing instruction or undefined entity. A message with two elements, a part of one,
 * or text beside it is `not-well-formed`.
 *
 * The messages of one stream go through one `XmppStreamParser` (as children of a stream
 * header it never received, in `jabber:client`), so each is checked exactly as a stanza on
 * TCP is; after an error the parser stops, as the stream does.
 */
export class FrameParser {
  private readonly parser: XmppStreamParser;
  private readonly got: Array<Frame> = [];

  constructor(private readonly maxStanzaBytes: number) {
    this.parser = new XmppStreamParser(
      {
        streamOpen: () => {},
        stanza: (element) => this.got.push(frameOf(element)),
        // `</stream:stream>` is no element: not a standalone document.
        streamClose: () => this.got.push(notWellFormed('a message must hold one complete element')),
        error: (condition, text) => this.got.push({ kind: 'error', condition, text }),
      },
      { maxStanzaBytes },
    );
    // COMPAT: a stanza without `xmlns` is taken as `jabber:client`, as on TCP; Strophe,
    // xmpp.js and Converse.js send it, as §3.3.3 asks, but nothing is lost by not insisting.
    this.parser.write(Buffer.from(`<stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}'>`));
  }

  /** One message's payload (UTF-8, the WebSocket layer checked it) into what it holds. */
  parse(data: Buffer): Frame {
    if (data.length > this.maxStanzaBytes) {
      // RFC 6120 §13.12 as on TCP: the same limit for a message as for a stanza.
      return {
        kind: 'error',
        condition: 'policy-violation',
        text: `stanzas are limited to ${this.maxStanzaBytes} bytes`,
      };
    }
    let input = data;
    // §3.3.3: "the first character of each frame MUST be a '<' character" (the usual case
    // goes to the parser as bytes; only the others are looked at as text).
    if (data[0] !== LT || data.subarray(0, 5).toString('latin1') === '<?xml') {
      let text = data.toString('utf8');
      if (WHITESPACE_ONLY.test(text)) return { kind: 'none' };
      const declaration = XML_DECLARATION.exec(text)?.[0];
      if (declaration !== undefined) {
        // RFC 6120 §11.6: UTF-8 only (WebSocket text is UTF-8 anyway, RFC 6455 §5.6).
        const encoding = ENCODING.exec(declaration)?.[1]?.toLowerCase();
        if (encoding !== undefined && encoding !== 'utf-8') {
          return { kind: 'error', condition: 'unsupported-encoding', text: 'use UTF-8' };
        }
        text = text.slice(declaration.length);
      }
      if (!text.startsWith('<')) return notWellFormed('a message must start with an element');
      input = Buffer.from(text);
    }
    this.got.length = 0;
    this.parser.write(input);
    const error = this.got.find((f) => f.kind === 'error');
    if (error) return error;
    const [frame] = this.got;
    if (this.got.length > 1) return notWellFormed('a message must hold only one element');
    // Nothing, or the start of another element after this one: the next message must not complete it.
    if (frame === undefined || !this.parser.betweenElements) {
      return notWellFormed('a message must hold one complete element');
    }
    return frame;
  }
}

function frameOf(element: XmlElement): Frame {
  if (element.xmlns !== NS_FRAMING) return { kind: 'element', element };
  if (element.name === 'close') return { kind: 'close' };
  if (element.name !== 'open') return { kind: 'element', element };
  // §3.4: `<open/>` stands for the stream header; its content namespace is jabber:client.
  const { xmlns: _, ...attrs } = element.attrs;
  return { kind: 'open', attrs: { ...attrs, xmlns: NS.client } };
}

function notWellFormed(text: string): Frame {
  return { kind: 'error', condition: 'not-well-formed', text };
}
